// Pure formatting of stream frames for `devteam watch`: one status line per execution-update or
// resync, one line per log line, readable hello and error lines. No I/O.
import { ExecutionLogSchema, ExecutionUpdateSchema, type ExecutionUpdate, type Frame } from './frames.js';

export const FINAL_STATUSES: ReadonlySet<ExecutionUpdate['status']> = new Set(['completed', 'failed', 'stopped']);

/** Local time of a frame as HH:MM:SS. */
export function formatTime(ts: number): string {
  const d = new Date(ts);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

function compact(value: unknown): string {
  if (value === undefined) return '';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function statusLine(frame: Frame, raw: unknown, update: ExecutionUpdate): string {
  const parts = [`[${formatTime(frame.ts)}] ${frame.projectId}`, update.status];
  if (update.phase) parts.push(update.phase);
  if (update.task) parts.push(`task ${update.task.id} ${JSON.stringify(update.task.title)}`);
  if (update.task || update.attempt > 0) {
    const max = (raw as { maxAttempts?: unknown } | null)?.maxAttempts;
    parts.push(`attempt ${update.attempt}${typeof max === 'number' ? `/${max}` : ''}`);
  }
  parts.push(`${update.progress.done}/${update.progress.total} done${update.skipped ? ` (${update.skipped} skipped)` : ''}`);
  if (update.usage) parts.push(usageText(update.usage));
  // Parallelism > 1: every other task in flight, as id:phase#attempt.
  const others = (update.running ?? []).slice(1);
  if (others.length > 0) parts.push(`also ${others.map((t) => `${t.id}:${t.phase}#${t.attempt}`).join(' ')}`);
  if (update.resumes) parts.push(`resumed ×${update.resumes}`);
  if (update.lastError) parts.push(`error: ${update.lastError}${update.reason ? ` (${update.reason})` : ''}`);
  return parts.join('  ');
}

/** "1.2k in / 340 out tokens, $0.0123": what the agents reported; an unreported figure shows as "?". */
export function usageText(u: NonNullable<ExecutionUpdate['usage']>): string {
  const count = (n: number | null) => (n === null ? '?' : n >= 10_000 ? `${Math.round(n / 1000)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(n));
  return `${count(u.inputTokens)} in / ${count(u.outputTokens)} out tokens, ${u.costUsd === null ? '$?' : `$${u.costUsd.toFixed(4)}`}`;
}

/** The status in an execution-update or resync frame, when it is one. */
export function frameStatus(frame: Frame): ExecutionUpdate['status'] | undefined {
  if (frame.type !== 'execution-update' && frame.type !== 'resync') return undefined;
  const update = ExecutionUpdateSchema.safeParse(frame.payload);
  return update.success ? update.data.status : undefined;
}

/** A printable rendering of a frame (several lines for a log batch), or null when there is nothing to print. */
export function formatFrame(frame: Frame): string | null {
  const time = `[${formatTime(frame.ts)}]`;
  switch (frame.type) {
    case 'execution-update':
    case 'resync': {
      const update = ExecutionUpdateSchema.safeParse(frame.payload);
      const mark = frame.type === 'resync' ? '  (resync)' : '';
      if (frame.type === 'resync' && frame.executionId === null) return `${time} ${frame.projectId}  not initialized yet${mark}`;
      if (!update.success) return `${time} ${frame.projectId}  ${frame.type}  ${compact(frame.payload)}`;
      return statusLine(frame, frame.payload, update.data) + mark;
    }
    case 'execution-log': {
      const log = ExecutionLogSchema.safeParse(frame.payload);
      if (!log.success) return `  ${frame.projectId} log │ ${compact(frame.payload)}`;
      if (log.data.lines.length === 0) return null;
      const where = log.data.taskId === null ? log.data.source : `${log.data.source} ${log.data.taskId}#${log.data.attempt}`;
      return log.data.lines
        .map((line) => `  ${where} │ ${line.stream === 'stderr' ? '[stderr] ' : ''}${line.text.replace(/\r?\n$/, '')}`)
        .join('\n');
    }
    case 'hello': {
      const p = frame.payload as Record<string, unknown> | null;
      const rest = p && typeof p === 'object' && Object.keys(p).length ? `  ${compact(p)}` : '';
      return `${time} connected${rest}`;
    }
    case 'error': {
      const p = frame.payload as { message?: unknown; code?: unknown } | null;
      const message = p && typeof p === 'object' && typeof p.message === 'string' ? p.message : compact(frame.payload);
      const code = p && typeof p === 'object' && (typeof p.code === 'string' || typeof p.code === 'number') ? ` [${p.code}]` : '';
      return `${time} ${frame.projectId ? `${frame.projectId}  ` : ''}error${code}: ${message}`;
    }
    default:
      return null;
  }
}
