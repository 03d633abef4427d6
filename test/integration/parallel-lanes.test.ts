// Parallel tasks (parallelism k > 1) end to end in one process: real Postgres, a real bare git
// remote, a scripted agent run by the `command` preset in each lane's own sandbox, real verify
// commands. Independent tasks overlap in time; the merge queue re-verifies a change whose base
// moved and sends a conflict back to implement on the new base; a restart with two tasks in flight
// ends with every task merged exactly once.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/infra/log.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { taskListOf, type FixtureTask } from '../support/agent-remote.js';
import { createRemote, git } from '../support/git-remote.js';
import { createTestDatabase, eventually, tempDir, type TestDatabase } from '../support/services.js';

// The agent: waits the milliseconds its title names, then writes work/<id>.txt with when it ran.
// "shared …" tasks also write shared.txt's one line (two of them conflict); "pair …" tasks pass the
// check alone but not together, until a retry told "incompatible" writes a compatible version.
const AGENT = `const fs = require('node:fs');
const prompt = fs.readFileSync(process.argv[2], 'utf8');
const [, id, title] = prompt.match(/^# Task (\\S+): (.*)$/m);
const attempt = Number((prompt.match(/This is attempt (\\d+)/) ?? [])[1] ?? 1);
const started = Date.now();
const ms = Number((title.match(/(\\d+)ms/) ?? [])[1] ?? 0);
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
fs.mkdirSync('work', { recursive: true });
if (title.startsWith('shared')) {
  const retold = prompt.includes('conflicts with them in: shared.txt');
  fs.writeFileSync('shared.txt', retold ? fs.readFileSync('shared.txt', 'utf8').trim() + ' + ' + id + '\\n' : id + '\\n');
}
const pair = title.startsWith('pair');
const compatible = pair && prompt.includes('the pair tasks are incompatible');
fs.writeFileSync('work/' + id + '.txt', [id, started, Date.now(), 'attempt ' + attempt, pair ? 'pair' : '', compatible ? 'compatible' : ''].join(' ') + '\\n');
`;
// The build: two "pair" files together fail unless one says compatible. (The prompt shows this file:
// the error's text is put together so that only the build's output holds it whole.)
const CHECK = `const fs = require('node:fs');
const pair = (fs.existsSync('work') ? fs.readdirSync('work') : []).map((f) => fs.readFileSync('work/' + f, 'utf8')).filter((t) => t.includes('pair'));
if (pair.length === 2 && !pair.some((t) => t.includes('compatible'))) { console.error('check failed: the pair tasks are ' + 'in' + 'compatible'); process.exit(1); }
console.log('check passed');
`;

async function parallelRemote(dir: string, name: string, tasks: FixtureTask[]) {
  const remote = await createRemote(dir, name);
  await mkdir(join(remote.work, 'ai_docs', 'tasks'), { recursive: true });
  await writeFile(join(remote.work, 'agent.js'), AGENT);
  await writeFile(join(remote.work, 'check.js'), CHECK);
  await writeFile(join(remote.work, 'shared.txt'), 'original\n');
  await writeFile(join(remote.work, 'ai_docs', 'tasks', 'task_list.md'), taskListOf(tasks));
  await git(remote.work, 'add', '-A');
  await git(remote.work, 'commit', '--quiet', '-m', 'parallel fixture');
  await git(remote.work, 'push', '--quiet', 'origin', 'main');
  return remote;
}

function body(projectId: string, url: string, parallelism: number) {
  return {
    projectId,
    repository: { url, branch: 'main' },
    agent: { preset: 'command', command: ['node', 'agent.js', '{promptFile}'], timeoutSec: 60 },
    verify: { commands: [['node', 'check.js']], timeoutSec: 60 },
    limits: { cpus: 1, memoryMb: 1024 },
    parallelism,
  };
}

interface Status {
  status: string;
  phase: string | null;
  currentTask: { id: string } | null;
  running?: Array<{ id: string; phase: string; attempt: number }>;
  lastError: string | null;
  results: Record<string, { status: string; attempts: number; reason?: string }>;
}

