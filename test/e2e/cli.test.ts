// The real CLI as child processes: embedded (one process) and distributed (api + worker on real
// Postgres and Redis). An event goes in over HTTP and is followed until its row is processed.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { CLI, startCli, startService, type CliProcess } from '../support/cli-process.js';
import { createTestDatabase, dropRedisPrefix, eventually, REDIS_URL, tempDir, uniquePrefix, type TestDatabase } from '../support/services.js';

interface Accepted {
  taskId: string;
  eventId: string;
  correlationId: string;
}

async function postEvent(port: number, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

async function waitProcessed(port: number, eventId: string): Promise<Record<string, any>> {
  return eventually(
    async () => {
      const res = await fetch(`http://127.0.0.1:${port}/events/${eventId}`);
      const row = (await res.json()) as Record<string, any>;
      return row.status === 'processed' || row.status === 'failed' ? row : undefined;
    },
    15_000,
    `event ${eventId} to finish`,
  );
}

/** Every log line that names the event also carries its correlation and project ids. */
function expectStructuredEventLines(procs: CliProcess[], accepted: Accepted, projectId: string, messages: string[]): void {
  const lines = procs.flatMap((p) => p.lines).filter((l) => l.eventId === accepted.eventId);
  for (const msg of messages) expect(lines.map((l) => l.msg)).toContain(msg);
  for (const line of lines) expect(line).toMatchObject({ correlationId: accepted.correlationId, projectId });
}

describe('devteam serve (embedded)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let service: Awaited<ReturnType<typeof startService>>;

  beforeAll(async () => {
    dir = await tempDir('devteam-e2e');
    service = await startService(['serve'], { DEVTEAM_DATA_DIR: dir.path });
  });

  afterAll(async () => {
    await service?.proc.stop('SIGKILL');
    await dir?.remove();
  });

  it('takes an event over HTTP and the worker handles it: DEVTEAM_AUTOMATION for a project nobody initialized fails with the reason', async () => {
    const port = service.port!;
    const res = await postEvent(port, { type: 'DEVTEAM_AUTOMATION', projectId: 'acme-web', payload: {} }, { 'x-correlation-id': 'corr-e2e-1' });
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as Accepted;
    expect(accepted).toMatchObject({ eventId: expect.any(String), taskId: accepted.eventId, correlationId: 'corr-e2e-1' });
    expect(res.headers.get('x-correlation-id')).toBe('corr-e2e-1');

    const row = await waitProcessed(port, accepted.eventId);
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/^project acme-web is not initialized/);
    expect(row.queueLatencyMs).toBeGreaterThanOrEqual(0);
    expect(row.dispatchedAt).toBeTruthy();
    expect(row.attempts).toBe(1);
    await service.proc.waitForLine((l) => l.eventId === accepted.eventId && l.msg === 'event failed');
    expectStructuredEventLines([service.proc], accepted, 'acme-web', ['event accepted', 'event started', 'event failed']);
  });

  it('records an unknown event type as failed with the reason', async () => {
    const res = await postEvent(service.port!, { type: 'NO_SUCH_FLOW', projectId: 'acme-web', payload: {} });
    expect(res.status).toBe(202);
    const { eventId } = (await res.json()) as Accepted;
    const row = await waitProcessed(service.port!, eventId);
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/unknown event type "NO_SUCH_FLOW"/);
  });

  it('answers health and readiness', async () => {
    const health = await fetch(`http://127.0.0.1:${service.port}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`http://127.0.0.1:${service.port}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok', queue: 'ok' } });
  });

  it('keeps its data across a restart and exits 0 on SIGTERM', async () => {
    const res = await postEvent(service.port!, { type: 'DEVTEAM_AUTOMATION', projectId: 'keep-me', payload: {} });
    const { eventId } = (await res.json()) as Accepted;
    await waitProcessed(service.port!, eventId);
    const started = Date.now();
    expect(await service.proc.stop('SIGTERM')).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(service.proc.lines.some((l) => l.msg === 'stopped')).toBe(true);

    service = await startService(['serve'], { DEVTEAM_DATA_DIR: dir.path });
    const again = await fetch(`http://127.0.0.1:${service.port}/events/${eventId}`);
    expect(((await again.json()) as { status: string }).status).toBe('failed');
  });
});

