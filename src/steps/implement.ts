// IMPLEMENT: build the prompt, run the coding agent in the project's sandbox, and judge the
// attempt by what git sees changed — agents exit 0 even when their edits failed. Everything is
// kept as artifacts of the attempt: prompt, agent output, diff, files.
import { join } from 'node:path';
import { buildInvocation, realDirectory, runAgent, writeNewFile } from '../infra/agent/index.js';
import { addedLines, attemptRef, changedBetween, checkoutAttempt, commitWork, createWorkBranch, diffOf, publishAttempt, resetToForkPoint, resolveRef, restoreTree, saveWorkTree, snapshotTree } from '../infra/repo/index.js';
import { selectedTaskSchema, type CurrentTask, type ImplementOutput, type SelectedTask, type StepInput } from '../machines/index.js';
import { MODEL_KEY_VARS, readTenantSecret, type AgentPresetName, type Task } from '../project/index.js';
import { renderPrompt, trimFeedback } from '../project/index.js';
import { AgentGuard } from './agent-guard.js';
import { buildRepoContext } from './repo-context.js';
import { selectedTask } from './select.js';
import { type StepEnv } from './step-env.js';
import type { StepContext } from './step-context.js';

/** Inside .git: never committed, never seen by `git status`, visible in the sandbox. */
const RUNNER_DIR = join('.git', 'devteam');

