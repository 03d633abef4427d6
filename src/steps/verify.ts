// VERIFY: the project's build commands in its sandbox, in order, stopping at the first failure,
// whose output (its end) is what the next attempt's prompt gets.
import type { StepInput, VerifyOutput } from '../machines/index.js';
import { forkPoint } from '../infra/repo/index.js';
import { trimFeedback } from '../project/index.js';
import type { StepEnv } from './step-env.js';
import type { StepContext } from './step-context.js';
import { verifyFingerprint } from './verify-fingerprint.js';
import { StallWatchdog } from './stall-watchdog.js';
import { InstallReuse } from './install-reuse.js';

/** Bytes of a failing command's output kept for the next attempt (the end is kept). */
const FEEDBACK_BYTES = 16 * 1024;
/** Lines of output held in memory per command; older ones are dropped (the end matters). */
const MAX_LINES = 5_000;

export async function verifyStep(env: StepEnv, input: StepInput, { signal, log, output }: StepContext): Promise<VerifyOutput> {
  // The attempt's change: in its lane (parallelism > 1), or from this worker's checkout or, after a takeover, from the remote.
  const repoDir = input.lane === undefined ? await env.onAttempt(input, signal) : await laneOnBranch(env, input, signal);
  const { workspacePath } = await env.sandbox(repoDir, input.lane);
  const { commands, timeoutSec, stallSec } = env.config.verify;
  const ran: Array<{ argv: string[]; outcome: string; exitCode: number | null; durationMs: number }> = [];
  const transcript: string[] = [];
  // In a lane, the merge queue compares the base the tree is built on with the base it merges onto.
  const base = input.lane === undefined ? {} : { base: await forkPoint(repoDir, env.base, signal) };
  let result: VerifyOutput = { ok: true, output: '', ...base };
  const reuse = await InstallReuse.open(repoDir);
  for (const argv of commands) {
    if (await reuse.skips(argv)) {
      ran.push({ argv, outcome: 'reused', exitCode: 0, durationMs: 0 });
      transcript.push(`$ ${argv.join(' ')}`, '(skipped: package.json, the lockfile, .npmrc and node_modules are as the last passing verification left them)');
      continue;
    }
    const lines: string[] = [];
    // A command silent and idle for verify.stallSec is stopped (decision 0026): its own signal, so the step's stays untouched.
    const stop = new AbortController();
    const onStepAbort = () => stop.abort(signal.reason);
    signal.addEventListener('abort', onStepAbort, { once: true });
    const watchdog = new StallWatchdog({ dir: repoDir, stallMs: stallSec * 1000, onStall: () => stop.abort(new Error('stalled')) }).start();
    const run = await env
      .inSandbox(repoDir, stop.signal, (box) =>
      box.exec(argv, {
        timeoutMs: timeoutSec * 1000,
        signal: stop.signal,
        // A package cache that survives between commands and attempts (inside .git: never committed).
        env: { CI: 'true', npm_config_cache: `${workspacePath}/.git/devteam/npm-cache`, npm_config_prefer_offline: 'true' },
        onLine: (stream, raw) => {
          // The build may print what the agent wrote: no value the worker holds reaches the stream or the next prompt.
          const line = env.deps.secrets.redactKnown(raw);
          watchdog.activity();
          output?.(stream, line);
          lines.push(line);
          if (lines.length > MAX_LINES) lines.shift();
        },
      }),
      input.lane,
      )
      .finally(() => {
        watchdog.stop();
        signal.removeEventListener('abort', onStepAbort);
      });
    const stalled = run.outcome === 'cancelled' && watchdog.stalled && !signal.aborted;
    if (run.outcome === 'cancelled' && !stalled) throw signal.reason ?? new Error('cancelled');
    ran.push({ argv, outcome: stalled ? 'stalled' : run.outcome, exitCode: run.exitCode, durationMs: run.durationMs });
    const header = `$ ${argv.join(' ')}`;
    transcript.push(header, ...lines);
    if (run.outcome !== 'completed' || run.exitCode !== 0) {
      const why = stalled
        ? `stalled: printed nothing and changed no file for ${stallSec} s, stopped`
        : run.outcome === 'completed'
          ? `exited ${run.exitCode}`
          : run.outcome === 'oom'
            ? 'killed at the memory limit'
            : `timed out after ${timeoutSec} s`;
      // The whole output, not the trimmed feedback: the cut point moves with the output's length. A
      // stall has none: it says nothing about the change, so the next attempt is made (stalled).
      const fingerprint = stalled ? undefined : verifyFingerprint(argv, [why, ...lines]);
      log.info({ command: argv.join(' '), outcome: stalled ? 'stalled' : run.outcome, exitCode: run.exitCode, fingerprint }, 'verification failed');
      const feedback = `${header}  (${why})\n${trimFeedback(lines.join('\n'), FEEDBACK_BYTES).text}`;
      result = stalled ? { ok: false, output: feedback, stalled: true, ...base } : { ok: false, output: feedback, fingerprint, ...base };
      break;
    }
  }
  await reuse.settle(result.ok, commands);
  await env.deps.artifacts.put({
    executionId: input.executionId,
    taskId: input.task!.id,
    attempt: input.attempt,
    kind: 'verify-output',
    content: transcript.join('\n'),
    meta: { ok: result.ok, commands: ran, ...(result.fingerprint ? { fingerprint: result.fingerprint } : {}) },
  });
  return result;
}

/** A lane's work tree on the task's branch; gone (another worker, a lost disk): the task must be implemented again. */
async function laneOnBranch(env: StepEnv, input: StepInput, signal: AbortSignal): Promise<string> {
  const { repoDir, recreated } = await env.workTree(input, signal);
  if (recreated) throw new Error(`the change of task ${input.task!.id} is not on this worker (it was made on a worker that stopped); the task must be implemented again`);
  return repoDir;
}
