// Reads the hierarchical markdown task list (Phase N → N.M task → N.M.K sub-step → • criterion)
// into a TaskList, or fails with the file, line and column of the first thing that is wrong.
import { findCycle } from './find-cycle.js';
import type { Criterion, Phase, Task, TaskList } from './task-list.js';

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

/**
 * Parses the task-list format of the project's spec. Tolerates what does not change the meaning
 * (CRLF, a BOM, trailing spaces, tab or space indentation, blank lines, prose before the first
 * phase and between items, markdown links in text) and throws TaskListError for anything that
 * would make the runner do the wrong work: malformed ids or dependency lists, misplaced items,
 * duplicate ids, dependencies on unknown ids, and dependency cycles. Linear in the input size.
 */
export function parseTaskList(text: string, opts: ParseTaskListOptions = {}): TaskList {
  const sourceName = opts.sourceName ?? '<task list>';
  const fail = (
    line: number,
    problem: TaskListProblem,
    reason: string,
    column?: number,
    details?: Record<string, unknown>,
  ): never => {
    throw new TaskListError({ sourceName, line, column, problem, reason, details });
  };

  const phases: PhaseDraft[] = [];
  const tasks: TaskDraft[] = [];
  const phaseIndex = new Map<string, number>();
  const taskIndex = new Map<string, number>();
  const stepLines = new Map<string, number>();
  let source: string | undefined;
  let currentPhase: PhaseDraft | undefined;
  let currentTask: TaskDraft | undefined;

  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let raw = lines[i]!;
    if (i === 0 && raw.charCodeAt(0) === 0xfeff) raw = raw.slice(1);
    const content = raw.trim();
    if (content === '') continue;
    const indent = raw.length - raw.trimStart().length;
    const first = content[0];

    if (first === '-' || first === '*' || first === '+') {
      const bullet = ID_BULLET.exec(content);
      if (bullet) {
        const id = bullet[1]!;
        const rest = bullet[2] ?? '';
        const restColumn = indent + content.length - rest.length + 1;
        if (id.indexOf('.') === id.lastIndexOf('.')) {
          currentTask = readTask(id, rest, restColumn, lineNo);
        } else {
          readStep(id, rest, lineNo);
        }
        continue;
      }
      // "- 1.4Foo" or "- 1.4.x": meant as an item, but unreadable; dropping it would lose work.
      if (currentPhase && ID_LIKE_BULLET.test(content)) {
        fail(lineNo, 'malformed_task', 'malformed item; expected "- 1.2 Title (Dependencies: [1.1])" or "- 1.2.3 Step"', indent + 1);
      }
    }
    if (first === '•' || first === '-' || first === '*' || first === '+') {
      const criterion = CRITERION_BULLET.exec(content);
      if (criterion) {
        // Before the first phase a bullet is prose; inside a phase it must belong to a task.
        if (currentPhase) readCriterion(criterion[1]!, lineNo, indent + 1);
        continue;
      }
    }
    if (PHASE_LIKE.test(content)) {
      readPhase(content, indent, lineNo);
      continue;
    }
    if (!currentPhase && source === undefined) {
      const provenance = PROVENANCE.exec(content);
      if (provenance) source = provenance[1]!;
    }
    // Anything else is prose (a title, the "Phases are sequential" line, notes): not structure.
  }

  if (phases.length === 0) {
    fail(1, 'no_phases', 'no phase found; phases start with a line like "Phase 1: Title (Dependencies: [])"');
  }
  resolvePhaseDependencies();
  resolveTaskDependencies();
  rejectCycles();

  const list: TaskList = { phases: phases.map((p) => p.phase), tasks: tasks.map((t) => t.task) };
  if (source !== undefined) list.source = source;
  return list;

  function readPhase(content: string, indent: number, lineNo: number): void {
    const match = PHASE.exec(content);
    if (!match) {
      return fail(lineNo, 'malformed_phase', 'malformed phase line; expected "Phase 1: Title (Dependencies: [])"', indent + 1);
    }
    const id = match[1]!;
    const rest = match[2]!;
    const restColumn = indent + content.length - rest.length + 1;
    const { title, dependsOn } = splitDependencies(rest, restColumn, lineNo, PHASE_ID, 'phase');
    if (title === '') return fail(lineNo, 'malformed_phase', `phase "${id}" has no title`, indent + 1);
    const seen = phaseIndex.get(id);
    if (seen !== undefined) {
      return fail(lineNo, 'duplicate_id', `duplicate phase "${id}" (first at line ${phases[seen]!.phase.line})`, indent + 1, {
        id,
        firstLine: phases[seen]!.phase.line,
      });
    }
    currentPhase = { phase: { id, title, dependencies: [], line: lineNo }, dependsOn, tasks: [] };
    currentTask = undefined;
    phaseIndex.set(id, phases.length);
    phases.push(currentPhase);
  }

  function readTask(id: string, rest: string, restColumn: number, lineNo: number): TaskDraft {
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
    const { title, dependsOn } = splitDependencies(rest, restColumn, lineNo, TASK_OR_PHASE_ID, 'task');
    if (title === '') return fail(lineNo, 'malformed_task', `task "${id}" has no title`);
    const seen = taskIndex.get(id);
    if (seen !== undefined) {
      return fail(lineNo, 'duplicate_id', `duplicate task "${id}" (first at line ${tasks[seen]!.task.line})`, undefined, {
        id,
        firstLine: tasks[seen]!.task.line,
      });
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

  function readStep(id: string, rest: string, lineNo: number): void {
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

  function readCriterion(body: string, lineNo: number, column: number): void {
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
      return fail(
        lineNo,
        'duplicate_id',
        `duplicate criterion ${index} of task "${currentTask.task.id}" (first at line ${duplicate.line})`,
        column,
        { id: currentTask.task.id, index, firstLine: duplicate.line },
      );
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
    idPattern: RegExp,
    kind: 'task' | 'phase',
  ): { title: string; dependsOn: IdAt[] | undefined } {
    const clause = DEPENDENCY_CLAUSE.exec(rest);
    if (!clause) {
      const like = DEPENDENCY_CLAUSE_LIKE.exec(rest);
      if (like) {
        return fail(
          lineNo,
          'malformed_dependencies',
          'malformed dependency clause; expected "(Dependencies: [1.1, 1.2])" at the end of the line',
          restColumn + like.index,
        );
      }
      return { title: rest.trim(), dependsOn: undefined };
    }
    const list = clause[1]!;
    const listColumn = restColumn + clause.indices![1]![0];
    if (list[0] !== '[' || list[list.length - 1] !== ']') {
      return fail(lineNo, 'malformed_dependencies', `dependencies must be a bracketed list, e.g. [1.1, 1.2]; found "${list}"`, listColumn);
    }
    const dependsOn: IdAt[] = [];
    const inner = list.slice(1, -1);
    if (inner.trim() !== '') {
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
    }
    return { title: rest.slice(0, clause.index).trim(), dependsOn };
  }

  function resolvePhaseDependencies(): void {
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

  function resolveTaskDependencies(): void {
    for (const draft of tasks) {
      const { task } = draft;
      const ids = new Set<string>();
      for (const dep of draft.dependsOn) {
        if (dep.id.includes('.')) {
          if (!taskIndex.has(dep.id)) {
            fail(task.line, 'unknown_dependency', `task "${task.id}" depends on unknown task "${dep.id}"`, dep.column, {
              id: task.id,
              dependency: dep.id,
            });
          }
          if (dep.id === task.id) {
            fail(task.line, 'dependency_cycle', `dependency cycle: task "${task.id}" depends on itself`, dep.column, {
              cycle: [task.id, task.id],
            });
          }
          ids.add(dep.id);
          continue;
        }
        const p = phaseIndex.get(dep.id);
        if (p === undefined) {
          fail(task.line, 'unknown_dependency', `task "${task.id}" depends on unknown phase "${dep.id}"`, dep.column, {
            id: task.id,
            dependency: dep.id,
          });
        }
        if (dep.id === task.phaseId) {
          fail(task.line, 'dependency_cycle', `dependency cycle: task "${task.id}" depends on its own phase "${dep.id}"`, dep.column, {
            cycle: [task.id, `phase ${dep.id}`, task.id],
          });
        }
        // A phase named as a dependency stands for every task of that phase.
        for (const t of phases[p!]!.tasks) ids.add(tasks[t]!.task.id);
      }
      task.dependencies = [...ids];
    }
  }

  /**
   * The runner can only finish if "waits for" has no cycle. Besides the written task
   * dependencies, a task waits for every phase its phase depends on, and a phase is complete
   * when its tasks and the phases it depends on are; so the graph has a node per task and per
   * phase ("phase N" = phase N complete), and "2.1 → 3.1 → phase 2 → 2.1" is a cycle.
   */
  function rejectCycles(): void {
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
    if (phaseCycle) return reportCycle(phaseCycle.map((n) => n + T));
    const cycle = findCycle(edges);
    if (cycle) reportCycle(cycle);
  }

  function reportCycle(cycle: number[]): never {
    const T = tasks.length;
    const isTask = (n: number): boolean => n < T;
    const lineOf = (n: number): number => (isTask(n) ? tasks[n]!.task.line : phases[n - T]!.phase.line);
    const nameOf = (n: number): string => (isTask(n) ? tasks[n]!.task.id : `phase ${phases[n - T]!.phase.id}`);
    // Start at the earliest task in it (or phase, if it has none) so the report is stable.
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
}
