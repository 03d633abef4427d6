// POST /api/devteam/automation/{pause,resume,stop}/{projectId} over real HTTP on real Postgres:
// the machine decides, 409s carry from/command, and concurrent commands leave a consistent state.
import { initialTransition } from 'xstate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openDatabase, PostgresExecutionsStore, type Database, type ExecutionsStore } from '../../src/infra/db/index.js';
import { createLogger } from '../../src/infra/log.js';
import { projectionOf, projectMachine } from '../../src/machines/index.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { createTestDatabase, tempDir, type TestDatabase } from '../support/services.js';

const ACME = 'acme-key-0123456789abcdef';
const BETA = 'beta-key-0123456789abcdef';

describe('control commands over HTTP', () => {
  let db: TestDatabase;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let runtime: Runtime;
  let handle: Database;
  let store: ExecutionsStore;

  beforeAll(async () => {
    db = await createTestDatabase('control');
    dir = await tempDir('devteam-control');
    runtime = await startRuntime(
      loadConfig({ PORT: '0', DATABASE_URL: db.url, DEVTEAM_DATA_DIR: dir.path, DEVTEAM_API_KEYS: `acme:${ACME},beta:${BETA}` }),
      { api: true, worker: false },
      createLogger({ level: 'silent' }),
    );
    handle = await openDatabase({ url: db.url, dataDir: dir.path });
    store = new PostgresExecutionsStore(handle.sql, { 'devteam-project': [1] });
  });

  afterAll(async () => {
    await runtime?.stop();
    await handle?.close();
    await db?.drop();
    await dir?.remove();
  });

  async function running(projectId: string, spoil?: (snapshot: Record<string, unknown>) => unknown): Promise<string> {
    const id = crypto.randomUUID();
    const [initial] = initialTransition(projectMachine, { projectId, executionId: id });
    const snapshot = projectMachine.getPersistedSnapshot(initial) as Record<string, unknown>;
    await store.create({
      id,
      tenant: 'acme',
      projectId,
      eventId: null,
      config: {},
      machine: { id: 'devteam-project', version: 1 },
      snapshot: spoil ? spoil(snapshot) : snapshot,
      projection: projectionOf(initial),
    });
    return id;
  }

  const post = (command: string, projectId: string, key = ACME) =>
    fetch(`http://127.0.0.1:${runtime.port}/api/devteam/automation/${command}/${projectId}`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
  const status = async (projectId: string) =>
    (await (await fetch(`http://127.0.0.1:${runtime.port}/api/devteam/automation/status/${projectId}`, { headers: { authorization: `Bearer ${ACME}` } })).json()) as {
      status: string;
    };

  it('pauses, resumes and stops, answering 202 with the new status', async () => {
    const executionId = await running('cycle');
    const pause = await post('pause', 'cycle');
    expect(pause.status).toBe(202);
    expect(await pause.json()).toMatchObject({ projectId: 'cycle', executionId, command: 'pause', from: 'running', status: 'paused' });
    expect((await status('cycle')).status).toBe('paused');
    expect(await (await post('resume', 'cycle')).json()).toMatchObject({ from: 'paused', status: 'running' });
    expect(await (await post('stop', 'cycle')).json()).toMatchObject({ from: 'running', status: 'stopping' });
    expect((await status('cycle')).status).toBe('stopping');
  });

  it('answers 409 invalid_transition with from and command', async () => {
    await running('conflict');
    const res = await post('resume', 'conflict');
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({
      error: { code: 'invalid_transition', message: 'cannot resume a project that is running', details: { from: 'running', command: 'resume' } },
    });
  });

  it('answers 409 conflict, without a stack or the failing fields, when the stored snapshot fails its schema', async () => {
    await running('spoiled', (snapshot) => ({ ...snapshot, value: { running: 'no-such-phase' } }));
    for (const command of ['pause', 'stop']) {
      const res = await post(command, 'spoiled');
      expect(res.status).toBe(409);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({
        error: {
          code: 'conflict',
          message: "the project's stored state is invalid and cannot be read by this build; it must be repaired before any command applies",
          details: { reason: 'invalid_snapshot' },
        },
      });
      expect(text).not.toMatch(/\bat .+:\d+:\d+|no-such-phase/);
    }
    // Nothing was written: the row is as it was stored.
    expect(await store.latest('acme', 'spoiled')).toMatchObject({ version: 0, projection: { status: 'running' } });
  });

  it('resumes a failed execution in place once: 202 to running with resumes 1, then 409 from running; another tenant gets 404', async () => {
    // A run that failed at task 1.2 after 1.1 was done, stored as the machine leaves it.
    const failedAt = (snapshot: Record<string, unknown>) => ({
      ...snapshot,
      value: 'failed',
      context: {
        ...(snapshot.context as object),
        phase: 'verify',
        task: { id: '1.2', title: 'two' },
        attempt: 3,
        lastError: 'task 1.2: verification failed after 3 attempts',
        reason: 'verify_failed',
        progress: { done: 1, total: 2 },
        results: {
          '1.1': { status: 'done', attempts: 1, commit: 'abc', error: null, finishedAt: '2026-01-02T03:04:05.000Z' },
          '1.2': { status: 'failed', reason: 'verify_failed', attempts: 3, commit: null, error: 'x', finishedAt: '2026-01-02T03:04:06.000Z' },
        },
      },
      children: {},
    });
    const executionId = await running('failed-run', failedAt);
    // The stored status row as the failing worker wrote it.
    await handle.sql`UPDATE executions SET status = 'failed' WHERE id = ${executionId}`;
    expect((await post('resume', 'failed-run', BETA)).status).toBe(404);
    const res = await post('resume', 'failed-run');
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ executionId, command: 'resume', from: 'failed', status: 'running' });
    const after = (await (await fetch(`http://127.0.0.1:${runtime.port}/api/devteam/automation/status/failed-run`, { headers: { authorization: `Bearer ${ACME}` } })).json()) as Record<string, any>;
    expect(after).toMatchObject({ executionId, status: 'running', phase: 'select', resumes: 1, lastError: null, finishedAt: null });
    expect(Object.keys(after.results)).toEqual(['1.1']);
    const again = await post('resume', 'failed-run');
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: { code: 'invalid_transition', details: { from: 'running', command: 'resume' } } });
  });

  it("answers 404 for an unknown project and for another tenant's, 400 for a malformed id", async () => {
    await running('acme-only');
    expect((await post('pause', 'nobody-here')).status).toBe(404);
    const other = await post('pause', 'acme-only', BETA);
    expect(other.status).toBe(404);
    expect((await status('acme-only')).status).toBe('running');
    const bad = await post('pause', '..%2Fetc');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_id');
    expect((await post('pause', 'x', 'wrong-key-0123456789abcdef')).status).toBe(401);
  });

  it('keeps 50 concurrent pause/resume/stop calls consistent: every answer matches the stored state', async () => {
    await running('race');
    const commands = Array.from({ length: 50 }, (_, i) => ['pause', 'resume', 'stop', 'pause', 'resume'][(i * 3) % 5]!);
    const answers = await Promise.all(
      commands.map(async (command) => {
        const res = await post(command, 'race');
        return { command, code: res.status, body: (await res.json()) as { from?: string; status?: string; version?: number; error?: { details: { from: string } } } };
      }),
    );
    expect(answers.every((a) => a.code === 202 || a.code === 409)).toBe(true);
    const accepted = answers.filter((a) => a.code === 202).sort((a, b) => a.body.version! - b.body.version!);
    expect(accepted.map((a) => a.body.version)).toEqual(accepted.map((_, i) => i + 1));
    let state = 'running';
    const visited = new Set([state]);
    for (const a of accepted) {
      expect(a.body.from).toBe(state);
      state = a.body.status!;
      visited.add(state);
    }
    for (const refused of answers.filter((a) => a.code === 409)) expect(visited).toContain(refused.body.error!.details.from);
    expect((await status('race')).status).toBe(state);
    expect(state).toBe('stopping');
  });
});
