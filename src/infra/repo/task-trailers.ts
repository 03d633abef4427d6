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
  const run = await runGit(
    [
      'log',
      // Only commits with a line starting with the key (trailer keys are case-insensitive); git
      // then parses the message's last paragraph as trailers, exactly as `interpret-trailers` would.
      '--basic-regexp',
      '--regexp-ignore-case',
      `--grep=^${TASK_TRAILER}`,
      `--format=%H%x09%(trailers:key=${TASK_TRAILER},valueonly,separator=%x09)`,
      rev,
      '--',
    ],
    { workTree: repoDir, env: gitProcessEnv(), timeoutMs: LOCAL_TIMEOUT_MS, signal },
  );
  signal?.throwIfAborted();
  if (run.exitCode !== 0) {
    const detail = run.timedOut ? `no answer within ${LOCAL_TIMEOUT_MS} ms` : redactText(firstUsefulLine(run.stderr) || `git exited with ${run.exitCode}`);
    throw new RepoError('checkout_failed', `git log failed in the checkout: ${detail}`, { failure: run.timedOut ? 'timeout' : 'other', exitCode: run.exitCode });
  }
  const lines = run.stdout.split('\n');
  // A cut-short output ends in a partial line.
  if (run.truncated) lines.pop();
  const merged = new Map<string, string>();
  for (const line of lines) {
    const [sha, ...ids] = line.split('\t');
    if (!sha || !/^[0-9a-f]{40,64}$/.test(sha)) continue;
    // Newest first: the first commit naming a task is the one kept.
    for (const id of ids) if (id && !merged.has(id)) merged.set(id, sha);
  }
  return merged;
}

/**
 * Task id → the newest commit reachable from `rev` whose trailers name both the task and the
 * execution `executionId`: the tasks this execution merged and pushed. MERGE and PUSH ask it after a
 * takeover, so a change already on the remote is never applied twice (even under restart "all",
 * where an earlier execution's trailer for the same task is on the base too).
 */
export async function tasksMergedBy(repoDir: string, rev: string, executionId: string, signal?: AbortSignal): Promise<Map<string, string>> {
  if (!TRAILER_VALUE.test(executionId) || /\t/.test(executionId)) return new Map();
  const run = await runGit(
    [
      'log',
      '--basic-regexp',
      '--regexp-ignore-case',
      `--grep=^${EXECUTION_TRAILER}`,
      `--format=%H%x09%(trailers:key=${EXECUTION_TRAILER},valueonly,separator=%x2C)%x09%(trailers:key=${TASK_TRAILER},valueonly,separator=%x09)`,
      rev,
      '--',
    ],
    { workTree: repoDir, env: gitProcessEnv(), timeoutMs: LOCAL_TIMEOUT_MS, signal },
  );
  signal?.throwIfAborted();
  if (run.exitCode !== 0) {
    const detail = run.timedOut ? `no answer within ${LOCAL_TIMEOUT_MS} ms` : redactText(firstUsefulLine(run.stderr) || `git exited with ${run.exitCode}`);
    throw new RepoError('checkout_failed', `git log failed in the checkout: ${detail}`, { failure: run.timedOut ? 'timeout' : 'other', exitCode: run.exitCode });
  }
  const lines = run.stdout.split('\n');
  if (run.truncated) lines.pop();
  const merged = new Map<string, string>();
  for (const line of lines) {
    const [sha, executions, ...ids] = line.split('\t');
    if (!sha || !/^[0-9a-f]{40,64}$/.test(sha) || !(executions ?? '').split(',').includes(executionId)) continue;
    for (const id of ids) if (id && !merged.has(id)) merged.set(id, sha);
  }
  return merged;
}