describe('devteam api + worker (distributed, Postgres + Redis)', () => {
  let db: TestDatabase;
  const prefix = uniquePrefix('e2e');
  let api: Awaited<ReturnType<typeof startService>>;
  let worker: Awaited<ReturnType<typeof startService>>;

  beforeAll(async () => {
    db = await createTestDatabase('e2e');
    const env = { DATABASE_URL: db.url, REDIS_URL, DEVTEAM_REDIS_PREFIX: prefix };
    // Started one after the other: both apply migrations at start-up; the advisory lock makes that safe anyway.
    api = await startService(['api'], env);
    worker = await startService(['worker', '--concurrency', '6'], env);
  });

  afterAll(async () => {
    await api?.proc.stop('SIGKILL');
    await worker?.proc.stop('SIGKILL');
    await db?.drop();
    await dropRedisPrefix(prefix);
  });

  it('carries events from the API process to the worker process through BullMQ', async () => {
    const accepted = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const res = await postEvent(api.port!, { type: 'DEVTEAM_AUTOMATION', projectId: `p-${i % 3}`, payload: {} });
        expect(res.status).toBe(202);
        return (await res.json()) as Accepted;
      }),
    );
    // Handled by the worker process: none of these projects was initialized, so each fails with the reason.
    for (const a of accepted) expect(await waitProcessed(api.port!, a.eventId)).toMatchObject({ status: 'failed', error: expect.stringMatching(/is not initialized/) });
    expect(worker.port).toBeNull();
    const first = accepted[0]!;
    await worker.proc.waitForLine((l) => l.eventId === first.eventId && l.msg === 'event failed');
    expectStructuredEventLines([api.proc, worker.proc], first, 'p-0', ['event accepted', 'event started', 'event failed']);
    expect(worker.proc.lines.find((l) => l.msg === 'worker consuming')).toMatchObject({ concurrency: 6 });
  });

  it('processes events committed while no job was enqueued (the outbox)', async () => {
    // A row committed by an API that died before enqueueing: only the outbox can find it.
    const sql = postgres(db.url, { max: 1 });
    const eventId = crypto.randomUUID();
    await sql`INSERT INTO events (id, type, project_id, correlation_id, payload, created_at)
              VALUES (${eventId}, 'DEVTEAM_AUTOMATION', 'orphan', 'corr-orphan', '{}'::jsonb, now() - interval '1 minute')`;
    await sql.end();
    const row = await waitProcessed(api.port!, eventId);
    expect(row).toMatchObject({ status: 'failed', error: expect.stringMatching(/^project orphan is not initialized/) });
    await api.proc.waitForLine((l) => l.msg === 'outbox re-enqueued events');
  });

  it('drains in-flight work and exits 0 on SIGTERM', async () => {
    expect(await worker.proc.stop('SIGTERM')).toBe(0);
    expect(await api.proc.stop('SIGTERM')).toBe(0);
  });
});

describe('devteam CLI usage', () => {
  function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('prints help with every command', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    for (const command of ['serve', 'api', 'worker', 'migrate']) expect(stdout).toContain(command);
    const serve = await run(['serve', '--help']);
    expect(serve.stdout).toContain('--database-url');
    expect(serve.stdout).toContain('(env DATABASE_URL)');
  });

  it('refuses a bad configuration with a readable error and exit code 2', async () => {
    const { code, stderr } = await run(['serve'], { REDIS_URL: 'nonsense', PORT: '70000' });
    expect(code).toBe(2);
    expect(stderr).toContain('REDIS_URL: invalid URL');
    expect(stderr).toContain('PORT:');
  });

  it('refuses to run a lone worker without Redis', async () => {
    const { code, stderr } = await run(['worker']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/needs REDIS_URL/);
  });

  it('migrates, reports status, and is a no-op the second time', async () => {
    const dir = await tempDir('devteam-migrate');
    try {
      const first = await run(['migrate', '--data-dir', dir.path]);
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(/applied: .*001/);
      const second = await run(['migrate', '--data-dir', dir.path]);
      expect(second.stdout).toContain('nothing to apply');
      const status = await run(['migrate', '--status', '--data-dir', dir.path]);
      expect(status.stdout).toMatch(/001\s+applied/);
    } finally {
      await dir.remove();
    }
  });
});
