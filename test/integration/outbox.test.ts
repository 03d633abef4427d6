// Nothing is lost when the queue is down: with a private redis-server killed after the commit and
// restarted empty, an accepted event is still processed, through the outbox.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/infra/log.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { createTestDatabase, eventually, tempDir, type TestDatabase } from '../support/services.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await eventually(
    () =>
      new Promise<true | undefined>((resolve) => {
        const probe = createServer();
        // The port is taken once redis listens.
        probe.once('error', () => resolve(true));
        probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(undefined)));
      }),
    10_000,
    `redis-server on ${port}`,
  );
  return child;
}

function stopRedis(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('outbox with Redis down', () => {
  let db: TestDatabase;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let redisPort: number;
  let redis: ChildProcess;
  let runtime: Runtime;

  beforeAll(async () => {
    db = await createTestDatabase('outbox');
    dir = await tempDir('devteam-outbox');
    redisPort = await freePort();
    redis = await startRedis(redisPort);
    const config = loadConfig({
      PORT: '0',
      DATABASE_URL: db.url,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      DEVTEAM_DATA_DIR: dir.path,
      DEVTEAM_OUTBOX_INTERVAL_MS: '200',
      DEVTEAM_OUTBOX_GRACE_MS: '500',
      DEVTEAM_SHUTDOWN_TIMEOUT_MS: '2000',
    });
    runtime = await startRuntime(config, { api: true, worker: true }, createLogger({ level: 'silent' }));
  });

  afterAll(async () => {
    await runtime?.stop();
    if (redis) await stopRedis(redis);
    await db?.drop();
    await dir?.remove();
  });

  const base = () => `http://127.0.0.1:${runtime.port}`;
  const post = async (projectId: string) => {
    const started = Date.now();
    const res = await fetch(`${base()}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'DEVTEAM_AUTOMATION', projectId, payload: {} }),
    });
    return { status: res.status, ms: Date.now() - started, body: (await res.json()) as { eventId: string } };
  };
  const statusOf = async (eventId: string) => ((await (await fetch(`${base()}/events/${eventId}`)).json()) as { status: string }).status;

  it('accepts events while Redis is down and processes them once it is back', async () => {
    const before = await post('before-outage');
    expect(before.status).toBe(202);
    // Handled by a worker: failed, because the project was never initialized (the reason is recorded).
    await eventually(async () => ((await statusOf(before.body.eventId)) === 'failed' ? true : undefined));

    await stopRedis(redis);
    const during = await post('during-outage');
    expect(during.status).toBe(202);
    expect(during.ms).toBeLessThan(4_000);
    expect(await statusOf(during.body.eventId)).toBe('received');
    const ready = await fetch(`${base()}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: Record<string, string> }).checks).toMatchObject({ database: 'ok', queue: expect.stringMatching(/^down/) });

    // Back, and empty: the job never reached it, only the outbox knows about the event.
    redis = await startRedis(redisPort);
    await eventually(async () => ((await statusOf(during.body.eventId)) === 'failed' ? true : undefined), 20_000, 'the event to be handled after Redis came back');
    const readyAgain = await eventually(async () => {
      const r = await fetch(`${base()}/readyz`);
      return r.status === 200 ? r : undefined;
    });
    expect(readyAgain.status).toBe(200);
  });
});
