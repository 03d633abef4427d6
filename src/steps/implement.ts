// IMPLEMENT: build the prompt, run the coding agent in the project's sandbox, and judge the
// attempt by what git sees changed — agents exit 0 even when their edits failed. Everything is
// kept as artifacts of the attempt: prompt, agent output, diff, files.
import { join } from 'node:path';
import { buildInvocation, realDirectory, runAgent, writeNewFile } from '../infra/agent/index.js';
import { changedBetween, diffOf, resetToForkPoint, resolveRef, restoreTree, saveWorkTree, snapshotTree } from '../infra/repo/index.js';
import { selectedTaskSchema, type CurrentTask, type ImplementOutput, type SelectedTask, type StepInput } from '../machines/index.js';
import { MODEL_KEY_VARS, readTenantSecret, type AgentPresetName, type Task } from '../project/index.js';
import { renderPrompt, trimFeedback } from '../project/index.js';
import { buildRepoContext } from './repo-context.js';
import { selectedTask } from './select.js';
import { type StepEnv } from './step-env.js';
import type { StepContext } from './step-context.js';

/** Inside .git: never committed, never seen by `git status`, visible in the sandbox. */
const RUNNER_DIR = join('.git', 'devteam');

export async function implementStep(env: StepEnv, input: StepInput, { signal, log, output }: StepContext): Promise<ImplementOutput> {
  const { config, deps } = env;
  const taskId = input.task!.id;
  const { repoDir, recreated } = await env.workTree(input, signal);
  if (recreated) log.warn('the work branch was not on this worker: prepared it again from the base');
  // A lane's branch may carry the task commit of a merge whose re-verify failed: the attempt starts from its base.
  if (input.lane !== undefined) await resetToForkPoint(repoDir, env.base, signal);
  // Every run of an attempt starts from the same tree — the previous attempt's result, or the base
  // for the first — whatever an interrupted run of it left in the work tree.
  const start = input.attempt > 1 ? await resolveRef(repoDir, attemptRef(input.executionId, taskId, input.attempt - 1), signal) : null;
  if (input.attempt > 1 && !start) log.warn({ attempt: input.attempt }, 'the previous attempt is not on this worker: this attempt starts from the base');
  await restoreTree(repoDir, start ?? 'HEAD', signal);
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

  const before = await snapshotTree(repoDir, signal);
  const run = await env.inSandbox(repoDir, signal, (sandbox) =>
    runAgent(sandbox, invocation, {
      timeoutMs: agent.timeoutSec * 1000,
      signal,
      homeOnHost: join(repoDir, RUNNER_DIR, 'home'),
      onLine: (stream, raw) => {
        const line = deps.secrets.redactKnown(raw);
        // The live stream carries every line; the log keeps them only at debug (a chatty agent
        // would otherwise cost a JSON log line per output line).
        log.debug({ stream, line }, 'agent output');
        output?.(stream, line);
      },
    }),
    input.lane,
  );
  await deps.artifacts.put({
    ...artifact,
    kind: 'agent-output',
    content: run.stderr ? `${run.stdout}\n--- stderr ---\n${run.stderr}` : run.stdout,
    meta: { outcome: run.outcome, exitCode: run.exitCode, durationMs: run.durationMs, truncated: run.truncated, argv0: invocation.argv[0] },
  });
  if (run.outcome === 'cancelled') throw signal.reason ?? new Error('cancelled');

  await saveWorkTree(repoDir, attemptRef(input.executionId, taskId, input.attempt), `attempt ${input.attempt} of task ${taskId}`, signal);
  const changedNow = await changedBetween(repoDir, before, await snapshotTree(repoDir, signal), signal);
  const diff = await diffOf(repoDir, 'HEAD', { signal });
  await deps.artifacts.put({ ...artifact, kind: 'diff', content: diff.diff, meta: { truncated: diff.truncated, files: diff.files.length } });
  await deps.artifacts.put({
    ...artifact,
    kind: 'files',
    content: diff.files.map((f) => `${f.status}\t${f.path}`).join('\n'),
    meta: { changedByThisAttempt: changedNow },
  });
  const files = diff.files.map((f) => f.path);
  const name = invocation.argv[0];
  const failed: Pick<ImplementOutput, 'failure' | 'reason'> | null =
    run.outcome === 'timeout'
      ? { failure: `agent ${name} timed out after ${agent.timeoutSec} s`, reason: 'timeout' }
      : run.outcome === 'oom'
        ? { failure: `agent ${name} was killed at the memory limit`, reason: 'agent_failed' }
        : run.exitCode !== 0
          ? { failure: `agent ${name} exited ${run.exitCode}: ${trimFeedback(run.stderr || run.stdout, 1_000).text.trim()}`, reason: 'agent_failed' }
          : changedNow.length === 0
            ? { failure: 'the agent changed nothing', reason: 'no_change' }
            : null;
  log.info({ outcome: run.outcome, exitCode: run.exitCode, durationMs: run.durationMs, changed: changedNow.length, failure: failed?.failure }, 'agent finished');
  return failed ? { changed: false, files, ...failed } : { changed: true, files };
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

/** Where an attempt's resulting work tree is kept (in the runner's git directory, outside branches). */
export function attemptRef(executionId: string, taskId: string, attempt: number): string {
  return `refs/devteam/${executionId}/${taskId}/${attempt}`;
}

/** The worker's environment, with the project's own model key (named by `keyEnv`, in the tenant's namespace) in the preset's key variables. */
function agentEnv(env: Record<string, string | undefined>, tenant: string, agent: { preset: AgentPresetName; keyEnv?: string | undefined }): Record<string, string | undefined> {
  if (!agent.keyEnv) return env;
  const key = readTenantSecret(env, tenant, agent.keyEnv);
  if (!key) throw new Error(`${agent.keyEnv} (the project's agent.keyEnv) is not set in the worker's environment`);
  return { ...env, ...Object.fromEntries(MODEL_KEY_VARS[agent.preset].map((name) => [name, key])) };
}
