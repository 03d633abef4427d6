// A new execution never redoes merged work: every merged task leaves `DevTeam-Task: <id>` in a
// commit on the base branch, and SELECT skips a task whose trailer is reachable from the fetched
// base — after a failed run, after a hand merge — unless initialize asks for `restart: "all"`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentRemote } from '../support/agent-remote.js';
import { startEmbeddedRuntime, type EmbeddedRuntime } from '../support/embedded-runtime.js';
import { git } from '../support/git-remote.js';
import { eventually } from '../support/services.js';

interface TaskResultBody {
  status: string;
  reason?: string;
  commit: string | null;
  attempts: number;
}

interface StatusBody {
  executionId: string;
  status: string;
  lastError: string | null;
  progress: { done: number; total: number };
  results: Record<string, TaskResultBody>;
}

const TASKS = [
  { id: '1.1', title: 'one' },
  { id: '1.2', title: 'two' },
  { id: '1.3', title: 'three' },
];

describe('tasks done by trailer', () => {
  let service: EmbeddedRuntime;

  beforeAll(async () => {
    service = await startEmbeddedRuntime('devteam-trailer');
  }, 60_000);

  afterAll(async () => {
    await service?.stop();
  }, 60_000);

  const body = (projectId: string, bare: string, command: string, extra: Record<string, unknown> = {}) => ({
    projectId,
    repository: { url: `file://${bare}` },
    agent: { preset: 'command', command: ['sh', '-c', command], timeoutSec: 60 },
    verify: { commands: [['git', '--version']], timeoutSec: 60 },
    ...extra,
  });

  /** Initializes and waits for that very execution to settle. */
  const run = async (init: Record<string, unknown>): Promise<StatusBody> => {
    const reply = await service.initialize(init);
    expect(reply.status, reply.text).toBe(202);
    const executionId = reply.body.executionId as string;
    return eventually(async () => {
      const s = (await (await fetch(service.url(`/api/devteam/automation/status/${init.projectId}`))).json()) as StatusBody;
      return s.executionId === executionId && ['completed', 'failed', 'stopped'].includes(s.status) ? s : undefined;
    }, 60_000, `${init.projectId} execution ${executionId} to settle`);
  };

  /** Commits on the remote's main by the task their DevTeam-Task trailer names, newest first. */
  const trailerCommits = async (work: string): Promise<Array<{ sha: string; task: string }>> => {
    await git(work, 'fetch', '--quiet', 'origin');
    const out = await git(work, 'log', '--format=%H %(trailers:key=DevTeam-Task,valueonly,separator=%x2C)', 'origin/main');
    return out
      .split('\n')
      .map((line) => line.split(' '))
      .filter(([, task]) => task)
      .map(([sha, task]) => ({ sha: sha!, task: task! }));
  };
  const count = (commits: Array<{ task: string }>, id: string) => commits.filter((c) => c.task === id).length;

  // Run 1's agent writes NOTES.md once: the second task finds it there, exits 3 and fails.
  const firstTimeOnly = 'test ! -e NOTES.md || exit 3; echo one > NOTES.md';
  // The "fixed" agent always changes something.
  const always = 'date +%s%N >> NOTES.md';

  it('after a failed run, initialize again skips the merged task (shown in the status) and runs the rest; restart "all" runs it again', async () => {
    const remote = await createAgentRemote(service.dir, 'retry', TASKS);

    const first = await run(body('retry', remote.bare, firstTimeOnly));
    expect(first.status).toBe('failed');
    expect(first.results['1.1']).toMatchObject({ status: 'done' });
    expect(first.results['1.2']).toMatchObject({ status: 'failed' });
    const afterFirst = await trailerCommits(remote.work);
    expect(afterFirst.map((c) => c.task)).toEqual(['1.1']);
    // The execution is named beside the task.
    const message = await git(remote.work, 'log', '-n', '1', '--format=%B', afterFirst[0]!.sha);
    expect(message).toMatch(/^Task 1\.1: one\n/);
    expect(message).toContain(`DevTeam-Execution: ${first.executionId}`);

    const second = await run(body('retry', remote.bare, always));
    expect(second.status, second.lastError ?? '').toBe('completed');
    expect(second.results['1.1']).toEqual(expect.objectContaining({ status: 'skipped', reason: 'already_merged', commit: afterFirst[0]!.sha, attempts: 0 }));
    expect(second.results['1.2']).toMatchObject({ status: 'done', attempts: 1 });
    expect(second.results['1.3']).toMatchObject({ status: 'done', attempts: 1 });
    expect(second.progress).toEqual({ done: 3, total: 3 });
    const afterSecond = await trailerCommits(remote.work);
    expect(count(afterSecond, '1.1')).toBe(1);
    expect(count(afterSecond, '1.2')).toBe(1);
    expect(count(afterSecond, '1.3')).toBe(1);

    const third = await run(body('retry', remote.bare, always, { restart: 'all' }));
    expect(third.status, third.lastError ?? '').toBe('completed');
    for (const id of ['1.1', '1.2', '1.3']) expect(third.results[id]).toMatchObject({ status: 'done', attempts: 1 });
    const afterThird = await trailerCommits(remote.work);
    for (const id of ['1.1', '1.2', '1.3']) expect(count(afterThird, id)).toBe(2);
  }, 180_000);

  it('skips a task merged by hand with the trailer; with merge commits, a run after a complete one merges nothing', async () => {
    const remote = await createAgentRemote(service.dir, 'by-hand', TASKS.slice(0, 2));
    await git(remote.work, 'commit', '--quiet', '--allow-empty', '-m', 'Task 1.1 done by hand', '-m', 'DevTeam-Task: 1.1');
    await git(remote.work, 'push', '--quiet', 'origin', 'main');
    const byHand = await git(remote.work, 'rev-parse', 'HEAD');

    const first = await run(body('by-hand', remote.bare, always, { merge: { mode: 'merge' } }));
    expect(first.status, first.lastError ?? '').toBe('completed');
    expect(first.results['1.1']).toMatchObject({ status: 'skipped', reason: 'already_merged', commit: byHand });
    expect(first.results['1.2']).toMatchObject({ status: 'done' });
    const commits = await trailerCommits(remote.work);
    expect(commits.map((c) => c.task)).toEqual(['1.2', '1.1']);
    const tip = await git(remote.work, 'rev-parse', 'origin/main');
    // Merge mode: the tip is the merge commit; the trailer is on the task commit it merged.
    expect(await git(remote.work, 'log', '-n', '1', '--format=%P', tip)).toMatch(/^[0-9a-f]+ [0-9a-f]+$/);

    const again = await run(body('by-hand', remote.bare, always, { merge: { mode: 'merge' } }));
    expect(again.status, again.lastError ?? '').toBe('completed');
    expect(again.results['1.1']).toMatchObject({ status: 'skipped', commit: byHand });
    expect(again.results['1.2']).toMatchObject({ status: 'skipped', commit: commits[0]!.sha });
    expect(again.progress).toEqual({ done: 2, total: 2 });
    await git(remote.work, 'fetch', '--quiet', 'origin');
    expect(await git(remote.work, 'rev-parse', 'origin/main')).toBe(tip);
  }, 180_000);
});
