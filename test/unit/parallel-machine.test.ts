// The parallel project machine (parallelism k > 1) with steps provided by the test: lanes run
// independent tasks at the same time, one change merges at a time, a change whose base moved is
// verified again, a conflict goes back to implement, pause/stop reach every lane, and a stored
// snapshot with tasks in flight resumes to a run that merges each task exactly once.
import { createActor } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  parallelProjectMachine,
  parsePersistedSnapshot,
  projectionOf,
  restoreOptions,
  stampedStep,
  type ImplementOutput,
  type MergeOutput,
  type PrepOutput,
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

function wholeTask(id: string, dependencies: string[] = []): SelectedTask {
  return { id, phaseId: '1', title: `task ${id}`, dependencies: dependencies.map((d) => ({ id: d, title: `task ${d}` })), steps: [{ id: `${id}.1`, text: `do ${id}`, line: 2 }], criteria: [], line: 1 };
}

/** A gate per call a test wants to hold: resolves when the test opens it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

/** A base branch in memory: merge rebases onto its tip, push moves it. */
function fakeRepo() {
  let tip = 0;
  return { tip: () => `base-${tip}`, advance: () => `base-${++tip}` };
}

function stepsFor(tasks: Array<{ id: string; deps?: string[] }>, overrides: Partial<Steps> = {}) {
  const calls: string[] = [];
  const repo = fakeRepo();
  let inFlight = 0;
  let maxInFlight = 0;
  let merging = 0;
  let maxMerging = 0;
  const log = <T>(name: string, fn: StepFn<T>): StepFn<T> => async (input, signal) => {
    calls.push(`${name}:${input.task?.id ?? '-'}:${input.attempt}`);
    return fn(input, signal);
  };
  const base: Steps = {
    select: async (input) => {
      const done = new Set(input.done);
      const busy = new Set(input.busy ?? []);
      const progress = { done: done.size, total: tasks.length };
      if (tasks.every((t) => done.has(t.id))) return { task: null, reason: 'all_done', detail: 'every task is done', progress };
      const ready = tasks.filter((t) => !done.has(t.id) && !busy.has(t.id) && (t.deps ?? []).every((d) => done.has(d))).slice(0, input.slots ?? 1);
      if (ready.length === 0) return { task: null, reason: 'blocked', detail: 'no task is ready', progress };
      const whole = ready.map((t) => wholeTask(t.id, t.deps));
      return { task: whole[0]!, ready: whole, progress };
    },
    prep: async (input) => ({ branch: `devteam/${input.task!.id}` }),
    implement: async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return { changed: true, files: ['a'] };
    },
    verify: async () => ({ ok: true, output: '', base: repo.tip() }),
    merge: async (input) => {
      merging++;
      maxMerging = Math.max(maxMerging, merging);
      await new Promise((r) => setTimeout(r, 2));
      merging--;
      return { commit: `c-${input.task!.id}`, base: repo.tip() };
    },
    push: async (input) => {
      repo.advance();
      return { commit: `c-${input.task!.id}` };
    },
    cleanup: async () => {},
  };
  const all = { ...base, ...overrides };
  const steps = Object.fromEntries(Object.entries(all).map(([n, fn]) => [n, log(n, fn as StepFn<unknown>)])) as unknown as Steps;
  return { steps, calls, repo, stats: () => ({ maxInFlight, maxMerging }) };
}

