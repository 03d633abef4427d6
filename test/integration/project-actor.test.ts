// The project actor end to end in one process, with real Postgres, a real git remote, the
// scripted agent as a real child process in the bubblewrap sandbox, and real verify commands:
// SELECT → PREP → IMPLEMENT → VERIFY (with retries) run for real, MERGE fails honestly until the
// pipeline lands, and pause/resume/stop act on the running step's processes.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/infra/log.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { agentProjectBody, createAgentRemote } from '../support/agent-remote.js';
import { git, gitWork } from '../support/git-remote.js';
import { createTestDatabase, eventually, tempDir, type TestDatabase } from '../support/services.js';

interface Status {
  status: string;
  progress: { done: number; total: number };
  phase: string | null;
  attempt: number;
  lastError: string | null;
  currentTask: { id: string } | null;
  results: Record<string, { status: string; attempts: number; error: string | null }>;
}

describe('project actor', () => {
  let db: TestDatabase;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let runtime: Runtime;
  let sql: postgres.Sql;

  beforeAll(async () => {
    db = await createTestDatabase('actor');
    dir = await tempDir('devteam-actor');
    runtime = await startRuntime(
      loadConfig({ PORT: '0', DATABASE_URL: db.url, DEVTEAM_DATA_DIR: join(dir.path, 'data'), DEVTEAM_FILE_REMOTE_ROOTS: dir.path, DEVTEAM_RECONCILE_MS: '200', LOG_LEVEL: 'silent' }),
      { api: true, worker: true },
      createLogger({ level: 'silent' }),
    );
    sql = postgres(db.url, { max: 1, onnotice: () => {} });
  }, 60_000);

  afterAll(async () => {
    await runtime?.stop();
    await sql?.end();
    await db?.drop();
    await dir?.remove();
  }, 60_000);

  const api = (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${runtime.port}/api/devteam/automation${path}`, init);
  const initialize = (body: unknown) => api('/initialize', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const status = async (projectId: string) => (await (await api(`/status/${projectId}`)).json()) as Status;
  const until = (projectId: string, want: (s: Status) => boolean, what: string, ms = 30_000) =>
    eventually(async () => {
      const s = await status(projectId);
      return want(s) ? s : undefined;
    }, ms, what);
  const checkout = (projectId: string) => join(dir.path, 'data', 'repos', 'local', projectId, 'repo');

  it('works through the task list: each task implemented, verified, committed, merged and pushed', async () => {
    const remote = await createAgentRemote(dir.path, 'plain', [{ id: '1.1', title: 'write a file' }, { id: '1.2', title: 'another', dependencies: ['1.1'] }]);
    const res = await initialize(agentProjectBody('plain', `file://${remote.bare}`));
    expect(res.status).toBe(202);
    const { executionId } = (await res.json()) as { executionId: string };
    const final = await until('plain', (s) => s.status === 'completed', 'the run to complete');
    expect(final.progress).toEqual({ done: 2, total: 2 });
    // What the remote has, not what the runner says.
    await git(remote.work, 'fetch', '--quiet', 'origin');
    const subjects = await git(remote.work, 'log', '--format=%s|%an', 'origin/main', '-n', '2');
    expect(subjects.split('\n')).toEqual(['Task 1.2: another|DevTeam Runner', 'Task 1.1: write a file|DevTeam Runner']);
    const tip = await git(remote.work, 'rev-parse', 'origin/main');
    expect(final.results['1.2']).toMatchObject({ status: 'done', attempts: 1, commit: tip });
    expect(await git(remote.work, 'show', 'origin/main:work/1.1.txt')).toBe('done 1.1');
    const steps = await sql`SELECT task_id, step, status FROM execution_steps WHERE execution_id = ${executionId} ORDER BY started_at`;
    expect(steps.map((s) => `${s.task_id}:${s.step}:${s.status}`)).toEqual([
      '1.1:implement:succeeded',
      '1.1:verify:succeeded',
      '1.1:merge:succeeded',
      '1.1:push:succeeded',
      '1.2:implement:succeeded',
      '1.2:verify:succeeded',
      '1.2:merge:succeeded',
      '1.2:push:succeeded',
    ]);
    const artifacts = (await (await api(`/executions/${executionId}/artifacts?taskId=1.1`)).json()) as { artifacts: Array<{ kind: string }> };
    expect(artifacts.artifacts.map((a) => a.kind).sort()).toEqual(['agent-output', 'diff', 'files', 'prompt', 'usage', 'verify-output']);
  }, 60_000);

  it('feeds the failing verify output back to the agent and retries; after 3 failures nothing is merged', async () => {
    const flaky = await createAgentRemote(dir.path, 'flaky', [{ id: '1.1', title: 'flaky change' }]);
    await initialize(agentProjectBody('flaky', `file://${flaky.bare}`));
    const retried = await until('flaky', (s) => s.status === 'completed', 'the flaky run to complete');
    expect(retried.results['1.1']).toMatchObject({ status: 'done', attempts: 2 });
    const secondPrompt = await readFile(join(checkout('flaky'), '.git', 'devteam', 'prompt-1.1-2.md'), 'utf8');
    expect(secondPrompt).toContain('check failed: work/1.1.txt is BROKEN');
    await git(flaky.work, 'fetch', '--quiet', 'origin');
    expect(await git(flaky.work, 'show', 'origin/main:work/1.1.txt')).toBe('fixed');

    const broken = await createAgentRemote(dir.path, 'broken', [{ id: '1.1', title: 'broken change' }]);
    const before = await git(broken.work, 'rev-parse', 'HEAD');
    await initialize(agentProjectBody('broken', `file://${broken.bare}`));
    const failed = await until('broken', (s) => s.status === 'failed', 'the broken run to end');
    expect(failed.lastError).toBe('task 1.1: verification failed after 3 attempts');
    expect(failed.results['1.1']).toMatchObject({ status: 'failed', reason: 'verify_failed', attempts: 3 });
    await git(broken.work, 'fetch', '--quiet', 'origin');
    expect(await git(broken.work, 'rev-parse', 'origin/main')).toBe(before);
  }, 90_000);

  it('pause kills the running agent, resume runs the step again, stop cleans up to stopped', async () => {
    const remote = await createAgentRemote(dir.path, 'slow', [{ id: '1.1', title: 'slow change' }]);
    await initialize(agentProjectBody('slow', `file://${remote.bare}`));
    const ticks = join(checkout('slow'), 'ticks.txt');
    await eventually(async () => (existsSync(ticks) ? true : undefined), 30_000, 'the agent to start ticking');

    const pause = await api('/pause/slow', { method: 'POST' });
    expect(await pause.json()).toMatchObject({ from: 'running', status: 'paused' });
    const frozen = await eventually(async () => {
      const a = await readFile(ticks, 'utf8');
      await new Promise((r) => setTimeout(r, 300));
      return a === (await readFile(ticks, 'utf8')) ? a : undefined;
    }, 5_000, 'the agent to be killed');
    expect((await status('slow')).status).toBe('paused');

    expect(await (await api('/resume/slow', { method: 'POST' })).json()).toMatchObject({ from: 'paused', status: 'running' });
    await eventually(async () => ((await readFile(ticks, 'utf8').catch(() => '')).length > frozen.length ? true : undefined), 30_000, 'implement to run again');
    expect((await status('slow')).phase).toBe('implement');

    expect(await (await api('/stop/slow', { method: 'POST' })).json()).toMatchObject({ from: 'running', status: 'stopping' });
    await until('slow', (s) => s.status === 'stopped', 'cleanup to finish');
    expect(await gitWork(checkout('slow'), 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
    expect(await gitWork(checkout('slow'), 'branch', '--list', 'devteam/*')).toBe('');
    const conflict = await api('/resume/slow', { method: 'POST' });
    expect(conflict.status).toBe(409);
  }, 90_000);
});
