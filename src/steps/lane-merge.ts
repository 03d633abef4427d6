// MERGE and PUSH of a task in a lane (parallelism > 1, decision 0028), when its turn in the merge
// queue comes: the change is committed (with the task's trailers) and rebased — or merged — onto
// the remote's latest base in the lane; the machine re-verifies it when that base is not the one
// it was verified on, then PUSH fast-forwards the remote's base to it. A conflict leaves the lane
// on the new base and names the paths, for the next attempt's prompt.
import type { MergeOutput, PushOutput, StepInput } from '../machines/index.js';
import { attemptRef, integrateLane, pushLane, setRef } from '../infra/repo/index.js';
import { commitMessage, integration, refuseSecrets } from './merge.js';
import type { StepContext } from './step-context.js';
import type { StepEnv } from './step-env.js';

export async function laneMergeStep(env: StepEnv, input: StepInput, { signal, log }: StepContext): Promise<MergeOutput> {
  const { repoDir, recreated } = await env.onLaneBranch(input.lane!, input.branch!, signal);
  if (recreated) throw new Error(`the change of task ${input.task!.id} is not on this worker (it was made on a worker that stopped); the task must be implemented again`);
  // The base as this worker knows it: the other lanes' pushes moved its origin ref already. Only after
  // PUSH found the remote moved by someone else (a later round) is it fetched: one git run less in
  // the queue's serial part, and a stale ref costs one refused push, never a wrong merge.
  if ((input.round ?? 0) > 0) await env.fetched(signal);
  const { branch, base, mode, message, author } = integration(env, input);
  const result = await integrateLane(repoDir, { branch, base, mode, commitMessage: commitMessage(input), mergeMessage: message, author, signal });
  // The next attempt, if there is one, starts from what this left: the rebased change, or the new base after a conflict.
  const ref = attemptRef(input.executionId, input.task!.id, input.attempt);
  if ('conflict' in result) {
    await setRef(repoDir, ref, result.base);
    log.info({ conflict: result.conflict, base: result.base }, 'the change conflicts with the base');
    return { commit: result.base, base: result.base, conflict: result.conflict };
  }
  await refuseSecrets(env, repoDir, input, signal);
  await setRef(repoDir, ref, result.commit);
  log.info({ commit: result.commit, base: result.base }, 'the change is on top of the base');
  return { commit: result.commit, base: result.base };
}

export async function lanePushStep(env: StepEnv, input: StepInput, { signal, log }: StepContext): Promise<PushOutput> {
  const repoDir = await env.laneDir(input.lane!, signal);
  const pushed = await pushLane(repoDir, { branch: input.branch!, base: env.base, url: env.config.repository.url, credentials: env.credentials(), signal });
  log.info({ commit: pushed.commit, moved: pushed.moved }, pushed.moved ? 'the base moved since the merge: merging again' : 'pushed the base branch');
  return pushed.moved ? { commit: pushed.commit, moved: true } : { commit: pushed.commit };
}
