// MERGE: commit the verified change on the work branch and fold it into the base branch (ff or a
// merge commit); PUSH then publishes the base. Both start from the attempt's ref, so they run on any
// worker after a takeover, and both are no-ops when this execution's trailer for the task is already
// on the remote's base: a change is never applied twice (decision 0025).
import type { MergeOutput, PushOutput, StepInput } from '../machines/index.js';
import {
  addedLines,
  attemptRef,
  commitsAhead,
  commitWork,
  mergeIntoBase,
  pushBase,
  removeAttemptRefs,
  resolveRef,
  tasksMergedBy,
  withTaskTrailers,
  type MergeOptions,
} from '../infra/repo/index.js';
import { SecretInDiffError } from '../infra/secrets/index.js';
import type { StepContext } from './step-context.js';
import type { StepEnv } from './step-env.js';
import { verifyStep } from './verify.js';

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
  // Right after this drive's VERIFY nobody else can have merged the task; otherwise (a takeover, a
  // restart) the dead owner may have pushed it already: fetch and look.
  const fresh = env.justFinished(input, verifyStep.name);
  const repoDir = fresh ? await env.local(signal) : await env.fetched(signal);
  const landed = fresh ? null : await landedTip(env, repoDir, input, signal);
  if (landed) {
    log.info({ commit: landed }, 'this execution already merged and pushed the task: nothing to merge');
    return { commit: landed };
  }
  const merged = await mergeAttempt(env, input, signal);
  log.info({ commit: merged.sha, alreadyMerged: merged.alreadyMerged }, 'merged into the base branch');
  return { commit: merged.sha };
}

export async function pushStep(env: StepEnv, input: StepInput, { signal, log }: StepContext): Promise<PushOutput> {
  // Right after this drive's MERGE the local base holds the merge and the remote cannot have it yet;
  // otherwise (a takeover, a restart) fetch and look whether an earlier owner pushed it.
  const fresh = env.justFinished(input, mergeStep.name);
  const repoDir = fresh ? await env.local(signal) : await env.fetched(signal);
  let sha = fresh ? null : await landedTip(env, repoDir, input, signal);
  if (sha) log.info({ commit: sha }, 'the task is already on the remote: nothing to push');
  else {
    // MERGE ran on another worker (or this checkout lost it): merge again from the attempt's ref.
    if (!fresh && !(await holdsMerge(env, repoDir, input, signal))) {
      log.warn('the merge of the task is not in this checkout: merging the attempt again');
      await mergeAttempt(env, input, signal);
    }
    const pushed = await pushBase(repoDir, {
      ...integration(env, input),
      url: env.config.repository.url,
      credentials: env.credentials(),
      signal,
      landed: () => landedTip(env, repoDir, input, signal),
    });
    log.info({ commit: pushed.sha, pushed: pushed.pushed, retried: pushed.retried }, 'pushed the base branch');
    sha = pushed.sha;
  }
  // The task is merged: its attempt refs are no longer needed by anyone (decision 0025).
  // Every attempt of the task in this execution (those before a resume too): one delete push.
  const refs = Array.from({ length: input.attempt }, (_, i) => attemptRef(input.executionId, input.task!.id, i + 1));
  const removed = await removeAttemptRefs(repoDir, refs, env.remote(signal)).catch((error: unknown) => {
    log.warn({ err: error }, 'could not remove the attempt refs of the merged task from the remote');
    return 0;
  });
  if (removed) log.info({ removed }, 'removed the attempt refs of the merged task');
  return { commit: sha };
}

/**
 * The remote's base tip when a commit of it carries this execution's trailers for the task (it was
 * merged and pushed by this execution, maybe by an owner that died before recording it); else null.
 */
async function landedTip(env: StepEnv, repoDir: string, input: StepInput, signal: AbortSignal): Promise<string | null> {
  const origin = `refs/remotes/origin/${env.base}`;
  const merged = await tasksMergedBy(repoDir, origin, input.executionId, signal);
  return merged.has(input.task!.id) ? resolveRef(repoDir, origin, signal) : null;
}

/** Whether the local base holds this execution's merge of the task on top of the remote's base: ready to push. */
async function holdsMerge(env: StepEnv, repoDir: string, input: StepInput, signal: AbortSignal): Promise<boolean> {
  const local = `refs/heads/${env.base}`;
  if (!(await resolveRef(repoDir, local, signal))) return false;
  if ((await commitsAhead(repoDir, local, `refs/remotes/origin/${env.base}`, signal)) > 0) return false;
  return (await tasksMergedBy(repoDir, local, input.executionId, signal)).has(input.task!.id);
}

/** The attempt's change (from this worker or the remote) committed with the task's trailers, scanned, and folded into the local base. */
async function mergeAttempt(env: StepEnv, input: StepInput, signal: AbortSignal): Promise<{ sha: string; alreadyMerged: boolean }> {
  const repoDir = await env.onAttempt(input, signal);
  await commitWork(repoDir, { message: commitMessage(input), author: env.deps.author, signal });
  if ((await commitsAhead(repoDir, `refs/remotes/origin/${env.base}`, input.branch!, signal)) === 0) {
    // A verified change always leaves a commit.
    throw new Error(`task ${input.task!.id}: nothing to merge — attempt ${input.attempt} changed nothing against the base`);
  }
  await refuseSecrets(env, repoDir, input, signal);
  return mergeIntoBase(repoDir, { ...integration(env, input), signal });
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
