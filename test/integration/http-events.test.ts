// POST /events and GET /events/:id over real HTTP against the real runtime (embedded PGlite and,
// for the store-down case, real Postgres): every malformed-input class gets its status and body.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/infra/log.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { ADMIN_URL, createTestDatabase, eventually, tempDir, type TestDatabase } from '../support/services.js';

const silent = createLogger({ level: 'silent' });

async function post(port: number, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(`http://127.0.0.1:${port}/events`, { method: 'POST', headers, body });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

describe('POST /events input handling', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let runtime: Runtime;
  let port: number;

  beforeAll(async () => {
    dir = await tempDir('devteam-http');
    runtime = await startRuntime(loadConfig({ PORT: '0', DEVTEAM_DATA_DIR: dir.path, DEVTEAM_BODY_LIMIT: '1024' }), { api: true, worker: true }, silent);
    port = runtime.port!;
  });

  afterAll(async () => {
    await runtime?.stop();
    await dir?.remove();
  });

  it('accepts a valid event with 202 and generates a correlation id when none is given', async () => {
    const res = await post(port, JSON.stringify({ type: 'DEVTEAM_AUTOMATION', projectId: 'acme-web', payload: {} }));
    expect(res.status).toBe(202);
    expect(res.body.taskId).toBe(res.body.eventId);
    expect(res.body.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('x-correlation-id')).toBe(res.body.correlationId);
    expect(res.headers.get('location')).toBe(`/events/${res.body.eventId}`);
  });

  it('prefers the body correlationId over the header', async () => {
    const res = await post(port, JSON.stringify({ type: 'X', projectId: 'p', correlationId: 'from-body', payload: {} }), {
      'content-type': 'application/json; charset=utf-8',
      'x-correlation-id': 'from-header',
    });
    expect(res.status).toBe(202);
    expect(res.body.correlationId).toBe('from-body');
  });

  it('answers 415 for a body that is not JSON', async () => {
    for (const headers of [{ 'content-type': 'text/plain' }, {} as Record<string, string>]) {
      const res = await post(port, '{"type":"X"}', headers);
      expect(res.status).toBe(415);
      expect(res.body.error.code).toBe('unsupported_media_type');
    }
  });

  it('answers 400 for malformed or empty JSON', async () => {
    const bad = await post(port, '{"type": "X", ');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_json', message: expect.stringContaining('not valid JSON') });
    const empty = await post(port, '');
    expect(empty.status).toBe(400);
  });

  it('answers 422 naming each invalid field', async () => {
    const res = await post(port, JSON.stringify({ type: 'lower case', payload: [], extra: 1 }));
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('validation_failed');
    const fields = res.body.error.details.map((d: { field: string }) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['type', 'projectId', 'payload', '(body)']));
    expect(res.body.error.message).toContain('projectId:');
    const badId = await post(port, JSON.stringify({ type: 'X', projectId: '../etc', payload: {} }));
    expect(badId.status).toBe(422);
    expect(badId.body.error.details[0].field).toBe('projectId');
  });

  it('answers 413 from the declared length without reading the body', async () => {
    const res = await post(port, JSON.stringify({ type: 'X', projectId: 'p', payload: { blob: 'x'.repeat(2000) } }));
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ code: 'payload_too_large', details: { limit: 1024 } });
  });

  it('answers 413 while a chunked body is still streaming, before it is all sent', async () => {
    const chunks = 20;
    let sent = 0;
    const result = await new Promise<{ status: number; sentWhenAnswered: number }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/events', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } });
      req.on('response', (res) => {
        resolve({ status: res.statusCode!, sentWhenAnswered: sent });
        res.resume();
        req.destroy();
      });
      req.on('error', (error) => (sent < chunks ? undefined : reject(error)));
      const pump = () => {
        if (sent >= chunks || req.destroyed) return req.end();
        req.write('x'.repeat(400));
        sent++;
        setTimeout(pump, 30);
      };
      pump();
    });
    expect(result.status).toBe(413);
    expect(result.sentWhenAnswered).toBeLessThan(chunks);
  });

  it('reads an event back, and answers 400 for a malformed id and 404 for an unknown one', async () => {
    const { body } = await post(port, JSON.stringify({ type: 'DEVTEAM_AUTOMATION', projectId: 'readback', payload: {} }));
    const row = await eventually(async () => {
      const r = (await (await fetch(`http://127.0.0.1:${port}/events/${body.eventId}`)).json()) as any;
      // Handled: the project was never initialized, so the worker records why (see the automation path tests).
      return r.status === 'failed' ? r : undefined;
    });
    expect(row).toMatchObject({ id: body.eventId, projectId: 'readback', type: 'DEVTEAM_AUTOMATION' });
    const malformed = await fetch(`http://127.0.0.1:${port}/events/nope`);
    expect(malformed.status).toBe(400);
    const unknown = await fetch(`http://127.0.0.1:${port}/events/${crypto.randomUUID()}`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as any).error.code).toBe('not_found');
  });

  it('answers JSON 404 for unknown routes', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/nowhere`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.code).toBe('not_found');
  });
});

describe('POST /events with API keys', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let runtime: Runtime;

  beforeAll(async () => {
    dir = await tempDir('devteam-auth');
    runtime = await startRuntime(
      loadConfig({ PORT: '0', DEVTEAM_DATA_DIR: dir.path, DEVTEAM_API_KEYS: 'acme:acme-key-0123456789abcdef' }),
      { api: true, worker: false },
      silent,
    );
  });

  afterAll(async () => {
    await runtime?.stop();
    await dir?.remove();
  });

  it('refuses callers without a valid bearer key', async () => {
    const body = JSON.stringify({ type: 'X', projectId: 'p', payload: {} });
    expect((await post(runtime.port!, body)).status).toBe(401);
    const wrong = await post(runtime.port!, body, { 'content-type': 'application/json', authorization: 'Bearer not-the-key-xxxxxxxx' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.message).toBe('unknown API key');
    const ok = await post(runtime.port!, body, { 'content-type': 'application/json', authorization: 'Bearer acme-key-0123456789abcdef' });
    expect(ok.status).toBe(202);
  });
});

describe('POST /events when the store is down', () => {
  let db: TestDatabase;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let runtime: Runtime;
  const dbName = () => new URL(db.url).pathname.slice(1);

  beforeAll(async () => {
    db = await createTestDatabase('down');
    dir = await tempDir('devteam-down');
    runtime = await startRuntime(loadConfig({ PORT: '0', DATABASE_URL: db.url, DEVTEAM_DATA_DIR: dir.path }), { api: true, worker: false }, silent);
  });

  afterAll(async () => {
    await runtime?.stop();
    await db?.drop();
    await dir?.remove();
  });

  it('fails fast with 503 and recovers by itself when the database comes back', async () => {
    const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`ALTER DATABASE ${dbName()} ALLOW_CONNECTIONS false`);
      await admin.unsafe(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${dbName()}'`);
      const body = JSON.stringify({ type: 'X', projectId: 'p', payload: {} });
      const started = Date.now();
      const res = await post(runtime.port!, body);
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('store_unavailable');
      expect(Date.now() - started).toBeLessThan(1_500);
      const ready = await fetch(`http://127.0.0.1:${runtime.port}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as any).checks.database).toMatch(/^down/);

      await admin.unsafe(`ALTER DATABASE ${dbName()} ALLOW_CONNECTIONS true`);
      const recovered = await eventually(async () => {
        const r = await post(runtime.port!, body);
        return r.status === 202 ? r : undefined;
      });
      expect(recovered.body.eventId).toBeTruthy();
    } finally {
      await admin.unsafe(`ALTER DATABASE ${dbName()} ALLOW_CONNECTIONS true`).catch(() => {});
      await admin.end();
    }
  });
});
