// Reads the hierarchical markdown task list (Phase N → N.M task → N.M.K sub-step → • criterion)
// into a TaskList, or fails with the file, line and column of the first thing that is wrong. In
// stages: source lines → what each line is → the outline (phases, tasks, sub-steps, criteria, each
// checked where it is written) → dependencies resolved to ids → no cycle in what waits for what.
import { findCycle } from './find-cycle.js';
import type { Criterion, Phase, Task, TaskList } from '../../project/task-model.js';

/** What is wrong, for callers that branch on it; the message says it for people. */
export type TaskListProblem =
  | 'no_phases'
  | 'malformed_phase'
  | 'malformed_task'
  | 'malformed_dependencies'
  | 'malformed_criterion'
  | 'task_outside_phase'
  | 'task_not_in_phase'
  | 'step_outside_task'
  | 'step_not_in_task'
  | 'criterion_outside_task'
  | 'duplicate_id'
  | 'unknown_dependency'
  | 'dependency_cycle';

export class TaskListError extends Error {
  readonly code = 'invalid_task_list' as const;
  readonly sourceName: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based, when the fault is at a precise place in the line (a dependency id, a list). */
  readonly column: number | undefined;
  readonly problem: TaskListProblem;
  /** The message without the `file:line:` prefix. */
  readonly reason: string;
  readonly details: Record<string, unknown>;

  constructor(init: {
    sourceName: string;
    line: number;
    column?: number;
    problem: TaskListProblem;
    reason: string;
    details?: Record<string, unknown>;
  }) {
    super(`${init.sourceName}:${init.line}: ${init.reason}`);
    this.name = 'TaskListError';
    this.sourceName = init.sourceName;
    this.line = init.line;
    this.column = init.column;
    this.problem = init.problem;
    this.reason = init.reason;
    this.details = init.details ?? {};
  }
}

export interface ParseTaskListOptions {
  /** Names the input in error messages, e.g. the path inside the repository. */
  sourceName?: string;
}

// Lines are matched after stripping indentation and trailing whitespace, so tabs, spaces and
// CRLF make no difference; the kind of a bullet is told by its id (N.M task, N.M.K step), not by
// how deep it is indented.
const PHASE_LIKE = /^(?:#{1,6}[ \t]*)?phase[ \t]+\d/i;
const PHASE = /^(?:#{1,6}[ \t]*)?phase[ \t]+(\d+)[ \t]*:[ \t]*(.*)$/i;
const ID_BULLET = /^[-*+][ \t]+(\d+(?:\.\d+)+)\.?(?:[ \t]+(.*))?$/;
const ID_LIKE_BULLET = /^[-*+][ \t]+\d+\.\d/;
const CRITERION_BULLET = /^(?:•|[-*+][ \t]+(?=<[ \t]*criterion\b))[ \t]*(.*)$/i;
const CRITERION = /^<[ \t]*criterion[ \t]+(\d+)[ \t]*:[ \t]*(.*?)[ \t]*>$/i;
const CRITERION_LIKE = /^<[ \t]*criterion\b/i;
const SOURCE_SUFFIX = /^(.*?)[ \t]*\[source:[ \t]*([^\]]*?)[ \t]*\]$/i;
const PROVENANCE = /^provenance[ \t]*:[ \t]*(.*)$/i;
// The clause is the last parenthesised group, so titles may hold their own parentheses:
// "Ensure default template is only referenced (no task_lists.md creation) (Dependencies: [4.2])".
const DEPENDENCY_CLAUSE = /\([ \t]*dependencies[ \t]*:[ \t]*([^()]*?)[ \t]*\)$/di;
const DEPENDENCY_CLAUSE_LIKE = /\([ \t]*dependenc/i;
const TASK_OR_PHASE_ID = /^\d+(?:\.\d+)?$/;
const PHASE_ID = /^\d+$/;

interface IdAt {
  id: string;
  column: number;
}

interface PhaseDraft {
  phase: Phase;
  /** undefined: no clause written, which means "after the previous phase" (phases are sequential). */
  dependsOn: IdAt[] | undefined;
  tasks: number[];
}

interface TaskDraft {
  task: Task;
  phase: number;
  dependsOn: IdAt[];
}

/** Throws the TaskListError of one input. */
type Fail = (line: number, problem: TaskListProblem, reason: string, column?: number, details?: Record<string, unknown>) => never;

/** A non-blank line, without indentation and trailing whitespace. */
interface SourceLine {
  lineNo: number;
  /** Characters of indentation, so columns point into the line as written. */
  indent: number;
  content: string;
}

/** What one line is, told from the line alone; whether it fits where it stands is the outline's business. */
type LineItem =
  | { kind: 'task' | 'step'; id: string; rest: string; restColumn: number }
  /** A bullet that starts like an item id but cannot be read as one ("- 1.4Foo", "- 1.4.x"). */
  | { kind: 'malformed_item'; column: number }
  | { kind: 'criterion'; body: string; column: number }
  | { kind: 'phase'; content: string; column: number }
  | { kind: 'provenance'; value: string }
  /** A title, the "Phases are sequential" line, notes: not structure. */
  | { kind: 'prose' };

/** Everything read so far, and where the reading is. */
interface Outline {
  phases: PhaseDraft[];
  tasks: TaskDraft[];
  phaseIndex: Map<string, number>;
  taskIndex: Map<string, number>;
  stepLines: Map<string, number>;
  source: string | undefined;
  currentPhase: PhaseDraft | undefined;
  currentTask: TaskDraft | undefined;
}

/**
 * Parses the task-list format of the project's spec. Tolerates what does not change the meaning
 * (CRLF, a BOM, trailing spaces, tab or space indentation, blank lines, prose before the first
 * phase and between items, markdown links in text) and throws TaskListError for anything that
 * would make the runner do the wrong work: malformed ids or dependency lists, misplaced items,
 * duplicate ids, dependencies on unknown ids, and dependency cycles. Linear in the input size.
 */
export function parseTaskList(text: string, opts: ParseTaskListOptions = {}): TaskList {
  const sourceName = opts.sourceName ?? '<task list>';
  const fail: Fail = (line, problem, reason, column, details) => {
    throw new TaskListError({ sourceName, line, column, problem, reason, details });
  };
  const outline = readOutline(sourceLines(text), fail);
  if (outline.phases.length === 0) {
    fail(1, 'no_phases', 'no phase found; phases start with a line like "Phase 1: Title (Dependencies: [])"');
  }
  resolvePhaseDependencies(outline, fail);
  resolveTaskDependencies(outline, fail);
  rejectCycles(outline, fail);
  const list: TaskList = { phases: outline.phases.map((p) => p.phase), tasks: outline.tasks.map((t) => t.task) };
  if (outline.source !== undefined) list.source = outline.source;
  return list;
}

// Stage 1: lines.

function* sourceLines(text: string): Generator<SourceLine> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let raw = lines[i]!;
    if (i === 0 && raw.charCodeAt(0) === 0xfeff) raw = raw.slice(1);
    const content = raw.trim();
    if (content === '') continue;
    yield { lineNo: i + 1, indent: raw.length - raw.trimStart().length, content };
  }
}

