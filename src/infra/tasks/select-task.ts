// Which task the runner works on next, and how far along the list is: pure functions over a
// parsed TaskList and the set of task ids already done, so the pipeline's SELECT step has no I/O.
import type { Task, TaskList } from '../../project/task-model.js';

export type TaskSelection =
  | { task: Task }
  | { task: null; reason: 'all_done' }
  /**
   * Tasks remain but none can start. `blockedBy` lists the failed tasks that are not done, in
   * document order: what has to succeed (or be retried) before the run can go on. It is empty
   * only for an inconsistent list or done set, which the parser does not produce.
   */
  | { task: null; reason: 'blocked'; blockedBy: string[] };

export interface SelectTaskOptions {
  /** Tasks that failed and must not be picked again; tasks waiting on them stay blocked. */
  failed?: ReadonlySet<string>;
}

const NONE: ReadonlySet<string> = new Set();

/**
 * The first task in document order that is not done, not failed, whose written dependencies are
 * all done, and whose phase may start: every phase it depends on (transitively, so an empty
 * phase in between does not break the chain) has all its tasks done. O(tasks + dependencies).
 */
export function selectNextTask(list: TaskList, done: ReadonlySet<string>, opts: SelectTaskOptions = {}): TaskSelection {
  const failed = opts.failed ?? NONE;
  const mayStart = phasesThatMayStart(list, done);
  let remaining = false;
  for (const task of list.tasks) {
    if (done.has(task.id)) continue;
    remaining = true;
    if (failed.has(task.id) || mayStart.get(task.phaseId) === false) continue;
    if (task.dependencies.every((id) => done.has(id))) return { task };
  }
  if (!remaining) return { task: null, reason: 'all_done' };
  const blockedBy = list.tasks.filter((t) => failed.has(t.id) && !done.has(t.id)).map((t) => t.id);
  return { task: null, reason: 'blocked', blockedBy };
}

/**
 * Every task selectNextTask could pick now, in document order, except those in `exclude` (running
 * elsewhere), at most `limit` — what the lanes of a parallel run start (decision 0028). Empty: see
 * the selection's reason (a task excluded counts as not done, like a failed one).
 */
export function selectReadyTasks(list: TaskList, done: ReadonlySet<string>, opts: { exclude: ReadonlySet<string>; limit: number }): { tasks: Task[]; selection: TaskSelection } {
  const skip = new Set(opts.exclude);
  const tasks: Task[] = [];
  let selection = selectNextTask(list, done, { failed: skip });
  while (selection.task && tasks.length < opts.limit) {
    tasks.push(selection.task);
    skip.add(selection.task.id);
    selection = selectNextTask(list, done, { failed: skip });
  }
  return { tasks, selection: tasks[0] ? { task: tasks[0] } : selection };
}

/** Tasks of the list that are done, out of all of them; ids in `done` that are not in the list do not count. */
export function progress(list: TaskList, done: ReadonlySet<string>): { done: number; total: number } {
  let count = 0;
  for (const task of list.tasks) if (done.has(task.id)) count++;
  return { done: count, total: list.tasks.length };
}

/** phase id → whether its tasks may start. A phase the list does not declare is not in the map. */
function phasesThatMayStart(list: TaskList, done: ReadonlySet<string>): Map<string, boolean> {
  const complete = new Map<string, boolean>();
  for (const phase of list.phases) complete.set(phase.id, true);
  for (const task of list.tasks) if (!done.has(task.id)) complete.set(task.phaseId, false);

  const byId = new Map(list.phases.map((p) => [p.id, p]));
  const mayStart = new Map<string, boolean>();
  const visiting = new Set<string>();
  const resolve = (id: string): boolean => {
    const known = mayStart.get(id);
    if (known !== undefined) return known;
    // A cycle cannot come out of the parser; in a hand-built list it just never starts.
    if (visiting.has(id)) return false;
    visiting.add(id);
    const phase = byId.get(id);
    const ok = !phase || phase.dependencies.every((dep) => complete.get(dep) !== false && resolve(dep));
    visiting.delete(id);
    mayStart.set(id, ok);
    return ok;
  };
  for (const phase of list.phases) resolve(phase.id);
  return mayStart;
}
