// The project machine's behaviour with steps provided by the test (the design's seam: production
// provides infra steps), and a model-based traversal proving every transition is reachable.
import { createActor, transition, type AnyStateNode, type EventObject, type StateValue } from 'xstate';
import { getAdjacencyMap } from '@xstate/graph';
import { describe, expect, it } from 'vitest';
import {
  canTransition,
  lifecycleOf,
  MAX_ATTEMPTS,
  parsePersistedSnapshot,
  projectionOf,
  initialContext,
  projectMachine,
  stampedStep,
  StepFailure,
  type ProjectContext,
  type ImplementOutput,
  type MergeOutput,
  type PrepOutput,
  type ProjectCommand,
  type PushOutput,
  type SelectedTask,
  type SelectOutput,
  type StepInput,
  type VerifyOutput,
} from '../../src/machines/index.js';

const clock = () => new Date('2026-01-02T03:04:05.000Z');

type StepFn<T> = (input: StepInput, signal: AbortSignal) => Promise<T>;

interface Steps {
  select: StepFn<SelectOutput>;
  prep: StepFn<PrepOutput>;
  implement: StepFn<ImplementOutput>;
  verify: StepFn<VerifyOutput>;
  merge: StepFn<MergeOutput>;
  push: StepFn<PushOutput>;
  cleanup: StepFn<void>;
}

/** A task as SELECT returns it: whole, its dependencies with their titles. */
function wholeTask(id: string): SelectedTask {
  return {
    id,
    phaseId: id.split('.')[0]!,
    title: `task ${id}`,
    dependencies: [],
    steps: [{ id: `${id}.1`, text: `do ${id}`, line: 2 }],
    criteria: [{ index: 1, text: `${id} works`, line: 3 }],
    line: 1,
  };
}

/** Steps for a list of task ids: each is selected in turn, then all_done. */
function stepsFor(taskIds: string[], overrides: Partial<Steps> = {}): Steps & { calls: string[] } {
  const calls: string[] = [];
  const log = <T>(name: string, fn: StepFn<T>): StepFn<T> => async (input, signal) => {
    calls.push(`${name}:${input.task?.id ?? '-'}:${input.attempt}`);
    return fn(input, signal);
  };
  const base: Steps = {
    select: async (input) => {
      const next = taskIds.find((id) => !input.done.includes(id));
      const progress = { done: input.done.length, total: taskIds.length };
      return next ? { task: wholeTask(next), progress } : { task: null, reason: 'all_done', detail: 'every task is done', progress };
    },
    prep: async (input) => ({ branch: `devteam/${input.task!.id}` }),
    implement: async () => ({ changed: true, files: ['src/a.ts'] }),
    verify: async () => ({ ok: true, output: '' }),
    merge: async (input) => ({ commit: `merge-${input.task!.id}` }),
    push: async (input) => ({ commit: `merge-${input.task!.id}` }),
    cleanup: async () => {},
  };
  const all = { ...base, ...overrides };
  return {
    calls,
    select: log('select', all.select),
    prep: log('prep', all.prep),
    implement: log('implement', all.implement),
    verify: log('verify', all.verify),
    merge: log('merge', all.merge),
    push: log('push', all.push),
    cleanup: log('cleanup', all.cleanup),
  };
}

function provide(steps: Steps) {
  // As the actor host does: every output and failure is stamped with the time it happened.
  const wrap = <T>(fn: StepFn<T>) => stampedStep<T>(({ input, signal }) => fn(input, signal), clock);
  return projectMachine.provide({
    actors: {
      select: wrap(steps.select),
      prep: wrap(steps.prep),
      implement: wrap(steps.implement),
      verify: wrap(steps.verify),
      merge: wrap(steps.merge),
      push: wrap(steps.push),
      cleanup: wrap(steps.cleanup),
    },
  });
}

function start(steps: Steps) {
  const actor = createActor(provide(steps), { input: { projectId: 'acme-web', executionId: 'exec-1' } });
  actor.start();
  return actor;
}

async function until(actor: ReturnType<typeof start>, predicate: (s: ReturnType<ReturnType<typeof start>['getSnapshot']>) => boolean) {
  return new Promise<ReturnType<ReturnType<typeof start>['getSnapshot']>>((resolve, reject) => {
    const check = () => {
      const s = actor.getSnapshot();
      if (predicate(s)) {
        sub.unsubscribe();
        resolve(s);
      }
    };
    const sub = actor.subscribe({ next: check, error: reject });
    check();
  });
}