// Stage 2: what each line is.

function classifyLine({ indent, content }: SourceLine): LineItem {
  const first = content[0];
  const dashBullet = first === '-' || first === '*' || first === '+';
  if (dashBullet) {
    const bullet = ID_BULLET.exec(content);
    if (bullet) {
      const id = bullet[1]!;
      const rest = bullet[2] ?? '';
      const kind = id.indexOf('.') === id.lastIndexOf('.') ? 'task' : 'step';
      return { kind, id, rest, restColumn: indent + content.length - rest.length + 1 };
    }
    if (ID_LIKE_BULLET.test(content)) return { kind: 'malformed_item', column: indent + 1 };
  }
  if (first === '•' || dashBullet) {
    const criterion = CRITERION_BULLET.exec(content);
    if (criterion) return { kind: 'criterion', body: criterion[1]!, column: indent + 1 };
  }
  if (PHASE_LIKE.test(content)) return { kind: 'phase', content, column: indent + 1 };
  const provenance = PROVENANCE.exec(content);
  if (provenance) return { kind: 'provenance', value: provenance[1]! };
  return { kind: 'prose' };
}

// Stage 3: the outline, each item checked where it stands.

function readOutline(lines: Iterable<SourceLine>, fail: Fail): Outline {
  const outline: Outline = {
    phases: [],
    tasks: [],
    phaseIndex: new Map(),
    taskIndex: new Map(),
    stepLines: new Map(),
    source: undefined,
    currentPhase: undefined,
    currentTask: undefined,
  };
  for (const line of lines) {
    const item = classifyLine(line);
    const { lineNo } = line;
    switch (item.kind) {
      case 'phase':
        readPhase(outline, item.content, item.column, lineNo, fail);
        break;
      case 'task':
        outline.currentTask = readTask(outline, item.id, item.rest, item.restColumn, lineNo, fail);
        break;
      case 'step':
        readStep(outline, item.id, item.rest, lineNo, fail);
        break;
      case 'malformed_item':
        // Meant as an item, but unreadable; dropping it would lose work. Before the first phase it is prose.
        if (outline.currentPhase) {
          fail(lineNo, 'malformed_task', 'malformed item; expected "- 1.2 Title (Dependencies: [1.1])" or "- 1.2.3 Step"', item.column);
        }
        break;
      case 'criterion':
        // Before the first phase a bullet is prose; inside a phase it must belong to a task.
        if (outline.currentPhase) readCriterion(outline, item.body, lineNo, item.column, fail);
        break;
      case 'provenance':
        // Only the first one, above the phases, says where the list comes from.
        if (!outline.currentPhase && outline.source === undefined) outline.source = item.value;
        break;
      case 'prose':
        break;
    }
  }
  return outline;
}

