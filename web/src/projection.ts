// Everything the page shows of a project's status projection, in one module: the view model built
// from a REST status body or a stream frame, and the pieces that render it (status badge,
// progress bar, current task, last error, the tasks table). A field the projection gains later is
// added here: `extra` carries the ones this build does not know yet, shown as they are.
import { html } from 'htm/preact';
import type { ExecutionUpdate, Frame } from '../../src/client/index.js';
import type { StatusBody, TaskResult } from './api.js';

export interface ProjectView {
  projectId: string;
  executionId: string | null;
  /** null: not initialized yet (or not read yet). */
  status: string | null;
  phase: string | null;
  task: { id: string; title: string } | null;
  attempt: number;
  progress: { done: number; total: number };
  lastError: string | null;
  reason: string | null;
  skipped: number;
  /** Epoch ms of the last change the page knows of. */
  updatedAt: number | null;
  /** The stream seq of the last frame applied; null while only REST has spoken. */
  seq: number | null;
  fromStream: boolean;
  /** Projection fields this build does not render yet. */
  extra: Record<string, unknown>;
}

const KNOWN_BODY = new Set(['projectId', 'executionId', 'status', 'phase', 'currentTask', 'progress', 'attempt', 'lastError', 'results', 'createdAt', 'updatedAt', 'finishedAt', 'reason', 'skipped']);
const KNOWN_UPDATE = new Set(['executionId', 'status', 'phase', 'task', 'attempt', 'progress', 'lastError', 'reason', 'skipped']);

function extraOf(source: Record<string, unknown>, known: Set<string>): Record<string, unknown> {
  const extra: Record<string, unknown> = {};
  for (const key in source) if (!known.has(key)) extra[key] = source[key];
  return extra;
}

export function viewFromBody(body: StatusBody | null, projectId: string): ProjectView {
  if (!body) {
    return { projectId, executionId: null, status: null, phase: null, task: null, attempt: 0, progress: { done: 0, total: 0 }, lastError: null, reason: null, skipped: 0, updatedAt: null, seq: null, fromStream: false, extra: {} };
  }
  const failed = Object.values(body.results ?? {}).find((r) => r.status === 'failed' && r.reason);
  return {
    projectId,
    executionId: body.executionId,
    status: body.status,
    phase: body.phase,
    task: body.currentTask,
    attempt: body.attempt,
    progress: body.progress,
    lastError: body.lastError,
    reason: typeof body.reason === 'string' ? body.reason : (failed?.reason ?? null),
    skipped: Object.values(body.results ?? {}).filter((r) => r.status === 'skipped').length,
    updatedAt: Date.parse(body.updatedAt),
    seq: null,
    fromStream: false,
    extra: extraOf(body, KNOWN_BODY),
  };
}

export function viewFromUpdate(update: ExecutionUpdate, frame: Frame, previous: ProjectView | undefined): ProjectView {
  return {
    projectId: frame.projectId,
    executionId: update.executionId,
    status: update.status,
    phase: update.phase,
    task: update.task,
    attempt: update.attempt,
    progress: update.progress,
    lastError: update.lastError,
    reason: update.reason ?? null,
    skipped: update.skipped ?? 0,
    updatedAt: frame.ts,
    seq: frame.seq,
    fromStream: true,
    extra: { ...(previous?.extra ?? {}), ...extraOf(update as Record<string, unknown>, KNOWN_UPDATE) },
  };
}

export const STATUSES = ['running', 'paused', 'stopping', 'stopped', 'completed', 'failed'] as const;
const LIVE = new Set(['running', 'paused', 'stopping']);
export const isLive = (view: ProjectView) => view.status !== null && LIVE.has(view.status);

/** The commands the status allows (the server still decides: a 409 is shown, never hidden). */
export function allowedCommands(view: ProjectView): { pause: boolean; resume: boolean; stop: boolean } {
  return { pause: view.status === 'running', resume: view.status === 'paused', stop: view.status === 'running' || view.status === 'paused' };
}

