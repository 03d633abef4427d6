// The per-tenant cache of project clones: clone once (atomically, via a temp dir and rename), fetch
// afterwards, with a deadline, bounded retries on network failures, and per-call credentials.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, realpath, rename, rm, rmdir, stat, utimes, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Logger } from 'pino';
import { fileRemotePathProblem, parseRepositoryUrl, type FileRemotePolicy } from '../../project/index.js';
import { assertRemoteUrl, credentialSecrets, gitProcessEnv, type GitCredentials } from './git-credentials.js';
import { classifyGitFailure, firstUsefulLine, redactText, redactUrl, RepoError, type GitFailure, type RepoErrorCode } from './git-errors.js';
import { runGit, VALID_BRANCH, type GitRun } from './git-run.js';
import { removeStaleLocks } from './work-tree.js';
import { gitDirOf, isValidProjectId, isValidTenant, projectPaths, type ProjectPaths } from './project-paths.js';

export interface RepoCacheOptions {
  /** Absolute directory holding <tenant>/<project>/repo. */
  root: string;
  /** Deadline of each git run (one clone or fetch attempt). */
  timeoutMs?: number;
  /** Extra attempts after a 'network' failure; other failures are final. */
  retries?: number;
  /** First retry delay; doubles per attempt. */
  backoffMs?: number;
  log?: Logger;
  /**
   * Where local (file://) remotes may be, checked again here on real paths (symlinks resolved)
   * right before every clone and fetch; the edge checks the same rule on the text. Absent: no check.
   */
  fileRemotes?: FileRemotePolicy;
}

export interface EnsureRequest {
  tenant: string;
  projectId: string;
  url: string;
  /** Branch whose origin tip is reported; defaults to the remote's default branch. */
  branch?: string;
  credentials?: GitCredentials;
  signal?: AbortSignal;
}

export interface EnsureResult {
  repoDir: string;
  action: 'cloned' | 'fetched';
  /** origin's tip of the branch; null only for an empty repository. */
  headSha: string | null;
  /** The branch headSha belongs to; null when it cannot be known (empty repository, detached remote HEAD). */
  branch: string | null;
  durationMs: number;
}

export interface ProjectRef {
  tenant: string;
  projectId: string;
}

export interface TenantSize {
  tenant: string;
  projects: number;
  bytes: number;
}

const MARKER = '.last-used';
const TMP_PREFIX = '.repo-tmp-';
// Local git commands (rev-parse, config) are instant; a slow one means a wedged filesystem.
const LOCAL_TIMEOUT_MS = 30_000;



type RepoState = 'absent' | 'valid' | 'broken' | 'other-remote';

export class RepoCache {
  readonly root: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly log: Logger | undefined;
  private readonly fileRemotes: FileRemotePolicy | undefined;
  /** Tail of each project's chain of operations, so one process never clones twice into one dir. */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(opts: RepoCacheOptions) {
    if (typeof opts.root !== 'string' || !isAbsolute(opts.root)) {
      throw new RepoError('invalid_path', `root ${JSON.stringify(opts.root)} must be an absolute path`, { field: 'root' });
    }
    this.root = resolve(opts.root);
    this.timeoutMs = positive(opts.timeoutMs ?? 120_000, 'timeoutMs');
    this.retries = nonNegative(opts.retries ?? 2, 'retries');
    this.backoffMs = nonNegative(opts.backoffMs ?? 500, 'backoffMs');
    this.log = opts.log;
    this.fileRemotes = opts.fileRemotes;
  }

  /** Makes the project's clone present and current: clone when absent or unusable, fetch otherwise. */
  async ensure(req: EnsureRequest): Promise<EnsureResult> {
    const paths = projectPaths(this.root, req.tenant, req.projectId);
    assertRemoteUrl(req.url);
    if (req.branch !== undefined && !VALID_BRANCH.test(req.branch)) {
      throw new RepoError('invalid_path', `branch ${JSON.stringify(req.branch)} is not a valid branch name`, { field: 'branch' });
    }
    if (this.fileRemotes) await assertFileRemoteAllowed(req.url, this.fileRemotes);
    const env = gitProcessEnv(req.credentials);
    const secrets = credentialSecrets(req.credentials);
    req.signal?.throwIfAborted();
    return this.serialize(key(req.tenant, req.projectId), () => this.ensureLocked(req, paths, env, secrets));
  }

