// A project: its status, the controls the status allows, the tasks of the run shown (the latest,
// or an earlier one from the history), the live log, a task's artifacts, and the earlier runs.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiProblem, type Artifact, type StatusBody } from '../api.js';
import { ArtifactsView } from '../artifacts.js';
import type { Live } from '../live.js';
import { LogPane } from '../log-pane.js';
import { ago, allowedCommands, ProjectSummary, StatusBadge, taskRows, TasksTable, viewFromBody } from '../projection.js';

/** Agent and verify time per task, from the artifacts' meta. */
function durationsOf(artifacts: Artifact[]): Map<string, number> {
  const totals = new Map<string, number>();
  const add = (task: string, ms: unknown) => typeof ms === 'number' && totals.set(task, (totals.get(task) ?? 0) + ms);
  for (const a of artifacts) {
    if (a.kind === 'agent-output') add(a.taskId, a.meta.durationMs);
    if (a.kind === 'verify-output') for (const c of (a.meta.commands as Array<{ durationMs?: number }> | undefined) ?? []) add(a.taskId, c.durationMs);
  }
  return totals;
}

function Controls({ live, projectId }: { live: Live; projectId: string }) {
  const view = live.projects.get(projectId);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (!view) return null;
  const allowed = allowedCommands(view);
  const send = async (command: 'pause' | 'resume' | 'stop') => {
    setBusy(true);
    setMessage(null);
    try {
      const r = await api.command(command, projectId);
      setMessage(`${command}: ${r.status}`);
    } catch (error) {
      const p = error as ApiProblem;
      setMessage(`${command} refused: ${p.status} ${p.code}: ${p.message}`);
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="controls">
    ${(['pause', 'resume', 'stop'] as const).map((c) => html`<button type="button" data-command=${c} disabled=${busy || !allowed[c]} onClick=${() => send(c)}>${c}</button>`)}
    ${message ? html`<span class="muted" data-testid="command-result">${message}</span>` : ''}
  </div>`;
}

export function ProjectPage({ live, projectId, executionId, now }: { live: Live; projectId: string; executionId: string | null; now: number }) {
  const view = live.projects.get(projectId) ?? viewFromBody(null, projectId);
  const [body, setBody] = useState<StatusBody | null>(null);
  const [durations, setDurations] = useState(new Map<string, number>());
  const [history, setHistory] = useState<StatusBody[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const latest = executionId === null || executionId === view.executionId;

  useEffect(() => live.watch([projectId]), [projectId]);
  // The run's tasks come from REST (frames carry no results): read again after each change the stream shows.
  useEffect(() => {
    let cancelled = false;
    const timer = setTimeout(async () => {
      try {
        const runs = await api.executions(projectId);
        if (cancelled) return;
        setHistory(runs.executions);
        const shown = latest ? await api.status(projectId) : runs.executions.find((e) => e.executionId === executionId) ?? null;
        if (cancelled) return;
        setBody(shown);
        setProblem(shown ? null : `no run ${executionId} in this project`);
        if (shown) setDurations(durationsOf((await api.artifacts(shown.executionId)).artifacts));
      } catch (error) {
        if (!cancelled) setProblem((error as ApiProblem).status === 404 ? 'this project has not been initialized' : (error as Error).message);
      }
    }, 150);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [projectId, executionId, latest ? view.seq : null, latest ? view.status : null]);

  const shownView = latest ? view : body ? viewFromBody(body, projectId) : view;
  const rows = taskRows(body, shownView, durations);
  return html`<section class="project" data-project=${projectId}>
    <header class="bar">
      <h2>${projectId}</h2>
      ${latest ? html`<${Controls} live=${live} projectId=${projectId} />` : html`<a href=${`#/p/${encodeURIComponent(projectId)}`}>back to the latest run</a>`}
    </header>
    ${problem ? html`<p class="error">${problem}</p>` : ''}
    <${ProjectSummary} view=${shownView} now=${now} />
    <h3>Tasks${body ? html` <span class="muted">of run ${body.executionId.slice(0, 8)}</span>` : ''}</h3>
    <${TasksTable} rows=${rows} selected=${selected} onSelect=${setSelected} />
    ${selected && body ? html`<${ArtifactsView} executionId=${body.executionId} taskId=${selected} />` : ''}
    ${latest ? html`<${LogPane} buffer=${live.log(projectId)} />` : ''}
    <h3>Runs</h3>
    <table class="history">
      <thead><tr><th>run</th><th>status</th><th>progress</th><th>started</th><th>finished</th></tr></thead>
      <tbody>
        ${history.map(
          (e) => html`<tr data-execution=${e.executionId}>
            <td><a href=${`#/p/${encodeURIComponent(projectId)}/${e.executionId}`}><code>${e.executionId.slice(0, 8)}</code></a></td>
            <td><${StatusBadge} status=${e.status} /></td>
            <td>${e.progress.done}/${e.progress.total}</td>
            <td>${ago(Date.parse(e.createdAt), now)}</td>
            <td>${e.finishedAt ? ago(Date.parse(e.finishedAt), now) : '—'}</td>
          </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}