// `failed` takes RESUME (decision 0025), so it is settled without being XState-final.
const isFinal = (s: { status: string; value: unknown }) => s.status === 'done' || s.value === 'failed';

describe('project machine', () => {
  it('works through every task, then completes with each commit recorded', async () => {
    const steps = stepsFor(['1.1', '1.2']);
    const final = await until(start(steps), isFinal);
    expect(lifecycleOf(final)).toBe('completed');
    expect(projectionOf(final)).toMatchObject({ status: 'completed', phase: null, currentTask: null, progress: { done: 2, total: 2 } });
    expect(final.context.progress).toEqual({ done: 2, total: 2 });
    expect(final.context.results['1.1']).toMatchObject({ status: 'done', attempts: 1, commit: 'merge-1.1' });
    expect(final.context.results['1.2']).toMatchObject({ status: 'done', commit: 'merge-1.2' });
    expect(steps.calls).toEqual([
      'select:-:0', 'prep:1.1:1', 'implement:1.1:1', 'verify:1.1:1', 'merge:1.1:1', 'push:1.1:1',
      'select:1.1:1', 'prep:1.2:1', 'implement:1.2:1', 'verify:1.2:1', 'merge:1.2:1', 'push:1.2:1',
      'select:1.2:1',
    ]);
  });

  it('retries implement with the build errors when verify fails, and merges when the retry passes', async () => {
    const feedbackSeen: Array<string | null> = [];
    let verifies = 0;
    const steps = stepsFor(['1.1'], {
      implement: async (input) => {
        feedbackSeen.push(input.feedback);
        return { changed: true, files: ['a'] };
      },
      verify: async () => (++verifies === 1 ? { ok: false, output: 'error TS2322: nope' } : { ok: true, output: '' }),
    });
    const final = await until(start(steps), isFinal);
    expect(lifecycleOf(final)).toBe('completed');
    expect(feedbackSeen).toEqual([null, 'error TS2322: nope']);
    expect(final.context.results['1.1']).toMatchObject({ status: 'done', attempts: 2 });
  });

  it(`fails the task and the run after ${MAX_ATTEMPTS} failed verifications, merging nothing`, async () => {
    const steps = stepsFor(['1.1', '1.2'], { verify: async () => ({ ok: false, output: 'build broke' }) });
    const final = await until(start(steps), isFinal);
    expect(lifecycleOf(final)).toBe('failed');
    expect(final.context.lastError).toBe(`task 1.1: verification failed after ${MAX_ATTEMPTS} attempts`);
    expect(final.context.results['1.1']).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS, commit: null });
    expect(steps.calls.filter((c) => c.startsWith('implement'))).toEqual(['implement:1.1:1', 'implement:1.1:2', 'implement:1.1:3']);
    expect(steps.calls.some((c) => c.startsWith('merge') || c.startsWith('push'))).toBe(false);
  });

  it('counts an agent that changed nothing as a failed attempt', async () => {
    const steps = stepsFor(['1.1'], { implement: async () => ({ changed: false, files: [] }) });
    const final = await until(start(steps), isFinal);
    expect(lifecycleOf(final)).toBe('failed');
    expect(final.context.lastError).toBe('task 1.1: no usable change in 3 attempts (last: the agent changed nothing)');
    expect(steps.calls.some((c) => c.startsWith('verify'))).toBe(false);
  });

  it('feeds the reason of an attempt that produced nothing (exit code, timeout) to the next one', async () => {
    const feedback: Array<string | null> = [];
    const steps = stepsFor(['1.1'], {
      implement: async (input) => {
        feedback.push(input.feedback);
        return input.attempt === 1 ? { changed: false, files: [], failure: 'agent claude exited 1' } : { changed: true, files: ['a.ts'] };
      },
    });
    const final = await until(start(steps), isFinal);
    expect(lifecycleOf(final)).toBe('completed');
    expect(feedback[1]).toContain('agent claude exited 1');
    expect(final.context.results['1.1']).toMatchObject({ status: 'done', attempts: 2 });
  });

  it('fails with the reason when no task is ready but some are not done', async () => {
    const steps = stepsFor([], {
      select: async () => ({ task: null, reason: 'blocked', detail: 'task 2.1 waits for 1.3, which failed', progress: { done: 0, total: 3 } }),
    });
    const final = await until(start(steps), isFinal);
    expect(lifecycleOf(final)).toBe('failed');
    expect(final.context.lastError).toBe('task 2.1 waits for 1.3, which failed');
  });

  it('fails the run with the message of a step that throws', async () => {
    const steps = stepsFor(['1.1'], {
      prep: async () => {
        throw new Error('clone of https://git.example.com/x.git failed: not found');
      },
    });
    const final = await until(start(steps), isFinal);
    expect(lifecycleOf(final)).toBe('failed');
    expect(final.context.lastError).toMatch(/not found/);
    expect(final.context.results['1.1']).toMatchObject({ status: 'failed' });
  });

  it('pause during verify aborts the running step and resume runs it again from its start', async () => {
    let verifyCalls = 0;
    let firstSignal: AbortSignal | null = null;
    const steps = stepsFor(['1.1'], {
      verify: (_input, signal) => {
        verifyCalls++;
        if (verifyCalls === 1) {
          firstSignal = signal;
          return new Promise<VerifyOutput>(() => {}); // a build that would run forever
        }
        return Promise.resolve({ ok: true, output: '' });
      },
    });
    const actor = start(steps);
    await until(actor, (s) => s.matches({ running: 'verify' }) && verifyCalls === 1);
    expect(canTransition(actor.getSnapshot(), 'pause')).toBe(true);
    actor.send({ type: 'PAUSE' });
    const paused = actor.getSnapshot();
    expect(lifecycleOf(paused)).toBe('paused');
    expect(projectionOf(paused)).toMatchObject({ status: 'paused', phase: 'verify', currentTask: { id: '1.1' }, attempt: 1 });
    expect(paused.context.phase).toBe('verify');
    expect(firstSignal!.aborted).toBe(true);

    actor.send({ type: 'RESUME' });
    const final = await until(actor, isFinal);
    expect(lifecycleOf(final)).toBe('completed');
    expect(verifyCalls).toBe(2);
  });

  it('stop goes through stopping (cleanup) to stopped, from running and from paused', async () => {
    for (const pauseFirst of [false, true]) {
      const steps = stepsFor(['1.1'], { implement: () => new Promise<ImplementOutput>(() => {}) });
      const actor = start(steps);
      await until(actor, (s) => s.matches({ running: 'implement' }));
      if (pauseFirst) actor.send({ type: 'PAUSE' });
      actor.send({ type: 'STOP' });
      const final = await until(actor, isFinal);
      expect(lifecycleOf(final)).toBe('stopped');
      expect(steps.calls.at(-1)).toBe('cleanup:1.1:1');
    }
  });

  it('resumes a persisted paused snapshot at the interrupted step', async () => {
    const steps = stepsFor(['1.1'], { merge: () => new Promise<MergeOutput>(() => {}) });
    const actor = start(steps);
    await until(actor, (s) => s.matches({ running: 'merge' }));
    actor.send({ type: 'PAUSE' });
    const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
    actor.stop();

    const resumedSteps = stepsFor(['1.1']);
    const restored = createActor(provide(resumedSteps), { snapshot: persisted, input: { projectId: 'acme-web', executionId: 'exec-1' } });
    restored.start();
    expect(lifecycleOf(restored.getSnapshot())).toBe('paused');
    restored.send({ type: 'RESUME' });
    const final = await until(restored, isFinal);
    expect(lifecycleOf(final)).toBe('completed');
    expect(resumedSteps.calls.slice(0, 2)).toEqual(['merge:1.1:1', 'push:1.1:1']);
  });

  it('keeps the whole selected task in the context (and its stored snapshot) and gives it to every step; the status shows its id and title', async () => {
    const seen: Array<StepInput['task']> = [];
    const steps = stepsFor(['1.1'], {
      implement: async (input) => {
        seen.push(input.task);
        return { changed: true, files: ['a'] };
      },
      merge: () => new Promise<MergeOutput>(() => {}),
    });
    const actor = start(steps);
    const merging = await until(actor, (s) => s.matches({ running: 'merge' }));
    expect(seen).toEqual([wholeTask('1.1')]);
    expect(merging.context.task).toEqual(wholeTask('1.1'));
    expect(projectionOf(merging).currentTask).toEqual({ id: '1.1', title: 'task 1.1' });
    const stored = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
    actor.stop();
    expect(parsePersistedSnapshot(stored).context.task).toEqual(wholeTask('1.1'));
  });

  it('gives tasks found merged to later steps as done, shows them skipped, and stores and restores them', async () => {
    const doneSeen: string[][] = [];
    const steps = stepsFor(['1.1', '1.2'], {
      select: async (input) => {
        doneSeen.push(input.done);
        // As SELECT does: a merged task not yet known to the execution is reported once.
        const skipped = input.results['1.1'] ? [] : [{ id: '1.1', commit: 'by-hand' }];
        const done = new Set([...input.done, '1.1']);
        const next = ['1.1', '1.2'].find((id) => !done.has(id));
        const progress = { done: done.size, total: 2 };
        return next ? { task: wholeTask(next), progress, skipped } : { task: null, reason: 'all_done', detail: 'every task is done', progress, skipped };
      },
    });
    const final = await until(start(steps), isFinal);
    expect(lifecycleOf(final)).toBe('completed');
    expect(doneSeen).toEqual([[], ['1.1', '1.2']]);
    expect(steps.calls.filter((c) => c.startsWith('implement'))).toEqual(['implement:1.2:1']);
    expect(projectionOf(final)).toMatchObject({
      progress: { done: 2, total: 2 },
      results: {
        '1.1': { status: 'skipped', reason: 'already_merged', commit: 'by-hand', attempts: 0 },
        '1.2': { status: 'done', commit: 'merge-1.2', attempts: 1 },
      },
    });
    const stored = JSON.parse(JSON.stringify(final));
    expect(parsePersistedSnapshot(stored).context.results['1.1']).toMatchObject({ status: 'skipped', reason: 'already_merged' });
  });

  it('loads a stored snapshot of a build before skipped tasks (results without a reason)', async () => {
    const final = await until(start(stepsFor(['1.1'])), isFinal);
    const stored = JSON.parse(JSON.stringify(final));
    stored.context.results['1.1'] = { status: 'done', attempts: 1, commit: 'c1', error: null, finishedAt: '2026-01-02T03:04:05.000Z' };
    expect(parsePersistedSnapshot(stored).context.results['1.1']).toEqual(stored.context.results['1.1']);
  });

  it('loads a stored snapshot of a build before failure reasons (no reason, no fingerprint) and retries from it', async () => {
    const paused = start(stepsFor(['1.1'], { verify: async () => ({ ok: false, output: 'e', fingerprint: 'f1' }) }));
    await until(paused, (s) => s.matches({ running: 'implement' }) && s.context.attempt === 2);
    paused.send({ type: 'PAUSE' });
    const stored = JSON.parse(JSON.stringify(paused.getPersistedSnapshot()));
    paused.stop();
    delete stored.context.reason;
    delete stored.context.fingerprint;
    const restored = createActor(provide(stepsFor(['1.1'], { verify: async () => ({ ok: false, output: 'e', fingerprint: 'f1' }) })), {
      snapshot: parsePersistedSnapshot(stored),
      input: { projectId: 'acme-web', executionId: 'exec-1' },
    }).start();
    restored.send({ type: 'RESUME' });
    // Attempt 1's fingerprint was not stored: attempt 2 cannot be compared, attempt 3 can.
    const final = await until(restored, isFinal);
    expect(final.context.results['1.1']).toMatchObject({ status: 'failed', reason: 'verify_failed', attempts: 3 });
  });

  it('answers canTransition for every lifecycle state from the machine itself', async () => {
    const expected: Record<string, Record<ProjectCommand, boolean>> = {
      running: { pause: true, resume: false, stop: true },
      paused: { pause: false, resume: true, stop: true },
      stopping: { pause: false, resume: false, stop: false },
      stopped: { pause: false, resume: false, stop: false },
      completed: { pause: false, resume: false, stop: false },
      // A failed run resumes in place (decision 0025).
      failed: { pause: false, resume: true, stop: false },
    };
    const seen: Record<string, Record<ProjectCommand, boolean>> = {};
    const record = (s: ReturnType<ReturnType<typeof start>['getSnapshot']>) => {
      seen[lifecycleOf(s)] = { pause: canTransition(s, 'pause'), resume: canTransition(s, 'resume'), stop: canTransition(s, 'stop') };
    };
    const hang = stepsFor(['1.1'], { implement: () => new Promise<ImplementOutput>(() => {}), cleanup: () => new Promise<void>(() => {}) });
    const a = start(hang);
    await until(a, (s) => s.matches({ running: 'implement' }));
    record(a.getSnapshot());
    a.send({ type: 'PAUSE' });
    record(a.getSnapshot());
    a.send({ type: 'STOP' });
    record(a.getSnapshot());
    record(await until(start(stepsFor([])), isFinal)); // completed
    record(await until(start(stepsFor(['1.1'], { verify: async () => ({ ok: false, output: 'x' }) })), isFinal)); // failed
    const b = start(stepsFor(['1.1']));
    b.send({ type: 'STOP' });
    record(await until(b, isFinal)); // stopped
    expect(seen).toEqual(expected);
  });
});

