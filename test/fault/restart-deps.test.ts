// Faults of the dependencies during a distributed run: the test's own Redis (no persistence) is
// killed and restarted, then its own Postgres is stopped for a few seconds and started again,
// while one API and two workers drive a project. The run must complete with exactly one commit
// per task, each adding one line; the stream's seq must never go backwards; while Postgres is
// down every answer that needs it is a 503 within 1 s, and the API recovers by itself.
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliProcess } from '../support/cli-process.js';
import { startOwnedService, startOwnPostgres, startOwnRedis, type OwnPostgres, type OwnRedis } from '../support/fault-services.js';
import { LONG_MODE } from '../support/prng.js';
import { tempDir } from '../support/services.js';
import { recordStream, type WsRecorder } from '../support/ws-recorder.js';
import { createNotesProject, notesBody, remoteProblems, waitForStatus, warnings, type NotesProject } from './fault-project.js';
import { stopProcess } from './fuzz-suite.js';

const SIZE = LONG_MODE ? { tasks: 12, redisAt: 3, pgAt: 7, pgDownMs: 8_000, runMs: 600_000 } : { tasks: 6, redisAt: 2, pgAt: 4, pgDownMs: 4_000, runMs: 100_000 };
const PROJECT = 'fault-deps';

interface Probe {
  what: string;
  at: number;
  ms: number;
  status: number | 'no answer';
}

/** One request with a hard 3 s client deadline; records how long the API took to answer. */
async function probe(port: number, what: string, init?: RequestInit & { path: string }): Promise<Probe> {
  const at = Date.now();
  const started = performance.now();
  try {
    const res = await fetch(`http://127.0.0.1:${port}${init?.path}`, { ...init, signal: AbortSignal.timeout(3_000) });
    await res.arrayBuffer();
    return { what, at, ms: performance.now() - started, status: res.status };
  } catch {
    return { what, at, ms: performance.now() - started, status: 'no answer' };
  }
}

const probes = (port: number) => [
  () => probe(port, 'POST /events', { path: '/events', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'FAULT_PROBE', projectId: 'fault-probe', payload: { n: 1 } }) }),
  () => probe(port, 'GET /readyz', { path: '/readyz' }),
  () => probe(port, 'GET status', { path: `/api/devteam/automation/status/${PROJECT}` }),
  () => probe(port, 'POST pause (unknown project)', { path: '/api/devteam/automation/pause/fault-nobody', method: 'POST' }),
];

