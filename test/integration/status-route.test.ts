// GET /api/devteam/automation/status/{projectId} over real HTTP, reading the projection that the
// executions store keeps (embedded PGlite), with tenant isolation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { loadConfig } from '../../src/config.js';
import { openDatabase, PostgresExecutionsStore } from '../../src/infra/db/index.js';
import { createLogger } from '../../src/infra/log.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { createTestDatabase, tempDir, type TestDatabase } from '../support/services.js';

const ACME = 'acme-key-0123456789abcdef';
const BETA = 'beta-key-0123456789abcdef';

describe('GET /api/devteam/automation/status/{projectId}', () => {
  let db: TestDatabase;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let runtime: Runtime;
  let executionId: string;

  beforeAll(async () => {
    db = await createTestDatabase('status');
    dir = await tempDir('devteam-status');
    runtime = await startRuntime(
      loadConfig({ PORT: '0', DATABASE_URL: db.url, DEVTEAM_DATA_DIR: dir.path, DEVTEAM_API_KEYS: `acme:${ACME},beta:${BETA}`, DEVTEAM_STATUS_CACHE_MS: '300' }),
      { api: true, worker: false },
      createLogger({ level: 'silent' }),
    );
    const handle = await openDatabase({ url: db.url, dataDir: dir.path });
    const store = new PostgresExecutionsStore(handle.sql, { 'devteam-project': [1] });
    executionId = crypto.randomUUID();
    await store.create({
      id: executionId,
      tenant: 'acme',
      projectId: 'acme-web',
      eventId: null,
      config: {},
      machine: { id: 'devteam-project', version: 1 },
      snapshot: {},
      projection: {
        status: 'running',
        phase: 'verify',
        currentTask: { id: '2.1', title: 'Mount events router' },
        progress: { done: 4, total: 39 },
        attempt: 2,
        lastError: 'attempt 1: verification failed',
        results: { '1.1': { status: 'done', commit: 'abc123' } },
      },
    });
    await handle.close();
  });

  afterAll(async () => {
    await runtime?.stop();
    await db?.drop();
    await dir?.remove();
  });

  const get = (path: string, key: string) => fetch(`http://127.0.0.1:${runtime.port}${path}`, { headers: { authorization: `Bearer ${key}` } });

  it('returns the projection of the latest execution', async () => {
    const res = await get('/api/devteam/automation/status/acme-web', ACME);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      projectId: 'acme-web',
      executionId,
      status: 'running',
      phase: 'verify',
      currentTask: { id: '2.1', title: 'Mount events router' },
      progress: { done: 4, total: 39 },
      attempt: 2,
      lastError: 'attempt 1: verification failed',
      results: { '1.1': { status: 'done', commit: 'abc123' } },
      finishedAt: null,
    });
  });

  it("answers 404 for an unknown project and for another tenant's project", async () => {
    expect((await get('/api/devteam/automation/status/nope', ACME)).status).toBe(404);
    const other = await get('/api/devteam/automation/status/acme-web', BETA);
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('answers 400 for a malformed project id and 401 without a key', async () => {
    expect((await get('/api/devteam/automation/status/..%2Fetc', ACME)).status).toBe(400);
    expect((await get('/api/devteam/automation/status/%E0%A4%A', ACME)).status).toBe(400);
    expect((await fetch(`http://127.0.0.1:${runtime.port}/api/devteam/automation/status/acme-web`)).status).toBe(401);
  });

  it('answers from memory for at most the cache TTL when the row changes without a stream frame', async () => {
    const first = (await (await get('/api/devteam/automation/status/acme-web', ACME)).json()) as { attempt: number };
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      // Behind the service's back: no transition frame, so only the TTL bounds the staleness.
      await sql`UPDATE executions SET attempt = attempt + 1 WHERE id = ${executionId}`;
      const cached = (await (await get('/api/devteam/automation/status/acme-web', ACME)).json()) as { attempt: number };
      expect(cached.attempt).toBe(first.attempt);
      await new Promise((r) => setTimeout(r, 350));
      const fresh = (await (await get('/api/devteam/automation/status/acme-web', ACME)).json()) as { attempt: number };
      expect(fresh.attempt).toBe(first.attempt + 1);
    } finally {
      await sql.end();
    }
  });
});
