// PREP: the task's work branch freshly from the base (as SELECT just fetched it) and the project's
// sandbox, started or reused.
import type { PrepOutput, StepInput } from '../machines/index.js';
import { createWorkBranch } from '../infra/repo/index.js';
import type { StepContext } from './step-context.js';
import { workBranch, type StepEnv } from './step-env.js';

export async function prepStep(env: StepEnv, input: StepInput, { signal }: StepContext): Promise<PrepOutput> {
  // SELECT fetched a moment ago; a remote that moved since is handled by PUSH.
  const repoDir = await env.local(signal);
  const branch = workBranch(input.task!.id);
  await createWorkBranch(repoDir, branch, env.base, signal);
  await env.sandbox(repoDir, signal);
  return { branch };
}