  /**
   * Points the local `branch` at origin's tip and checks it out (`git checkout -B`). Local commits on
   * that branch are dropped; uncommitted changes that conflict make it fail with 'checkout_failed'.
   */
  async checkoutBranch(repoDir: string, branch: string): Promise<string> {
    const dir = resolve(repoDir);
    const rel = relative(this.root, dir);
    if (!rel || rel.startsWith('..') || isAbsolute(rel)) {
      throw new RepoError('invalid_path', `repoDir ${JSON.stringify(repoDir)} is not inside the cache root`, { field: 'repoDir' });
    }
    if (!VALID_BRANCH.test(branch)) throw new RepoError('invalid_path', `branch ${JSON.stringify(branch)} is not a valid branch name`, { field: 'branch' });
    const env = gitProcessEnv();
    const run = await runGit(['checkout', '--quiet', '-B', branch, `refs/remotes/origin/${branch}`, '--'], { env, workTree: dir, timeoutMs: LOCAL_TIMEOUT_MS });
    if (run.exitCode !== 0) {
      const detail = redactText(firstUsefulLine(run.stderr) || `git exited with ${run.exitCode}`);
      throw new RepoError('checkout_failed', `checkout of ${branch} in ${dir} failed: ${detail}`, {
        failure: run.timedOut ? 'timeout' : classifyGitFailure(run.stderr),
        exitCode: run.exitCode,
      });
    }
    const head = await revParse(gitDirOf(dir), 'HEAD^{commit}', env);
    if (!head) throw new RepoError('checkout_failed', `checkout of ${branch} in ${dir} left no HEAD`, { failure: 'other' });
    return head;
  }

  /** Removes project directories whose `.last-used` marker is older than `unusedMs`. */
  async cleanupUnused(unusedMs: number): Promise<ProjectRef[]> {
    const cutoff = Date.now() - nonNegative(unusedMs, 'unusedMs');
    const removed: ProjectRef[] = [];
    for (const tenant of await subdirs(this.root, isValidTenant)) {
      const tenantDir = join(this.root, tenant);
      for (const projectId of await subdirs(tenantDir, isValidProjectId)) {
        // Under the project's chain: an ensure in flight has just touched the marker, or runs after.
        await this.serialize(key(tenant, projectId), async () => {
          const projectDir = join(tenantDir, projectId);
          const used = await lastUsed(projectDir);
          if (used === null || used >= cutoff) return;
          await rm(projectDir, { recursive: true, force: true });
          removed.push({ tenant, projectId });
          this.log?.info({ tenant, projectId, lastUsed: new Date(used).toISOString() }, 'removed unused repository');
        });
      }
      await rmdir(tenantDir).catch(() => {}); // only succeeds once the tenant has no project left
    }
    return removed;
  }

  /** Disk use per tenant (sum of file sizes under its directory), sorted by tenant. */
  async sizeReport(): Promise<TenantSize[]> {
    const report: TenantSize[] = [];
    for (const tenant of (await subdirs(this.root, isValidTenant)).sort()) {
      const tenantDir = join(this.root, tenant);
      const projects = await subdirs(tenantDir, isValidProjectId);
      report.push({ tenant, projects: projects.length, bytes: await treeBytes(tenantDir) });
    }
    return report;
  }

  private async ensureLocked(req: EnsureRequest, paths: ProjectPaths, env: Record<string, string>, secrets: string[]): Promise<EnsureResult> {
    const started = performance.now();
    const remote = redactUrl(req.url);
    const log = this.log?.child({ tenant: req.tenant, projectId: req.projectId, remote });
    await mkdir(paths.projectDir, { recursive: true });
    await touch(join(paths.projectDir, MARKER));
    await this.removeLeftovers(paths.projectDir, log);

    const state = await inspect(paths, req.url, env);
    let action: EnsureResult['action'];
    if (state === 'valid') {
      // A fetch killed with an earlier owner of this project left its locks behind.
      await removeStaleLocks(paths.gitDir);
      await this.withRetries('fetch', remote, secrets, log, req.signal, () =>
        runGit(['fetch', '--prune', '--quiet', 'origin'], { env, gitDir: paths.gitDir, timeoutMs: this.timeoutMs, signal: req.signal }),
      );
      action = 'fetched';
    } else {
      if (state !== 'absent') {
        log?.warn({ state }, 'discarding unusable repository before cloning');
        await rm(paths.repoDir, { recursive: true, force: true });
        await rm(paths.gitDir, { recursive: true, force: true });
      }
      await this.clone(paths, req.url, env, remote, secrets, log, req.signal);
      action = 'cloned';
    }

    const { headSha, branch } = await resolveHead(paths.gitDir, req.branch, env, remote);
    const durationMs = Math.round(performance.now() - started);
    log?.info({ action, headSha, branch, durationMs }, 'repository ready');
    return { repoDir: paths.repoDir, action, headSha, branch, durationMs };
  }

