// Control commands decided on a persisted snapshot (as the API does under a row lock), then the
// worker restoring the result: the interrupted step runs again on resume, stop runs cleanup.
import { createActor, type AnyActorLogic } from 'xstate';
import { describe, expect, it } from 'vitest';
import { applyCommand, InvalidSnapshotError, projectMachine, restoreOptions, stampedStep, statusOf, type ProjectCommand } from '../../src/machines/index.js';

const clock = () => new Date('2026-01-02T03:04:05.000Z');

function machineWith(calls: string[], implement: () => Promise<unknown> = () => new Promise(() => {})) {
  const step = (name: string, fn: () => Promise<unknown>) =>
    stampedStep(async () => {
      calls.push(name);
      return fn();
    }, clock) as AnyActorLogic;
  return projectMachine.provide({
    actors: {
      select: step('select', async () => ({ task: { id: '1.1', title: 'one' }, progress: { done: 0, total: 1 } })),
      prep: step('prep', async () => ({ branch: 'devteam/1.1' })),
      implement: step('implement', implement),
      cleanup: step('cleanup', async () => undefined),
    } as never,
  });
}

async function persistedIn(phase: 'implement'): Promise<unknown> {
  const calls: string[] = [];
  const actor = createActor(machineWith(calls), { input: { projectId: 'p', executionId: 'e' } });
  actor.start();
  await new Promise<void>((resolve) => {
    const sub = actor.subscribe((s) => {
      if (s.matches({ running: phase })) {
        sub.unsubscribe();
        resolve();
      }
    });
  });
  const persisted = actor.getPersistedSnapshot();
  actor.stop();
  return JSON.parse(JSON.stringify(persisted));
}

async function settle(persisted: unknown, calls: string[], until: (status: string) => boolean) {
  const actor = createActor(machineWith(calls, async () => ({ changed: false, files: [] })), restoreOptions(persisted));
  actor.start();
  await new Promise<void>((resolve) => {
    const check = () => until(statusOf(actor.getPersistedSnapshot())) && resolve();
    actor.subscribe(check);
    check();
  });
  actor.stop();
}

describe('control commands on a persisted snapshot', () => {
  it('pause moves a running project to paused and keeps its place', async () => {
    const running = await persistedIn('implement');
    const paused = applyCommand(running, 'pause');
    expect(paused).toMatchObject({ accepted: true, from: 'running', status: 'paused', projection: { status: 'paused', phase: 'implement' } });
  });

  it('resume of a paused snapshot re-runs the interrupted step when a worker restores it', async () => {
    const paused = applyCommand(await persistedIn('implement'), 'pause');
    if (!paused.accepted) throw new Error('pause refused');
    const resumed = applyCommand(paused.snapshot, 'resume');
    expect(resumed).toMatchObject({ accepted: true, from: 'paused', status: 'running' });
    if (!resumed.accepted) return;
    const calls: string[] = [];
    await settle(resumed.snapshot, calls, (s) => s === 'failed');
    expect(calls[0]).toBe('implement');
    expect(calls).not.toContain('select');
  });

  it('stop goes to stopping and a restoring worker runs cleanup to stopped', async () => {
    const stopping = applyCommand(await persistedIn('implement'), 'stop');
    expect(stopping).toMatchObject({ accepted: true, from: 'running', status: 'stopping' });
    if (!stopping.accepted) return;
    const calls: string[] = [];
    await settle(stopping.snapshot, calls, (s) => s === 'stopped');
    expect(calls).toEqual(['cleanup']);
  });

  it.each<[string, ProjectCommand[], ProjectCommand, string]>([
    ['running', [], 'resume', 'running'],
    ['paused', ['pause'], 'pause', 'paused'],
    ['stopping', ['stop'], 'pause', 'stopping'],
    ['stopping', ['stop'], 'resume', 'stopping'],
    ['stopping', ['stop'], 'stop', 'stopping'],
  ])('refuses an invalid command in %s (%s then %s)', async (_, before, command, from) => {
    let snapshot = await persistedIn('implement');
    for (const c of before) {
      const r = applyCommand(snapshot, c);
      if (!r.accepted) throw new Error(`${c} refused`);
      snapshot = r.snapshot;
    }
    expect(applyCommand(snapshot, command)).toEqual({ accepted: false, from });
  });
});