describe('project machine model', () => {
  // Every event the world can send in each state: commands, and each step's possible outcomes.
  const task = { id: '1.1', title: 't' };
  const progress = { done: 0, total: 1 };
  const outcomes: Record<string, unknown[]> = {
    select: [{ task, progress }, { task: null, reason: 'all_done', detail: 'done', progress }, { task: null, reason: 'blocked', detail: 'blocked', progress }],
    prep: [{ branch: 'devteam/1.1' }],
    implement: [{ changed: true, files: ['a'] }, { changed: false, files: [] }],
    verify: [{ ok: true, output: '' }, { ok: false, output: 'err' }, { ok: false, output: 'err', fingerprint: 'f1' }],
    merge: [{ commit: 'c1' }],
    push: [{ commit: 'c1' }],
    cleanup: [undefined],
  };
  const events = () => [
    { type: 'PAUSE' },
    { type: 'RESUME' },
    { type: 'STOP' },
    ...Object.entries(outcomes).flatMap(([id, outs]) => [
      ...outs.map((output) => ({ type: `xstate.done.actor.${id}`, output: { ...(output as object), at: '2026-01-02T03:04:05.000Z' } })),
      { type: `xstate.error.actor.${id}`, error: new StepFailure(new Error(`${id} broke`), '2026-01-02T03:04:05.000Z') },
    ]),
  ];

  it('reaches every state and exercises every transition of the definition', () => {
    const map = getAdjacencyMap(projectMachine, {
      input: { projectId: 'p', executionId: 'e' },
      events: events as never,
      // Progress and results grow on every loop; the behaviour depends on the state and the attempt.
      serializeState: (s) => JSON.stringify({ value: s.value, attempt: s.context.attempt, fingerprint: s.context.fingerprint, status: s.status }),
    });
    const edges: Array<{ from: string; event: string; to: string }> = [];
    for (const vertex of Object.values(map)) {
      for (const t of Object.values(vertex.transitions)) {
        const from = JSON.stringify(vertex.state.value);
        const to = JSON.stringify(t.state.value);
        if (from !== to || t.event.type.includes('implement')) edges.push({ from, event: t.event.type, to });
      }
    }
    const reachedStates = new Set(Object.values(map).map((v) => lifecycleOf(v.state)));
    expect([...reachedStates].sort()).toEqual(['completed', 'failed', 'paused', 'running', 'stopped', 'stopping']);

    // Every transition written in the machine must appear among the traversed edges.
    const defined: Array<{ source: string; event: string; targets: string[] }> = [];
    const visit = (node: AnyStateNode) => {
      for (const [event, transitions] of node.transitions) {
        for (const t of transitions) defined.push({ source: node.id, event, targets: (t.target ?? []).map((n: AnyStateNode) => n.id) });
      }
      for (const child of Object.values(node.states) as AnyStateNode[]) visit(child);
    };
    visit(projectMachine.root);
    expect(defined.length).toBeGreaterThan(20);

    const valueToId = (value: string) => {
      const v = JSON.parse(value) as string | Record<string, string>;
      return typeof v === 'string' ? `devteam-project.${v}` : Object.entries(v).map(([k, s]) => `devteam-project.${k}.${s}`)[0]!;
    };
    const uncovered = defined.filter(
      (d) =>
        !edges.some((e) => {
          const fromId = valueToId(e.from);
          const toId = valueToId(e.to);
          const fromOk = fromId === d.source || fromId.startsWith(`${d.source}.`);
          const toOk = d.targets.every((t) => (t.endsWith('.resume') ? toId.startsWith(t.slice(0, -'.resume'.length)) : toId === t || toId.startsWith(`${t}.`)));
          return fromOk && e.event === d.event && toOk;
        }),
    );
    expect(uncovered).toEqual([]);
  });
});