  private async clone(
    paths: ProjectPaths,
    url: string,
    env: Record<string, string>,
    remote: string,
    secrets: string[],
    log: Logger | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    let tmp = '';
    await this.withRetries('clone', remote, secrets, log, signal, async () => {
      tmp = join(paths.projectDir, `${TMP_PREFIX}${randomBytes(6).toString('hex')}`);
      // The git directory is kept apart from the work tree, which is all a sandbox ever mounts.
      const args = ['clone', '--quiet', `--separate-git-dir=${join(tmp, 'git')}`, '--', url, join(tmp, 'repo')];
      const run = await runGit(args, { env, cwd: paths.projectDir, timeoutMs: this.timeoutMs, signal });
      if (run.exitCode !== 0) await rm(tmp, { recursive: true, force: true });
      return run;
    });
    // The work tree's ".git" file would point back at the git directory; the runner never needs it.
    await rm(join(tmp, 'repo', '.git'), { force: true });
    // The renames make a clone visible, the git directory last: until both are there, inspect() calls
    // the project broken and it is cloned again.
    await rename(join(tmp, 'repo'), paths.repoDir);
    await rename(join(tmp, 'git'), paths.gitDir);
    await rm(tmp, { recursive: true, force: true });
  }

  private async withRetries(
    op: 'clone' | 'fetch',
    remote: string,
    secrets: string[],
    log: Logger | undefined,
    signal: AbortSignal | undefined,
    attempt: () => Promise<GitRun>,
  ): Promise<void> {
    const code: RepoErrorCode = op === 'clone' ? 'clone_failed' : 'fetch_failed';
    for (let n = 1; ; n++) {
      const run = await attempt();
      if (run.exitCode === 0 && !run.timedOut && !run.aborted) return;
      if (run.aborted) throw signal?.reason ?? new DOMException('aborted', 'AbortError');
      const failure: GitFailure = run.timedOut ? 'timeout' : classifyGitFailure(run.stderr);
      const detail = run.timedOut
        ? `no answer within ${this.timeoutMs} ms`
        : redactText(firstUsefulLine(run.stderr) || `git exited with ${run.exitCode}`, secrets);
      if (failure === 'network' && n <= this.retries) {
        const delayMs = this.backoffMs * 2 ** (n - 1);
        log?.warn({ op, attempt: n, failure, delayMs, detail }, 'git attempt failed, retrying');
        await sleep(delayMs, signal);
        continue;
      }
      log?.warn({ op, attempts: n, failure, detail }, 'git failed');
      throw new RepoError(code, `${op} of ${remote} failed (${failure}): ${detail}`, { remote, failure, attempts: n, exitCode: run.exitCode });
    }
  }

  private async removeLeftovers(projectDir: string, log: Logger | undefined): Promise<void> {
    for (const entry of await readdir(projectDir)) {
      if (!entry.startsWith(TMP_PREFIX)) continue;
      log?.warn({ leftover: entry }, 'removing half-finished clone');
      await rm(join(projectDir, entry), { recursive: true, force: true });
    }
  }

  private serialize<T>(k: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(k) ?? Promise.resolve();
    const result = previous.then(fn);
    const tail = result.then(
      () => {},
      () => {},
    );
    this.chains.set(k, tail);
    void tail.then(() => {
      if (this.chains.get(k) === tail) this.chains.delete(k);
    });
    return result;
  }
}

/** A file remote must really (symlinks resolved) lie inside an allowed root and outside the protected ones. */
async function assertFileRemoteAllowed(url: string, policy: FileRemotePolicy): Promise<void> {
  const parsed = parseRepositoryUrl(url);
  if (!parsed.ok || parsed.url.kind !== 'file') return;
  const real = async (path: string) => realpath(path).catch(() => resolve(path));
  const problem = fileRemotePathProblem(await real(parsed.url.path), {
    roots: await Promise.all(policy.roots.map(real)),
    forbidden: await Promise.all(policy.forbidden.map(real)),
  });
  if (problem) throw new RepoError('invalid_url', `remote ${JSON.stringify(redactUrl(url))} ${problem}`, { field: 'url', remote: redactUrl(url) });
}

