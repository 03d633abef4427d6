// One task's artifacts in one execution, attempt by attempt: the diff (diff2html, side by side or
// unified), the files changed, the prompt, the verify output with each command's exit code, and
// the agent's output. Everything shown is text the agent or the build produced: escaped, never
// interpreted (diff2html escapes the diff; the rest is text content).
import { html as diffHtml } from 'diff2html';
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api, type ApiProblem, type Artifact } from './api.js';

type Tab = 'diff' | 'files' | 'prompt' | 'verify-output' | 'agent-output';
const TABS: Array<[Tab, string]> = [
  ['diff', 'diff'],
  ['files', 'files changed'],
  ['prompt', 'prompt'],
  ['verify-output', 'verify output'],
  ['agent-output', 'agent output'],
];

interface VerifyCommand {
  argv?: string[];
  outcome?: string;
  exitCode?: number | null;
  durationMs?: number;
}

function DiffView({ diff }: { diff: string }) {
  const [format, setFormat] = useState<'side-by-side' | 'line-by-line'>('side-by-side');
  if (!diff.trim()) return html`<p class="muted">no change</p>`;
  const rendered = diffHtml(diff, { outputFormat: format, drawFileList: true, matching: 'lines' });
  return html`<div class="diff">
    <div class="toolbar">
      <label><input type="radio" name="diff-format" checked=${format === 'side-by-side'} onChange=${() => setFormat('side-by-side')} /> side by side</label>
      <label><input type="radio" name="diff-format" checked=${format === 'line-by-line'} onChange=${() => setFormat('line-by-line')} /> unified</label>
    </div>
    <div dangerouslySetInnerHTML=${{ __html: rendered }}></div>
  </div>`;
}

function VerifyView({ artifact }: { artifact: Artifact }) {
  const commands = (artifact.meta.commands as VerifyCommand[] | undefined) ?? [];
  return html`<div class="verify">
    <table class="commands">
      <thead><tr><th>command</th><th>outcome</th><th>exit code</th><th>duration</th></tr></thead>
      <tbody>
        ${commands.map(
          (c) => html`<tr data-exit-code=${c.exitCode ?? ''}>
            <td><code>${(c.argv ?? []).join(' ')}</code></td><td>${c.outcome ?? '—'}</td><td class=${c.exitCode === 0 ? 'ok' : 'error'}>${c.exitCode ?? '—'}</td><td>${c.durationMs ?? '—'} ms</td>
          </tr>`,
        )}
      </tbody>
    </table>
    <pre class="output">${artifact.content ?? ''}</pre>
  </div>`;
}

function ArtifactBody({ tab, artifact }: { tab: Tab; artifact: Artifact | undefined }) {
  if (!artifact) return html`<p class="muted">none for this attempt</p>`;
  const cut = artifact.truncated ? html`<p class="muted">cut at ${artifact.bytes} of ${artifact.bytesTotal} bytes</p>` : '';
  if (tab === 'diff') return html`${cut}<${DiffView} diff=${artifact.content ?? ''} />`;
  if (tab === 'verify-output') return html`${cut}<${VerifyView} artifact=${artifact} />`;
  if (tab === 'files') {
    const rows = (artifact.content ?? '').split('\n').filter(Boolean).map((l) => l.split('\t'));
    return html`<ul class="files">${rows.map(([status, path]) => html`<li><code>${status}</code> ${path}</li>`)}</ul>`;
  }
  return html`${cut}<pre class="output">${artifact.content ?? ''}</pre>`;
}

export function ArtifactsView({ executionId, taskId }: { executionId: string; taskId: string }) {
  const [artifacts, setArtifacts] = useState<Artifact[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [attempt, setAttempt] = useState<number | null>(null);
  const [tab, setTab] = useState<Tab>('diff');
  useEffect(() => {
    setArtifacts(null);
    setProblem(null);
    api.artifacts(executionId, { taskId, content: true }).then(
      (r) => {
        setArtifacts(r.artifacts);
        setAttempt(Math.max(0, ...r.artifacts.map((a) => a.attempt)));
      },
      (e: ApiProblem) => setProblem(e.message),
    );
  }, [executionId, taskId]);
  if (problem) return html`<p class="error">${problem}</p>`;
  if (!artifacts) return html`<p class="muted">loading artifacts…</p>`;
  const attempts = [...new Set(artifacts.map((a) => a.attempt))].sort((a, b) => a - b);
  if (attempts.length === 0) return html`<p class="muted">task ${taskId} has no artifacts yet</p>`;
  const current = artifacts.filter((a) => a.attempt === attempt);
  return html`<section class="artifacts" data-task=${taskId}>
    <h3>Task ${taskId}: artifacts</h3>
    <nav class="tabs">
      ${attempts.map((n) => html`<button type="button" class=${n === attempt ? 'on' : ''} onClick=${() => setAttempt(n)}>attempt ${n}</button>`)}
    </nav>
    <nav class="tabs">
      ${TABS.map(([t, label]) => html`<button type="button" data-tab=${t} class=${t === tab ? 'on' : ''} onClick=${() => setTab(t)}>${label}</button>`)}
    </nav>
    <${ArtifactBody} tab=${tab} artifact=${current.find((a) => a.kind === tab)} />
  </section>`;
}
