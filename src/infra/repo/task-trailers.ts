// The git trailers by which a merged task is recorded in its commit on the base branch, and reading
// them back: the base's history, not the database, says which tasks are merged (decision 0023).
import { gitProcessEnv } from './git-credentials.js';
import { firstUsefulLine, redactText, RepoError } from './git-errors.js';
import { runGit } from './git-run.js';

/** Names the task a commit implements; SELECT skips a task whose trailer is on the base. */
export const TASK_TRAILER = 'DevTeam-Task';
/** Names the execution that merged it (for people reading the history; SELECT ignores it). */
export const EXECUTION_TRAILER = 'DevTeam-Execution';

const LOCAL_TIMEOUT_MS = 60_000;
const TRAILER_VALUE = /^[^\r\n\0]{1,200}$/;

/** `message` with the task's trailers as its last paragraph. */
export function withTaskTrailers(message: string, trailers: { taskId: string; executionId: string }): string {
  for (const [name, value] of [
    [TASK_TRAILER, trailers.taskId],
    [EXECUTION_TRAILER, trailers.executionId],
  ] as const) {
    if (!TRAILER_VALUE.test(value) || value.trim() !== value) throw new RepoError('invalid_path', `${name} ${JSON.stringify(value)} cannot be a trailer value`, { field: name });
  }
  return `${message.trimEnd()}\n\n${TASK_TRAILER}: ${trailers.taskId}\n${EXECUTION_TRAILER}: ${trailers.executionId}\n`;
}

/**
 * Task id → the newest commit reachable from `rev` that carries `DevTeam-Task: <id>`, in one git
 * run. Any id a commit names is returned; the caller keeps those of its task list.
 */
export async function mergedTasks(repoDir: string, rev: string, signal?: AbortSignal): Promise<Map<string, string>> {
  const rows = await trailerLog(repoDir, rev, TASK_TRAILER, `%H%x09%(trailers:key=${TASK_TRAILER},valueonly,separator=%x09)`, signal);
  return newestPerTask(rows.map(([sha, ...ids]) => ({ sha, ids })));
}

/**
 * Task id → the newest commit reachable from `rev` whose trailers name both the task and the
 * execution `executionId`: the tasks this execution merged and pushed. MERGE and PUSH ask it after a
 * takeover, so a change already on the remote is never applied twice (even under restart "all",
 * where an earlier execution's trailer for the same task is on the base too).
 */
export async function tasksMergedBy(repoDir: string, rev: string, executionId: string, signal?: AbortSignal): Promise<Map<string, string>> {
  if (!TRAILER_VALUE.test(executionId) || /\t/.test(executionId)) return new Map();
  const format = `%H%x09%(trailers:key=${EXECUTION_TRAILER},valueonly,separator=%x2C)%x09%(trailers:key=${TASK_TRAILER},valueonly,separator=%x09)`;
  const rows = await trailerLog(repoDir, rev, EXECUTION_TRAILER, format, signal);
  return newestPerTask(rows.filter(([, executions]) => (executions ?? '').split(',').includes(executionId)).map(([sha, , ...ids]) => ({ sha, ids })));
}

/**
 * The tab-separated fields of `format` for each commit reachable from `rev` that has a line starting
 * with `key` (trailer keys are case-insensitive); git then parses the message's last paragraph as
 * trailers, exactly as `interpret-trailers` would. Newest first; rows without a full sha are dropped.
 */
async function trailerLog(repoDir: string, rev: string, key: string, format: string, signal?: AbortSignal): Promise<string[][]> {
  const run = await runGit(['log', '--basic-regexp', '--regexp-ignore-case', `--grep=^${key}`, `--format=${format}`, rev, '--'], {
    workTree: repoDir,
    env: gitProcessEnv(),
    timeoutMs: LOCAL_TIMEOUT_MS,
    signal,
  });
  signal?.throwIfAborted();
  if (run.exitCode !== 0) {
    const detail = run.timedOut ? `no answer within ${LOCAL_TIMEOUT_MS} ms` : redactText(firstUsefulLine(run.stderr) || `git exited with ${run.exitCode}`);
    throw new RepoError('checkout_failed', `git log failed in the checkout: ${detail}`, { failure: run.timedOut ? 'timeout' : 'other', exitCode: run.exitCode });
  }
  const lines = run.stdout.split('\n');
  // A cut-short output ends in a partial line.
  if (run.truncated) lines.pop();
  return lines.map((line) => line.split('\t')).filter(([sha]) => sha !== undefined && /^[0-9a-f]{40,64}$/.test(sha));
}

/** Newest first in, the first commit naming a task kept. */
function newestPerTask(commits: Array<{ sha: string | undefined; ids: string[] }>): Map<string, string> {
  const merged = new Map<string, string>();
  for (const { sha, ids } of commits) for (const id of ids) if (id && !merged.has(id)) merged.set(id, sha!);
  return merged;
}
