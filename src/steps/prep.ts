// PREP: the task's work branch freshly from the base (as SELECT just fetched it) and the project's
// sandbox, started or reused.
import type { PrepOutput, StepInput } from '../machines/index.js';
import { createWorkBranch } from '../infra/repo/index.js';
import { selectStep } from './select.js';
import type { StepContext } from './step-context.js';
import { workBranch, type StepEnv } from './step-env.js';

export async function prepStep(env: StepEnv, input: StepInput, { signal }: StepContext): Promise<PrepOutput> {
  // Right after this drive's SELECT the fetch is a moment old (a remote that moved since is handled by
  // PUSH); after a takeover SELECT ran elsewhere and this checkout's origin refs may be old: fetch.
  const repoDir = env.lastStep() === selectStep.name ? await env.local(signal) : await env.fetched(signal);
  const branch = workBranch(input.task!.id);
  await createWorkBranch(repoDir, branch, env.base, signal);
  await env.sandbox(repoDir, signal);
  return { branch };
}