describe('project machine transitions', () => {
  // transition(snapshot, event) is a pure function: no clock, no randomness, no step run. Each row:
  // a state and context, the events that arrive, and the state and context they lead to.
  const at = '2026-01-02T03:04:05.000Z';
  const task = { id: '1.1', title: 't' };
  const progress = { done: 0, total: 2 };
  const fresh = initialContext({ projectId: 'p', executionId: 'e' });
  const working = (patch: Partial<ProjectContext> = {}): ProjectContext => ({ ...fresh, task, attempt: 1, branch: 'devteam/1.1', progress, ...patch });
  const done = (step: string, output: object) => ({ type: `xstate.done.actor.${step}`, output: { ...output, at } });
  const broke = (step: string, message: string) => ({ type: `xstate.error.actor.${step}`, error: new StepFailure(new Error(message), at) });
  const failed = (attempts: number, error: string) => ({ [task.id]: { status: 'failed' as const, attempts, commit: null, error, finishedAt: at } });
  const coded = (message: string, code: string) => ({ type: 'xstate.error.actor.merge', error: new StepFailure(Object.assign(new Error(message), { code }), at) });

  type Row = [name: string, from: StateValue, context: ProjectContext, events: EventObject[], to: StateValue, expected: Partial<ProjectContext>];
  const rows: Row[] = [
    ['select with a ready task starts it at attempt 1', { running: 'select' }, fresh, [done('select', { task, progress })], { running: 'prep' }, { task, attempt: 1, phase: 'prep', progress }],
    ['select with every task done completes', { running: 'select' }, fresh, [done('select', { task: null, reason: 'all_done', detail: 'done', progress: { done: 2, total: 2 } })], 'completed', { task: null, progress: { done: 2, total: 2 } }],
    ['select with only blocked tasks fails with the reason', { running: 'select' }, fresh, [done('select', { task: null, reason: 'blocked', detail: '2.1 waits for 1.3', progress })], 'failed', { lastError: '2.1 waits for 1.3', results: {} }],
    ['select that throws fails the run, no task to record', { running: 'select' }, fresh, [broke('select', 'no task list')], 'failed', { lastError: 'no task list', results: {} }],
    ['select records the tasks it found merged as skipped, counted in its progress, and starts the next', { running: 'select' }, fresh,
      [done('select', { task, progress: { done: 1, total: 2 }, skipped: [{ id: '1.2', commit: 'c0' }] })], { running: 'prep' }, {
      task,
      progress: { done: 1, total: 2 },
      results: { '1.2': { status: 'skipped' as const, reason: 'already_merged' as const, attempts: 0, commit: 'c0', error: null, finishedAt: at } },
    }],
    ['select that found every remaining task merged completes with them skipped, keeping the results so far', { running: 'select' },
      { ...fresh, results: { '1.1': { status: 'done' as const, attempts: 1, commit: 'c1', error: null, finishedAt: at } } },
      [done('select', { task: null, reason: 'all_done', detail: 'done', progress: { done: 2, total: 2 }, skipped: [{ id: '1.2', commit: 'c0' }] })], 'completed', {
      progress: { done: 2, total: 2 },
      results: {
        '1.1': { status: 'done' as const, attempts: 1, commit: 'c1', error: null, finishedAt: at },
        '1.2': { status: 'skipped' as const, reason: 'already_merged' as const, attempts: 0, commit: 'c0', error: null, finishedAt: at },
      },
    }],
    ['select blocked keeps the tasks it found merged', { running: 'select' }, fresh,
      [done('select', { task: null, reason: 'blocked', detail: '2.1 waits for 1.3', progress, skipped: [{ id: '1.2', commit: 'c0' }] })], 'failed', {
      lastError: '2.1 waits for 1.3',
      results: { '1.2': { status: 'skipped' as const, reason: 'already_merged' as const, attempts: 0, commit: 'c0', error: null, finishedAt: at } },
    }],
    ['prep records the work branch', { running: 'prep' }, working({ branch: null }), [done('prep', { branch: 'devteam/1.1' })], { running: 'implement' }, { branch: 'devteam/1.1', phase: 'implement' }],
    ['prep that throws fails the task at the time of the failure', { running: 'prep' }, working(), [broke('prep', 'clone failed')], 'failed', { lastError: 'clone failed', results: failed(1, 'clone failed') }],
    ['implement with a change goes to verify', { running: 'implement' }, working(), [done('implement', { changed: true, files: ['a'] })], { running: 'verify' }, { attempt: 1 }],
    ['implement without a change retries with the reason', { running: 'implement' }, working(), [done('implement', { changed: false, files: [], failure: 'agent exited 1' })], { running: 'implement' }, {
      attempt: 2,
      feedback: 'The previous attempt did not change the repository (agent exited 1). Make the change the task asks for.',
      lastError: 'attempt 1: agent exited 1',
    }],
    ['implement without a change on the last attempt fails the task', { running: 'implement' }, working({ attempt: MAX_ATTEMPTS }), [done('implement', { changed: false, files: [] })], 'failed', {
      lastError: `task 1.1: no usable change in ${MAX_ATTEMPTS} attempts (last: the agent changed nothing)`,
      results: failed(MAX_ATTEMPTS, `task 1.1: no usable change in ${MAX_ATTEMPTS} attempts (last: the agent changed nothing)`),
    }],
    ['verify that passes goes to merge and drops the feedback', { running: 'verify' }, working({ attempt: 2, feedback: 'old errors' }), [done('verify', { ok: true, output: '' })], { running: 'merge' }, { feedback: null, attempt: 2 }],
    ['verify that fails retries implement with the build errors', { running: 'verify' }, working(), [done('verify', { ok: false, output: 'error TS2322' })], { running: 'implement' }, { attempt: 2, feedback: 'error TS2322', lastError: 'attempt 1: verification failed' }],
    ['verify that fails on the last attempt fails the task', { running: 'verify' }, working({ attempt: MAX_ATTEMPTS }), [done('verify', { ok: false, output: 'x' })], 'failed', {
      lastError: `task 1.1: verification failed after ${MAX_ATTEMPTS} attempts`,
      results: failed(MAX_ATTEMPTS, `task 1.1: verification failed after ${MAX_ATTEMPTS} attempts`),
    }],
    ['verify that fails records the fingerprint of the failure', { running: 'verify' }, working(), [done('verify', { ok: false, output: 'e', fingerprint: 'f1' })], { running: 'implement' }, { attempt: 2, fingerprint: 'f1' }],
    ['verify that fails with another fingerprint than the attempt before retries', { running: 'verify' }, working({ attempt: 2, fingerprint: 'f1' }), [done('verify', { ok: false, output: 'e', fingerprint: 'f2' })], { running: 'implement' }, { attempt: 3, fingerprint: 'f2' }],
    ['verify that fails with the fingerprint of the attempt before fails the task at once: same_error_repeated', { running: 'verify' }, working({ attempt: 2, fingerprint: 'f1' }),
      [done('verify', { ok: false, output: 'e', fingerprint: 'f1' })], 'failed', {
      reason: 'same_error_repeated',
      lastError: 'task 1.1: attempt 2 failed the build with the same error as the attempt before; not retried',
      results: { [task.id]: { status: 'failed' as const, reason: 'same_error_repeated' as const, attempts: 2, commit: null, finishedAt: at } },
    }],
    ['verify that fails the last attempt with the same fingerprint is verify_failed', { running: 'verify' }, working({ attempt: MAX_ATTEMPTS, fingerprint: 'f1' }),
      [done('verify', { ok: false, output: 'e', fingerprint: 'f1' })], 'failed', { reason: 'verify_failed', results: { [task.id]: { status: 'failed' as const, reason: 'verify_failed' as const, attempts: MAX_ATTEMPTS } } }],
    ['verify failing on the last attempt is verify_failed', { running: 'verify' }, working({ attempt: MAX_ATTEMPTS }), [done('verify', { ok: false, output: 'x' })], 'failed', {
      reason: 'verify_failed', results: { [task.id]: { status: 'failed' as const, reason: 'verify_failed' as const } },
    }],
    ['an agent that changed nothing in the last attempt is no_change', { running: 'implement' }, working({ attempt: MAX_ATTEMPTS }), [done('implement', { changed: false, files: [], reason: 'no_change' })], 'failed', {
      reason: 'no_change', results: { [task.id]: { status: 'failed' as const, reason: 'no_change' as const } },
    }],
    ['an agent that timed out in the last attempt is timeout', { running: 'implement' }, working({ attempt: MAX_ATTEMPTS }), [done('implement', { changed: false, files: [], failure: 'agent x timed out after 5 s', reason: 'timeout' })], 'failed', {
      reason: 'timeout', results: { [task.id]: { status: 'failed' as const, reason: 'timeout' as const } },
    }],
    ['an agent that exited non-zero in the last attempt is agent_failed', { running: 'implement' }, working({ attempt: MAX_ATTEMPTS }), [done('implement', { changed: false, files: [], failure: 'agent x exited 2', reason: 'agent_failed' })], 'failed', {
      reason: 'agent_failed', results: { [task.id]: { status: 'failed' as const, reason: 'agent_failed' as const } },
    }],
    ['a step error with a known code fails the task with that reason (merge_conflict)', { running: 'merge' }, working(), [coded('merging conflicts in a.ts', 'merge_conflict')], 'failed', {
      reason: 'merge_conflict', results: { [task.id]: { status: 'failed' as const, reason: 'merge_conflict' as const, error: 'merging conflicts in a.ts' } },
    }],
    ['a secret found at merge fails the task with secret_in_diff', { running: 'merge' }, working(), [coded('a secret in a.ts:3', 'secret_in_diff')], 'failed', {
      reason: 'secret_in_diff', results: { [task.id]: { status: 'failed' as const, reason: 'secret_in_diff' as const } },
    }],
    ['a push the remote refused is push_rejected', { running: 'push' }, working({ commit: 'c1' }), [{ ...coded('push rejected', 'push_rejected'), type: 'xstate.error.actor.push' }], 'failed', {
      reason: 'push_rejected', results: { [task.id]: { status: 'failed' as const, reason: 'push_rejected' as const } },
    }],
    ['an unreadable task list fails the run with invalid_task_list (no task to record)', { running: 'select' }, fresh, [{ ...coded('tasks.md: line 3: bad', 'invalid_task_list'), type: 'xstate.error.actor.select' }], 'failed', {
      reason: 'invalid_task_list', results: {},
    }],
    ['a step that throws something without a known code is step_failed', { running: 'prep' }, working(), [broke('prep', 'disk full')], 'failed', {
      reason: 'step_failed', results: { [task.id]: { status: 'failed' as const, reason: 'step_failed' as const } },
    }],
    ['merge records the commit', { running: 'merge' }, working(), [done('merge', { commit: 'c1' })], { running: 'push' }, { commit: 'c1' }],
    ['push records the task done at the time of the push and selects again', { running: 'push' }, working({ commit: 'c1' }), [done('push', { commit: 'c2' })], { running: 'select' }, {
      commit: 'c2',
      progress: { done: 1, total: 2 },
      results: { [task.id]: { status: 'done' as const, attempts: 1, commit: 'c2', error: null, finishedAt: at } },
    }],
    ['pause keeps the phase; resume goes back to the interrupted step', { running: 'verify' }, working({ phase: 'verify' }), [{ type: 'PAUSE' }, { type: 'RESUME' }], { running: 'verify' }, { phase: 'verify' }],
    ['stop while paused goes to stopping', { running: 'merge' }, working({ phase: 'merge' }), [{ type: 'PAUSE' }, { type: 'STOP' }], 'stopping', { phase: 'merge' }],
    ['cleanup ends in stopped', 'stopping', working(), [done('cleanup', {})], 'stopped', { lastError: null }],
    ['cleanup that throws still ends in stopped, with the reason', 'stopping', working(), [broke('cleanup', 'rm failed')], 'stopped', { lastError: 'cleanup failed: rm failed' }],
    ['resume while running is ignored', { running: 'implement' }, working(), [{ type: 'RESUME' }], { running: 'implement' }, { attempt: 1 }],
  ];

  const run = (from: StateValue, context: ProjectContext, events: EventObject[]) =>
    events.reduce((snapshot, event) => transition(projectMachine, snapshot, event as never)[0], projectMachine.resolveState({ value: from, context }));

  it.each(rows)('%s', (_, from, context, events, to, expected) => {
    const next = run(from, context, events);
    expect(next.value).toEqual(to);
    expect(next.context).toMatchObject(expected);
    // The same snapshot and events always give the same result.
    expect(projectMachine.getPersistedSnapshot(run(from, context, events))).toEqual(projectMachine.getPersistedSnapshot(next));
  });
});
