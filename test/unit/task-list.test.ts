// The task-list parser and task selection, on the project's own spec list (a fixture copy) and on
// small lists that are wrong in one way each.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  TaskListError,
  defaultTemplatePath,
  parseTaskList,
  progress,
  selectNextTask,
  type TaskListProblem,
} from '../../src/infra/tasks/index.js';
import { TaskListSchema, type Task, type TaskList } from '../../src/project/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/spec-task-list.md', import.meta.url));
// CI clones the repository with the shared folder beside it; the fixture keeps this file self-contained.
const SHARED_SPEC = join(ROOT, '..', 'shared', 'spec', 'task-list.md');
const specText = readFileSync(FIXTURE, 'utf8');
const spec = parseTaskList(specText, { sourceName: 'spec-task-list.md' });

const byId = (list: TaskList, id: string): Task => {
  const task = list.tasks.find((t) => t.id === id);
  if (!task) throw new Error(`no task ${id}`);
  return task;
};

const EXPECTED_TASK_IDS = [
  ...['1.1', '1.2', '1.3'],
  ...['2.1', '2.2', '2.3'],
  ...['3.1', '3.2', '3.3'],
  ...['4.1', '4.2', '4.3', '4.4', '4.5', '4.6'],
  ...['5.1', '5.2', '5.3', '5.4', '5.5', '5.6', '5.7'],
  ...['6.1', '6.2', '6.3', '6.4'],
  ...['7.1', '7.2', '7.3', '7.4', '7.5', '7.6', '7.7', '7.8'],
  ...['8.1', '8.2', '8.3'],
  ...['9.1', '9.2'],
];

/** Phases whose tasks must all be done before a task of `phaseId` may start, transitively. */
function phasesBefore(list: TaskList, phaseId: string, acc = new Set<string>()): Set<string> {
  for (const dep of list.phases.find((p) => p.id === phaseId)!.dependencies) {
    if (!acc.has(dep)) {
      acc.add(dep);
      phasesBefore(list, dep, acc);
    }
  }
  return acc;
}

/** Selects and completes tasks until the list says all done, checking each pick is allowed. */
function walk(list: TaskList): string[] {
  const done = new Set<string>();
  const order: string[] = [];
  for (let step = 0; step <= list.tasks.length; step++) {
    const next = selectNextTask(list, done);
    if (next.task === null) {
      expect(next.reason).toBe('all_done');
      return order;
    }
    const task = next.task;
    expect(done.has(task.id), `${task.id} selected twice`).toBe(false);
    for (const dep of task.dependencies) expect(done.has(dep), `${task.id} picked before its dependency ${dep}`).toBe(true);
    for (const phaseId of phasesBefore(list, task.phaseId)) {
      for (const other of list.tasks.filter((t) => t.phaseId === phaseId)) {
        expect(done.has(other.id), `${task.id} picked before ${other.id} of earlier phase ${phaseId}`).toBe(true);
      }
    }
    done.add(task.id);
    order.push(task.id);
    expect(progress(list, done)).toEqual({ done: order.length, total: list.tasks.length });
  }
  throw new Error('selection did not finish');
}

describe('the spec task list fixture', () => {
  it('is a byte-for-byte copy of the shared spec when that is checked out beside the repository', () => {
    const fixture = readFileSync(FIXTURE);
    if (existsSync(SHARED_SPEC)) {
      expect(fixture.equals(readFileSync(SHARED_SPEC))).toBe(true);
    } else {
      expect(fixture.length).toBeGreaterThan(0);
      expect(parseTaskList(fixture.toString('utf8')).tasks.length).toBeGreaterThan(0);
    }
  });
});