describe('parallel lanes', () => {
  let db: TestDatabase;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let runtime: Runtime;
  let sql: postgres.Sql;

  const start = () =>
    startRuntime(
      loadConfig({ PORT: '0', DATABASE_URL: db.url, DEVTEAM_DATA_DIR: join(dir.path, 'data'), DEVTEAM_FILE_REMOTE_ROOTS: dir.path, DEVTEAM_RECONCILE_MS: '200', LOG_LEVEL: 'silent' }),
      { api: true, worker: true },
      createLogger({ level: 'silent' }),
    );

  beforeAll(async () => {
    db = await createTestDatabase('parallel');
    dir = await tempDir('devteam-parallel');
    runtime = await start();
    sql = postgres(db.url, { max: 1, onnotice: () => {} });
  }, 60_000);

  afterAll(async () => {
    await runtime?.stop();
    await sql?.end();
    await db?.drop();
    await dir?.remove();
  }, 60_000);

  const api = (path: string, init: RequestInit = {}) => fetch(`http://127.0.0.1:${runtime.port}/api/devteam/automation${path}`, init);
  const initialize = async (b: unknown) => {
    const res = await api('/initialize', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(b) });
    expect(res.status).toBe(202);
    return ((await res.json()) as { executionId: string }).executionId;
  };
  const status = async (projectId: string) => (await (await api(`/status/${projectId}`)).json()) as Status;
  const until = (projectId: string, want: (s: Status) => boolean, what: string, ms = 45_000) =>
    eventually(async () => {
      const s = await status(projectId);
      return want(s) ? s : undefined;
    }, ms, what);
  /** The run's end, which must be completed (else its status is the failure message). */
  const ended = async (projectId: string) => {
    const s = await until(projectId, (x) => ['completed', 'failed', 'stopped'].includes(x.status), 'the run to end', 60_000);
    expect(s.status, JSON.stringify({ lastError: s.lastError, results: s.results })).toBe('completed');
    return s;
  };
  /** Task id → how many commits on the remote's main carry its DevTeam-Task trailer. */
  const mergedCounts = async (work: string) => {
    await git(work, 'fetch', '--quiet', 'origin');
    const ids = (await git(work, 'log', '--format=%(trailers:key=DevTeam-Task,valueonly)', 'origin/main')).split('\n').filter(Boolean);
    return ids.reduce<Record<string, number>>((acc, id) => ({ ...acc, [id]: (acc[id] ?? 0) + 1 }), {});
  };

  it('runs independent tasks at the same time, each in its own lane, and merges each once', async () => {
    const tasks = ['1.1', '1.2', '1.3', '1.4'].map((id) => ({ id, title: `work 800ms ${id}` }));
    const remote = await parallelRemote(dir.path, 'lanes', tasks);
    await initialize(body('lanes', `file://${remote.bare}`, 2));
    const seen = await until('lanes', (s) => (s.running?.length ?? 0) === 2, 'two tasks in flight');
    expect(seen.currentTask?.id).toBe(seen.running![0]!.id);
    const final = await ended('lanes');
    expect(Object.values(final.results).map((r) => r.status)).toEqual(['done', 'done', 'done', 'done']);
    expect(await mergedCounts(remote.work)).toEqual({ '1.1': 1, '1.2': 1, '1.3': 1, '1.4': 1 });
    // When each agent ran, as it wrote it into the merged history: 1.1 and 1.2 overlapped.
    const ran = async (id: string) => (await git(remote.work, 'show', `origin/main:work/${id}.txt`)).split(' ').slice(1, 3).map(Number) as [number, number];
    const [a, b] = [await ran('1.1'), await ran('1.2')];
    expect(a[0] < b[1] && b[0] < a[1]).toBe(true);
    // Linear history, every task commit with its trailers.
    expect(await git(remote.work, 'rev-list', '--merges', '--count', 'origin/main')).toBe('0');
  }, 90_000);

  it('verifies a change again when the base moved since its verification; a failure goes back to implement with the errors', async () => {
    const remote = await parallelRemote(dir.path, 'reverify', [
      { id: '1.1', title: 'pair 600ms one' },
      { id: '1.2', title: 'pair 600ms two' },
    ]);
    const executionId = await initialize(body('reverify', `file://${remote.bare}`, 2));
    const final = await ended('reverify');
    // Both passed verify alone; the one merged second failed its re-verify on top of the first.
    const attempts = Object.values(final.results).map((r) => r.attempts).sort();
    const journal = await sql`SELECT idempotency_key, status, output FROM execution_steps WHERE execution_id = ${executionId} ORDER BY started_at`;
    expect(attempts, JSON.stringify(journal.map((j) => [j.idempotency_key, j.status, j.output]))).toEqual([1, 2]);
    const second = Object.entries(final.results).find(([, r]) => r.attempts === 2)![0];
    const steps = await sql`SELECT idempotency_key, status FROM execution_steps WHERE execution_id = ${executionId} AND task_id = ${second} ORDER BY started_at`;
    expect(steps.map((s) => `${s.idempotency_key}:${s.status}`)).toEqual([
      `${second}:implement:1:succeeded`,
      `${second}:verify:1:succeeded`,
      `${second}:merge:1:succeeded`,
      `${second}:verify:1:1:succeeded`,
      `${second}:implement:2:succeeded`,
      `${second}:verify:2:succeeded`,
      `${second}:merge:2:succeeded`,
      `${second}:push:2:succeeded`,
    ]);
    const reverify = await sql`SELECT output FROM execution_steps WHERE execution_id = ${executionId} AND idempotency_key = ${`${second}:verify:1:1`}`;
    expect(reverify[0]!.output).toMatchObject({ ok: false });
    expect(await mergedCounts(remote.work)).toEqual({ '1.1': 1, '1.2': 1 });
    expect(await git(remote.work, 'show', `origin/main:work/${second}.txt`)).toContain('compatible');
  }, 90_000);

  it('sends a change that conflicts with the base back to implement on the new base, naming the paths', async () => {
    const remote = await parallelRemote(dir.path, 'conflict', [
      { id: '1.1', title: 'shared 400ms one' },
      { id: '1.2', title: 'shared 400ms two' },
    ]);
    const executionId = await initialize(body('conflict', `file://${remote.bare}`, 2));
    const final = await ended('conflict');
    const second = Object.entries(final.results).find(([, r]) => r.attempts === 2)![0];
    const first = second === '1.1' ? '1.2' : '1.1';
    const prompts = await sql`SELECT content FROM artifacts WHERE execution_id = ${executionId} AND task_id = ${second} AND kind = 'prompt' AND attempt = 2`;
    expect(String(prompts[0]!.content)).toContain('conflicts with them in: shared.txt');
    await git(remote.work, 'fetch', '--quiet', 'origin');
    expect(await git(remote.work, 'show', 'origin/main:shared.txt')).toBe(`${first} + ${second}`);
    expect(await mergedCounts(remote.work)).toEqual({ '1.1': 1, '1.2': 1 });
  }, 90_000);

  it('restarted with two tasks in flight, the run completes with each task merged exactly once', async () => {
    const tasks = ['1.1', '1.2', '1.3'].map((id) => ({ id, title: `work 3000ms ${id}` }));
    const remote = await parallelRemote(dir.path, 'restart', tasks);
    const executionId = await initialize(body('restart', `file://${remote.bare}`, 2));
    await until('restart', (s) => s.running?.filter((r) => r.phase === 'implement').length === 2, 'two tasks implementing');
    await runtime.stop();
    const stored = await sql`SELECT snapshot FROM executions WHERE id = ${executionId}`;
    expect(Object.values((stored[0]!.snapshot as { context: { lanes: unknown[] } }).context.lanes).filter(Boolean)).toHaveLength(2);
    runtime = await start();
    const final = await ended('restart');
    expect(Object.values(final.results).map((r) => r.status)).toEqual(['done', 'done', 'done']);
    expect(await mergedCounts(remote.work)).toEqual({ '1.1': 1, '1.2': 1, '1.3': 1 });
    const pushes = await sql`SELECT task_id FROM execution_steps WHERE execution_id = ${executionId} AND step = 'push' AND status = 'succeeded' ORDER BY task_id`;
    expect(pushes.map((p) => p.task_id)).toEqual(['1.1', '1.2', '1.3']);
  }, 120_000);

  it('pause kills every lane’s agent, resume runs them again, stop removes the lanes', async () => {
    const tasks = ['1.1', '1.2'].map((id) => ({ id, title: `work 20000ms ${id}` }));
    const remote = await parallelRemote(dir.path, 'pausing', tasks);
    // A marker in the agent's argv that no other test's agent has: its processes are found by it.
    const marker = `devteam-par-${process.pid}`;
    await initialize({ ...body('pausing', `file://${remote.bare}`, 2), agent: { preset: 'command', command: ['node', 'agent.js', '{promptFile}', marker], timeoutSec: 60 } });
    await until('pausing', (s) => s.running?.filter((r) => r.phase === 'implement').length === 2, 'two tasks implementing');
    const agents = async () => (await execa('pgrep', ['-f', `agent.js .* ${marker}`], { reject: false })).stdout.split('\n').filter(Boolean).length;
    await eventually(async () => ((await agents()) >= 2 ? true : undefined), 15_000, 'both agents to run');
    expect(await (await api('/pause/pausing', { method: 'POST' })).json()).toMatchObject({ status: 'paused' });
    await eventually(async () => ((await agents()) === 0 ? true : undefined), 10_000, 'both agents to be killed');
    const paused = await status('pausing');
    expect(paused.running?.map((r) => r.phase)).toEqual(['implement', 'implement']);
    expect(await (await api('/resume/pausing', { method: 'POST' })).json()).toMatchObject({ status: 'running' });
    await eventually(async () => ((await agents()) >= 2 ? true : undefined), 15_000, 'both agents to run again');
    expect(await (await api('/stop/pausing', { method: 'POST' })).json()).toMatchObject({ status: 'stopping' });
    await until('pausing', (s) => s.status === 'stopped', 'the run to stop');
    await eventually(async () => ((await agents()) === 0 ? true : undefined), 10_000, 'the agents to be gone');
    const lanes = join(dir.path, 'data', 'repos', 'local', 'pausing', 'lanes');
    expect(await readFile(join(lanes, 'lane-0', 'agent.js')).catch(() => null)).toBeNull();
  }, 90_000);
});
