// What an attempt changed, as git sees it (never as the agent says): the unified diff of the work
// tree against a base commit, new untracked files included, and the changed paths.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitProcessEnv } from './git-credentials.js';
import { runGit } from './git-run.js';

const GIT_TIMEOUT_MS = 60_000;
/** Read no more diff than this: the artifact keeps 256 KiB anyway, and a vendored tree can be GBs. */
export const DEFAULT_MAX_DIFF_BYTES = 8 * 1024 * 1024;

export type ChangeStatus = 'added' | 'modified' | 'deleted' | 'type-changed';

export interface ChangedFile {
  path: string;
  status: ChangeStatus;
}

export interface DiffResult {
  /** The base resolved to a commit id. */
  base: string;
  /** Unified diff (`a/`, `b/` prefixes, no colour, no renames: a move is a delete plus an add). */
  diff: string;
  /** True when the diff was longer than maxBytes and only its start was read. */
  truncated: boolean;
  /** Sorted by path; new untracked (not ignored) files are `added`. */
  files: ChangedFile[];
  durationMs: number;
}

export class DiffError extends Error {
  readonly code = 'diff_failed' as const;
  constructor(message: string) {
    super(message);
    this.name = 'DiffError';
  }
}

const STATUS: Record<string, ChangeStatus> = { A: 'added', M: 'modified', D: 'deleted', T: 'type-changed' };

/**
 * Diffs the work tree of `repoDir` against `base` (a commit-ish). Untracked files are made
 * visible to git with `add --intent-to-add` in a throw-away index (GIT_INDEX_FILE): the
 * checkout's real index, its refs and its files are left exactly as they were. With `tree` (the
 * work tree as snapshotTree wrote it), that tree is diffed against `base` instead.
 */
export async function diffOf(repoDir: string, base: string, opts: { signal?: AbortSignal; maxBytes?: number; tree?: string } = {}): Promise<DiffResult> {
  const started = performance.now();
  // Anything starting with "-" would be read as an option by the commands below.
  if (!base || base.startsWith('-') || /[\0\s]/.test(base)) throw new DiffError(`invalid base ${JSON.stringify(base)}`);
  const tmp = await mkdtemp(join(tmpdir(), 'devteam-diff-'));
  const env = { ...gitProcessEnv(), GIT_INDEX_FILE: join(tmp, 'index') };
  const git = async (args: string[], options: { maxBuffer?: number; allowFail?: boolean } = {}) => {
    const result = await runGit(['-c', 'core.quotePath=false', ...args], {
      workTree: repoDir,
      env,
      timeoutMs: GIT_TIMEOUT_MS,
      signal: opts.signal,
      stripFinalNewline: false,
      maxBuffer: options.maxBuffer,
    });
    if (result.aborted) throw opts.signal?.reason ?? new DiffError('cancelled');
    if (result.truncated) return { stdout: result.stdout, truncated: true };
    if (result.exitCode !== 0 && !options.allowFail) {
      const line = result.stderr.split('\n').find((l) => l.trim()) ?? (result.timedOut ? 'timed out' : `exit ${result.exitCode}`);
      throw new DiffError(`git ${args[0]} failed in ${repoDir}: ${line.slice(0, 300)}`);
    }
    return { stdout: result.stdout, truncated: false };
  };
  try {
    const sha = (await git(['rev-parse', '--verify', '--quiet', `${base}^{commit}`], { allowFail: true })).stdout.trim();
    if (!/^[0-9a-f]{40,64}$/.test(sha)) throw new DiffError(`base ${JSON.stringify(base)} is not a commit in ${repoDir}`);
    // A tree of the work tree already written (snapshotTree, saveWorkTree) is diffed as it is: three
    // fewer git runs than staging the work tree again.
    const target = opts.tree ? [opts.tree] : [];
    if (opts.tree && (opts.tree.startsWith('-') || /[\0\s]/.test(opts.tree))) throw new DiffError(`invalid tree ${JSON.stringify(opts.tree)}`);
    if (!opts.tree) {
      await git(['read-tree', sha]);
      // Fresh entries have no stat data; without a refresh every file would look modified to diff-index.
      await git(['update-index', '-q', '--refresh'], { allowFail: true });
      await git(['add', '--all', '--intent-to-add']);
    }
    const diffArgs = ['--no-color', '--no-ext-diff', '--no-textconv', '--no-renames', '--src-prefix=a/', '--dst-prefix=b/'];
    const patch = await git(['diff', ...diffArgs, sha, ...target, '--'], { maxBuffer: opts.maxBytes ?? DEFAULT_MAX_DIFF_BYTES });
    const names = await git(['diff', '--name-status', '-z', '--no-renames', sha, ...target, '--']);
    return { base: sha, diff: patch.stdout, truncated: patch.truncated, files: parseNameStatus(names.stdout), durationMs: Math.round(performance.now() - started) };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** `M\0path\0A\0path\0…` (with --no-renames every entry is one status and one path). */
function parseNameStatus(out: string): ChangedFile[] {
  const parts = out.split('\0');
  const files: ChangedFile[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const status = parts[i]!;
    const path = parts[i + 1]!;
    if (!status || !path) continue;
    files.push({ path, status: STATUS[status[0]!] ?? 'modified' });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
