// The git side of parallel lanes (decision 0028): each lane is a worktree of the project's clone
// (its own work tree, HEAD and index; objects and refs shared), and a lane's verified change goes
// onto the base through the merge queue — rebased (or merged) onto the remote's latest base in the
// lane itself, then pushed from its work branch straight to the remote's base as a fast-forward.
// The base branch is never checked out in a lane (git allows a branch in one worktree only).
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { assertRemoteUrl, credentialSecrets, gitProcessEnv, type GitCredentials } from './git-credentials.js';
import { classifyGitFailure, firstUsefulLine, redactText, redactUrl, RepoError } from './git-errors.js';
import { removeLocks } from './git-locks.js';
import { runGit, VALID_BRANCH, type GitRun } from './git-run.js';
import { abortInProgress, commitWork, identityEnv, type GitAuthor } from './integrate.js';
import type { LanePaths } from './project-paths.js';

const LOCAL_TIMEOUT_MS = 60_000;
const NETWORK_TIMEOUT_MS = 120_000;

async function git(repoDir: string, args: string[], signal?: AbortSignal, env: Record<string, string> = gitProcessEnv(), timeoutMs = LOCAL_TIMEOUT_MS): Promise<GitRun> {
  const run = await runGit(args, { workTree: repoDir, env, timeoutMs, signal });
  signal?.throwIfAborted();
  return run;
}

async function must(repoDir: string, args: string[], signal?: AbortSignal, env?: Record<string, string>): Promise<string> {
  const run = await git(repoDir, args, signal, env);
  if (run.exitCode !== 0) {
    const detail = run.timedOut ? 'timed out' : redactText(firstUsefulLine(run.stderr) || `git exited with ${run.exitCode}`);
    throw new RepoError('checkout_failed', `git ${args[0]} failed in a lane: ${detail}`, { failure: run.timedOut ? 'timeout' : 'other', exitCode: run.exitCode });
  }
  return run.stdout;
}

async function revParse(repoDir: string, rev: string, signal?: AbortSignal): Promise<string | null> {
  const run = await git(repoDir, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], signal);
  const sha = run.stdout.trim();
  return run.exitCode === 0 && /^[0-9a-f]{40,64}$/.test(sha) ? sha : null;
}

/**
 * The lane's worktree, present and usable: created (detached at origin's base) when its work tree
 * or its git directory is missing, with git's `.git` file removed from the work tree (the runner
 * names the git directory itself; decision 0013). Returns whether it was created.
 */
export async function ensureLaneWorkTree(paths: LanePaths, base: string, signal?: AbortSignal): Promise<boolean> {
  if (existsSync(paths.repoDir) && existsSync(join(paths.gitDir, 'HEAD'))) {
    // A git killed with an earlier owner of this lane left its locks behind.
    await removeLocks(paths.gitDir, (mtimeMs) => mtimeMs < Date.now() - 10_000).catch(() => undefined);
    return false;
  }
  await rm(paths.repoDir, { recursive: true, force: true });
  await rm(paths.gitDir, { recursive: true, force: true });
  await mkdir(dirname(paths.repoDir), { recursive: true });
  // --lock: the work tree has no .git file pointing back, which `git worktree prune` would take for a deleted worktree.
  const run = await runGit(['worktree', 'add', '--quiet', '--lock', '--detach', paths.repoDir, `refs/remotes/origin/${base}`], {
    gitDir: paths.commonGitDir,
    env: gitProcessEnv(),
    timeoutMs: LOCAL_TIMEOUT_MS,
    signal,
  });
  signal?.throwIfAborted();
  if (run.exitCode !== 0) throw new RepoError('checkout_failed', `could not add a lane worktree: ${redactText(firstUsefulLine(run.stderr) || `git exited with ${run.exitCode}`)}`, { failure: 'other' });
  await rm(join(paths.repoDir, '.git'), { force: true });
  return true;
}