describe('parseTaskList on the spec list', () => {
  it('reads all nine phases with their titles and dependencies', () => {
    expect(spec.phases.map((p) => p.id)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(spec.phases[0]).toEqual({ id: '1', title: 'Foundations & Ops Validation', dependencies: [], line: 7 });
    expect(spec.phases[4]).toMatchObject({ id: '5', title: 'DevTeam Automation API (Profile B)', dependencies: ['4'] });
    for (let i = 1; i < 9; i++) expect(spec.phases[i]!.dependencies).toEqual([String(i)]);
  });

  it('reads every task, in document order, as many as the file has task lines', () => {
    const taskLines = specText.split('\n').filter((line) => /^- \d+\.\d+ /.test(line));
    expect(taskLines).toHaveLength(39);
    expect(spec.tasks.map((t) => t.id)).toEqual(EXPECTED_TASK_IDS);
    expect(spec.tasks.every((t) => t.id.startsWith(`${t.phaseId}.`))).toBe(true);
    expect(byId(spec, '1.1')).toMatchObject({ phaseId: '1', title: 'Compose up/down scripts verified', line: 9 });
    expect(byId(spec, '4.4').title).toBe('Ensure default template is only referenced (no task_lists.md creation)');
  });

  it('keeps the dependencies exactly as written', () => {
    expect(byId(spec, '1.1').dependencies).toEqual([]);
    expect(byId(spec, '1.2').dependencies).toEqual(['1.1']);
    expect(byId(spec, '4.4').dependencies).toEqual(['4.2', '4.3']);
    expect(byId(spec, '8.1').dependencies).toEqual(['3.3', '5.2']);
    expect(byId(spec, '9.1').dependencies).toEqual(['1.1', '1.2', '7.8']);
    // And every other task, against a plain reading of its line.
    for (const line of specText.split('\n')) {
      const match = /^- (\d+\.\d+) .*\(Dependencies: \[(.*)\]\)$/.exec(line);
      if (!match) continue;
      const written = match[2]!.split(',').map((s) => s.trim()).filter(Boolean);
      expect(byId(spec, match[1]!).dependencies, match[1]).toEqual(written);
    }
  });

  it('reads the acceptance criteria with their number, text and source', () => {
    const c11 = byId(spec, '1.1').criteria;
    expect(c11).toHaveLength(4);
    expect(c11[0]).toEqual({ index: 1, text: 'Docker services start within ≤10s (p95)', source: 'PRD', line: 16 });
    expect(c11[3]!.text).toBe('Service availability meets 99.9% uptime target during operation');
    expect(byId(spec, '1.2').criteria[0]).toMatchObject({ text: 'Alembic migrations complete successfully with no errors', source: 'PRD/ADD' });
    expect(byId(spec, '2.1').criteria.map((c) => c.index)).toEqual([1, 2, 3, 4, 5]);
    expect(byId(spec, '6.3').criteria[0]!.text).toBe('Standardized envelope format {type, ts, projectId, payload} implemented');
    expect(byId(spec, '9.1').criteria).toHaveLength(5);
    expect(byId(spec, '9.2').criteria).toEqual([]);
    const bulletCount = specText.split('\n').filter((line) => line.trimStart().startsWith('•')).length;
    expect(spec.tasks.reduce((n, t) => n + t.criteria.length, 0)).toBe(bulletCount);
  });

  it('reads the sub-steps with their text as written, markdown links included', () => {
    const steps = byId(spec, '1.1').steps;
    expect(steps.map((s) => s.id)).toEqual(['1.1.1', '1.1.2', '1.1.3', '1.1.4', '1.1.5', '1.1.6', '1.1.7']);
    expect(steps[0]).toEqual({ id: '1.1.1', text: 'Build images: run "docker compose build"', line: 10 });
    expect(steps[6]!.text).toBe('Document results of Task 1.1 in [ai_docs/tasks/task_outcomes.md](ai_docs/tasks/task_outcomes.md)');
    expect(byId(spec, '9.2').steps.map((s) => s.id)).toEqual(['9.2.1', '9.2.2', '9.2.3', '9.2.4']);
    expect(byId(spec, '4.4').steps[0]!.text).toBe('Read default template without writing files into target repo');
  });

  it('keeps the provenance as the source and the prose out of the structure', () => {
    expect(spec.source).toBe('Expanded from [ai_docs/context/core_docs/wbs.md](ai_docs/context/core_docs/wbs.md)');
    expect(Object.keys(spec).sort()).toEqual(['phases', 'source', 'tasks']);
  });

  it('produces a value its zod schema accepts unchanged', () => {
    expect(TaskListSchema.parse(spec)).toEqual(spec);
  });

  it('parses CRLF, tab-indented, trailing-space and BOM-prefixed copies the same', () => {
    expect(parseTaskList(specText.replace(/\n/g, '\r\n'))).toEqual(spec);
    const tabbed = specText.replace(/^( {2})+/gm, (indent) => '\t'.repeat(indent.length / 2)).replace(/\n/g, '  \n');
    expect(tabbed).not.toBe(specText);
    expect(parseTaskList(`\uFEFF${tabbed}`)).toEqual(spec);
  });

  it('parses the 30 KB list in well under 10 ms (p50 of 200 runs)', () => {
    for (let i = 0; i < 50; i++) parseTaskList(specText);
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const start = performance.now();
      parseTaskList(specText);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    expect(specText.length).toBeGreaterThan(29_000);
    expect(times[100]!).toBeLessThan(5);
  });

  it('parses a list over 20 times the spec size in linear time', () => {
    const parts = ['Phases are sequential', ''];
    for (let p = 1; p <= 40; p++) {
      parts.push(`Phase ${p}: Phase ${p} (Dependencies: [${p > 1 ? p - 1 : ''}])`, '');
      for (let t = 1; t <= 40; t++) {
        const deps = t > 1 ? `${p}.${t - 1}` : p > 1 ? String(p - 1) : '';
        parts.push(`- ${p}.${t} Task ${p}.${t} (Dependencies: [${deps}])`);
        for (let s = 1; s <= 5; s++) parts.push(`  - ${p}.${t}.${s} Step ${s} of [task ${p}.${t}](docs/${p}/${t}.md)`);
        for (let c = 1; c <= 3; c++) parts.push(`    • <criterion ${c}: Criterion ${c} of ${p}.${t} [source: PRD]>`);
        parts.push('');
      }
    }
    const big = parts.join('\n');
    const start = performance.now();
    const list = parseTaskList(big);
    const elapsed = performance.now() - start;
    expect(big.length).toBeGreaterThan(20 * specText.length);
    expect(list.tasks).toHaveLength(1600);
    expect(byId(list, '2.1').dependencies).toHaveLength(40);
    expect(elapsed).toBeLessThan(250);
  });
});

describe('selectNextTask', () => {
  it('walks all 39 spec tasks, each after its dependencies and after the phases before it', () => {
    const order = walk(spec);
    expect(order).toHaveLength(39);
    expect(new Set(order)).toEqual(new Set(EXPECTED_TASK_IDS));
    expect(order[0]).toBe('1.1');
    expect(order.at(-1)).toBe('9.2');
  });

  it('reports all_done with full progress once every task is done', () => {
    const done = new Set(EXPECTED_TASK_IDS);
    expect(selectNextTask(spec, done)).toEqual({ task: null, reason: 'all_done' });
    expect(progress(spec, new Set([...EXPECTED_TASK_IDS, 'not-a-task']))).toEqual({ done: 39, total: 39 });
    expect(progress(spec, new Set())).toEqual({ done: 0, total: 39 });
  });

  it('holds back a task of a later phase until the phases it follows are complete', () => {
    // 8.1 and 8.2 have their written dependencies done, but phase 8 follows phase 7, and 7.8 failed.
    const done = new Set(EXPECTED_TASK_IDS.filter((id) => Number(id.split('.')[0]) < 7 || (id.startsWith('7.') && id !== '7.8')));
    expect(byId(spec, '8.2').dependencies.every((id) => done.has(id))).toBe(true);
    expect(selectNextTask(spec, done).task?.id).toBe('7.8');
    expect(selectNextTask(spec, done, { failed: new Set(['7.8']) })).toEqual({ task: null, reason: 'blocked', blockedBy: ['7.8'] });
  });

  it('skips a failed task, goes on with its independent siblings, then reports blocked naming it', () => {
    const done = new Set(['1.1', '1.2', '1.3', '2.1', '2.2', '2.3', '3.1', '3.2', '3.3', '4.1', '4.2', '4.3']);
    const failed = new Set(['4.4']);
    expect(selectNextTask(spec, done, { failed }).task?.id).toBe('4.5');
    done.add('4.5');
    expect(selectNextTask(spec, done, { failed }).task?.id).toBe('4.6');
    done.add('4.6');
    expect(selectNextTask(spec, done, { failed })).toEqual({ task: null, reason: 'blocked', blockedBy: ['4.4'] });
    expect(selectNextTask(spec, new Set(), { failed: new Set(['1.1']) })).toEqual({ task: null, reason: 'blocked', blockedBy: ['1.1'] });
  });

  it('treats a task that is both failed and done as done', () => {
    expect(selectNextTask(spec, new Set(['1.1']), { failed: new Set(['1.1']) }).task?.id).toBe('1.2');
  });

  it('resolves a phase named as a task dependency into every task of that phase', () => {
    const list = parseTaskList(
      [
        'Phase 1: A (Dependencies: [])',
        '- 1.1 One (Dependencies: [])',
        '- 1.2 Two (Dependencies: [])',
        'Phase 2: B (Dependencies: [])',
        '- 2.1 Three (Dependencies: [1, 1.2])',
      ].join('\n'),
    );
    expect(byId(list, '2.1').dependencies).toEqual(['1.1', '1.2']);
    expect(selectNextTask(list, new Set(['1.1'])).task?.id).toBe('1.2');
    expect(walk(list)).toEqual(['1.1', '1.2', '2.1']);
  });

  it('makes a phase written without a dependency clause follow the previous one', () => {
    const list = parseTaskList(['Phase 1: A', '- 1.1 One', 'Phase 2: B', '- 2.1 Two'].join('\n'));
    expect(list.phases.map((p) => p.dependencies)).toEqual([[], ['1']]);
    expect(byId(list, '2.1').dependencies).toEqual([]);
    expect(selectNextTask(list, new Set()).task?.id).toBe('1.1');
    expect(selectNextTask(list, new Set(), { failed: new Set(['1.1']) })).toMatchObject({ reason: 'blocked', blockedBy: ['1.1'] });
  });
});

describe('the default template', () => {
  it('parses into a small list that can be walked to the end', () => {
    const template = parseTaskList(readFileSync(defaultTemplatePath(), 'utf8'));
    expect(template.phases).toHaveLength(2);
    expect(template.tasks.length).toBeGreaterThanOrEqual(3);
    expect(template.tasks.every((t) => t.steps.length > 0 && t.criteria.length > 0)).toBe(true);
    expect(walk(template)).toHaveLength(template.tasks.length);
  });
});

// Line numbers below are those of this list; each case changes one line.
const BASE = [
  '# A task list', // 1
  'Provenance: a test', // 2
  'Phases are sequential: 1 → 2', // 3
  '', // 4
  'Phase 1: One (Dependencies: [])', // 5
  '', // 6
  '- 1.1 First (Dependencies: [])', // 7
  '  - 1.1.1 Do it', // 8
  '  - 1.1.2 Verify correctness of Task 1.1 against acceptance criteria', // 9
  '    • <criterion 1: It works [source: PRD]>', // 10
  '', // 11
  '- 1.2 Second (Dependencies: [1.1])', // 12
  '  - 1.2.1 Do more', // 13
  '', // 14
  'Phase 2: Two (Dependencies: [1])', // 15
  '', // 16
  '- 2.1 Third (Dependencies: [1.2])', // 17
  '  - 2.1.1 Finish', // 18
];

function withLine(line: number, text: string): string {
  return withLines({ [line]: text });
}

function withLines(changes: Record<number, string>): string {
  const lines = [...BASE];
  for (const [line, text] of Object.entries(changes)) lines[Number(line) - 1] = text;
  return lines.join('\n');
}

function parseError(text: string): TaskListError {
  try {
    parseTaskList(text, { sourceName: 'ai_docs/tasks/task_list.md' });
  } catch (error) {
    expect(error).toBeInstanceOf(TaskListError);
    return error as TaskListError;
  }
  throw new Error('expected the list to be rejected');
}

function expectRejected(text: string, line: number, problem: TaskListProblem, reason: string | RegExp, column?: number): void {
  const error = parseError(text);
  expect(error.code).toBe('invalid_task_list');
  expect(error.sourceName).toBe('ai_docs/tasks/task_list.md');
  expect({ line: error.line, problem: error.problem }).toEqual({ line, problem });
  expect(error.message.startsWith(`ai_docs/tasks/task_list.md:${line}: `)).toBe(true);
  if (typeof reason === 'string') expect(error.reason).toBe(reason);
  else expect(error.reason).toMatch(reason);
  if (column !== undefined) expect(error.column).toBe(column);
}

describe('parseTaskList rejects', () => {
  it('accepts the base list these cases start from', () => {
    const list = parseTaskList(BASE.join('\n'));
    expect(list.tasks.map((t) => t.id)).toEqual(['1.1', '1.2', '2.1']);
    expect(list.source).toBe('a test');
  });

  it('an unknown task dependency, with the message naming both tasks', () => {
    const error = parseError(withLine(17, '- 2.1 Third (Dependencies: [1.2, 1.9])'));
    expect(error.message).toBe('ai_docs/tasks/task_list.md:17: task "2.1" depends on unknown task "1.9"');
    expect(error.line).toBe(17);
    expect(error.column).toBe(34);
    expect(error.details).toEqual({ id: '2.1', dependency: '1.9' });
  });

  it('an unknown phase, named by a task or by a phase', () => {
    expectRejected(withLine(17, '- 2.1 Third (Dependencies: [7])'), 17, 'unknown_dependency', 'task "2.1" depends on unknown phase "7"');
    expectRejected(withLine(15, 'Phase 2: Two (Dependencies: [3])'), 15, 'unknown_dependency', 'phase "2" depends on unknown phase "3"');
  });

  it('malformed dependency lists, pointing at the column', () => {
    expectRejected(withLine(12, '- 1.2 Second (Dependencies: [1.1 1.0])'), 12, 'malformed_dependencies', 'dependency "1.1 1.0" is not a task id like "1.2" or a phase id like "1"', 30);
    expectRejected(withLine(12, '- 1.2 Second (Dependencies: 1.1)'), 12, 'malformed_dependencies', /bracketed list/, 29);
    expectRejected(withLine(12, '- 1.2 Second (Dependencies: [1.1,,1.0])'), 12, 'malformed_dependencies', /empty item/, 34);
    expectRejected(withLine(12, '- 1.2 Second (Dependencies: [1.1.1])'), 12, 'malformed_dependencies', /"1\.1\.1" is not a task id/);
    expectRejected(withLine(12, '- 1.2 Second (Dependencies: [1.1]'), 12, 'malformed_dependencies', /malformed dependency clause/, 14);
    expectRejected(withLine(15, 'Phase 2: Two (Dependencies: [1.2])'), 15, 'malformed_dependencies', 'dependency "1.2" is not a phase id like "1"');
  });

  it('a sub-step whose id does not start with its task id', () => {
    expectRejected(withLine(13, '  - 1.3.1 Do more'), 13, 'step_not_in_task', 'sub-step "1.3.1" is under task "1.2"; its id must start with "1.2."');
    expectRejected(withLine(18, '  - 1.2.2 Finish'), 18, 'step_not_in_task', /"1\.2\.2" is under task "2\.1"/);
  });

  it('a task outside any phase', () => {
    expectRejected(withLine(4, '- 1.0 Early (Dependencies: [])'), 4, 'task_outside_phase', 'task "1.0" is outside any phase (no "Phase N: …" line above it)');
  });

  it('a task whose first id component is not its phase', () => {
    expectRejected(withLine(17, '- 3.1 Third (Dependencies: [1.2])'), 17, 'task_not_in_phase', 'task "3.1" is in phase "2"; its id must start with "2."');
  });

  it('duplicate task, phase, sub-step and criterion ids, naming the first occurrence', () => {
    expectRejected(withLine(12, '- 1.1 Second (Dependencies: [])'), 12, 'duplicate_id', 'duplicate task "1.1" (first at line 7)');
    expectRejected(withLine(15, 'Phase 1: Two (Dependencies: [])'), 15, 'duplicate_id', 'duplicate phase "1" (first at line 5)');
    expectRejected(withLine(9, '  - 1.1.1 Again'), 9, 'duplicate_id', 'duplicate sub-step "1.1.1" (first at line 8)');
    const twoCriteria = [...BASE.slice(0, 10), '    • <criterion 1: Again [source: ADD]>', ...BASE.slice(10)].join('\n');
    expectRejected(twoCriteria, 11, 'duplicate_id', 'duplicate criterion 1 of task "1.1" (first at line 10)');
  });

  it('dependency cycles, naming the cycle from its earliest task', () => {
    expectRejected(withLine(7, '- 1.1 First (Dependencies: [1.2])'), 7, 'dependency_cycle', 'dependency cycle: 1.1 → 1.2 → 1.1');
    expectRejected(withLine(12, '- 1.2 Second (Dependencies: [1.2])'), 12, 'dependency_cycle', 'dependency cycle: task "1.2" depends on itself');
    expectRejected(withLine(12, '- 1.2 Second (Dependencies: [1])'), 12, 'dependency_cycle', 'dependency cycle: task "1.2" depends on its own phase "1"');
    expectRejected(withLine(7, '- 1.1 First (Dependencies: [2.1])'), 7, 'dependency_cycle', 'dependency cycle: 1.1 → 2.1 → 1.2 → 1.1');
    // 1.1 waits for 2.1, which cannot start before phase 1 (including 1.1) is complete.
    expectRejected(
      withLines({ 7: '- 1.1 First (Dependencies: [2.1])', 17: '- 2.1 Third (Dependencies: [])' }),
      7,
      'dependency_cycle',
      'dependency cycle: 1.1 → 2.1 → phase 1 → 1.1 ("phase N" waits for every task of phase N)',
    );
    expectRejected(withLine(5, 'Phase 1: One (Dependencies: [2])'), 5, 'dependency_cycle', /^dependency cycle: phase 1 → phase 2 → phase 1/);
    const error = parseError(withLine(7, '- 1.1 First (Dependencies: [1.2])'));
    expect(error.details).toEqual({ cycle: ['1.1', '1.2', '1.1'] });
  });

  it('misplaced or malformed lines that would otherwise be dropped', () => {
    expectRejected(withLine(6, '  - 1.1.0 Before its task'), 6, 'step_outside_task', 'sub-step "1.1.0" is outside any task');
    expectRejected(withLine(16, '    • <criterion 1: Floating>'), 16, 'criterion_outside_task', 'acceptance criterion outside any task');
    expectRejected(withLine(10, '    • <criterion one: It works>'), 10, 'malformed_criterion', /malformed criterion/);
    expectRejected(withLine(15, 'Phase 2 Two (Dependencies: [1])'), 15, 'malformed_phase', /malformed phase line/);
    expectRejected(withLine(12, '- 1.2Second (Dependencies: [1.1])'), 12, 'malformed_task', /malformed item/);
    expectRejected(withLine(12, '- 1.2 (Dependencies: [1.1])'), 12, 'malformed_task', 'task "1.2" has no title');
    expectRejected('# Just a readme\n\nNothing here.\n', 1, 'no_phases', /no phase found/);
  });
});

describe('parseTaskList tolerates', () => {
  it('prose before the first phase and between items, without adding it to the structure', () => {
    const lines = [...BASE];
    lines.splice(3, 0, 'Some introduction.', '- a bullet of prose', '• another one');
    lines.splice(9, 0, 'A note about phase 1.');
    const withoutLines = (list: TaskList): unknown => JSON.parse(JSON.stringify(list, (key, value) => (key === 'line' ? undefined : value)));
    expect(withoutLines(parseTaskList(lines.join('\n')))).toEqual(withoutLines(parseTaskList(BASE.join('\n'))));
  });

  it('criteria written without the <criterion N: …> wrapper, numbered by position', () => {
    const list = parseTaskList(withLine(10, '    • It works well [source: ADD]') + '\n    • It is documented');
    expect(byId(list, '1.1').criteria).toEqual([{ index: 1, text: 'It works well', source: 'ADD', line: 10 }]);
    expect(byId(list, '2.1').criteria).toEqual([{ index: 1, text: 'It is documented', line: 19 }]);
  });

  it('markdown headings on phase lines and spaces inside dependency lists', () => {
    const list = parseTaskList(withLine(15, '## Phase 2: Two (Dependencies: [ 1 ])').replace('[1.2]', '[ 1.1 ,1.2 ]'));
    expect(list.phases[1]).toMatchObject({ id: '2', title: 'Two', dependencies: ['1'] });
    expect(byId(list, '2.1').dependencies).toEqual(['1.1', '1.2']);
  });
});