function readPhase(outline: Outline, content: string, column: number, lineNo: number, fail: Fail): void {
  const match = PHASE.exec(content);
  if (!match) {
    return fail(lineNo, 'malformed_phase', 'malformed phase line; expected "Phase 1: Title (Dependencies: [])"', column);
  }
  const id = match[1]!;
  const rest = match[2]!;
  const restColumn = column - 1 + content.length - rest.length + 1;
  const { title, dependsOn } = splitDependencies(rest, restColumn, lineNo, 'phase', fail);
  if (title === '') return fail(lineNo, 'malformed_phase', `phase "${id}" has no title`, column);
  const { phases, phaseIndex } = outline;
  const seen = phaseIndex.get(id);
  if (seen !== undefined) {
    const firstLine = phases[seen]!.phase.line;
    return fail(lineNo, 'duplicate_id', `duplicate phase "${id}" (first at line ${firstLine})`, column, { id, firstLine });
  }
  outline.currentPhase = { phase: { id, title, dependencies: [], line: lineNo }, dependsOn, tasks: [] };
  outline.currentTask = undefined;
  phaseIndex.set(id, phases.length);
  phases.push(outline.currentPhase);
}

function readTask(outline: Outline, id: string, rest: string, restColumn: number, lineNo: number, fail: Fail): TaskDraft {
  const { currentPhase, phases, tasks, taskIndex } = outline;
  if (!currentPhase) {
    return fail(lineNo, 'task_outside_phase', `task "${id}" is outside any phase (no "Phase N: …" line above it)`, undefined, { id });
  }
  const phaseId = currentPhase.phase.id;
  if (id.slice(0, id.indexOf('.')) !== phaseId) {
    return fail(lineNo, 'task_not_in_phase', `task "${id}" is in phase "${phaseId}"; its id must start with "${phaseId}."`, undefined, {
      id,
      phaseId,
    });
  }
  const { title, dependsOn } = splitDependencies(rest, restColumn, lineNo, 'task', fail);
  if (title === '') return fail(lineNo, 'malformed_task', `task "${id}" has no title`);
  const seen = taskIndex.get(id);
  if (seen !== undefined) {
    const firstLine = tasks[seen]!.task.line;
    return fail(lineNo, 'duplicate_id', `duplicate task "${id}" (first at line ${firstLine})`, undefined, { id, firstLine });
  }
  const draft: TaskDraft = {
    task: { id, phaseId, title, dependencies: [], steps: [], criteria: [], line: lineNo },
    phase: phases.length - 1,
    // A task written without a clause has no explicit dependencies; phase order still applies.
    dependsOn: dependsOn ?? [],
  };
  taskIndex.set(id, tasks.length);
  currentPhase.tasks.push(tasks.length);
  tasks.push(draft);
  return draft;
}

function readStep(outline: Outline, id: string, rest: string, lineNo: number, fail: Fail): void {
  const { currentTask, stepLines } = outline;
  if (!currentTask) {
    return fail(lineNo, 'step_outside_task', `sub-step "${id}" is outside any task`, undefined, { id });
  }
  const taskId = currentTask.task.id;
  if (!id.startsWith(`${taskId}.`)) {
    return fail(lineNo, 'step_not_in_task', `sub-step "${id}" is under task "${taskId}"; its id must start with "${taskId}."`, undefined, {
      id,
      taskId,
    });
  }
  const seen = stepLines.get(id);
  if (seen !== undefined) {
    return fail(lineNo, 'duplicate_id', `duplicate sub-step "${id}" (first at line ${seen})`, undefined, { id, firstLine: seen });
  }
  stepLines.set(id, lineNo);
  currentTask.task.steps.push({ id, text: rest.trim(), line: lineNo });
}

