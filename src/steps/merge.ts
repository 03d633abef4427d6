// MERGE: commit the verified change on the work branch and fold it into the base branch (ff or a
// merge commit); PUSH then publishes the base. Both are no-ops when already done.
import type { MergeOutput, PushOutput, StepInput } from '../machines/index.js';
import { addedLines, commitsAhead, commitWork, mergeIntoBase, pushBase, withTaskTrailers, type MergeOptions } from '../infra/repo/index.js';
import { SecretInDiffError } from '../infra/secrets/index.js';
import type { StepContext } from './step-context.js';
import type { StepEnv } from './step-env.js';

/**
 * The task commit's message, ending in the DevTeam-Task / DevTeam-Execution trailers by which SELECT
 * knows the task merged (decision 0023). They go on the task commit, not on a merge commit: it is
 * reachable from the base in both modes (ff: it is the base's history, a rebase keeps its message;
 * merge: it is the merge commit's second parent), so exactly one commit names the task.
 */
export function commitMessage(input: StepInput): string {
  const message = `Task ${input.task!.id}: ${input.task!.title}\n\nImplemented and verified by DevTeam Runner (execution ${input.executionId}, attempt ${input.attempt}).`;
  return withTaskTrailers(message, { taskId: input.task!.id, executionId: input.executionId });
}

export function integration(env: StepEnv, input: StepInput): Omit<MergeOptions, 'signal'> {
  return {
    branch: input.branch!,
    base: env.base,
    mode: env.config.merge.mode,
    message: `Merge ${input.branch}: task ${input.task!.id} ${input.task!.title}`,
    author: env.deps.author,
  };
}

export async function mergeStep(env: StepEnv, input: StepInput, { signal, log }: StepContext): Promise<MergeOutput> {
  const repoDir = await env.local(signal);
  const committed = await commitWork(repoDir, { message: commitMessage(input), author: env.deps.author, signal });
  if ((await commitsAhead(repoDir, `refs/remotes/origin/${env.base}`, input.branch!, signal)) === 0) {
    // A verified change always leaves a commit: without one it is not in this checkout.
    throw new Error(`task ${input.task!.id}: nothing to merge — the verified change is not in this worker's checkout`);
  }
  await refuseSecrets(env, repoDir, input, signal);
  const merged = await mergeIntoBase(repoDir, { ...integration(env, input), signal });
  log.info({ commit: merged.sha, created: committed.created, alreadyMerged: merged.alreadyMerged }, 'merged into the base branch');
  return { commit: merged.sha };
}

export async function pushStep(env: StepEnv, input: StepInput, { signal, log }: StepContext): Promise<PushOutput> {
  const repoDir = await env.local(signal);
  const pushed = await pushBase(repoDir, { ...integration(env, input), url: env.config.repository.url, credentials: env.credentials(), signal });
  log.info({ commit: pushed.sha, pushed: pushed.pushed, retried: pushed.retried }, 'pushed the base branch');
  return { commit: pushed.sha };
}

/**
 * The secret scan, at MERGE rather than PUSH: the base is only ever built from origin plus a scanned
 * work branch, so a refused change never reaches the local base, where a later MERGE or PUSH (this
 * run's, a retry's or a re-run's) could publish it. Every commit the base would gain is read — the
 * work branch's commits that origin lacks, the agent's own included — added lines only.
 */
export async function refuseSecrets(env: StepEnv, repoDir: string, input: StepInput, signal: AbortSignal): Promise<void> {
  const lines = await addedLines(repoDir, `refs/remotes/origin/${env.base}`, `refs/heads/${input.branch!}`, signal);
  const hits = await env.deps.secrets.scan(lines);
  if (hits.length > 0) throw new SecretInDiffError(hits, `the change of task ${input.task!.id}`);
}
