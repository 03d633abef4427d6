// After a task's change is verified: commit it on the work branch, fold it into the base branch and
// push. Every step is idempotent, because the pipeline re-runs a step after a crash. Credentials are
// per call (environment only), as in RepoCache; nothing here writes git config.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gitDirOf } from './project-paths.js';
import { runGit, VALID_BRANCH, type GitRun } from './git-run.js';
import { assertRemoteUrl, credentialSecrets, gitProcessEnv, type GitCredentials } from './git-credentials.js';
import { classifyGitFailure, firstUsefulLine, redactText, redactUrl, RepoError, type RepoErrorCode } from './git-errors.js';

export interface GitAuthor {
  name: string;
  email: string;
}

export interface CommitWorkOptions {
  message: string;
  author: GitAuthor;
  signal?: AbortSignal;
}

export interface MergeOptions {
  /** The work branch, e.g. devteam/<task>. */
  branch: string;
  base: string;
  /** 'ff': linear history (rebase the work branch when needed); 'merge': always a merge commit. */
  mode: 'ff' | 'merge';
  /** Message of the merge commit (mode 'merge'). */
  message: string;
  author: GitAuthor;
  signal?: AbortSignal;
}

export interface PushOptions extends MergeOptions {
  /** The remote origin points at; used to check that and, redacted, in messages. */
  url: string;
  credentials?: GitCredentials;
  /** Deadline of each network git run (push, fetch). */
  timeoutMs?: number;
  /**
   * Asked after a rejected push has fetched the remote's base: the remote's tip when the change is
   * already on it (an earlier owner's push landed meanwhile), so it is not integrated a second time.
   */
  landed?: () => Promise<string | null>;
}

/** A merge or rebase that stopped on conflicts; the repository has been restored before this is thrown. */
export class MergeConflictError extends RepoError {
  readonly paths: string[];

  constructor(message: string, paths: string[], remote?: string) {
    super('merge_conflict', message, remote === undefined ? { failure: 'other' } : { remote, failure: 'other' });
    this.paths = paths;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), paths: this.paths };
  }
}

const LOCAL_TIMEOUT_MS = 60_000;
const NETWORK_TIMEOUT_MS = 120_000;



interface LocalRunOptions {
  env?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
}

/** Stages everything and commits it on the current branch; with nothing to commit, returns HEAD. */
export async function commitWork(repoDir: string, opts: CommitWorkOptions): Promise<{ sha: string; created: boolean }> {
  const env = identityEnv(opts.author);
  await must(repoDir, ['add', '--all'], 'checkout_failed', opts);
  const staged = await git(repoDir, ['diff', '--cached', '--quiet'], opts);
  if (staged.exitCode === 0) return { sha: await head(repoDir, opts.signal), created: false };
  if (staged.exitCode !== 1) throw localError('checkout_failed', ['diff'], staged);
  // --no-verify: the change is already verified, and hooks would be code run outside the sandbox.
  await must(repoDir, ['commit', '--quiet', '--no-verify', '--no-gpg-sign', '-m', opts.message], 'checkout_failed', { ...opts, env });
  return { sha: await head(repoDir, opts.signal), created: true };
}

/** Checks out `base` and merges `branch` into it; a no-op when base already contains the branch. */
export async function mergeIntoBase(repoDir: string, opts: MergeOptions): Promise<{ sha: string; alreadyMerged: boolean }> {
  return integrate(repoDir, opts, undefined);
}

