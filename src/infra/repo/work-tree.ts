// Local operations on a cached checkout that the pipeline works in: reset to the base branch,
// create the task's work branch, list what changed. No network: clone/fetch are RepoCache's.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitProcessEnv } from './git-credentials.js';
import { RepoError } from './git-errors.js';
import { removeLocks } from './git-locks.js';
import { runGit } from './git-run.js';

const LOCAL_TIMEOUT_MS = 60_000;

async function git(repoDir: string, args: string[], signal?: AbortSignal, extraEnv: Record<string, string> = {}): Promise<string> {
  const run = await runGit(args, { workTree: repoDir, env: { ...gitProcessEnv(), ...extraEnv }, timeoutMs: LOCAL_TIMEOUT_MS, signal });
  signal?.throwIfAborted();
  if (run.exitCode !== 0) {
    const line = run.stderr.split('\n').find((l) => l.trim()) ?? (run.timedOut ? `no answer within ${LOCAL_TIMEOUT_MS} ms` : `exit ${run.exitCode}`);
    throw new RepoError('checkout_failed', `git ${args[0]} failed in the checkout: ${line.slice(0, 300)}`, { remote: repoDir, failure: 'other' });
  }
  return run.stdout;
}

/** Discards every local change (the cache is ours) and checks out `base` at origin's tip. */
export async function resetToBase(repoDir: string, base: string, signal?: AbortSignal): Promise<void> {
  await git(repoDir, ['reset', '--quiet', '--hard'], signal);
  // -ff: also repositories the agent nested in the work tree. Ignored files (node_modules, build
  // output) stay, so the next build is warm.
  await git(repoDir, ['clean', '-ffdq'], signal);
  await git(repoDir, ['checkout', '--quiet', '-B', base, `refs/remotes/origin/${base}`, '--'], signal);
}

/** `branch` freshly from origin's `base`, replacing any earlier attempt (steps must be re-runnable). */
export async function createWorkBranch(repoDir: string, branch: string, base: string, signal?: AbortSignal): Promise<string> {
  await resetToBase(repoDir, base, signal);
  await git(repoDir, ['checkout', '--quiet', '-B', branch, `refs/remotes/origin/${base}`, '--'], signal);
  return (await git(repoDir, ['rev-parse', 'HEAD'], signal)).trim();
}

/** Paths changed in the work tree (tracked or new, not ignored), as git sees them. */
export async function changedFiles(repoDir: string, signal?: AbortSignal): Promise<string[]> {
  const out = await git(repoDir, ['status', '--porcelain=v1', '-z', '--untracked-files=all'], signal);
  const files: string[] = [];
  const entries = out.split('\0');
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    if (entry.length < 4) continue;
    files.push(entry.slice(3));
    // A rename is followed by its source path.
    if (entry[0] === 'R' || entry[0] === 'C') i++;
  }
  return files;
}

/** Deletes local branches under `prefix` (e.g. "devteam/") after checking out `base`. */
export async function deleteWorkBranches(repoDir: string, prefix: string, base: string, signal?: AbortSignal): Promise<string[]> {
  await resetToBase(repoDir, base, signal);
  const out = await git(repoDir, ['for-each-ref', '--format=%(refname:short)', `refs/heads/${prefix}`], signal);
  const branches = out.split('\n').filter(Boolean);
  if (branches.length) await git(repoDir, ['branch', '--quiet', '-D', ...branches], signal);
  // Attempt results kept outside branches (refs/devteam/…) go with them.
  const kept = (await git(repoDir, ['for-each-ref', '--format=%(refname)', 'refs/devteam/'], signal)).split('\n').filter(Boolean);
  for (const ref of kept) await git(repoDir, ['update-ref', '-d', ref], signal);
  return branches;
}

/**
 * The work tree as a git tree id (tracked and untracked files, minus ignored ones), written
 * through a throwaway index so the real index is untouched. Comparing two of them tells exactly
 * what changed in between — e.g. what one agent attempt did, whatever earlier attempts left.
 */