export async function implementStep(env: StepEnv, input: StepInput, { signal, log, output }: StepContext): Promise<ImplementOutput> {
  const { config, deps } = env;
  const taskId = input.task!.id;
  const repoDir = input.lane === undefined ? await onTheAttemptsStart(env, input, log, signal) : await inLane(env, input, log, signal);
  const selected = await selectedTaskOf(env, repoDir, input.task!);
  const task: Task = { ...selected, dependencies: selected.dependencies.map((d) => d.id) };
  const box = await env.sandbox(repoDir, input.lane);

  const context = await buildRepoContext(repoDir, { task, signal });
  const dependencies = selected.dependencies.map((d) => ({ ...d, commit: input.results[d.id]?.commit ?? null }));
  const prompt = renderPrompt({ task, attempt: input.attempt, feedback: input.feedback, dependencies, context, templates: await deps.templates() });
  const promptRel = join(RUNNER_DIR, `prompt-${taskId}-${input.attempt}.md`);
  // The agent owns the work tree, its .git folder included: written without following its symlinks.
  await realDirectory(repoDir, RUNNER_DIR);
  await writeNewFile(repoDir, promptRel, prompt);
  const artifact = { executionId: input.executionId, taskId, attempt: input.attempt };
  await deps.artifacts.put({ ...artifact, kind: 'prompt', content: prompt, meta: { bytes: Buffer.byteLength(prompt) } });

  const agent = config.agent;
  const invocation = buildInvocation(agent.preset, {
    promptFile: `${box.workspacePath}/${promptRel}`,
    prompt,
    model: agent.model,
    args: agent.args,
    command: agent.command,
    home: `${box.workspacePath}/${RUNNER_DIR}/home`,
    env: agentEnv(deps.env, env.project.tenant, agent),
  });

  // Usage, budget and stall (decision 0026): the guard's signal stops the run when one is crossed.
  const guard = await AgentGuard.open(
    { usage: deps.usage, countUsage: deps.countUsage, log },
    { executionId: input.executionId, taskId, attempt: input.attempt, preset: agent.preset, config: config, repoDir, signal },
  );
  const spent = guard.exhausted();
  if (spent) return { changed: false, files: [], failure: `not started: ${spent}`, reason: 'budget_exceeded' };
  const before = await snapshotTree(repoDir, signal);
  guard.start();
  const run = await env.inSandbox(repoDir, guard.signal, (sandbox) =>
    runAgent(sandbox, invocation, {
      timeoutMs: agent.timeoutSec * 1000,
      signal: guard.signal,
      homeOnHost: join(repoDir, RUNNER_DIR, 'home'),
      onLine: (stream, raw) => {
        const line = deps.secrets.redactKnown(raw);
        // The live stream carries every line; the log keeps them only at debug (a chatty agent
        // would otherwise cost a JSON log line per output line).
        log.debug({ stream, line }, 'agent output');
        output?.(stream, line);
        guard.line(stream, line);
      },
    }),
    input.lane,
  ).catch(async (error: unknown) => {
    await guard.finish('failed');
    throw error;
  });
  const used = await guard.finish(run.outcome);
  const stop = guard.stopped;
  await deps.artifacts.put({
    ...artifact,
    kind: 'agent-output',
    content: run.stderr ? `${run.stdout}\n--- stderr ---\n${run.stderr}` : run.stdout,
    meta: { outcome: run.outcome, exitCode: run.exitCode, durationMs: run.durationMs, truncated: run.truncated, argv0: invocation.argv[0] },
  });
  await deps.artifacts.put({ ...artifact, kind: 'usage', content: `${JSON.stringify({ run: used.run, attempt: used.attempt })}\n`, meta: { preset: agent.preset, durationMs: used.durationMs, stopped: stop?.reason ?? null } });
  if (run.outcome === 'cancelled' && !stop) throw signal.reason ?? new Error('cancelled');

  const ref = attemptRef(input.executionId, taskId, input.attempt);
  const saved = await saveWorkTree(repoDir, ref, `attempt ${input.attempt} of task ${taskId}`, signal);
  // The saved commit's tree is the work tree now: neither is staged again (decision 0027).
  const changedNow = await changedBetween(repoDir, before, `${saved}^{tree}`, signal);
  const diff = await diffOf(repoDir, 'HEAD', { signal, tree: `${saved}^{tree}` });
  await deps.artifacts.put({ ...artifact, kind: 'diff', content: diff.diff, meta: { truncated: diff.truncated, files: diff.files.length } });
  await deps.artifacts.put({
    ...artifact,
    kind: 'files',
    content: diff.files.map((f) => `${f.status}\t${f.path}`).join('\n'),
    meta: { changedByThisAttempt: changedNow },
  });
  // The result leaves the worker now, before the step is recorded as done (decision 0025) — unless it
  // adds a secret: the remote is the user's repository, and MERGE refuses such a change anyway.
  // (A lane's attempts stay in its worktree: its merge queue runs on this worker, decision 0028.)
  if (input.lane !== undefined) log.debug('a lane attempt: kept on this worker');
  else if (await addsSecret(env, repoDir, saved, signal)) log.warn('the attempt adds a secret: it stays on this worker (MERGE will refuse it)');
  else await publishAttempt(repoDir, ref, env.remote(signal));
  const files = diff.files.map((f) => f.path);
  const name = invocation.argv[0];
  if (stop?.reason === 'budget_exceeded' && files.length > 0) {
    // Nothing of it is merged; the partial work stays on the work branch (and in the artifacts) to look at.
    await commitWork(repoDir, { message: `Partial work on task ${taskId} (attempt ${input.attempt}), stopped: ${stop.detail}`, author: deps.author, signal });
  }
  const failed: Pick<ImplementOutput, 'failure' | 'reason'> | null = stop
    ? { failure: `agent ${name} was stopped: ${stop.detail}`, reason: stop.reason }
    : run.outcome === 'timeout'
      ? { failure: `agent ${name} timed out after ${agent.timeoutSec} s`, reason: 'timeout' }
      : run.outcome === 'oom'
        ? { failure: `agent ${name} was killed at the memory limit`, reason: 'agent_failed' }
        : run.exitCode !== 0
          ? { failure: `agent ${name} exited ${run.exitCode}: ${trimFeedback(run.stderr || run.stdout, 1_000).text.trim()}`, reason: 'agent_failed' }
          : changedNow.length === 0
            ? { failure: 'the agent changed nothing', reason: 'no_change' }
            : null;
  log.info({ outcome: run.outcome, exitCode: run.exitCode, durationMs: run.durationMs, changed: changedNow.length, failure: failed?.failure, usage: used.run }, 'agent finished');
  return failed ? { changed: false, files, ...failed, usage: used.attempt } : { changed: true, files, usage: used.attempt };
}

/**
 * Parallelism 1: the checkout on the work branch with the tree this attempt starts from. Every run of
 * an attempt starts from the same tree — the previous attempt's result (from this worker or the
 * remote), or the base for a first attempt (also the first after a resume) — whatever an interrupted
 * run of it left in the work tree.
 */