describe('stored snapshots on load', () => {
  // As the previous build stored them (before step outputs were stamped): they must still load.
  const storedRunning = {
    status: 'active',
    value: { running: 'select' },
    historyValue: {},
    context: { projectId: 'p', executionId: 'e', phase: 'select', task: null, attempt: 0, feedback: null, lastError: null, progress: { done: 0, total: 0 }, results: {}, branch: null, commit: null },
    children: { select: { snapshot: { status: 'active', input: { projectId: 'p', executionId: 'e', task: null, attempt: 0, feedback: null, branch: null, done: [], results: {} } }, src: 'select', syncSnapshot: false } },
  };
  const storedFailed = {
    status: 'done',
    value: 'failed',
    historyValue: { 'devteam-project.running.resume': [{ id: 'devteam-project.running.prep' }] },
    context: {
      ...storedRunning.context,
      phase: 'prep',
      task: { id: '1', title: 't' },
      attempt: 1,
      lastError: 'x',
      progress: { done: 0, total: 1 },
      results: { '1': { status: 'failed', attempts: 1, commit: null, error: 'x', finishedAt: '2026-12-01T22:43:04.967Z' } },
    },
    children: {},
  };

  it('loads snapshots stored by the previous build', () => {
    expect(statusOf(storedRunning)).toBe('running');
    expect(statusOf(storedFailed)).toBe('failed');
    expect(applyCommand(storedRunning, 'pause')).toMatchObject({ accepted: true, status: 'paused', projection: { phase: 'select' } });
  });

  it('loads a snapshot carrying the whole task, and shows only its id and title in the status', () => {
    const task = {
      id: '1.2',
      phaseId: '1',
      title: 't',
      dependencies: [{ id: '1.1', title: 'before' }],
      steps: [{ id: '1.2.1', text: 'do it', line: 4 }],
      criteria: [{ index: 1, text: 'it works', source: 'PRD', line: 5 }],
      line: 3,
    };
    const stored = { ...storedRunning, value: { running: 'implement' }, context: { ...storedRunning.context, phase: 'implement', task, attempt: 1 }, children: {} };
    expect(restoreOptions(stored).snapshot.context.task).toEqual(task);
    expect(applyCommand(stored, 'pause')).toMatchObject({ accepted: true, status: 'paused', projection: { currentTask: { id: '1.2', title: 't' } } });
    expect((applyCommand(stored, 'pause') as { projection: { currentTask: object } }).projection.currentTask).toEqual({ id: '1.2', title: 't' });
  });

  it.each<[string, unknown, string]>([
    ['not an object', 'garbage', '(snapshot)'],
    ['an unknown state', { ...storedRunning, value: { running: 'deploy' } }, 'value'],
    ['a context field missing', { ...storedRunning, context: { ...storedRunning.context, attempt: undefined } }, 'context.attempt'],
    ['a result without its time', { ...storedFailed, context: { ...storedFailed.context, results: { '1': { status: 'failed', attempts: 1, commit: null, error: 'x' } } } }, 'context.results.1.finishedAt'],
    ['a task step without its id', { ...storedFailed, context: { ...storedFailed.context, task: { id: '1', title: 't', steps: [{ text: 'x', line: 1 }] } } }, 'context.task.steps.0.id'],
    ['a child of an unknown step', { ...storedRunning, children: { deploy: { src: 'deploy', snapshot: {} } } }, 'children.deploy.src'],
  ])('refuses a stored snapshot with %s with a typed error naming the field', (_, stored, field) => {
    let thrown: unknown;
    try {
      applyCommand(stored, 'pause');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidSnapshotError);
    expect(thrown).toMatchObject({ code: 'invalid_snapshot' });
    expect((thrown as InvalidSnapshotError).message).toContain(`${field}:`);
  });
});