function provide(steps: Steps) {
  const wrap = <T>(fn: StepFn<T>) => stampedStep<T>(({ input, signal }) => fn(input, signal), clock);
  return parallelProjectMachine.provide({
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

type Actor = ReturnType<typeof start>;
function start(steps: Steps, parallelism = 2, snapshot?: unknown) {
  const actor = snapshot
    ? createActor(provide(steps), restoreOptions(snapshot) as never)
    : createActor(provide(steps), { input: { projectId: 'acme-web', executionId: 'exec-1', parallelism } });
  actor.start();
  return actor;
}

function until(actor: Actor, predicate: (s: ReturnType<Actor['getSnapshot']>) => boolean, ms = 5_000) {
  return new Promise<ReturnType<Actor['getSnapshot']>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out in ${JSON.stringify(actor.getSnapshot().value)}`)), ms);
    const check = () => {
      const s = actor.getSnapshot();
      if (predicate(s)) {
        clearTimeout(timer);
        sub.unsubscribe();
        resolve(s);
      }
    };
    const sub = actor.subscribe({ next: check, error: reject });
    check();
  });
}

// `failed` takes RESUME (decision 0025): not final, so the run's end is read from the state.
const settled = (s: { value: unknown }) => s.value === 'completed' || s.value === 'failed' || s.value === 'stopped';

describe('parallel project machine', () => {
  it('runs independent tasks two at a time and merges one change at a time', async () => {
    const { steps, calls, stats } = stepsFor([{ id: '1.1' }, { id: '1.2' }, { id: '1.3' }, { id: '1.4' }]);
    const actor = start(steps, 2);
    const end = await until(actor, settled);
    expect(end.value).toBe('completed');
    expect(Object.values(end.context.results).map((r) => r.status)).toEqual(['done', 'done', 'done', 'done']);
    expect(end.context.progress).toEqual({ done: 4, total: 4 });
    expect(stats()).toEqual({ maxInFlight: 2, maxMerging: 1 });
    // Each task pushed once.
    expect(calls.filter((c) => c.startsWith('push:')).sort()).toEqual(['push:1.1:1', 'push:1.2:1', 'push:1.3:1', 'push:1.4:1']);
  });

  it('starts a task only once its dependencies are done', async () => {
    const { steps, calls } = stepsFor([{ id: '1.1' }, { id: '1.2', deps: ['1.1'] }, { id: '1.3' }]);
    const end = await until(start(steps, 3), settled);
    expect(end.value).toBe('completed');
    expect(calls.indexOf('prep:1.2:1')).toBeGreaterThan(calls.indexOf('push:1.1:1'));
  });

  it('verifies a change again when the base moved since its verification, and sends it back to implement with the errors when that fails', async () => {
    // 1.2 passes verify alone, but the build fails on top of 1.1 (verify of a base that includes 1.1's push).
    let verifyCalls = 0;
    const { steps, calls, repo } = stepsFor([{ id: '1.1' }, { id: '1.2' }], {
      verify: async (input) => {
        verifyCalls++;
        const onTopOfOther = (input.round ?? 0) > 0;
        if (input.task!.id === '1.2' && input.attempt === 1 && onTopOfOther) return { ok: false, output: 'TS2304: cannot find name x', fingerprint: 'f1', base: repo.tip() };
        return { ok: true, output: '', base: repo.tip() };
      },
    });
    const end = await until(start(steps, 2), settled);
    expect(end.value).toBe('completed');
    // 1.2: verify, merge (base moved) → re-verify fails → implement attempt 2 with the errors → verify → merge → push.
    const t2 = calls.filter((c) => c.includes(':1.2:'));
    expect(t2).toEqual(['prep:1.2:1', 'implement:1.2:1', 'verify:1.2:1', 'merge:1.2:1', 'verify:1.2:1', 'implement:1.2:2', 'verify:1.2:2', 'merge:1.2:2', 'push:1.2:2']);
    expect(end.context.results['1.2']).toMatchObject({ status: 'done', attempts: 2 });
    expect(verifyCalls).toBe(4);
  });

  it('gives the feedback of a failing re-verify to the next attempt', async () => {
    const prompts: Array<string | null> = [];
    const { steps, repo } = stepsFor([{ id: '1.1' }, { id: '1.2' }], {
      implement: async (input) => {
        prompts.push(`${input.task!.id}:${input.attempt}:${input.feedback}`);
        await new Promise((r) => setTimeout(r, 5));
        return { changed: true, files: ['a'] };
      },
      verify: async (input) => (input.task!.id === '1.2' && (input.round ?? 0) > 0 ? { ok: false, output: 'build broke on top of 1.1', base: repo.tip() } : { ok: true, output: '', base: repo.tip() }),
    });
    await until(start(steps, 2), settled);
    expect(prompts).toContain('1.2:2:build broke on top of 1.1');
  });

  it('sends a change that conflicts with the base back to implement on the new base, with the conflicting paths', async () => {
    const feedback: Array<string | null> = [];
    const { steps, calls, repo } = stepsFor([{ id: '1.1' }, { id: '1.2' }], {
      implement: async (input) => {
        if (input.task!.id === '1.2') feedback.push(input.feedback);
        await new Promise((r) => setTimeout(r, 5));
        return { changed: true, files: ['a'] };
      },
      merge: async (input) => {
        if (input.task!.id === '1.2' && input.attempt === 1) return { commit: 'none', base: repo.tip(), conflict: ['src/same.ts'] };
        return { commit: `c-${input.task!.id}`, base: repo.tip() };
      },
    });
    const end = await until(start(steps, 2), settled);
    expect(end.value).toBe('completed');
    expect(feedback[1]).toContain('src/same.ts');
    expect(calls.filter((c) => c.includes(':1.2:'))).toEqual(['prep:1.2:1', 'implement:1.2:1', 'verify:1.2:1', 'merge:1.2:1', 'implement:1.2:2', 'verify:1.2:2', 'merge:1.2:2', 'push:1.2:2']);
  });

  it('lets the lanes in flight finish when one task fails, starts nothing new, and ends failed with that task’s reason', async () => {
    const hold = gate();
    const { steps, calls } = stepsFor([{ id: '1.1' }, { id: '1.2' }, { id: '1.3' }], {
      implement: async (input) => {
        if (input.task!.id === '1.1') return { changed: false, files: [], failure: 'agent x exited 1', reason: 'agent_failed' };
        await hold.opened;
        return { changed: true, files: ['a'] };
      },
    });
    const actor = start(steps, 2);
    await until(actor, (s) => s.context.halted);
    hold.open();
    const end = await until(actor, settled);
    expect(end.value).toBe('failed');
    expect(end.context.results['1.1']).toMatchObject({ status: 'failed', reason: 'agent_failed', attempts: 3 });
    expect(end.context.results['1.2']).toMatchObject({ status: 'done' });
    expect(end.context.results['1.3']).toBeUndefined();
    expect(calls.some((c) => c.startsWith('prep:1.3'))).toBe(false);
    expect(projectionOf(end)).toMatchObject({ status: 'failed', reason: 'agent_failed', running: [] });
  });

  it('pause stops every lane’s step (their signals abort), resume runs them again, stop cleans up', async () => {
    const aborted: string[] = [];
    const entered: string[] = [];
    let release = gate();
    const { steps } = stepsFor([{ id: '1.1' }, { id: '1.2' }], {
      implement: async (input, signal) => {
        entered.push(input.task!.id);
        signal.addEventListener('abort', () => aborted.push(input.task!.id));
        await Promise.race([release.opened, new Promise((r) => signal.addEventListener('abort', r))]);
        return { changed: true, files: ['a'] };
      },
    });
    const actor = start(steps, 2);
    await until(actor, () => entered.length === 2);
    const running = projectionOf(actor.getSnapshot());
    expect(running.running?.map((r) => [r.id, r.phase])).toEqual([['1.1', 'implement'], ['1.2', 'implement']]);
    actor.send({ type: 'PAUSE' });
    expect(actor.getSnapshot().value).toBe('paused');
    expect(aborted.sort()).toEqual(['1.1', '1.2']);
    expect(projectionOf(actor.getSnapshot()).running?.length).toBe(2);
    release = gate();
    entered.length = 0;
    actor.send({ type: 'RESUME' });
    await until(actor, () => entered.length === 2);
    release.open();
    const end = await until(actor, settled);
    expect(end.value).toBe('completed');
  });

  it('restored from a stored snapshot with two tasks in flight, completes merging each task exactly once', async () => {
    const first = stepsFor([{ id: '1.1' }, { id: '1.2' }, { id: '1.3' }], {
      verify: async () => new Promise<never>(() => {}),
    });
    const actor = start(first.steps, 2);
    await until(actor, (s) => projectionOf(s).running?.filter((r) => r.phase === 'verify').length === 2);
    const stored = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
    actor.stop();
    expect(() => parsePersistedSnapshot(stored)).not.toThrow();

    const second = stepsFor([{ id: '1.1' }, { id: '1.2' }, { id: '1.3' }]);
    const restored = start(second.steps, 2, stored);
    const end = await until(restored, settled);
    expect(end.value).toBe('completed');
    const pushes = [...first.calls, ...second.calls].filter((c) => c.startsWith('push:')).sort();
    expect(pushes).toEqual(['push:1.1:1', 'push:1.2:1', 'push:1.3:1']);
    // The restored lanes ran verify again (from its start), not implement.
    expect(second.calls.filter((c) => c.startsWith('implement:1.1') || c.startsWith('implement:1.2'))).toEqual([]);
  });

  it('resumes a failed run in place: the failed task again with a fresh budget numbered on, the others kept', async () => {
    let fail = true;
    const { steps, calls } = stepsFor([{ id: '1.1' }, { id: '1.2' }], {
      implement: async (input) => (input.task!.id === '1.1' && fail ? { changed: false, files: [], failure: 'agent x exited 1', reason: 'agent_failed' } : { changed: true, files: ['a'] }),
    });
    const actor = start(steps, 2);
    const failed = await until(actor, (s) => s.value === 'failed');
    expect(failed.context.results['1.2']).toMatchObject({ status: 'done' });
    fail = false;
    actor.send({ type: 'RESUME' });
    const end = await until(actor, settled);
    expect(end.value).toBe('completed');
    expect(end.context.results['1.1']).toMatchObject({ status: 'done', attempts: 4 });
    expect(projectionOf(end).resumes).toBe(1);
    expect(calls.filter((c) => c.startsWith('implement:1.1'))).toEqual(['implement:1.1:1', 'implement:1.1:2', 'implement:1.1:3', 'implement:1.1:4']);
    expect(calls.filter((c) => c.startsWith('push:1.2'))).toEqual(['push:1.2:1']);
  });

  it('merges again (and verifies again) when PUSH finds the base moved by someone outside the run', async () => {
    let refusedOnce = false;
    const { steps, calls, repo } = stepsFor([{ id: '1.1' }], {
      push: async (input) => {
        if (!refusedOnce) {
          refusedOnce = true;
          repo.advance(); // someone else pushed
          return { commit: `c-${input.task!.id}`, moved: true };
        }
        repo.advance();
        return { commit: `c-${input.task!.id}` };
      },
    });
    const end = await until(start(steps, 2), settled);
    expect(end.value).toBe('completed');
    expect(calls.filter((c) => c.includes(':1.1:'))).toEqual(['prep:1.1:1', 'implement:1.1:1', 'verify:1.1:1', 'merge:1.1:1', 'push:1.1:1', 'merge:1.1:1', 'verify:1.1:1', 'push:1.1:1']);
    expect(end.context.results['1.1']).toMatchObject({ status: 'done', attempts: 1 });
  });
});