describe(`a distributed run of ${SIZE.tasks} tasks survives a Redis restart and a Postgres restart`, () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let pg: OwnPostgres;
  let redis: OwnRedis;
  let project: NotesProject;
  let api: CliProcess;
  let apiPort: number;
  let stream: WsRecorder;
  const workers: CliProcess[] = [];

  beforeAll(async () => {
    dir = await tempDir('devteam-fault-deps');
    pg = await startOwnPostgres();
    const admin = postgres(pg.url(), { max: 1, onnotice: () => {} });
    await admin.unsafe('CREATE DATABASE devteam');
    await admin.end();
    redis = await startOwnRedis();
    project = await createNotesProject(dir.path, 'notes', SIZE.tasks);
  }, 90_000);

  afterAll(async () => {
    await stream?.close();
    for (const p of [...workers, api].filter(Boolean)) await stopProcess(p, 3_000);
    await redis?.kill();
    await pg?.remove();
    await dir?.remove();
  }, 60_000);

  it(`completes with one commit per task, seq never backwards, 503 within 1 s while Postgres is down`, async () => {
    const env = (name: string) => ({
      DATABASE_URL: pg.url('devteam'),
      REDIS_URL: redis.url,
      DEVTEAM_REDIS_PREFIX: 'fault',
      DEVTEAM_DATA_DIR: join(dir.path, name),
      DEVTEAM_FILE_REMOTE_ROOTS: dir.path,
      DEVTEAM_LEASE_TTL_MS: '3000',
      DEVTEAM_RECONCILE_MS: '200',
      DEVTEAM_OUTBOX_INTERVAL_MS: '500',
      DEVTEAM_OUTBOX_GRACE_MS: '1000',
      DEVTEAM_SHUTDOWN_TIMEOUT_MS: '2000',
    });
    const started = await startOwnedService(['api'], env('api'));
    api = started.proc;
    apiPort = started.port!;
    for (const name of ['w1', 'w2']) workers.push((await startOwnedService(['worker'], env(name))).proc);

    const res = await fetch(`http://127.0.0.1:${apiPort}/api/devteam/automation/initialize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(notesBody(PROJECT, `file://${project.remote.bare}`, 0.3)),
    });
    expect(res.status, await res.clone().text()).toBe(202);
    stream = recordStream(apiPort, PROJECT);
    const failures: string[] = [];
    const procs = (): Array<[string, CliProcess]> => [['api', api], ['w1', workers[0]!], ['w2', workers[1]!]];
    const t0 = Date.now();
    const left = () => Math.max(0, t0 + SIZE.runMs - Date.now());

    // 1. Redis: killed (everything in it is lost: queue, leases, seq counters, kept frames) and started again.
    const beforeRedis = await waitForStatus(apiPort, PROJECT, (s) => s.progress.done >= SIZE.redisAt, left());
    console.log(`redis restart at ${Date.now() - t0} ms, progress ${JSON.stringify(beforeRedis?.progress)} ${beforeRedis?.phase}`);
    await redis.kill();
    await new Promise((r) => setTimeout(r, 1_000));
    await redis.start();

    // 2. Postgres: fast shutdown, down for a few seconds, started again; the API is probed all along.
    const beforePg = await waitForStatus(apiPort, PROJECT, (s) => s.progress.done >= SIZE.pgAt, left());
    console.log(`postgres stop at ${Date.now() - t0} ms, progress ${JSON.stringify(beforePg?.progress)} ${beforePg?.phase}`);
    await pg.stop();
    const downAt = Date.now();
    const during: Probe[] = [];
    while (Date.now() - downAt < SIZE.pgDownMs) {
      during.push(...(await Promise.all(probes(apiPort).map((p) => p()))));
      await new Promise((r) => setTimeout(r, 100));
    }
    await pg.start();
    const upAt = Date.now();
    let recoveredMs: number | null = null;
    while (Date.now() - upAt < 30_000) {
      const p = await probes(apiPort)[0]!();
      if (p.status === 202) {
        recoveredMs = Date.now() - upAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }

    const final = await waitForStatus(apiPort, PROJECT, () => false, Math.max(left(), 20_000));
    console.log(`run ended at ${Date.now() - t0} ms: ${final?.status} ${JSON.stringify(final?.progress)} lastError ${final?.lastError}`);

    // The 503 oracle: everything that needs the database answers 503 within 1 s (a status read may come from the 1 s cache).
    const answered = during.filter((p) => p.status !== 'no answer');
    const maxMs = Math.max(...during.map((p) => p.ms));
    const byWhat = new Map<string, Probe[]>();
    for (const p of during) byWhat.set(p.what, [...(byWhat.get(p.what) ?? []), p]);
    for (const [what, ps] of byWhat) {
      const statuses = [...new Set(ps.map((p) => p.status))];
      console.log(`while Postgres was down: ${what} ×${ps.length}, statuses ${JSON.stringify(statuses)}, max ${Math.round(Math.max(...ps.map((p) => p.ms)))} ms, p50 ${Math.round(ps.map((p) => p.ms).sort((a, b) => a - b)[Math.floor(ps.length / 2)]!)} ms`);
      // 50 ms of slack for this client's own event loop and TCP.
      const slow = ps.filter((p) => p.ms > 1_050);
      if (slow.length) failures.push(`${what}: ${slow.length}/${ps.length} answers while Postgres was down took over 1 s (max ${Math.round(Math.max(...slow.map((p) => p.ms)))} ms; statuses ${JSON.stringify([...new Set(slow.map((p) => p.status))])})`);
      const wrong = ps.filter((p) => p.status !== 503 && !(what === 'GET status' && p.status === 200 && p.at - downAt < 1_500));
      if (wrong.length) failures.push(`${what}: ${wrong.length}/${ps.length} answers while Postgres was down were not 503: ${JSON.stringify([...new Set(wrong.map((p) => p.status))])}`);
    }
    console.log(`503 latency while Postgres was down: max ${Math.round(maxMs)} ms over ${during.length} requests (${answered.length} answered); API recovered ${recoveredMs ?? 'never'} ms after Postgres came back`);
    if (recoveredMs === null) failures.push('the API did not accept an event within 30 s of Postgres coming back');

    if (final?.status !== 'completed') failures.push(`the run did not complete: ${final?.status} at ${JSON.stringify(final?.progress)}, phase ${final?.phase}, lastError ${final?.lastError}`);
    const remote = await remoteProblems(project);
    console.log(`remote main after the run: ${JSON.stringify(remote.log)}`);
    failures.push(...remote.problems);
    await new Promise((r) => setTimeout(r, 500));
    const seq = stream.seqProblems();
    console.log(`stream: ${stream.frames.length} frames over ${stream.connections} connections, closes ${JSON.stringify(stream.closes.map((c) => c.code))}, last status ${stream.lastStatus()}`);
    if (seq.length) failures.push(`seq went backwards ${seq.length} times on the stream, first: ${seq.slice(0, 3).join('; ')}`);
    if (final?.status === 'completed' && stream.lastStatus() !== 'completed') failures.push(`the stream never delivered the completed update (last status seen: ${stream.lastStatus()})`);
    if (failures.length) {
      for (const [name, p] of procs()) console.log(`${name} warnings/errors:\n  ${warnings(p.lines, PROJECT).join('\n  ') || '(none)'}`);
    }
    expect(failures).toEqual([]);
  }, SIZE.runMs + 120_000);
});