async function onTheAttemptsStart(env: StepEnv, input: StepInput, log: StepContext['log'], signal: AbortSignal): Promise<string> {
  const taskId = input.task!.id;
  const retry = input.attempt > (input.attemptsBefore ?? 0) + 1;
  // Right after this drive's PREP or an earlier attempt the checkout is on the work branch; otherwise
  // (a takeover, a restart) it may be another task's or an old one, and the work branch is rebuilt.
  const ours = env.drove(taskId);
  const repoDir = ours ? (await env.onWorkBranch(input.branch!, signal)).repoDir : await env.fetched(signal);
  const start = retry ? await env.attemptCommit(repoDir, input.executionId, taskId, input.attempt - 1, signal) : null;
  if (retry && !start) log.warn({ attempt: input.attempt }, 'the previous attempt is neither on this worker nor on the remote: this attempt starts from the base');
  // A retry goes on from its predecessor on the base that one was made on (checkoutAttempt).
  if (start) await checkoutAttempt(repoDir, input.branch!, start, signal);
  else if (!ours) {
    log.warn('the work branch was not prepared by this drive: prepared it again from the base');
    await createWorkBranch(repoDir, input.branch!, env.base, signal);
  } else await restoreTree(repoDir, 'HEAD', signal);
  return repoDir;
}

/**
 * Parallelism > 1 (decision 0028): the task's lane on its work branch, back at its fork point (a
 * merge whose re-verify failed left a task commit there), with the previous attempt's tree — after
 * a conflict or a failed re-verify, what the lane's MERGE pointed the attempt's ref at.
 */
async function inLane(env: StepEnv, input: StepInput, log: StepContext['log'], signal: AbortSignal): Promise<string> {
  const taskId = input.task!.id;
  const { repoDir, recreated } = await env.workTree(input, signal);
  if (recreated) log.warn('the work branch was not on this worker: prepared it again from the base');
  await resetToForkPoint(repoDir, env.base, signal);
  const retry = input.attempt > (input.attemptsBefore ?? 0) + 1;
  const start = retry ? await resolveRef(repoDir, attemptRef(input.executionId, taskId, input.attempt - 1), signal) : null;
  if (retry && !start) log.warn({ attempt: input.attempt }, 'the previous attempt is not in this lane: this attempt starts from the base');
  await restoreTree(repoDir, start ?? 'HEAD', signal);
  return repoDir;
}

/**
 * The task as SELECT picked it (from the base branch), whole. Only a run restored from a snapshot
 * stored by a build before SELECT carried the whole task has just `{ id, title }`: that one reads
 * the list from the work tree as builds before did — which the agent may have changed, hence not
 * the normal path.
 */
async function selectedTaskOf(env: StepEnv, repoDir: string, current: CurrentTask): Promise<SelectedTask> {
  const whole = selectedTaskSchema.safeParse(current);
  if (whole.success) return whole.data;
  const { task, list } = await env.task(repoDir, current.id);
  return selectedTask(task, list);
}

/** Whether a line the attempt adds to the base holds a secret (the scan MERGE runs, here before anything leaves the worker). */
async function addsSecret(env: StepEnv, repoDir: string, commit: string, signal: AbortSignal): Promise<boolean> {
  return (await env.deps.secrets.scan(await addedLines(repoDir, `refs/remotes/origin/${env.base}`, commit, signal))).length > 0;
}

/** The worker's environment, with the project's own model key (named by `keyEnv`, in the tenant's namespace) in the preset's key variables. */
function agentEnv(env: Record<string, string | undefined>, tenant: string, agent: { preset: AgentPresetName; keyEnv?: string | undefined }): Record<string, string | undefined> {
  if (!agent.keyEnv) return env;
  const key = readTenantSecret(env, tenant, agent.keyEnv);
  if (!key) throw new Error(`${agent.keyEnv} (the project's agent.keyEnv) is not set in the worker's environment`);
  return { ...env, ...Object.fromEntries(MODEL_KEY_VARS[agent.preset].map((name) => [name, key])) };
}