function readCriterion(outline: Outline, body: string, lineNo: number, column: number, fail: Fail): void {
  const { currentTask } = outline;
  if (!currentTask) return fail(lineNo, 'criterion_outside_task', 'acceptance criterion outside any task', column);
  const criteria = currentTask.task.criteria;
  let index = criteria.length + 1;
  let text = body.trim();
  if (text === '') return;
  if (CRITERION_LIKE.test(text)) {
    const match = CRITERION.exec(text);
    if (!match) {
      return fail(lineNo, 'malformed_criterion', 'malformed criterion; expected "• <criterion 1: text [source: PRD]>"', column);
    }
    index = Number(match[1]!);
    text = match[2]!;
  }
  const duplicate = criteria.find((c) => c.index === index);
  if (duplicate) {
    const id = currentTask.task.id;
    return fail(lineNo, 'duplicate_id', `duplicate criterion ${index} of task "${id}" (first at line ${duplicate.line})`, column, {
      id,
      index,
      firstLine: duplicate.line,
    });
  }
  const criterion: Criterion = { index, text, line: lineNo };
  const sourced = SOURCE_SUFFIX.exec(text);
  if (sourced) {
    criterion.text = sourced[1]!;
    criterion.source = sourced[2]!;
  }
  criteria.push(criterion);
}

/** Splits "Title (Dependencies: [a, b])" into the title and the ids with their columns. */
function splitDependencies(
  rest: string,
  restColumn: number,
  lineNo: number,
  kind: 'task' | 'phase',
  fail: Fail,
): { title: string; dependsOn: IdAt[] | undefined } {
  const clause = DEPENDENCY_CLAUSE.exec(rest);
  if (!clause) {
    const like = DEPENDENCY_CLAUSE_LIKE.exec(rest);
    if (like) {
      const reason = 'malformed dependency clause; expected "(Dependencies: [1.1, 1.2])" at the end of the line';
      return fail(lineNo, 'malformed_dependencies', reason, restColumn + like.index);
    }
    return { title: rest.trim(), dependsOn: undefined };
  }
  const list = clause[1]!;
  const listColumn = restColumn + clause.indices![1]![0];
  if (list[0] !== '[' || list[list.length - 1] !== ']') {
    return fail(lineNo, 'malformed_dependencies', `dependencies must be a bracketed list, e.g. [1.1, 1.2]; found "${list}"`, listColumn);
  }
  return { title: rest.slice(0, clause.index).trim(), dependsOn: dependencyIds(list, listColumn, lineNo, kind, fail) };
}

/** The ids of a bracketed list "[1.1, 2]", each with its column. */
function dependencyIds(list: string, listColumn: number, lineNo: number, kind: 'task' | 'phase', fail: Fail): IdAt[] {
  const dependsOn: IdAt[] = [];
  const inner = list.slice(1, -1);
  if (inner.trim() === '') return dependsOn;
  const idPattern = kind === 'phase' ? PHASE_ID : TASK_OR_PHASE_ID;
  let start = 0;
  for (const piece of inner.split(',')) {
    const id = piece.trim();
    const column = listColumn + 1 + start + (piece.length - piece.trimStart().length);
    if (id === '') {
      return fail(lineNo, 'malformed_dependencies', `empty item in dependency list "${list}"`, column);
    }
    if (!idPattern.test(id)) {
      const expected = kind === 'phase' ? 'a phase id like "1"' : 'a task id like "1.2" or a phase id like "1"';
      return fail(lineNo, 'malformed_dependencies', `dependency "${id}" is not ${expected}`, column, { dependency: id });
    }
    dependsOn.push({ id, column });
    start += piece.length + 1;
  }
  return dependsOn;
}

// Stage 4: dependencies resolved to ids.

function resolvePhaseDependencies({ phases, phaseIndex }: Outline, fail: Fail): void {
  for (let p = 0; p < phases.length; p++) {
    const draft = phases[p]!;
    const { phase } = draft;
    if (draft.dependsOn === undefined) {
      // No clause: the format's rule "Phases are sequential" makes it follow the previous phase.
      if (p > 0) phase.dependencies.push(phases[p - 1]!.phase.id);
      continue;
    }
    for (const dep of draft.dependsOn) {
      if (!phaseIndex.has(dep.id)) {
        fail(phase.line, 'unknown_dependency', `phase "${phase.id}" depends on unknown phase "${dep.id}"`, dep.column, {
          id: phase.id,
          dependency: dep.id,
        });
      }
      if (dep.id === phase.id) {
        fail(phase.line, 'dependency_cycle', `dependency cycle: phase "${phase.id}" depends on itself`, dep.column, {
          cycle: [`phase ${phase.id}`, `phase ${phase.id}`],
        });
      }
      if (!phase.dependencies.includes(dep.id)) phase.dependencies.push(dep.id);
    }
  }
}