/** Pushes local `base` to origin; when origin moved meanwhile, re-integrates the branch once and retries. */
export async function pushBase(repoDir: string, opts: PushOptions): Promise<{ sha: string; pushed: boolean; retried: boolean }> {
  assertRemoteUrl(opts.url);
  validBranch(opts.base, 'base');
  validBranch(opts.branch, 'branch');
  const remote = redactUrl(opts.url);
  const origin = await git(repoDir, ['config', '--get', 'remote.origin.url'], opts);
  if (origin.stdout.trim() !== opts.url) {
    throw new RepoError('invalid_url', `origin of the checkout is not ${remote}`, { field: 'url', remote });
  }
  const net = { env: gitProcessEnv(opts.credentials), timeoutMs: opts.timeoutMs ?? NETWORK_TIMEOUT_MS, signal: opts.signal };
  const secrets = credentialSecrets(opts.credentials);

  for (let attempt = 1; ; attempt++) {
    const sha = await revParse(repoDir, `refs/heads/${opts.base}`, opts.signal);
    if (!sha) throw new RepoError('checkout_failed', `local branch ${opts.base} does not exist; merge first`, { remote, failure: 'not_found' });
    // --porcelain: one line per ref whose flag tells up-to-date (=) from updated and rejected (!).
    const run = await git(repoDir, ['push', '--porcelain', 'origin', `refs/heads/${opts.base}:refs/heads/${opts.base}`], net);
    const line = run.stdout.split('\n').find((l) => l.includes(`refs/heads/${opts.base}:`)) ?? '';
    if (run.exitCode === 0 && !run.timedOut) return { sha, pushed: !line.startsWith('='), retried: attempt > 1 };

    const moved = line.startsWith('!') && /\((?:fetch first|non-fast-forward|stale info)\)/.test(line);
    if (!moved) {
      const failure = run.timedOut ? 'timeout' : line.startsWith('!') ? 'other' : classifyGitFailure(run.stderr);
      const detail = run.timedOut ? `no answer within ${net.timeoutMs} ms` : redactText(firstUsefulLine(run.stderr) || line.trim() || `git exited with ${run.exitCode}`, secrets);
      const code: RepoErrorCode = line.startsWith('!') ? 'push_rejected' : 'push_failed';
      throw new RepoError(code, `push of ${opts.base} to ${remote} failed (${failure}): ${detail}`, { remote, failure, exitCode: run.exitCode });
    }
    if (attempt > 1) {
      throw new RepoError('push_rejected', `push of ${opts.base} to ${remote} was rejected again: ${opts.base} moved while integrating ${opts.branch}`, {
        remote,
        failure: 'other',
        attempts: attempt,
      });
    }
    // Someone else pushed to base: start from their tip and integrate our branch again.
    const fetch = await git(repoDir, ['fetch', '--quiet', 'origin', `+refs/heads/${opts.base}:refs/remotes/origin/${opts.base}`], net);
    if (fetch.exitCode !== 0 || fetch.timedOut) {
      const failure = fetch.timedOut ? 'timeout' : classifyGitFailure(fetch.stderr);
      const detail = redactText(firstUsefulLine(fetch.stderr) || `git exited with ${fetch.exitCode}`, secrets);
      throw new RepoError('fetch_failed', `fetch of ${remote} failed (${failure}): ${detail}`, { remote, failure, exitCode: fetch.exitCode });
    }
    const landed = await opts.landed?.();
    if (landed) return { sha: landed, pushed: false, retried: true };
    await integrate(repoDir, opts, remote);
  }
}

async function integrate(repoDir: string, opts: MergeOptions, remote: string | undefined): Promise<{ sha: string; alreadyMerged: boolean }> {
  validBranch(opts.base, 'base');
  validBranch(opts.branch, 'branch');
  const { signal } = opts;
  const env = identityEnv(opts.author);
  await abortInProgress(repoDir, signal);
  const dirty = await must(repoDir, ['status', '--porcelain', '--untracked-files=all'], 'checkout_failed', opts);
  if (dirty.trim()) throw new RepoError('checkout_failed', `the checkout has uncommitted changes; commit them before merging ${opts.branch}`, { failure: 'other' });

  const originBase = `refs/remotes/origin/${opts.base}`;
  // One git run for the three refs (it was one each).
  const tips = await refTips(repoDir, [`refs/heads/${opts.branch}`, originBase, `refs/heads/${opts.base}`], signal);
  const tip = tips.get(`refs/heads/${opts.branch}`);
  if (!tip) throw new RepoError('checkout_failed', `work branch ${opts.branch} does not exist`, { failure: 'not_found' });
  if (!tips.get(originBase)) throw new RepoError('checkout_failed', `origin has no branch ${opts.base}`, { failure: 'not_found' });

  // Local base survives only as an unpushed earlier run of this very step (crash between merge and
  // push); anything else is rebuilt from origin, so stale local commits are never pushed.
  const local = tips.get(`refs/heads/${opts.base}`) ?? null;
  if (local && (await isAncestor(repoDir, originBase, local, signal)) && (await isAncestor(repoDir, tip, local, signal))) {
    await must(repoDir, ['checkout', '--quiet', opts.base, '--'], 'checkout_failed', opts);
    return { sha: local, alreadyMerged: true };
  }
  await must(repoDir, ['checkout', '--quiet', '-B', opts.base, originBase, '--'], 'checkout_failed', opts);
  if (await isAncestor(repoDir, tip, 'HEAD', signal)) return { sha: await head(repoDir, signal), alreadyMerged: true };

  const where = `${opts.branch} into ${opts.base}${remote ? ` of ${remote}` : ''}`;
  if (opts.mode === 'merge') {
    const merge = await git(repoDir, ['merge', '--quiet', '--no-ff', '--no-edit', '--no-verify', '--no-gpg-sign', '-m', opts.message, opts.branch], { env, signal });
    if (merge.exitCode !== 0) await failMerge(repoDir, merge, ['merge', '--abort'], where, remote, signal);
  } else {
    const ff = await git(repoDir, ['merge', '--quiet', '--ff-only', opts.branch], { signal });
    if (ff.exitCode !== 0) {
      // Not a fast-forward: replay the work on top of base, then fast-forward to it.
      const rebase = await git(repoDir, ['rebase', '--quiet', '--no-gpg-sign', opts.base, opts.branch], { env, signal });
      if (rebase.exitCode !== 0) {
        await failMerge(repoDir, rebase, ['rebase', '--abort'], where, remote, signal);
      }
      await must(repoDir, ['checkout', '--quiet', opts.base, '--'], 'checkout_failed', opts);
      await must(repoDir, ['merge', '--quiet', '--ff-only', opts.branch], 'checkout_failed', opts);
    }
  }
  return { sha: await head(repoDir, signal), alreadyMerged: false };
}

