// Reading task lists (the model itself is src/project/task-model.ts): the parser, choosing the next task, and reading
// the list from a checkout (or the default template) without writing to it.
export { parseTaskList, TaskListError } from './parse-task-list.js';
export type { ParseTaskListOptions, TaskListProblem } from './parse-task-list.js';
export { progress, selectNextTask, selectReadyTasks } from './select-task.js';
export type { SelectTaskOptions, TaskSelection } from './select-task.js';
export {
  DEFAULT_TASK_LIST_PATH,
  DEFAULT_TEMPLATE_PATH,
  MAX_TASK_LIST_BYTES,
  TaskListPathError,
  TaskListReadError,
  defaultTemplatePath,
  loadTaskList,
} from './task-list-source.js';
export type { LoadTaskListOptions, LoadedTaskList } from './task-list-source.js';
