// SELECT: fetch the repository, read its task list as on the remote's base branch, and pick the
// first task whose dependencies are done; none left is the end of the run. A task is done when this
// execution merged it or when a commit carrying its DevTeam-Task trailer is on the base (unless the
// project asked for restart "all"); the latter are reported once as skipped. The picked task goes
// out whole (its dependencies with their titles), so no later step reads the list again.
import type { SelectedTask, SelectOutput, SkippedTask, StepInput } from '../machines/index.js';
import { findUnstorableText, TEXT_PROBLEM_MESSAGES } from '../project/index.js';
import { mergedTasks, resetToBase } from '../infra/repo/index.js';
import { progress, selectNextTask, selectReadyTasks } from '../infra/tasks/index.js';
import type { Task, TaskList } from '../project/index.js';
import type { StepContext } from './step-context.js';
import type { StepEnv } from './step-env.js';

export async function selectStep(env: StepEnv, input: StepInput, { signal }: StepContext): Promise<SelectOutput> {
  const repoDir = await env.fetched(signal);
  // The list as on the remote's base branch, whatever an earlier task left checked out.
  await resetToBase(repoDir, env.base, signal);
  const list = await env.taskList(repoDir);
  const skipped = await alreadyMerged(env, repoDir, list, input, signal);
  const done = new Set([...input.done, ...skipped.map((t) => t.id)]);
  const p = progress(list, done);
  // With parallelism > 1 (decision 0028): every ready task that is not running, one per free lane.
  if (input.slots !== undefined) {
    const { tasks, selection } = selectReadyTasks(list, done, { exclude: new Set(input.busy ?? []), limit: input.slots });
    const ready = tasks.map((t) => selectedTask(t, list));
    if (ready[0]) return { task: ready[0], ready, progress: p, skipped };
    if (selection.task === null && selection.reason === 'all_done') return { task: null, reason: 'all_done', detail: 'every task is done', progress: p, skipped };
    const running = new Set(input.busy ?? []);
    const failed = selection.task === null && selection.reason === 'blocked' ? selection.blockedBy.filter((id) => !running.has(id)) : [];
    return { task: null, reason: 'blocked', detail: `no task is ready; blocked by ${failed.join(', ') || (running.size ? `the tasks running (${[...running].join(', ')})` : 'unmet dependencies')}`, progress: p, skipped };
  }
  const picked = selectNextTask(list, done);
  if (picked.task) return { task: selectedTask(picked.task, list), progress: p, skipped };
  if (picked.reason === 'all_done') return { task: null, reason: 'all_done', detail: 'every task is done', progress: p, skipped };
  return { task: null, reason: 'blocked', detail: `no task is ready; blocked by ${picked.blockedBy.join(', ') || 'unmet dependencies'}`, progress: p, skipped };
}

/** Tasks of the list whose trailer is on the fetched base and that this execution does not know done yet, in list order. */
async function alreadyMerged(env: StepEnv, repoDir: string, list: TaskList, input: StepInput, signal: AbortSignal): Promise<SkippedTask[]> {
  if (env.config.restart === 'all') return [];
  const merged = await mergedTasks(repoDir, `refs/remotes/origin/${env.base}`, signal);
  const known = new Set(input.done);
  return list.tasks.filter((t) => merged.has(t.id) && !known.has(t.id)).map((t) => ({ id: t.id, commit: merged.get(t.id)! }));
}

/** The task with its dependencies' titles; refused when the store could not keep its text. */
export function selectedTask(task: Task, list: TaskList): SelectedTask {
  const titles = new Map(list.tasks.map((t) => [t.id, t.title]));
  const selected = { ...task, dependencies: task.dependencies.map((id) => ({ id, title: titles.get(id) ?? id })) };
  // It is stored with every transition from now on: a NUL in a step's text would fail each write.
  const bad = findUnstorableText(selected);
  if (bad) throw new Error(`task ${task.id} cannot be run: its ${bad.path.join('.')} ${TEXT_PROBLEM_MESSAGES[bad.problem]}`);
  return selected;
}