/** Reports the conflict (or other failure) after restoring the checkout to a clean base. */
async function failMerge(repoDir: string, run: GitRun, abort: string[], where: string, remote: string | undefined, signal?: AbortSignal): Promise<never> {
  const conflicted = await git(repoDir, ['diff', '--name-only', '--diff-filter=U', '-z'], { signal });
  const paths = conflicted.stdout.split('\0').filter(Boolean);
  await git(repoDir, abort, { signal });
  await abortInProgress(repoDir, signal);
  if (paths.length > 0) throw new MergeConflictError(`merging ${where} conflicts in ${paths.join(', ')}`, paths, remote);
  throw localError('checkout_failed', [abort[0]!], run);
}

/**
 * Leftovers of a crashed earlier run would make every later merge or checkout fail. The markers are
 * looked for in the runner's git directory directly (three `rev-parse --git-path` runs before).
 */
export async function abortInProgress(repoDir: string, signal?: AbortSignal): Promise<void> {
  for (const [marker, op] of [
    ['rebase-merge', 'rebase'],
    ['rebase-apply', 'rebase'],
    ['MERGE_HEAD', 'merge'],
  ] as const) {
    if (existsSync(join(gitDirOf(repoDir), marker))) await git(repoDir, [op, '--abort'], { signal });
  }
}

/** Author and committer for this call only; never written to config. */
export function identityEnv(author: GitAuthor): Record<string, string> {
  for (const [field, value] of [
    ['author.name', author?.name],
    ['author.email', author?.email],
  ] as const) {
    if (typeof value !== 'string' || !value.trim() || /[<>\r\n\0]/.test(value)) {
      throw new RepoError('invalid_path', `${field} must be a non-empty single-line string without < or >`, { field });
    }
  }
  return {
    ...gitProcessEnv(),
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: author.name,
    GIT_COMMITTER_EMAIL: author.email,
  };
}

function validBranch(name: string, field: string): void {
  if (typeof name !== 'string' || !VALID_BRANCH.test(name)) {
    throw new RepoError('invalid_path', `${field} ${JSON.stringify(name)} is not a valid branch name`, { field });
  }
}

async function head(repoDir: string, signal?: AbortSignal): Promise<string> {
  const sha = await revParse(repoDir, 'HEAD', signal);
  if (!sha) throw new RepoError('checkout_failed', 'the checkout has no commit at HEAD', { failure: 'other' });
  return sha;
}

async function revParse(repoDir: string, rev: string, signal?: AbortSignal): Promise<string | null> {
  const run = await git(repoDir, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { signal });
  const sha = run.stdout.trim();
  return run.exitCode === 0 && /^[0-9a-f]{40,64}$/.test(sha) ? sha : null;
}

/** The commits these full ref names point at (absent: no such ref, or not a commit). */
async function refTips(repoDir: string, refs: string[], signal?: AbortSignal): Promise<Map<string, string>> {
  const run = await git(repoDir, ['for-each-ref', '--format=%(objecttype) %(objectname) %(refname)', ...refs], { signal });
  if (run.exitCode !== 0) throw localError('checkout_failed', ['for-each-ref'], run);
  const wanted = new Set(refs);
  const tips = new Map<string, string>();
  for (const line of run.stdout.split('\n')) {
    const [type, sha, ref] = line.split(' ');
    // A pattern also matches refs below it (refs/heads/main/x): only the exact names count.
    if (type === 'commit' && sha && ref && wanted.has(ref) && /^[0-9a-f]{40,64}$/.test(sha)) tips.set(ref, sha);
  }
  return tips;
}

async function isAncestor(repoDir: string, ancestor: string, of: string, signal?: AbortSignal): Promise<boolean> {
  return (await git(repoDir, ['merge-base', '--is-ancestor', ancestor, of], { signal })).exitCode === 0;
}

async function must(repoDir: string, args: string[], code: RepoErrorCode, opts: LocalRunOptions): Promise<string> {
  const run = await git(repoDir, args, opts);
  if (run.exitCode !== 0) throw localError(code, args, run);
  return run.stdout;
}

function localError(code: RepoErrorCode, args: string[], run: GitRun): RepoError {
  const detail = run.timedOut ? 'timed out' : redactText(firstUsefulLine(run.stderr) || `git exited with ${run.exitCode}`);
  return new RepoError(code, `git ${args[0]} failed in the checkout: ${detail}`, { failure: run.timedOut ? 'timeout' : 'other', exitCode: run.exitCode });
}

/** git in the checkout, with this module's defaults; an abort rejects (steps are cancelled, not failed). */
async function git(repoDir: string, args: string[], opts: LocalRunOptions = {}): Promise<GitRun> {
  const run = await runGit(args, { workTree: repoDir, env: opts.env ?? gitProcessEnv(), timeoutMs: opts.timeoutMs ?? LOCAL_TIMEOUT_MS, signal: opts.signal });
  opts.signal?.throwIfAborted();
  return run;
}