function key(tenant: string, projectId: string): string {
  return `${tenant}/${projectId}`;
}

async function revParse(gitDir: string, rev: string, env: Record<string, string>): Promise<string | null> {
  const run = await runGit(['rev-parse', '--verify', '--quiet', rev], { env, gitDir, timeoutMs: LOCAL_TIMEOUT_MS });
  return run.exitCode === 0 && /^[0-9a-f]{40,64}$/.test(run.stdout.trim()) ? run.stdout.trim() : null;
}

async function gitOutput(gitDir: string, args: string[], env: Record<string, string>): Promise<string | null> {
  const run = await runGit(args, { env, gitDir, timeoutMs: LOCAL_TIMEOUT_MS });
  return run.exitCode === 0 ? run.stdout.trim() : null;
}

/**
 * Whether the project holds a clone we can fetch into: a work tree and, beside it, its git
 * directory (a work tree with its own .git is the layout before decision 0013: cloned again).
 */
async function inspect(paths: ProjectPaths, url: string, env: Record<string, string>): Promise<RepoState> {
  const info = await lstat(paths.repoDir).catch(() => null);
  const gitInfo = await lstat(paths.gitDir).catch(() => null);
  if (!info && !gitInfo) return 'absent';
  if (!info?.isDirectory() || !gitInfo?.isDirectory()) return 'broken';
  const { gitDir } = paths;
  const origin = await gitOutput(gitDir, ['config', '--get', 'remote.origin.url'], env);
  if (origin === null) return 'broken';
  if (origin !== url) return 'other-remote';
  if (await revParse(gitDir, 'HEAD^{commit}', env)) return 'valid';
  // A clone of an empty remote has an unborn HEAD and no refs at all; a fetch fills it in later.
  const headRef = await gitOutput(gitDir, ['symbolic-ref', '-q', 'HEAD'], env);
  const refs = await gitOutput(gitDir, ['for-each-ref', '--count=1', '--format=%(refname)'], env);
  return headRef && refs === '' ? 'valid' : 'broken';
}

async function resolveHead(
  gitDir: string,
  branch: string | undefined,
  env: Record<string, string>,
  remote: string,
): Promise<{ headSha: string | null; branch: string | null }> {
  const empty = (await gitOutput(gitDir, ['for-each-ref', '--count=1', '--format=%(refname)', 'refs/remotes/origin/'], env)) === '';
  if (branch !== undefined) {
    const sha = await revParse(gitDir, `refs/remotes/origin/${branch}^{commit}`, env);
    if (sha || empty) return { headSha: sha, branch };
    throw new RepoError('checkout_failed', `branch ${branch} not found on ${remote}`, { remote, failure: 'not_found' });
  }
  // origin/HEAD is set by a clone of a non-empty remote; after an empty clone, local HEAD names the
  // remote's default branch (protocol v2 reports the unborn HEAD).
  const originHead = await gitOutput(gitDir, ['symbolic-ref', '-q', 'refs/remotes/origin/HEAD'], env);
  const localHead = await gitOutput(gitDir, ['symbolic-ref', '-q', 'HEAD'], env);
  const name = originHead?.replace(/^refs\/remotes\/origin\//, '') ?? localHead?.replace(/^refs\/heads\//, '') ?? null;
  if (name) {
    const sha = await revParse(gitDir, `refs/remotes/origin/${name}^{commit}`, env);
    if (sha) return { headSha: sha, branch: name };
  }
  return { headSha: await revParse(gitDir, 'HEAD^{commit}', env), branch: null };
}

async function touch(file: string): Promise<void> {
  const now = new Date();
  try {
    await utimes(file, now, now);
  } catch {
    await writeFile(file, '');
  }
}

/** Marker mtime, else the directory's (a project created by an older version or by hand). */
async function lastUsed(projectDir: string): Promise<number | null> {
  const marker = await stat(join(projectDir, MARKER)).catch(() => null);
  if (marker) return marker.mtimeMs;
  const dir = await stat(projectDir).catch(() => null);
  return dir ? dir.mtimeMs : null;
}

async function subdirs(dir: string, valid: (name: string) => boolean): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && valid(e.name)).map((e) => e.name);
}

async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await treeBytes(path);
    else total += (await lstat(path).catch(() => null))?.size ?? 0;
  }
  return total;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolveSleep, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolveSleep();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`RepoCache ${name} must be a positive number, got ${value}`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`RepoCache ${name} must be a non-negative number, got ${value}`);
  return value;
}
