// GET /metrics after a real run: HTTP durations by route, queue latency, step and verify
// durations, attempts, runs by final status, ownership, WS connections — and no project ids in
// any label. A worker without an API serves its own metrics on DEVTEAM_METRICS_PORT.
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/infra/log.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { agentProjectBody, createAgentRemote } from '../support/agent-remote.js';
import { createTestDatabase, dropRedisPrefix, eventually, REDIS_URL, tempDir, uniquePrefix, type TestDatabase } from '../support/services.js';

describe('metrics', () => {
  let db: TestDatabase;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let runtime: Runtime;

  beforeAll(async () => {
    db = await createTestDatabase('metrics');
    dir = await tempDir('devteam-metrics');
    runtime = await startRuntime(
      // The test's remotes are file:// remotes under dir.path: open it for them.
      loadConfig({ PORT: '0', DATABASE_URL: db.url, DEVTEAM_DATA_DIR: join(dir.path, 'data'), DEVTEAM_RECONCILE_MS: '200', DEVTEAM_FILE_REMOTE_ROOTS: dir.path }),
      { api: true, worker: true },
      createLogger({ level: 'silent' }),
    );
  }, 60_000);

  afterAll(async () => {
    await runtime?.stop();
    await db?.drop();
    await dir?.remove();
  }, 60_000);

  const metric = (text: string, line: RegExp) => Number(text.split('\n').find((l) => line.test(l))?.split(' ').at(-1) ?? NaN);

  it('counts what a run did, by route, step and status, without project ids', async () => {
    const remote = await createAgentRemote(dir.path, 'metrics-proj', [{ id: '1.1', title: 'flaky change' }]);
    const base = `http://127.0.0.1:${runtime.port}`;
    const res = await fetch(`${base}/api/devteam/automation/initialize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(agentProjectBody('metrics-proj', `file://${remote.bare}`)),
    });
    expect(res.status).toBe(202);
    const socket = new WebSocket(`ws://127.0.0.1:${runtime.port}/ws/devteam?projectId=metrics-proj&lastSeq=0`);
    await new Promise((r) => socket.on('message', r));
    await eventually(async () => {
      const s = (await (await fetch(`${base}/api/devteam/automation/status/metrics-proj`)).json()) as { status: string };
      return s.status === 'completed' ? true : undefined;
    }, 30_000, 'the run to complete');

    const scrape = await fetch(`${base}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await scrape.text();
    expect(metric(text, /^devteam_http_request_duration_seconds_count\{route="POST \/api\/devteam\/automation\/initialize",status="202"\}/)).toBe(1);
    expect(metric(text, /^devteam_http_request_duration_seconds_count\{route="GET \/api\/devteam\/automation\/status\/:projectId",status="200"\}/)).toBeGreaterThanOrEqual(1);
    expect(metric(text, /^devteam_step_duration_seconds_count\{step="implement",outcome="ok"\}/)).toBe(2);
    expect(metric(text, /^devteam_verify_duration_seconds_count\{result="failed"\}/)).toBe(1);
    expect(metric(text, /^devteam_verify_duration_seconds_count\{result="passed"\}/)).toBe(1);
    expect(metric(text, /^devteam_attempts_total\{kind="first"\}/)).toBe(1);
    expect(metric(text, /^devteam_attempts_total\{kind="retry"\}/)).toBe(1);
    expect(metric(text, /^devteam_runs_total\{status="completed"\}/)).toBe(1);
    expect(metric(text, /^devteam_lease_acquisitions_total\{kind="new"\}/)).toBe(1);
    expect(metric(text, /^devteam_queue_latency_seconds_count/)).toBeGreaterThanOrEqual(1);
    expect(metric(text, /^devteam_ws_connections /)).toBe(1);
    expect(metric(text, /^devteam_ws_frames_sent_total /)).toBeGreaterThan(3);
    expect(text).toContain('devteam_process_cpu_seconds_total');
    expect(text).not.toContain('metrics-proj');
    socket.close();
  }, 60_000);

  it('serves a lone worker’s metrics on DEVTEAM_METRICS_PORT', async () => {
    const prefix = uniquePrefix('metrics');
    const lines: string[] = [];
    const log = createLogger({ level: 'info', destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) as never });
    const worker = await startRuntime(
      loadConfig({ DATABASE_URL: db.url, REDIS_URL, DEVTEAM_REDIS_PREFIX: prefix, DEVTEAM_DATA_DIR: join(dir.path, 'worker'), DEVTEAM_METRICS_PORT: '0' }),
      { api: false, worker: true },
      log,
    );
    try {
      const line = await eventually(async () => lines.find((l) => l.includes('worker metrics at GET /metrics')), 5_000, 'the metrics line');
      const port = (JSON.parse(line) as { port: number }).port;
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toContain('# TYPE devteam_queue_latency_seconds histogram');
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      await worker.stop();
      await dropRedisPrefix(prefix);
    }
  }, 30_000);
});
