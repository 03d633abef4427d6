// Control commands decided on a persisted snapshot (as the API does under a row lock), then the
// worker restoring the result: the interrupted step runs again on resume, stop runs cleanup.
import { createActor, fromPromise, type AnyActorLogic } from 'xstate';
import { describe, expect, it } from 'vitest';
import { applyCommand, projectMachine, statusOf, type ProjectCommand } from '../../src/machines/index.js';

function machineWith(calls: string[], implement: () => Promise<unknown> = () => new Promise(() => {})) {
  const step = (name: string, fn: () => Promise<unknown>) =>
    fromPromise(async () => {
      calls.push(name);
      return fn();
    }) as AnyActorLogic;
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
  const actor = createActor(machineWith(calls, async () => ({ changed: false, files: [] })), { snapshot: persisted as never });
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
