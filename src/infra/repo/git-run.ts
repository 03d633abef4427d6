// Running git as a child — the one runner of every git command of the service: argument arrays
// only, its own process group (clone/fetch/push start helpers that must die with it), a deadline,
// cancellation, and a fixed configuration that nothing in a repository can change: the agent can
// write the work tree, so git here never discovers a repository, never runs a hook, an fsmonitor,
// a pager or an editor, and reads no system or user config (see ai_docs/decisions/0013).
import { execa } from 'execa';
import { removeLocks } from './git-locks.js';
import { gitDirOf } from './project-paths.js';

/** Branch names git accepts and that cannot be read as an option or escape the refs namespace. */
export const VALID_BRANCH = /^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*@\{)(?!.*\.lock$)(?!.*\/$)[A-Za-z0-9._/-]{1,255}$/;

export interface GitRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
  /** stdout was longer than maxBuffer and only its start is kept. */
  truncated: boolean;
}

export interface RunOptions {
  env: Record<string, string>;
  timeoutMs: number;
  /** Working directory for commands without a repository (clone). */
  cwd?: string;
  /** A work tree laid out by projectPaths: git gets its git directory explicitly, never by discovery. */
  workTree?: string;
  /** A git directory alone (no work tree needed). */
  gitDir?: string;
  signal?: AbortSignal;
  maxBuffer?: number;
  stripFinalNewline?: boolean;
}

/**
 * Given on the command line, so they override every config file (and reach the children git
 * starts, such as a local receive-pack). The git directory is out of the agent's reach; these are
 * the second wall should that ever change.
 */
const FIXED_CONFIG = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'core.pager=cat',
  'core.editor=false',
  'sequence.editor=false',
  'core.askPass=',
  'credential.helper=',
  'protocol.ext.allow=never',
  'submodule.recurse=false',
  'commit.gpgSign=false',
  'tag.gpgSign=false',
  'push.gpgSign=false',
  'merge.verifySignatures=false',
  'core.untrackedCache=false',
];

/** Variables every git child gets whatever the caller passed: no system or user config, no prompts. */
const FIXED_ENV = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  GIT_OPTIONAL_LOCKS: '0',
  GIT_PAGER: 'cat',
  PAGER: 'cat',
  GIT_EDITOR: 'false',
};

/** The argv prefix: fixed config, then the repository named explicitly. */
export function gitArgs(args: string[], opts: Pick<RunOptions, 'workTree' | 'gitDir'>): string[] {
  const prefix = FIXED_CONFIG.flatMap((c) => ['-c', c]);
  if (opts.workTree) prefix.push('--git-dir', opts.gitDir ?? gitDirOf(opts.workTree), '--work-tree', opts.workTree);
  else if (opts.gitDir) prefix.push('--git-dir', opts.gitDir);
  return [...prefix, ...args];
}

/**
 * After the runner killed a git (deadline, abort): the locks made while it ran are its own — one
 * owner drives a project, its git commands one at a time — and it is dead, so they go now. Left,
 * they would fail the step's next run with "File exists" until they are 10 s old.
 */
const MTIME_SLACK_MS = 50;

async function removeOwnLocks(opts: Pick<RunOptions, 'workTree' | 'gitDir'>, startedAt: number): Promise<void> {
  const gitDir = opts.gitDir ?? (opts.workTree ? gitDirOf(opts.workTree) : undefined);
  // File times come from the kernel's coarse clock (a tick, up to 10 ms, behind Date.now()): slack.
  if (gitDir) await removeLocks(gitDir, (mtimeMs) => mtimeMs >= startedAt - MTIME_SLACK_MS).catch(() => undefined);
}

/** Runs git with an argument array in its own process group, killed whole on deadline or abort. */
export async function runGit(args: string[], opts: RunOptions): Promise<GitRun> {
  if (opts.signal?.aborted) return { exitCode: null, stdout: '', stderr: '', timedOut: false, aborted: true, truncated: false };
  const startedAt = Date.now();
  const sub = execa('git', gitArgs(args, opts), {
    cwd: opts.workTree ?? opts.cwd ?? opts.gitDir,
    env: { ...opts.env, ...FIXED_ENV },
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
    maxBuffer: opts.maxBuffer ?? 64 * 1024 * 1024,
    stripFinalNewline: opts.stripFinalNewline ?? true,
    // clone/fetch run git-remote-http(s)/ssh as children; killing only git would orphan them.
    detached: true,
  });
  let timedOut = false;
  let aborted = false;
  const killGroup = () => {
    try {
      if (sub.pid) process.kill(-sub.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, opts.timeoutMs);
  const onAbort = () => {
    aborted = true;
    killGroup();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await sub;
    if (timedOut || aborted) await removeOwnLocks(opts, startedAt);
    return {
      exitCode: timedOut || aborted ? null : result.isMaxBuffer ? 0 : (result.exitCode ?? null),
      stdout: typeof result.stdout === 'string' ? result.stdout : '',
      stderr: typeof result.stderr === 'string' ? result.stderr : '',
      timedOut,
      aborted,
      truncated: result.isMaxBuffer === true,
    };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
