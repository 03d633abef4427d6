// SELECT: fetch the repository, read its task list as on the remote's base branch, and pick the
// first task whose dependencies are done; none left is the end of the run.
import type { SelectOutput, StepInput } from '../machines/index.js';
import { resetToBase } from '../infra/repo/index.js';
import { progress, selectNextTask } from '../infra/tasks/index.js';
import type { StepContext } from './step-context.js';
import type { StepEnv } from './step-env.js';

export async function selectStep(env: StepEnv, input: StepInput, { signal }: StepContext): Promise<SelectOutput> {
  const repoDir = await env.fetched(signal);
  // The list as on the remote's base branch, whatever an earlier task left checked out.
  await resetToBase(repoDir, env.base, signal);
  const list = await env.taskList(repoDir);
  const done = new Set(input.done);
  const picked = selectNextTask(list, done);
  const p = progress(list, done);
  if (picked.task) return { task: { id: picked.task.id, title: picked.task.title }, progress: p };
  if (picked.reason === 'all_done') return { task: null, reason: 'all_done', detail: 'every task is done', progress: p };
  return { task: null, reason: 'blocked', detail: `no task is ready; blocked by ${picked.blockedBy.join(', ') || 'unmet dependencies'}`, progress: p };
}