function resolveTaskDependencies(outline: Outline, fail: Fail): void {
  for (const draft of outline.tasks) {
    const ids = new Set<string>();
    for (const dep of draft.dependsOn) {
      for (const id of dependencyTasks(outline, draft.task, dep, fail)) ids.add(id);
    }
    draft.task.dependencies = [...ids];
  }
}

/** The task ids one written dependency stands for: itself, or every task of the phase it names. */
function dependencyTasks({ phases, tasks, phaseIndex, taskIndex }: Outline, task: Task, dep: IdAt, fail: Fail): string[] {
  if (dep.id.includes('.')) {
    if (!taskIndex.has(dep.id)) {
      fail(task.line, 'unknown_dependency', `task "${task.id}" depends on unknown task "${dep.id}"`, dep.column, {
        id: task.id,
        dependency: dep.id,
      });
    }
    if (dep.id === task.id) {
      fail(task.line, 'dependency_cycle', `dependency cycle: task "${task.id}" depends on itself`, dep.column, { cycle: [task.id, task.id] });
    }
    return [dep.id];
  }
  const p = phaseIndex.get(dep.id);
  if (p === undefined) {
    return fail(task.line, 'unknown_dependency', `task "${task.id}" depends on unknown phase "${dep.id}"`, dep.column, {
      id: task.id,
      dependency: dep.id,
    });
  }
  if (dep.id === task.phaseId) {
    fail(task.line, 'dependency_cycle', `dependency cycle: task "${task.id}" depends on its own phase "${dep.id}"`, dep.column, {
      cycle: [task.id, `phase ${dep.id}`, task.id],
    });
  }
  return phases[p]!.tasks.map((t) => tasks[t]!.task.id);
}

// Stage 5: no cycle in what waits for what.

/**
 * The runner can only finish if "waits for" has no cycle. Besides the written task
 * dependencies, a task waits for every phase its phase depends on, and a phase is complete
 * when its tasks and the phases it depends on are; so the graph has a node per task and per
 * phase ("phase N" = phase N complete), and "2.1 → 3.1 → phase 2 → 2.1" is a cycle.
 */
function rejectCycles(outline: Outline, fail: Fail): void {
  const { phases, tasks, phaseIndex, taskIndex } = outline;
  const T = tasks.length;
  const phaseNode = (id: string): number => T + phaseIndex.get(id)!;
  // Phases alone first, so a cycle between phases is reported as one rather than through tasks.
  const phaseEdges: number[][] = [];
  const edges: number[][] = [];
  for (const draft of tasks) {
    const own = phases[draft.phase]!.phase;
    const out = draft.task.dependencies.map((id) => taskIndex.get(id)!);
    for (const id of own.dependencies) out.push(phaseNode(id));
    edges.push(out);
  }
  for (const draft of phases) {
    const deps = draft.phase.dependencies.map(phaseNode);
    phaseEdges.push(deps.map((n) => n - T));
    edges.push([...deps, ...draft.tasks]);
  }
  const phaseCycle = findCycle(phaseEdges);
  if (phaseCycle) return reportCycle(outline, phaseCycle.map((n) => n + T), fail);
  const cycle = findCycle(edges);
  if (cycle) reportCycle(outline, cycle, fail);
}

/** Fails naming the cycle from its earliest task (or phase, if it has none), so the report is stable. */
function reportCycle({ phases, tasks }: Outline, cycle: number[], fail: Fail): never {
  const T = tasks.length;
  const isTask = (n: number): boolean => n < T;
  const lineOf = (n: number): number => (isTask(n) ? tasks[n]!.task.line : phases[n - T]!.phase.line);
  const nameOf = (n: number): string => (isTask(n) ? tasks[n]!.task.id : `phase ${phases[n - T]!.phase.id}`);
  let start = 0;
  for (let k = 1; k < cycle.length; k++) {
    const a = cycle[k]!;
    const b = cycle[start]!;
    if (isTask(a) !== isTask(b) ? isTask(a) : lineOf(a) < lineOf(b)) start = k;
  }
  const ordered = [...cycle.slice(start), ...cycle.slice(0, start)];
  const names = [...ordered, ordered[0]!].map(nameOf);
  const note = ordered.some((n) => !isTask(n)) ? ' ("phase N" waits for every task of phase N)' : '';
  return fail(lineOf(ordered[0]!), 'dependency_cycle', `dependency cycle: ${names.join(' → ')}${note}`, undefined, { cycle: names });
}