/** `branch` freshly from origin's `base` in the lane, whatever an earlier task left there. */
export async function startLaneBranch(repoDir: string, branch: string, base: string, signal?: AbortSignal): Promise<string> {
  await abortInProgress(repoDir, signal);
  await must(repoDir, ['reset', '--quiet', '--hard'], signal);
  await must(repoDir, ['clean', '-ffdq'], signal);
  // Another lane (or the project's own checkout) may still name the branch from an earlier run.
  await must(repoDir, ['checkout', '--quiet', '--ignore-other-worktrees', '-B', branch, `refs/remotes/origin/${base}`, '--'], signal);
  return (await must(repoDir, ['rev-parse', 'HEAD'], signal)).trim();
}

/** Where the lane's work branch left the base: the base commit its change is built on. */
export async function forkPoint(repoDir: string, base: string, signal?: AbortSignal): Promise<string> {
  return (await must(repoDir, ['merge-base', 'HEAD', `refs/remotes/origin/${base}`], signal)).trim();
}

/**
 * Moves the work branch back to its fork point (dropping a task commit MERGE made), so an attempt's
 * start tree is laid on the base it was built on — after a re-verify failed, the rebased tree.
 */
export async function resetToForkPoint(repoDir: string, base: string, signal?: AbortSignal): Promise<void> {
  await abortInProgress(repoDir, signal);
  await must(repoDir, ['reset', '--quiet', '--hard', await forkPoint(repoDir, base, signal)], signal);
}

export interface LaneMergeOptions {
  branch: string;
  base: string;
  mode: 'ff' | 'merge';
  /** The task commit's message (with its trailers). */
  commitMessage: string;
  /** The merge commit's message (mode 'merge'). */
  mergeMessage: string;
  author: GitAuthor;
  signal?: AbortSignal;
}

export type LaneMergeResult = { commit: string; base: string } | { conflict: string[]; base: string };

/**
 * Commits the lane's change on its work branch and puts it on top of origin's base (fetched by the
 * caller): rebased (ff) or under a merge commit whose first parent is the base (merge). On a
 * conflict the lane is left on a fresh work branch at the new base and the conflicting paths are
 * returned. Safe to run again: a change already on the base's tip is not integrated twice.
 */
export async function integrateLane(repoDir: string, opts: LaneMergeOptions): Promise<LaneMergeResult> {
  const { signal } = opts;
  for (const [field, name] of [['branch', opts.branch], ['base', opts.base]] as const) {
    if (!VALID_BRANCH.test(name)) throw new RepoError('invalid_path', `${field} ${JSON.stringify(name)} is not a valid branch name`, { field });
  }
  const originBase = `refs/remotes/origin/${opts.base}`;
  const base = await revParse(repoDir, originBase, signal);
  if (!base) throw new RepoError('checkout_failed', `origin has no branch ${opts.base}`, { failure: 'not_found' });
  await abortInProgress(repoDir, signal);
  await commitWork(repoDir, { message: opts.commitMessage, author: opts.author, signal });
  const env = identityEnv(opts.author);
  if (opts.mode === 'ff') {
    const rebase = await git(repoDir, ['rebase', '--quiet', '--no-gpg-sign', originBase], signal, env);
    if (rebase.exitCode !== 0) return conflictOf(repoDir, ['rebase', '--abort'], opts, base);
  } else if (!(await mergedOnto(repoDir, base, signal))) {
    const tip = (await must(repoDir, ['rev-parse', 'HEAD'], signal)).trim();
    await must(repoDir, ['checkout', '--quiet', '--ignore-other-worktrees', '-B', opts.branch, originBase, '--'], signal);
    const merge = await git(repoDir, ['merge', '--quiet', '--no-ff', '--no-edit', '--no-verify', '--no-gpg-sign', '-m', opts.mergeMessage, tip], signal, env);
    if (merge.exitCode !== 0) return conflictOf(repoDir, ['merge', '--abort'], opts, base);
  }
  return { commit: (await must(repoDir, ['rev-parse', 'HEAD'], signal)).trim(), base };
}

