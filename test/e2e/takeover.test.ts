// Crash safety with real processes on real Postgres and Redis: an API and two workers. SIGKILL of
// the owner mid-step → the other worker resumes from the last snapshot within lease TTL + 2 s
// without re-running finished steps; SIGSTOP past the TTL → the other takes over, and the stale
// owner, once continued, is fenced out and stops itself.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { agentProjectBody, createAgentRemote } from '../support/agent-remote.js';
import { git } from '../support/git-remote.js';
import { startService, type CliProcess } from '../support/cli-process.js';
import { createTestDatabase, dropRedisPrefix, eventually, REDIS_URL, tempDir, uniquePrefix, type TestDatabase } from '../support/services.js';

const TTL_MS = 3_000;

describe('worker crash and takeover', () => {
  let db: TestDatabase;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let sql: postgres.Sql;
  let apiPort: number;
  const prefix = uniquePrefix('takeover');
  const procs: CliProcess[] = [];

  const env = (name: string) => ({
    DATABASE_URL: db.url,
    REDIS_URL,
    DEVTEAM_REDIS_PREFIX: prefix,
    DEVTEAM_DATA_DIR: join(dir.path, name),
    DEVTEAM_FILE_REMOTE_ROOTS: dir.path,
    DEVTEAM_LEASE_TTL_MS: String(TTL_MS),
    DEVTEAM_RECONCILE_MS: '200',
  });

  async function worker(name: string): Promise<CliProcess> {
    const { proc } = await startService(['worker'], env(name));
    procs.push(proc);
    return proc;
  }

  beforeAll(async () => {
    db = await createTestDatabase('takeover');
    dir = await tempDir('devteam-takeover');
    sql = postgres(db.url, { max: 1, onnotice: () => {} });
    const api = await startService(['api'], env('api'));
    procs.push(api.proc);
    apiPort = api.port!;
  }, 60_000);

  afterAll(async () => {
    for (const p of procs) {
      p.child.kill('SIGCONT');
      await p.stop('SIGKILL');
    }
    await sql?.end();
    await db?.drop();
    await dir?.remove();
    await dropRedisPrefix(prefix);
  }, 60_000);

  const remotes = new Map<string, string>();

  async function initialize(projectId: string, title: string): Promise<string> {
    const remote = await createAgentRemote(dir.path, projectId, [{ id: '1.1', title }]);
    remotes.set(projectId, remote.bare);
    const res = await fetch(`http://127.0.0.1:${apiPort}/api/devteam/automation/initialize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(agentProjectBody(projectId, `file://${remote.bare}`)),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { executionId: string }).executionId;
  }

  const ticks = (name: string, projectId: string) => join(dir.path, name, 'repos', 'local', projectId, 'repo', 'ticks.txt');
  const owned = (p: CliProcess, executionId: string) => (l: Record<string, unknown>) => l.msg === 'took ownership of the project' && l.executionId === executionId;
  const steps = (p: CliProcess, executionId: string) => p.lines.filter((l) => l.msg === 'step started' && l.executionId === executionId).map((l) => String(l.step));

  it('resumes a SIGKILLed owner’s project from its last snapshot within TTL + 2 s, without re-running finished steps', async () => {
    const a = await worker('a1');
    const executionId = await initialize('killed', 'slow 4');
    await a.waitForLine(owned(a, executionId));
    await eventually(async () => (existsSync(ticks('a1', 'killed')) ? true : undefined), 20_000, 'A to run the agent');
    const b = await worker('b1');
    expect(steps(a, executionId)).toEqual(['select', 'prep', 'implement']);

    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    await a.exited;
    const took = await b.waitForLine(owned(b, executionId), TTL_MS + 5_000);
    const takeoverMs = Date.parse(String(took.time)) - killedAt;
    console.log(`takeover after SIGKILL: ${takeoverMs} ms (lease TTL ${TTL_MS} ms)`);
    expect(takeoverMs).toBeLessThanOrEqual(TTL_MS + 2_000);

    await b.waitForLine((l) => l.msg === 'stopped driving the project' && l.executionId === executionId, 30_000);
    // B started at the interrupted step: select and prep, finished before the crash, did not run
    // again (B prepared the work branch in its own checkout because A's was on A's host).
    expect(steps(b, executionId)).toEqual(['implement', 'verify', 'merge', 'push', 'select']);
    // Every line about the run carries the ids that tie it to the request that started it.
    const runLines = b.lines.filter((l) => l.msg === 'transition persisted' || l.msg === 'step started');
    expect(runLines.length).toBeGreaterThan(3);
    for (const l of runLines) expect(l).toMatchObject({ executionId, projectId: 'killed', correlationId: expect.any(String) });
    const [row] = await sql`SELECT status FROM executions WHERE id = ${executionId}`;
    expect(row).toMatchObject({ status: 'completed' });
    // One commit for the task on the remote, no duplicate.
    const [{ n }] = (await sql`SELECT count(*)::int AS n FROM execution_steps WHERE execution_id = ${executionId} AND step = 'push' AND status = 'succeeded'`) as unknown as [{ n: number }];
    expect(n).toBe(1);
    expect((await git(dir.path, '--git-dir', remotes.get('killed')!, 'log', '--format=%s', 'main')).split('\n')).toEqual([
      'Task 1.1: slow 4',
      'scripted agent project',
    ]);
    await b.stop();
  }, 90_000);

  it('fences out an owner that was SIGSTOPped past its TTL: its late write is refused and it stops itself', async () => {
    const a = await worker('a2');
    const executionId = await initialize('frozen', 'slow 6');
    await a.waitForLine(owned(a, executionId));
    await eventually(async () => (existsSync(ticks('a2', 'frozen')) ? true : undefined), 20_000, 'A to run the agent');
    const b = await worker('b2');

    a.child.kill('SIGSTOP');
    await b.waitForLine(owned(b, executionId), TTL_MS + 5_000);
    await eventually(async () => (existsSync(ticks('b2', 'frozen')) ? true : undefined), 20_000, 'B to run the agent');
    a.child.kill('SIGCONT');

    const gaveUp = await a.waitForLine((l) => l.msg === 'stopped driving the project' && l.executionId === executionId, 15_000);
    expect(gaveUp.end).toBe('lost');
    // A's agent is gone: its ticks stop growing while B's go on.
    const frozen = await eventually(async () => {
      const before = await readFile(ticks('a2', 'frozen'), 'utf8');
      await new Promise((r) => setTimeout(r, 400));
      return before === (await readFile(ticks('a2', 'frozen'), 'utf8')) ? before : undefined;
    }, 5_000, "A's agent to be killed");
    expect(frozen.length).toBeGreaterThan(0);
    // A never wrote after B took the project: every write since then carries B's epoch.
    await b.waitForLine((l) => l.msg === 'stopped driving the project' && l.executionId === executionId, 30_000);
    const [row] = await sql`SELECT e.owner_epoch::int AS owner, p.epoch::int AS epoch, e.status FROM executions e JOIN projects p USING (tenant, project_id) WHERE e.id = ${executionId}`;
    expect(row!.owner).toBe(row!.epoch);
    expect(row!.status).toBe('completed');
    await a.stop();
    await b.stop();
  }, 90_000);

  it('pauses a project driven by another process at once (through the Redis bus) and resumes it', async () => {
    const w = await worker('w3');
    const executionId = await initialize('remote-pause', 'slow 20');
    await w.waitForLine(owned(w, executionId));
    await eventually(async () => (existsSync(ticks('w3', 'remote-pause')) ? true : undefined), 20_000, 'the agent to run');
    const control = (command: string) => fetch(`http://127.0.0.1:${apiPort}/api/devteam/automation/${command}/remote-pause`, { method: 'POST' });
    const pausedAt = Date.now();
    expect(await (await control('pause')).json()).toMatchObject({ status: 'paused' });
    const released = await w.waitForLine((l) => l.msg === 'nothing to drive: releasing the project' && l.executionId === executionId, 5_000);
    console.log(`pause → worker released the project: ${Date.parse(String(released.time)) - pausedAt} ms`);
    const frozen = await eventually(async () => {
      const before = await readFile(ticks('w3', 'remote-pause'), 'utf8');
      await new Promise((r) => setTimeout(r, 300));
      return before === (await readFile(ticks('w3', 'remote-pause'), 'utf8')) ? before : undefined;
    }, 3_000, 'the agent to be killed');
    expect(await (await control('resume')).json()).toMatchObject({ status: 'running' });
    await eventually(async () => ((await readFile(ticks('w3', 'remote-pause'), 'utf8')).length > frozen.length ? true : undefined), 20_000, 'the agent to run again');
    expect(await (await control('stop')).json()).toMatchObject({ status: 'stopping' });
    await eventually(async () => {
      const [row] = await sql`SELECT status FROM executions WHERE id = ${executionId}`;
      return row!.status === 'stopped' ? true : undefined;
    }, 20_000, 'the project to stop');
    await w.stop();
  }, 90_000);
});