export async function snapshotTree(repoDir: string, signal?: AbortSignal): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'devteam-index-'));
  const env = { GIT_INDEX_FILE: join(dir, 'index') };
  try {
    await git(repoDir, ['read-tree', 'HEAD'], signal, env);
    await git(repoDir, ['add', '-A', '--', '.'], signal, env);
    return (await git(repoDir, ['write-tree'], signal, env)).trim();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Paths that differ between two trees from snapshotTree. */
export async function changedBetween(repoDir: string, before: string, after: string, signal?: AbortSignal): Promise<string[]> {
  if (before === after) return [];
  const out = await git(repoDir, ['diff', '--name-only', '-z', '--no-renames', before, after], signal);
  return out.split('\0').filter(Boolean);
}

/** The checked-out branch (or "HEAD" when detached). */
export async function currentBranch(repoDir: string, signal?: AbortSignal): Promise<string> {
  return (await git(repoDir, ['rev-parse', '--abbrev-ref', 'HEAD'], signal)).trim();
}

/** How many commits `to` has that `from` does not. */
export async function commitsAhead(repoDir: string, from: string, to: string, signal?: AbortSignal): Promise<number> {
  return Number((await git(repoDir, ['rev-list', '--count', `${from}..${to}`, '--'], signal)).trim());
}

/**
 * Puts the work tree and index exactly at `commit`'s tree on the current branch: every tracked and
 * untracked change is dropped (ignored files stay, so builds stay warm). What an interrupted
 * attempt left behind never reaches the attempt that runs again.
 */
export async function restoreTree(repoDir: string, commit: string, signal?: AbortSignal): Promise<void> {
  await git(repoDir, ['reset', '--quiet', '--hard'], signal);
  await git(repoDir, ['clean', '-ffdq'], signal);
  await git(repoDir, ['read-tree', '--reset', '-u', `${commit}^{tree}`], signal);
}

/** Records the work tree (as snapshotTree sees it) as a commit on top of HEAD under `ref`, outside branches. */
export async function saveWorkTree(repoDir: string, ref: string, message: string, signal?: AbortSignal): Promise<string> {
  const tree = await snapshotTree(repoDir, signal);
  const identity = { GIT_AUTHOR_NAME: 'DevTeam Runner', GIT_AUTHOR_EMAIL: 'devteam-runner@localhost', GIT_COMMITTER_NAME: 'DevTeam Runner', GIT_COMMITTER_EMAIL: 'devteam-runner@localhost' };
  const sha = (await git(repoDir, ['commit-tree', tree, '-p', 'HEAD', '-m', message], signal, identity)).trim();
  await git(repoDir, ['update-ref', ref, sha], signal);
  return sha;
}

/** The commit `ref` points at, or null when there is no such ref. */
export async function resolveRef(repoDir: string, ref: string, signal?: AbortSignal): Promise<string | null> {
  const run = await runGit(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { workTree: repoDir, env: gitProcessEnv(), timeoutMs: LOCAL_TIMEOUT_MS, signal });
  signal?.throwIfAborted();
  const sha = run.stdout.trim();
  return run.exitCode === 0 && /^[0-9a-f]{40,64}$/.test(sha) ? sha : null;
}

/**
 * Removes git lock files older than `olderThanMs` from a git directory: a git killed with its
 * process (SIGKILL of a worker, a lost lease elsewhere) leaves them, and every later command then
 * fails with "File exists". Only old ones go — no runner git command holds a lock for seconds — and
 * only the project's owner calls this, under its lease. (A git the runner kills itself has its
 * locks removed at once: runGit.)
 */
export async function removeStaleLocks(gitDir: string, olderThanMs = 10_000): Promise<string[]> {
  const cutoff = Date.now() - olderThanMs;
  return removeLocks(gitDir, (mtimeMs) => mtimeMs < cutoff);
}

/**
 * The checkout as the attempt `commit` (from saveWorkTree) left it: on `branch` at the commit's parent
 * (the base the attempt was made on) with the work tree and index at the commit's tree. A no-op when
 * it is already so (the worker that ran the attempt); otherwise — another worker after a takeover, or
 * a work tree a crash left half-changed — everything tracked and untracked is replaced (ignored files
 * stay, so builds stay warm). The commit's tree is data: it is only ever checked out, never run by git.
 */
export async function checkoutAttempt(repoDir: string, branch: string, commit: string, signal?: AbortSignal): Promise<void> {
  const parent = (await git(repoDir, ['rev-parse', '--verify', '--quiet', `${commit}^1^{commit}`], signal)).trim();
  const tree = (await git(repoDir, ['rev-parse', '--verify', '--quiet', `${commit}^{tree}`], signal)).trim();
  const onBranch = (await currentBranch(repoDir, signal).catch(() => '')) === branch && (await resolveRef(repoDir, 'HEAD', signal)) === parent;
  if (onBranch && (await snapshotTree(repoDir, signal)) === tree) return;
  await git(repoDir, ['reset', '--quiet', '--hard'], signal);
  await git(repoDir, ['clean', '-ffdq'], signal);
  await git(repoDir, ['checkout', '--quiet', '-B', branch, parent, '--'], signal);
  await git(repoDir, ['read-tree', '--reset', '-u', tree], signal);
}
