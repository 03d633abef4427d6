// PREP: the task's work branch freshly from the base (as SELECT just fetched it) and the project's
// sandbox, started or reused; with parallelism > 1, the same in the task's lane.
import type { PrepOutput, StepInput } from '../machines/index.js';
import { createWorkBranch, startLaneBranch } from '../infra/repo/index.js';
import { selectStep } from './select.js';
import type { StepContext } from './step-context.js';
import { workBranch, type StepEnv } from './step-env.js';

export async function prepStep(env: StepEnv, input: StepInput, { signal }: StepContext): Promise<PrepOutput> {
  const branch = workBranch(input.task!.id);
  if (input.lane !== undefined) {
    // A lane: its own worktree of the clone and its own sandbox (decision 0028).
    const laneDir = await env.laneDir(input.lane, signal);
    await startLaneBranch(laneDir, branch, env.base, signal);
    await env.sandbox(laneDir, input.lane);
    return { branch };
  }
  // Right after this drive's SELECT the fetch is a moment old (a remote that moved since is handled by
  // PUSH); after a takeover SELECT ran elsewhere and this checkout's origin refs may be old: fetch.
  const repoDir = env.lastStep() === selectStep.name ? await env.local(signal) : await env.fetched(signal);
  await createWorkBranch(repoDir, branch, env.base, signal);
  await env.sandbox(repoDir, undefined, signal);
  return { branch };
}
