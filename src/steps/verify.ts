// VERIFY: the project's build commands in its sandbox, in order, stopping at the first failure,
// whose output (its end) is what the next attempt's prompt gets.
import type { StepInput, VerifyOutput } from '../machines/index.js';
import { forkPoint } from '../infra/repo/index.js';
import { trimFeedback } from '../project/index.js';
import type { StepEnv } from './step-env.js';
import type { StepContext } from './step-context.js';
import { verifyFingerprint } from './verify-fingerprint.js';

/** Bytes of a failing command's output kept for the next attempt (the end is kept). */
const FEEDBACK_BYTES = 16 * 1024;
/** Lines of output held in memory per command; older ones are dropped (the end matters). */
const MAX_LINES = 5_000;

export async function verifyStep(env: StepEnv, input: StepInput, { signal, log, output }: StepContext): Promise<VerifyOutput> {
  // The attempt's change: in its lane (parallelism > 1), or from this worker's checkout or, after a takeover, from the remote.
  const repoDir = input.lane === undefined ? await env.onAttempt(input, signal) : await laneOnBranch(env, input, signal);
  const { workspacePath } = await env.sandbox(repoDir, input.lane);
  const { commands, timeoutSec } = env.config.verify;
  const ran: Array<{ argv: string[]; outcome: string; exitCode: number | null; durationMs: number }> = [];
  const transcript: string[] = [];
  // In a lane, the merge queue compares the base the tree is built on with the base it merges onto.
  const base = input.lane === undefined ? {} : { base: await forkPoint(repoDir, env.base, signal) };
  let result: VerifyOutput = { ok: true, output: '', ...base };
  for (const argv of commands) {
    const lines: string[] = [];
    const run = await env.inSandbox(repoDir, signal, (box) =>
      box.exec(argv, {
        timeoutMs: timeoutSec * 1000,
        signal,
        // A package cache that survives between commands and attempts (inside .git: never committed).
        env: { CI: 'true', npm_config_cache: `${workspacePath}/.git/devteam/npm-cache` },
        onLine: (stream, raw) => {
          // The build may print what the agent wrote: no value the worker holds reaches the stream or the next prompt.
          const line = env.deps.secrets.redactKnown(raw);
          output?.(stream, line);
          lines.push(line);
          if (lines.length > MAX_LINES) lines.shift();
        },
      }),
      input.lane,
    );
    if (run.outcome === 'cancelled') throw signal.reason ?? new Error('cancelled');
    ran.push({ argv, outcome: run.outcome, exitCode: run.exitCode, durationMs: run.durationMs });
    const header = `$ ${argv.join(' ')}`;
    transcript.push(header, ...lines);
    if (run.outcome !== 'completed' || run.exitCode !== 0) {
      const why = run.outcome === 'completed' ? `exited ${run.exitCode}` : run.outcome === 'oom' ? 'killed at the memory limit' : `timed out after ${timeoutSec} s`;
      // The whole output, not the trimmed feedback: the cut point moves with the output's length.
      const fingerprint = verifyFingerprint(argv, [why, ...lines]);
      log.info({ command: argv.join(' '), outcome: run.outcome, exitCode: run.exitCode, fingerprint }, 'verification failed');
      result = { ok: false, output: `${header}  (${why})\n${trimFeedback(lines.join('\n'), FEEDBACK_BYTES).text}`, fingerprint, ...base };
      break;
    }
  }
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
