// An attempt's result leaves the worker as soon as the agent is done: IMPLEMENT records it as a
// commit under refs/devteam/<execution>/<task>/<attempt> (outside branches) and pushes that ref to
// the remote, so VERIFY, MERGE, PUSH or the next attempt on another worker start from it; the refs
// of a task go once it is merged (decision 0025). Credentials are per call, as for PUSH.
import { branchNameProblem } from '../../project/index.js';
import { assertRemoteUrl, credentialSecrets, gitProcessEnv, type GitCredentials } from './git-credentials.js';
import { classifyGitFailure, firstUsefulLine, redactText, redactUrl, RepoError } from './git-errors.js';
import { runGit, type GitRun } from './git-run.js';

const NAMESPACE = 'refs/devteam/';
const LOCAL_TIMEOUT_MS = 60_000;
const NETWORK_TIMEOUT_MS = 120_000;

export interface RemoteCall {
  /** The remote origin points at (checked, and redacted in messages). */
  url: string;
  credentials?: GitCredentials | undefined;
  signal?: AbortSignal | undefined;
  timeoutMs?: number;
}

/** refs/devteam/<execution>/<task>/ — checked against git's ref-name rules, so no id can escape the namespace or read as an option. */
export function attemptRefPrefix(executionId: string, taskId: string): string {
  const name = `devteam/${executionId}/${taskId}`;
  const problem = /^[A-Za-z0-9._-]+$/.test(executionId) && /^[A-Za-z0-9._-]+$/.test(taskId) ? branchNameProblem(name) : 'must be letters, digits, ".", "_" or "-"';
  if (problem) throw new RepoError('invalid_path', `attempt ref ${JSON.stringify(name)} ${problem}`, { field: 'attemptRef' });
  return `refs/${name}/`;
}

/** Where attempt `attempt` of a task keeps its resulting work tree, locally and on the remote. */
export function attemptRef(executionId: string, taskId: string, attempt: number): string {
  if (!Number.isSafeInteger(attempt) || attempt < 1) throw new RepoError('invalid_path', `attempt ${attempt} is not a positive integer`, { field: 'attempt' });
  return `${attemptRefPrefix(executionId, taskId)}${attempt}`;
}

function checkRef(ref: string): void {
  if (!ref.startsWith(NAMESPACE) || branchNameProblem(ref.slice('refs/'.length))) throw new RepoError('invalid_path', `${JSON.stringify(ref)} is not an attempt ref`, { field: 'attemptRef' });
}

async function git(repoDir: string, args: string[], call: RemoteCall | null, signal?: AbortSignal): Promise<GitRun> {
  const run = await runGit(args, {
    workTree: repoDir,
    env: gitProcessEnv(call?.credentials),
    timeoutMs: call ? (call.timeoutMs ?? NETWORK_TIMEOUT_MS) : LOCAL_TIMEOUT_MS,
    signal: call?.signal ?? signal,
  });
  (call?.signal ?? signal)?.throwIfAborted();
  return run;
}

/** The checkout's origin must be the project's remote: the ref never goes anywhere else. */
async function checkedOrigin(repoDir: string, call: RemoteCall): Promise<string> {
  assertRemoteUrl(call.url);
  const remote = redactUrl(call.url);
  const origin = await git(repoDir, ['config', '--get', 'remote.origin.url'], null, call.signal);
  if (origin.stdout.trim() !== call.url) throw new RepoError('invalid_url', `origin of the checkout is not ${remote}`, { field: 'url', remote });
  return remote;
}

function networkError(code: 'push_failed' | 'fetch_failed', what: string, remote: string, run: GitRun, call: RemoteCall): RepoError {
  const failure = run.timedOut ? 'timeout' : classifyGitFailure(run.stderr);
  const detail = run.timedOut ? `no answer within ${call.timeoutMs ?? NETWORK_TIMEOUT_MS} ms` : redactText(firstUsefulLine(run.stderr) || `git exited with ${run.exitCode}`, credentialSecrets(call.credentials));
  return new RepoError(code, `${what} ${remote} failed (${failure}): ${detail}`, { remote, failure, exitCode: run.exitCode });
}

/** Pushes the local attempt ref to the same name on the remote (forced: a re-run of the attempt replaces it). */
export async function publishAttempt(repoDir: string, ref: string, call: RemoteCall): Promise<void> {
  checkRef(ref);
  const remote = await checkedOrigin(repoDir, call);
  const run = await git(repoDir, ['push', '--quiet', '--no-verify', 'origin', `+${ref}:${ref}`], call);
  if (run.exitCode !== 0 || run.timedOut) throw networkError('push_failed', `push of ${ref} to`, remote, run, call);
}

/** Fetches the attempt ref from the remote into the same local name; null when the remote has no such ref. */
export async function fetchAttempt(repoDir: string, ref: string, call: RemoteCall): Promise<string | null> {
  checkRef(ref);
  const remote = await checkedOrigin(repoDir, call);
  const listed = await git(repoDir, ['ls-remote', '--refs', 'origin', ref], call);
  if (listed.exitCode !== 0 || listed.timedOut) throw networkError('fetch_failed', `listing ${ref} of`, remote, listed, call);
  if (!listed.stdout.split('\n').some((l) => l.endsWith(`\t${ref}`))) return null;
  const run = await git(repoDir, ['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', 'origin', `+${ref}:${ref}`], call);
  if (run.exitCode !== 0 || run.timedOut) throw networkError('fetch_failed', `fetch of ${ref} from`, remote, run, call);
  const sha = (await git(repoDir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], null, call.signal)).stdout.trim();
  return /^[0-9a-f]{40,64}$/.test(sha) ? sha : null;
}

/**
 * Removes the attempt refs `refs` (attemptRef names) on the remote, in one push, and locally. A ref
 * the remote does not have is no error (an attempt that added a secret was never pushed; a re-run
 * of this removal finds them gone). Returns how many the push was asked to remove.
 */
export async function removeAttemptRefs(repoDir: string, refs: string[], call: RemoteCall): Promise<number> {
  for (const ref of refs) checkRef(ref);
  if (refs.length === 0) return 0;
  const remote = await checkedOrigin(repoDir, call);
  const run = await git(repoDir, ['push', '--porcelain', '--no-verify', 'origin', ...refs.map((ref) => `:${ref}`)], call);
  if (run.exitCode !== 0 || run.timedOut) {
    // --porcelain: "!\t:<ref>\t[remote rejected] (…)" per refused ref; a missing one is only an stderr error.
    const refused = run.stdout.split('\n').filter((l) => l.startsWith('!'));
    const otherErrors = run.stderr.split('\n').filter((l) => /^(error|fatal):/.test(l) && !/remote ref does not exist/.test(l));
    if (run.timedOut || refused.length > 0 || otherErrors.length > 0) throw networkError('push_failed', `removing the attempt refs from`, remote, run, call);
  }
  for (const ref of refs) await git(repoDir, ['update-ref', '-d', ref], null, call.signal);
  return refs.length;
}
