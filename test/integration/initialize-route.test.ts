// POST /api/devteam/automation/initialize over real HTTP on real Postgres and Redis: the execution
// and its starting event are stored together, a running project is refused, and Idempotency-Key
// makes retries safe (same body → 409 + Location of the original, other body → 409 with why).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/infra/log.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { capableWorkers } from '../support/capable-workers.js';
import { createTestDatabase, dropRedisPrefix, REDIS_URL, tempDir, uniquePrefix, type TestDatabase } from '../support/services.js';

const ACME = 'acme-key-0123456789abcdef';
const BETA = 'beta-key-0123456789abcdef';

describe('POST /api/devteam/automation/initialize', () => {
  let db: TestDatabase;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let runtime: Runtime;
  let sql: postgres.Sql;
  const prefix = uniquePrefix('init');

  beforeAll(async () => {
    db = await createTestDatabase('init');
    dir = await tempDir('devteam-init');
    runtime = await startRuntime(
      loadConfig({
        PORT: '0',
        DATABASE_URL: db.url,
        REDIS_URL,
        DEVTEAM_REDIS_PREFIX: prefix,
        DEVTEAM_DATA_DIR: dir.path,
        DEVTEAM_API_KEYS: `acme:${ACME},beta:${BETA}`,
      }),
      { api: true, worker: false },
      createLogger({ level: 'silent' }),
      // No worker drives these projects (they stay at select); one that could is announced.
      { workers: await capableWorkers() },
    );
    sql = postgres(db.url, { max: 1, onnotice: () => {} });
  });

  afterAll(async () => {
    await runtime?.stop();
    await sql?.end();
    await db?.drop();
    await dir?.remove();
    await dropRedisPrefix(prefix);
  });

  const body = (projectId: string, over: Record<string, unknown> = {}) => ({
    projectId,
    repository: { url: 'https://git.example.com/acme/web.git', credentials: { tokenEnv: 'DEVTEAM_SECRET_ACME__GIT_TOKEN' } },
    ...over,
  });
  const init = (payload: unknown, headers: Record<string, string> = {}, key = ACME) =>
    fetch(`http://127.0.0.1:${runtime.port}/api/devteam/automation/initialize`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(payload),
    });

  it('stores the execution and its starting event together and answers 202 with the status Location', async () => {
    const res = await init(body('web'));
    expect(res.status).toBe(202);
    const reply = (await res.json()) as { executionId: string; eventId: string; status: string };
    expect(reply).toMatchObject({ executionId: expect.any(String), eventId: expect.any(String), status: 'running' });
    expect(res.headers.get('location')).toBe('/api/devteam/automation/status/web');
    const status = await fetch(`http://127.0.0.1:${runtime.port}${res.headers.get('location')}`, { headers: { authorization: `Bearer ${ACME}` } });
    expect(await status.json()).toMatchObject({ executionId: reply.executionId, status: 'running', phase: 'select' });
    const [event] = await sql`SELECT type, project_id, payload FROM events WHERE id = ${reply.eventId}`;
    expect(event).toMatchObject({ type: 'DEVTEAM_AUTOMATION', project_id: 'web', payload: { executionId: reply.executionId, tenant: 'acme' } });
    const [project] = await sql`SELECT config FROM projects WHERE tenant = 'acme' AND project_id = 'web'`;
    expect(project!.config).toMatchObject({ repository: { credentials: { tokenEnv: 'DEVTEAM_SECRET_ACME__GIT_TOKEN' } }, agent: { preset: 'aider' } });
  });

  it('refuses a second initialize of a running project with 409, and another tenant may use the same id', async () => {
    await init(body('busy'));
    const again = await init(body('busy'));
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'conflict', message: expect.stringContaining('already has a live execution') });
    const betaBody = body('busy', { repository: { url: 'https://git.example.com/beta/web.git', credentials: { tokenEnv: 'DEVTEAM_SECRET_BETA__GIT_TOKEN' } } });
    expect((await init(betaBody, {}, BETA)).status).toBe(202);
  });

  it('answers a repeated Idempotency-Key with 409 and the Location of the original execution', async () => {
    const first = await init(body('idem'), { 'idempotency-key': 'retry-1' });
    const { executionId } = (await first.json()) as { executionId: string };
    const repeat = await init(body('idem'), { 'idempotency-key': 'retry-1' });
    expect(repeat.status).toBe(409);
    expect(repeat.headers.get('location')).toBe('/api/devteam/automation/status/idem');
    expect(((await repeat.json()) as { error: { details: unknown } }).error.details).toMatchObject({ executionId });
    const other = await init(body('idem', { limits: { cpus: 2 } }), { 'idempotency-key': 'retry-1' });
    expect(other.status).toBe(409);
    expect(((await other.json()) as { error: { message: string } }).error.message).toMatch(/different body/);
  });

  it('lets exactly one of 50 concurrent requests with the same key create the execution', async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, () => init(body('stampede'), { 'idempotency-key': 'stampede-key' }).then((r) => r.status)));
    expect(answers.filter((s) => s === 202)).toHaveLength(1);
    expect(answers.filter((s) => s === 409)).toHaveLength(49);
    const [{ n }] = (await sql`SELECT count(*)::int AS n FROM executions WHERE project_id = 'stampede'`) as unknown as [{ n: number }];
    expect(n).toBe(1);
  });

  it('forgets the key of a request that created nothing, so it can be retried', async () => {
    await init(body('held'));
    expect((await init(body('held'), { 'idempotency-key': 'after-conflict' })).status).toBe(409);
    const [{ n }] = (await sql`SELECT count(*)::int AS n FROM executions WHERE project_id = 'held'`) as unknown as [{ n: number }];
    expect(n).toBe(1);
    // Same key, other project: not a replay, because the first use created nothing.
    expect((await init(body('held-2'), { 'idempotency-key': 'after-conflict' })).status).toBe(202);
  });

  it('answers 422 naming the field for an invalid body, and never stores a URL with credentials', async () => {
    const res = await init(body('bad', { repository: { url: 'https://user:s3cret@git.example.com/x.git' } }));
    expect(res.status).toBe(422);
    const text = await res.text();
    expect(text).toContain('repository.url');
    expect(text).not.toContain('s3cret');
    const [{ n }] = (await sql`SELECT count(*)::int AS n FROM projects WHERE project_id = 'bad'`) as unknown as [{ n: number }];
    expect(n).toBe(0);
  });
});