/** Mode merge, run again: HEAD is already a merge commit whose first parent is the base. */
async function mergedOnto(repoDir: string, base: string, signal?: AbortSignal): Promise<boolean> {
  const parents = (await must(repoDir, ['rev-list', '--parents', '-n', '1', 'HEAD'], signal)).trim().split(' ');
  return parents.length === 3 && parents[1] === base;
}

async function conflictOf(repoDir: string, abort: string[], opts: LaneMergeOptions, base: string): Promise<LaneMergeResult> {
  const conflicted = await git(repoDir, ['diff', '--name-only', '--diff-filter=U', '-z'], opts.signal);
  const paths = conflicted.stdout.split('\0').filter(Boolean);
  await git(repoDir, abort, opts.signal);
  if (paths.length === 0) throw new RepoError('checkout_failed', `integrating ${opts.branch} onto ${opts.base} failed without a conflict`, { failure: 'other' });
  // The next attempt starts over on the new base.
  await startLaneBranch(repoDir, opts.branch, opts.base, opts.signal);
  return { conflict: paths, base };
}

export interface LanePushOptions {
  branch: string;
  base: string;
  url: string;
  credentials?: GitCredentials;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Pushes the lane's work branch to the remote's base, as a fast-forward only. `moved`: the remote's
 * base is no longer where MERGE put the change on (someone else pushed) — nothing was pushed.
 */
export async function pushLane(repoDir: string, opts: LanePushOptions): Promise<{ commit: string; moved: boolean }> {
  assertRemoteUrl(opts.url);
  const remote = redactUrl(opts.url);
  const origin = (await git(repoDir, ['config', '--get', 'remote.origin.url'], opts.signal)).stdout.trim();
  if (origin !== opts.url) throw new RepoError('invalid_url', `origin of the checkout is not ${remote}`, { field: 'url', remote });
  const commit = await revParse(repoDir, `refs/heads/${opts.branch}`, opts.signal);
  if (!commit) throw new RepoError('checkout_failed', `work branch ${opts.branch} does not exist`, { failure: 'not_found' });
  const env = gitProcessEnv(opts.credentials);
  const run = await git(repoDir, ['push', '--porcelain', 'origin', `refs/heads/${opts.branch}:refs/heads/${opts.base}`], opts.signal, env, opts.timeoutMs ?? NETWORK_TIMEOUT_MS);
  const line = run.stdout.split('\n').find((l) => l.includes(`:refs/heads/${opts.base}`)) ?? '';
  if (run.exitCode === 0 && !run.timedOut) return { commit, moved: false };
  if (line.startsWith('!') && /\((?:fetch first|non-fast-forward|stale info)\)/.test(line)) return { commit, moved: true };
  const failure = run.timedOut ? 'timeout' : line.startsWith('!') ? 'other' : classifyGitFailure(run.stderr);
  const detail = run.timedOut ? 'no answer in time' : redactText(firstUsefulLine(run.stderr) || line.trim() || `git exited with ${run.exitCode}`, credentialSecrets(opts.credentials));
  throw new RepoError(line.startsWith('!') ? 'push_rejected' : 'push_failed', `push of ${opts.branch} to ${opts.base} of ${remote} failed (${failure}): ${detail}`, { remote, failure, exitCode: run.exitCode });
}

/** Removes every lane worktree of a project (stop): work trees and their git directories. */
export async function removeLaneWorkTrees(projectDir: string, commonGitDir: string): Promise<void> {
  await rm(join(projectDir, 'lanes'), { recursive: true, force: true });
  await rm(join(commonGitDir, 'worktrees'), { recursive: true, force: true });
}

/** Points `ref` (outside branches, e.g. an attempt's) at `commit`. */
export async function setRef(repoDir: string, ref: string, commit: string, signal?: AbortSignal): Promise<void> {
  await must(repoDir, ['update-ref', ref, commit], signal);
}
