// What the agent is shown of the repository besides the task: the tracked file list and the
// contents of the files the task mentions (plus README/package.json), within a byte budget.
import { lstat, readFile, realpath } from 'node:fs/promises';
import { posix, sep } from 'node:path';
import { gitProcessEnv, runGit } from '../infra/repo/index.js';
import type { RelevantReason, RepoContext, Task } from '../project/index.js';

export const DEFAULT_CONTEXT_MAX_FILES = 400;
export const DEFAULT_CONTEXT_BUDGET_BYTES = 24 * 1024;
/** Candidates looked at for contents; a task naming more files than this is not helped by more. */
const MAX_CANDIDATES = 64;
/** git's own heuristic: a NUL in the first 8000 bytes means binary. */
const BINARY_SNIFF_BYTES = 8000;
const GIT_TIMEOUT_MS = 30_000;

export interface RepoContextOptions {
  task: Pick<Task, 'title' | 'steps' | 'criteria'>;
  maxFiles?: number;
  budgetBytes?: number;
  signal?: AbortSignal;
}

/** `git ls-files` failed: the directory is not a readable checkout. */
export class RepoContextError extends Error {
  readonly code = 'repo_context_failed' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RepoContextError';
  }
}

/** Code-unit order: `localeCompare` depends on the process's ICU/locale, which would break byte-identical prompts. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export async function buildRepoContext(repoDir: string, options: RepoContextOptions): Promise<RepoContext> {
  const maxFiles = options.maxFiles ?? DEFAULT_CONTEXT_MAX_FILES;
  const budgetBytes = options.budgetBytes ?? DEFAULT_CONTEXT_BUDGET_BYTES;
  const tracked = await trackedFiles(repoDir, options.signal);
  const candidates = relevantCandidates(tracked, options.task).slice(0, MAX_CANDIDATES);

  const root = await realpath(repoDir);
  const relevant: RepoContext['relevant'] = [];
  const skipped: RepoContext['skipped'] = [];
  let usedBytes = 0;
  // Sequential on purpose: the order decides which files fit, and it must not depend on I/O timing.
  for (const { path, reason } of candidates) {
    const bytes = await readInside(root, path);
    if (bytes === null) {
      skipped.push({ path, reason: 'not-a-file' });
    } else if (bytes.length > budgetBytes) {
      skipped.push({ path, reason: 'too-large' });
    } else if (isBinary(bytes)) {
      skipped.push({ path, reason: 'binary' });
    } else if (usedBytes + bytes.length > budgetBytes) {
      // Whole files only; a smaller file further down may still fit.
      skipped.push({ path, reason: 'over-budget' });
    } else {
      relevant.push({ path, reason, content: bytes.toString('utf8') });
      usedBytes += bytes.length;
    }
  }
  return { files: tracked.slice(0, maxFiles), totalFiles: tracked.length, relevant, skipped, budgetBytes, usedBytes };
}

async function trackedFiles(repoDir: string, signal?: AbortSignal): Promise<string[]> {
  const result = await runGit(['-c', 'core.quotePath=false', 'ls-files', '-z'], {
    workTree: repoDir,
    env: gitProcessEnv(),
    timeoutMs: GIT_TIMEOUT_MS,
    signal,
    stripFinalNewline: false,
  });
  if (result.aborted) throw signal?.reason ?? new RepoContextError('cancelled');
  if (result.exitCode !== 0) {
    const line = String(result.stderr ?? '').split('\n').find((l) => l.trim()) ?? `exit ${result.exitCode}`;
    throw new RepoContextError(`git ls-files failed in ${repoDir}: ${line.slice(0, 300)}`);
  }
  // A path with unmerged stages is listed once per stage.
  const unique = new Set(String(result.stdout).split('\0').filter(Boolean));
  return [...unique].sort(compareCodeUnits);
}

/**
 * Files the task names, by full path first, then by file name alone, then README and
 * package.json at the top level. Names are matched as whole tokens of the task text, so "index"
 * in prose does not pull in every index.ts; a name without a dot or a capital ("test", "build")
 * is too much like an ordinary word to count as a mention.
 */
function relevantCandidates(tracked: string[], task: RepoContextOptions['task']): Array<{ path: string; reason: RelevantReason }> {
  const text = [task.title, ...task.steps.map((s) => s.text), ...task.criteria.map((c) => c.text)].join('\n');
  const tokens = new Set<string>();
  for (const match of text.matchAll(/[\w@+\-./]+/g)) {
    // "see src/a.ts." and "./src/a.ts" both mention src/a.ts.
    const token = match[0].replace(/^\.\//, '').replace(/[.]+$/, '');
    if (token) tokens.add(token);
  }
  const seen = new Set<string>();
  const out: Array<{ path: string; reason: RelevantReason }> = [];
  const add = (path: string, reason: RelevantReason): void => {
    if (seen.has(path)) return;
    seen.add(path);
    out.push({ path, reason });
  };
  for (const path of tracked) if (tokens.has(path)) add(path, 'mentioned');
  for (const path of tracked) {
    const name = posix.basename(path);
    if (tokens.has(name) && /[.A-Z]/.test(name)) add(path, 'basename');
  }
  for (const path of tracked) if (/^readme(\.[^/]*)?$/i.test(path) || path === 'package.json') add(path, 'key');
  return out;
}

/**
 * The file's bytes, or null when it is not a regular file inside the checkout. The agent can
 * leave symlinks (to /etc/…, to a secret) in the work tree; contents go into a prompt and an
 * artifact, so only what really lies under the checkout is read.
 */
async function readInside(root: string, path: string): Promise<Buffer | null> {
  try {
    const abs = `${root}${sep}${path.split('/').join(sep)}`;
    const info = await lstat(abs);
    if (!info.isFile()) return null;
    const real = await realpath(abs);
    if (!real.startsWith(root + sep)) return null;
    return await readFile(real);
  } catch {
    // Tracked but deleted in the work tree (or unreadable): nothing to show.
    return null;
  }
}

function isBinary(bytes: Buffer): boolean {
  if (bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0)) return true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return false;
  } catch {
    return true;
  }
}