export function ago(ms: number | null, now: number): string {
  if (ms === null || Number.isNaN(ms)) return '—';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export const StatusBadge = ({ status }: { status: string | null }) =>
  html`<span class=${`badge status-${status ?? 'none'}`} data-status=${status ?? 'none'}>${status ?? 'not started'}</span>`;

export function ProgressBar({ progress }: { progress: { done: number; total: number } }) {
  const pct = progress.total > 0 ? Math.round((100 * progress.done) / progress.total) : 0;
  return html`<span class="progress" title=${`${progress.done} of ${progress.total} tasks`}
    ><span class="bar"><span class="fill" style=${`width:${pct}%`}></span></span
    ><span class="count">${progress.done}/${progress.total}</span></span
  >`;
}

export const TaskCell = ({ view }: { view: ProjectView }) =>
  view.task ? html`<span class="task"><code>${view.task.id}</code> ${view.task.title}</span>` : html`<span class="muted">—</span>`;

export function ErrorCell({ view }: { view: ProjectView }) {
  if (!view.lastError) return html`<span class="muted">—</span>`;
  return html`<span class="error" title=${view.lastError}>${view.reason ? html`<code>${view.reason}</code> ` : ''}${view.lastError}</span>`;
}

export function ExtraFields({ view }: { view: ProjectView }) {
  const keys = Object.keys(view.extra);
  if (keys.length === 0) return null;
  return html`<dl class="extra">${keys.map((k) => html`<dt>${k}</dt><dd><code>${JSON.stringify(view.extra[k])}</code></dd>`)}</dl>`;
}

/** The header of a project page: everything the projection says. */
export const ProjectSummary = ({ view, now }: { view: ProjectView; now: number }) => html`
  <dl class="summary" data-project=${view.projectId} data-seq=${view.seq ?? ''}>
    <dt>status</dt><dd><${StatusBadge} status=${view.status} /></dd>
    <dt>phase</dt><dd>${view.phase ?? '—'}</dd>
    <dt>task</dt><dd><${TaskCell} view=${view} /></dd>
    <dt>attempt</dt><dd>${view.attempt || '—'}</dd>
    <dt>progress</dt><dd><${ProgressBar} progress=${view.progress} />${view.skipped ? html` <span class="muted">(${view.skipped} already merged)</span>` : ''}</dd>
    <dt>last error</dt><dd><${ErrorCell} view=${view} /></dd>
    <dt>updated</dt><dd>${ago(view.updatedAt, now)}</dd>
  </dl>
  <${ExtraFields} view=${view} />
`;

export interface TaskRow {
  id: string;
  title: string | null;
  status: string;
  reason: string | null;
  attempts: number;
  commit: string | null;
  error: string | null;
  finishedAt: string | null;
  /** Agent and verify time of all its attempts, from the artifacts' meta. */
  durationMs: number | null;
}

/** The tasks of a run in the order the run reached them: finished ones, then the current one. */
export function taskRows(body: StatusBody | null, view: ProjectView, durations: Map<string, number>): TaskRow[] {
  const results = Object.entries(body?.results ?? {}) as Array<[string, TaskResult]>;
  results.sort(([, a], [, b]) => a.finishedAt.localeCompare(b.finishedAt));
  const rows: TaskRow[] = results.map(([id, r]) => ({
    id,
    title: null,
    status: r.status,
    reason: r.reason ?? null,
    attempts: r.attempts,
    commit: r.commit,
    error: r.error,
    finishedAt: r.finishedAt,
    durationMs: durations.get(id) ?? null,
  }));
  if (view.task && !rows.some((r) => r.id === view.task!.id) && view.executionId === body?.executionId) {
    rows.push({ id: view.task.id, title: view.task.title, status: view.status === 'running' ? `${view.phase ?? 'running'}` : (view.status ?? ''), reason: null, attempts: view.attempt, commit: null, error: null, finishedAt: null, durationMs: durations.get(view.task.id) ?? null });
  }
  return rows;
}

const seconds = (ms: number | null) => (ms === null ? '—' : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

export const TasksTable = ({ rows, selected, onSelect }: { rows: TaskRow[]; selected: string | null; onSelect: (id: string) => void }) => html`
  <table class="tasks">
    <thead><tr><th>task</th><th>status</th><th>attempts</th><th>commit</th><th>duration</th><th>finished</th></tr></thead>
    <tbody>
      ${rows.length === 0 ? html`<tr><td colspan="6" class="muted">no task reached yet</td></tr>` : ''}
      ${rows.map(
        (r) => html`<tr data-task=${r.id} class=${r.id === selected ? 'selected' : ''} onClick=${() => onSelect(r.id)}>
          <td><button class="link" type="button"><code>${r.id}</code></button> ${r.title ?? ''}</td>
          <td><span class=${`badge task-${r.status}`}>${r.status}</span>${r.reason ? html` <code>${r.reason}</code>` : ''}${r.error ? html`<div class="error">${r.error}</div>` : ''}</td>
          <td>${r.attempts}</td>
          <td>${r.commit ? html`<code class="commit" title=${r.commit}>${r.commit.slice(0, 8)}</code>` : '—'}</td>
          <td>${seconds(r.durationMs)}</td>
          <td>${r.finishedAt ? new Date(r.finishedAt).toLocaleTimeString() : '—'}</td>
        </tr>`,
      )}
    </tbody>
  </table>
`;
