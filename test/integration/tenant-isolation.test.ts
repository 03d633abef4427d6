// Every read and command by id, attacked by another tenant over real HTTP on real Postgres: each
// answers exactly what an unknown id answers (404, same body shape), and changes nothing.
import WebSocket from 'ws';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openDatabase, PostgresArtifactsStore, type Database } from '../../src/infra/db/index.js';
import { createLogger } from '../../src/infra/log.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { capableWorkers } from '../support/capable-workers.js';
import { apiClient, type ApiClient, type Reply } from '../support/api-client.js';
import { createTestDatabase, eventually, tempDir, type TestDatabase } from '../support/services.js';

const ACME = 'acme-key-0123456789abcdef';
const BETA = 'beta-key-0123456789abcdef';

/** The reply with every occurrence of `id` replaced, to compare "someone else's" with "unknown". */
const shape = (reply: Reply, id: string) => ({ status: reply.status, body: JSON.parse(reply.text.replaceAll(id, '<id>')) as unknown });

describe('tenant isolation of reads and commands by id', () => {
  let db: TestDatabase;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let runtime: Runtime;
  let sql: postgres.Sql;
  let handle: Database;
  let acme: ApiClient;
  let beta: ApiClient;
  let initialized: { executionId: string; eventId: string };

  beforeAll(async () => {
    db = await createTestDatabase('tenancy');
    dir = await tempDir('devteam-tenancy');
    runtime = await startRuntime(
      loadConfig({ PORT: '0', DATABASE_URL: db.url, DEVTEAM_DATA_DIR: dir.path, DEVTEAM_API_KEYS: `acme:${ACME},beta:${BETA}`, DEVTEAM_STATUS_CACHE_MS: '0' }),
      { api: true, worker: false },
      createLogger({ level: 'silent' }),
      { workers: await capableWorkers() },
    );
    sql = postgres(db.url, { max: 1, onnotice: () => {} });
    handle = await openDatabase({ url: db.url, dataDir: dir.path });
    acme = apiClient(runtime.port!, ACME);
    beta = apiClient(runtime.port!, BETA);
    const res = await acme.post('/api/devteam/automation/initialize', { projectId: 'secret-web', repository: { url: 'https://git.example.com/acme/web.git' } });
    expect(res.status).toBe(202);
    initialized = res.body;
  });

  afterAll(async () => {
    await runtime?.stop();
    await handle?.close();
    await sql?.end();
    await db?.drop();
    await dir?.remove();
  });

  it("GET /events/{id} of another tenant's event answers 404 exactly like an unknown id", async () => {
    const posted = await acme.post('/events', { type: 'X', projectId: 'p', payload: { secret: 'acme only' } });
    expect(posted.status).toBe(202);
    const id = posted.body.eventId as string;
    expect((await acme.get(`/events/${id}`)).body).toMatchObject({ id, payload: { secret: 'acme only' } });

    const stolen = await beta.get(`/events/${id}`);
    expect(stolen.text).not.toContain('acme only');
    const unknownId = crypto.randomUUID();
    expect(shape(stolen, id)).toEqual(shape(await beta.get(`/events/${unknownId}`), unknownId));
    expect(stolen.status).toBe(404);

    // The event that initialize recorded is the tenant's too.
    expect((await acme.get(`/events/${initialized.eventId}`)).status).toBe(200);
    expect((await beta.get(`/events/${initialized.eventId}`)).status).toBe(404);
  });

  it('POST /events records the caller as the tenant of the event', async () => {
    const posted = await beta.post('/events', { type: 'X', projectId: 'p', payload: {} });
    const [row] = await sql`SELECT tenant FROM events WHERE id = ${posted.body.eventId}`;
    expect(row).toEqual({ tenant: 'beta' });
    const [started] = await sql`SELECT tenant FROM events WHERE id = ${initialized.eventId}`;
    expect(started).toEqual({ tenant: 'acme' });
  });

  it("GET status of another tenant's project answers 404 exactly like an unknown project", async () => {
    expect((await acme.get('/api/devteam/automation/status/secret-web')).status).toBe(200);
    const stolen = await beta.get('/api/devteam/automation/status/secret-web');
    expect(stolen.text).not.toContain(initialized.executionId);
    expect(shape(stolen, 'secret-web')).toEqual(shape(await beta.get('/api/devteam/automation/status/never-web'), 'never-web'));
    expect(stolen.status).toBe(404);
  });

  it("GET artifacts of another tenant's execution answers 404 exactly like an unknown one", async () => {
    await new PostgresArtifactsStore(handle.sql).put({ executionId: initialized.executionId, taskId: '1.1', attempt: 1, kind: 'diff', content: 'acme diff' });
    const path = (id: string) => `/api/devteam/automation/executions/${id}/artifacts?content=1`;
    expect((await acme.get(path(initialized.executionId))).text).toContain('acme diff');
    const stolen = await beta.get(path(initialized.executionId));
    expect(stolen.text).not.toContain('acme diff');
    const unknownId = crypto.randomUUID();
    expect(shape(stolen, initialized.executionId)).toEqual(shape(await beta.get(path(unknownId)), unknownId));
    expect(stolen.status).toBe(404);
  });

  it("pause, resume and stop of another tenant's project answer 404 like an unknown project and change nothing", async () => {
    const [before] = await sql`SELECT status, version::int FROM executions WHERE id = ${initialized.executionId}`;
    for (const command of ['pause', 'resume', 'stop']) {
      const stolen = await beta.post(`/api/devteam/automation/${command}/secret-web`, '', { headers: { 'content-type': 'application/json' } });
      const unknown = await beta.post(`/api/devteam/automation/${command}/never-web`, '', { headers: { 'content-type': 'application/json' } });
      expect(stolen.status).toBe(404);
      expect(shape(stolen, 'secret-web')).toEqual(shape(unknown, 'never-web'));
    }
    const [after] = await sql`SELECT status, version::int FROM executions WHERE id = ${initialized.executionId}`;
    expect(after).toEqual(before);
    expect(before).toMatchObject({ status: 'running' });
  });

  it("a stream subscription to another tenant's project answers exactly like one to an unused id and never carries its frames", async () => {
    /** Every frame a subscriber of `projectId` gets until a round trip after `act`, the close code if closed, `ts` and the id masked. */
    const session = async (key: string, projectId: string, lastSeq: number | undefined, act: () => Promise<void> = async () => {}) => {
      const ws = new WebSocket(`ws://127.0.0.1:${runtime.port}/ws/devteam`, { headers: { authorization: `Bearer ${key}` } });
      const frames: Array<Record<string, unknown>> = [];
      let closed: number | null = null;
      ws.on('close', (code) => (closed = code));
      ws.on('message', (d) => frames.push(JSON.parse(String(d)) as Record<string, unknown>));
      await new Promise((r) => ws.on('open', r));
      ws.send(JSON.stringify({ type: 'subscribe', projectId, lastSeq }));
      // Without a lastSeq the subscription is answered (a resync); with one nothing is missed, so nothing comes.
      if (lastSeq === undefined) await eventually(async () => (frames.some((f) => f.type === 'resync') || closed !== null ? true : undefined), 5_000, 'the resync');
      // Answered in order: after the error frame for the malformed message, everything before it is here.
      const roundTrip = async () => {
        const errors = frames.filter((f) => f.type === 'error').length;
        ws.send('{');
        await eventually(async () => (frames.filter((f) => f.type === 'error').length > errors || closed !== null ? true : undefined), 5_000, 'a round trip');
      };
      await roundTrip();
      await act();
      await roundTrip();
      ws.close();
      return { closed, frames: JSON.parse(JSON.stringify(frames).replaceAll(projectId, '<id>').replace(/"ts":\d+/g, '"ts":0')) as unknown };
    };
    // Acme's project changes while beta watches its id: pause and resume publish status frames (to acme only).
    const acmeSeen = await session(ACME, 'secret-web', undefined, async () => {
      const bothWays = async () => {
        expect((await acme.post('/api/devteam/automation/pause/secret-web', '', { headers: { 'content-type': 'application/json' } })).status).toBe(202);
        expect((await acme.post('/api/devteam/automation/resume/secret-web', '', { headers: { 'content-type': 'application/json' } })).status).toBe(202);
      };
      const stolen = await session(BETA, 'secret-web', undefined, bothWays);
      const unused = await session(BETA, 'never-web', undefined);
      expect(stolen).toEqual(unused);
      expect(stolen.closed).toBeNull();
      expect(JSON.stringify(stolen)).not.toContain(initialized.executionId);
      expect((stolen.frames as Array<{ type: string }>).map((f) => f.type)).toEqual(['hello', 'resync', 'error', 'error']);
      // Resuming from a seq: the same, nothing replayed.
      expect(await session(BETA, 'secret-web', 0)).toEqual(await session(BETA, 'never-web', 0));
    });
    // The frames were published: acme, subscribed all along, got both transitions.
    const statuses = (acmeSeen.frames as Array<{ type: string; payload: { status?: string } | null }>).filter((f) => f.type === 'execution-update').map((f) => f.payload?.status);
    expect(statuses).toEqual(['paused', 'running']);
  });

  it('initialize by another tenant with the same project id is its own project and leaves the first untouched', async () => {
    const res = await beta.post('/api/devteam/automation/initialize', { projectId: 'secret-web', repository: { url: 'https://git.example.com/beta/web.git' } });
    expect(res.status).toBe(202);
    expect(res.body.executionId).not.toBe(initialized.executionId);
    const acmeStatus = await acme.get('/api/devteam/automation/status/secret-web');
    expect(acmeStatus.body).toMatchObject({ executionId: initialized.executionId });
    const [config] = await sql`SELECT config FROM projects WHERE tenant = 'acme' AND project_id = 'secret-web'`;
    expect(config!.config.repository.url).toBe('https://git.example.com/acme/web.git');
  });
});
