// Which webhook events a persisted transition causes, by table: from the status projections
// before and after it.
import { describe, expect, it } from 'vitest';
import { transitionEvents } from '../../src/machines/index.js';

const done = { status: 'done' };
const failed = { status: 'failed', reason: 'verify_failed' };
const skipped = { status: 'skipped', reason: 'already_merged' };

describe('transitionEvents', () => {
  it.each([
    ['a step between tasks', { status: 'running', results: {} }, { status: 'running', results: {} }, []],
    ['a task done', { status: 'running', results: {} }, { status: 'running', results: { '1.1': done } }, [{ event: 'task.done', taskId: '1.1' }]],
    ['the same results again (a write that changed the phase only)', { status: 'running', results: { '1.1': done } }, { status: 'running', results: { '1.1': done } }, []],
    ['a skipped task: nothing', { status: 'running', results: {} }, { status: 'running', results: { '1.1': skipped } }, []],
    [
      'the last task done and the run completed in one write',
      { status: 'running', results: { '1.1': done } },
      { status: 'completed', results: { '1.1': done, '1.2': done } },
      [{ event: 'task.done', taskId: '1.2' }, { event: 'run.completed' }],
    ],
    ['a task failing the run', { status: 'running', results: {} }, { status: 'failed', results: { '1.1': failed } }, [{ event: 'task.failed', taskId: '1.1' }, { event: 'run.failed' }]],
    ['stopping is not an end', { status: 'running', results: {} }, { status: 'stopping', results: {} }, []],
    ['stopped is', { status: 'stopping', results: {} }, { status: 'stopped', results: {} }, [{ event: 'run.stopped' }]],
    ['a failed task done on a later try', { status: 'running', results: { '1.1': failed } }, { status: 'running', results: { '1.1': done } }, [{ event: 'task.done', taskId: '1.1' }]],
  ])('%s', (_what, before, after, events) => {
    expect(transitionEvents(before, after)).toEqual(events);
  });
});
