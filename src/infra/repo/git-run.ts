// Running git as a child: argument arrays only, its own process group (clone/fetch/push start
// helpers that must die with it), a deadline, and cancellation — shared by the cache and integrate.
import { execa } from 'execa';

/** Branch names git accepts and that cannot be read as an option or escape the refs namespace. */
export const VALID_BRANCH = /^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*@\{)(?!.*\.lock$)(?!.*\/$)[A-Za-z0-9._/-]{1,255}$/;

export interface GitRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
}

export interface RunOptions {
  env: Record<string, string>;
  timeoutMs: number;
  cwd?: string;
  signal?: AbortSignal;
}

/** Runs git with an argument array in its own process group, killed whole on deadline or abort. */
export async function runGit(args: string[], opts: RunOptions): Promise<GitRun> {
  if (opts.signal?.aborted) return { exitCode: null, stdout: '', stderr: '', timedOut: false, aborted: true };
  const sub = execa('git', args, {
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
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
    return {
      exitCode: timedOut || aborted ? null : (result.exitCode ?? null),
      stdout: typeof result.stdout === 'string' ? result.stdout : '',
      stderr: typeof result.stderr === 'string' ? result.stderr : '',
      timedOut,
      aborted,
    };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

