// The page: a hash router over three views (projects, a project, the initialize form), the
// stream's connection state in the header, and the API key prompt when the service wants one.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiProblem } from './api.js';
import { apiKey, setApiKey } from './auth.js';
import { ConnectionBadge } from './connection.js';
import { Live } from './live.js';
import { InitializePage } from './pages/initialize.js';
import { ProjectPage } from './pages/project.js';
import { ProjectsPage } from './pages/projects.js';

/** How often the project listing is read again, for projects initialized elsewhere. */
const LISTING_MS = 10_000;

type Route = { page: 'projects' } | { page: 'new' } | { page: 'project'; projectId: string; executionId: string | null };

function routeOf(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'new') return { page: 'new' };
  if (parts[0] === 'p' && parts[1]) return { page: 'project', projectId: parts[1], executionId: parts[2] || null };
  return { page: 'projects' };
}

function AuthPrompt({ problem, onKey }: { problem: string | null; onKey: (key: string) => void }) {
  const [key, setKey] = useState('');
  return html`<form class="auth" onSubmit=${(e: Event) => (e.preventDefault(), onKey(key.trim()))}>
    <h2>API key</h2>
    <p>This service needs an API key (DEVTEAM_API_KEYS). It is kept in this tab only.</p>
    ${problem ? html`<p class="error" role="alert" data-testid="auth-error">${problem}</p>` : ''}
    <input name="api-key" type="password" autocomplete="off" value=${key} onInput=${(e: Event) => setKey((e.target as HTMLInputElement).value)} />
    <button type="submit">use this key</button>
  </form>`;
}

export function App({ live }: { live: Live }) {
  const [, setVersion] = useState(0);
  const [route, setRoute] = useState(routeOf(location.hash));
  const [filter, setFilter] = useState('');
  const [now, setNow] = useState(Date.now());
  const [auth, setAuth] = useState<{ needed: boolean; problem: string | null }>({ needed: false, problem: null });
  const [listProblem, setListProblem] = useState<string | null>(null);

  const load = async () => {
    try {
      for (const body of await api.allProjects()) live.applyBody(body);
      setListProblem(null);
      setAuth({ needed: false, problem: null });
    } catch (error) {
      const p = error as ApiProblem;
      if (p.status === 401) setAuth({ needed: true, problem: apiKey() ? `401 ${p.code}: ${p.message}` : null });
      else setListProblem(p.message);
    }
  };

  useEffect(() => {
    const off = live.onChange(() => setVersion((v) => v + 1));
    const onHash = () => setRoute(routeOf(location.hash));
    addEventListener('hashchange', onHash);
    const tick = setInterval(() => setNow(Date.now()), 1000);
    void load();
    const listing = setInterval(() => void load(), LISTING_MS);
    return () => {
      off();
      removeEventListener('hashchange', onHash);
      clearInterval(tick);
      clearInterval(listing);
    };
  }, []);

  const useKey = (key: string) => {
    setApiKey(key || null);
    live.start();
    void load();
  };
  const offline = live.connection.state === 'offline' && live.connection.reason;
  const views = [...live.projects.values()].sort((a, b) => a.projectId.localeCompare(b.projectId));
  return html`<div class="app">
    <header class="top">
      <a href="#/" class="brand">DevTeam Runner</a>
      <${ConnectionBadge} connection=${live.connection} now=${now} />
      ${apiKey() ? html`<button type="button" class="link" onClick=${() => (setApiKey(null), location.reload())}>forget the key</button>` : ''}
    </header>
    ${auth.needed || offline ? html`<${AuthPrompt} problem=${auth.problem ?? (offline ? live.connection.reason! : null)} onKey=${useKey} />` : ''}
    ${listProblem ? html`<p class="error">${listProblem}</p>` : ''}
    <main>
      ${route.page === 'projects'
        ? html`<${ProjectsPage} views=${views} filter=${filter} onFilter=${setFilter} now=${now} />`
        : route.page === 'new'
          ? html`<${InitializePage} onStarted=${(id: string) => {
              live.watch([id]);
              location.hash = `#/p/${encodeURIComponent(id)}`;
            }} />`
          : html`<${ProjectPage} key=${route.projectId} live=${live} projectId=${route.projectId} executionId=${route.executionId} now=${now} />`}
    </main>
  </div>`;
}
