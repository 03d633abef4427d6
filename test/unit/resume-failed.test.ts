// Resuming a failed execution in place (decision 0025): `resume` on a failed snapshot goes back to
// SELECT keeping the results of the other tasks; the failed task's result is cleared and it gets a
// fresh budget of attempts numbered on from the ones it spent (so every attempt keeps its own journal
// entry, artifacts and attempt ref). Completed and stopped runs stay final.
import { createActor, type AnyActorLogic } from 'xstate';
import { describe, expect, it } from 'vitest';
import { applyCommand, MAX_ATTEMPTS, projectMachine, restoreOptions, stampedStep, type StepInput } from '../../src/machines/index.js';

const clock = () => new Date('2026-01-02T03:04:05.000Z');
const whole = (id: string) => ({ id, phaseId: '1', title: `task ${id}`, dependencies: [], steps: [], criteria: [], line: 1 });

/** Two tasks; 1.1 passes, 1.2's verify fails while `broken()` says so. */
function machine(inputs: StepInput[], broken: () => boolean) {
  const step = (name: string, fn: (input: StepInput) => unknown) =>
    stampedStep(async ({ input }) => {
      inputs.push({ ...input, task: input.task ? { id: input.task.id, title: name } : null });
      return fn(input);
    }, clock) as AnyActorLogic;
  return projectMachine.provide({
    actors: {
      select: step('select', (i) => {
        const next = ['1.1', '1.2'].find((id) => !i.done.includes(id));
        return next ? { task: whole(next), progress: { done: i.done.length, total: 2 } } : { task: null, reason: 'all_done', detail: 'all', progress: { done: 2, total: 2 } };
      }),
      prep: step('prep', (i) => ({ branch: `devteam/${i.task!.id}` })),
      implement: step('implement', () => ({ changed: true, files: ['a'] })),
      verify: step('verify', (i) => (i.task!.id === '1.2' && broken() ? { ok: false, output: `err ${i.attempt}`, fingerprint: `f${i.attempt}` } : { ok: true, output: '' })),
      merge: step('merge', (i) => ({ commit: `c-${i.task!.id}` })),
      push: step('push', (i) => ({ commit: `c-${i.task!.id}` })),
      cleanup: step('cleanup', () => undefined),
    } as never,
  });
}

async function runToEnd(logic: ReturnType<typeof machine>, options: object) {
  const actor = createActor(logic, options);
  actor.start();
  await new Promise<void>((resolve) => {
    const check = () => ['completed', 'failed', 'stopped'].includes(String(actor.getSnapshot().value)) && resolve();
    actor.subscribe(check);
    check();
  });
  const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
  actor.stop();
  return persisted;
}

describe('resume of a failed execution', () => {
  it('goes back to SELECT, keeps the done results, clears the failed one and gives the task a fresh budget numbered on', async () => {
    let broken = true;
    const first: StepInput[] = [];
    const failed = await runToEnd(machine(first, () => broken), { input: { projectId: 'p', executionId: 'e' } });
    expect(failed.value).toBe('failed');
    expect(failed.context.results['1.2']).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS, reason: 'verify_failed' });

    const resumed = applyCommand(failed, 'resume');
    expect(resumed).toMatchObject({ accepted: true, from: 'failed', status: 'running', projection: { status: 'running', phase: 'select', resumes: 1, lastError: null } });
    if (!resumed.accepted) return;
    const context = (resumed.snapshot as { context: { results: Record<string, unknown> } }).context;
    expect(Object.keys(context.results)).toEqual(['1.1']);
    expect(context.results['1.1']).toMatchObject({ status: 'done', commit: 'c-1.1' });

    broken = false;
    const second: StepInput[] = [];
    const done = await runToEnd(machine(second, () => broken), restoreOptions(resumed.snapshot));
    expect(done.value).toBe('completed');
    // SELECT first (the list is read again from the base), then the failed task at attempt 4: the
    // fourth attempt is its first after the resume, and it starts from the base (attemptsBefore 3).
    expect(second.map((i) => `${i.task?.title ?? 'select'}:${i.task?.id ?? '-'}:${i.attempt}`).slice(0, 3)).toEqual(['select:-:0', 'prep:1.2:4', 'implement:1.2:4']);
    expect(second.find((i) => i.task?.title === 'implement')).toMatchObject({ attemptsBefore: MAX_ATTEMPTS, feedback: null });
    expect(done.context.results['1.2']).toMatchObject({ status: 'done', attempts: MAX_ATTEMPTS + 1 });
    expect(done.context.results['1.1']).toMatchObject({ status: 'done', commit: 'c-1.1' });
  });

  it('gives a resumed task a whole new budget of attempts before it fails again', async () => {
    const failed = await runToEnd(machine([], () => true), { input: { projectId: 'p', executionId: 'e' } });
    const resumed = applyCommand(failed, 'resume');
    if (!resumed.accepted) throw new Error('resume refused');
    const inputs: StepInput[] = [];
    const again = await runToEnd(machine(inputs, () => true), restoreOptions(resumed.snapshot));
    expect(again.value).toBe('failed');
    expect(inputs.filter((i) => i.task?.title === 'implement').map((i) => i.attempt)).toEqual([4, 5, 6]);
    expect(again.context.results['1.2']).toMatchObject({ status: 'failed', attempts: 2 * MAX_ATTEMPTS });
    // A second resume is counted too.
    expect(applyCommand(again, 'resume')).toMatchObject({ accepted: true, projection: { resumes: 2 } });
  });

  it('refuses resume of a running execution after it was resumed (a repeated request changes nothing)', async () => {
    const failed = await runToEnd(machine([], () => true), { input: { projectId: 'p', executionId: 'e' } });
    const resumed = applyCommand(failed, 'resume');
    if (!resumed.accepted) throw new Error('resume refused');
    expect(applyCommand(resumed.snapshot, 'resume')).toEqual({ accepted: false, from: 'running' });
  });

  it('resumes a failed snapshot stored by an earlier build (failed was final: status "done")', () => {
    const stored = {
      status: 'done',
      value: 'failed',
      historyValue: {},
      context: {
        projectId: 'p',
        executionId: 'e',
        phase: 'verify',
        task: { id: '1', title: 't' },
        attempt: 3,
        feedback: 'x',
        lastError: 'x',
        progress: { done: 0, total: 1 },
        results: { '1': { status: 'failed', attempts: 3, commit: null, error: 'x', finishedAt: '2026-12-01T22:43:04.967Z' } },
        branch: 'devteam/1',
        commit: null,
      },
      children: {},
    };
    const resumed = applyCommand(stored, 'resume');
    expect(resumed).toMatchObject({ accepted: true, from: 'failed', status: 'running', projection: { phase: 'select', results: {} } });
    if (resumed.accepted) expect(resumed.snapshot).toMatchObject({ status: 'active', value: { running: 'select' } });
  });

  it.each(['completed', 'stopped'])('refuses resume of a %s execution', async (final) => {
    const base = await runToEnd(machine([], () => false), { input: { projectId: 'p', executionId: 'e' } });
    expect(base.value).toBe('completed');
    const stored = { ...base, value: final };
    expect(applyCommand(stored, 'resume')).toEqual({ accepted: false, from: final });
  });
});
