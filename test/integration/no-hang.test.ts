// No request hangs and no error leaks a stack: the HTTP app over real uWS, with dependencies that
// fail every way a dependency can — throw synchronously, reject with something that is not an
// Error, or never answer. Every route answers within its deadlines with {error:{code,message}}.
import { initialTransition } from 'xstate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpServer, StatusCache, type HttpDeps, type HttpServer } from '../../src/http/index.js';
import { createLogger } from '../../src/infra/log.js';
import { Metrics } from '../../src/infra/metrics/index.js';
import { projectionOf, projectMachine, PROJECT_MACHINE_ID, PROJECT_MACHINE_VERSION } from '../../src/machines/index.js';
import { apiClient, type ApiClient, type Reply } from '../support/api-client.js';

type Mode = 'throw' | 'reject' | 'never' | 'ok';
const modes: Record<string, Mode> = {};
const never = () => new Promise<never>(() => {});

/** A dependency method that fails the way the test currently asks for. */
function failing<T>(name: string, ok: () => T): () => T {
  return () => {
    const mode = modes[name] ?? 'ok';
    if (mode === 'throw') throw new TypeError(`${name} blew up synchronously`);
    if (mode === 'reject') return Promise.reject(`${name} rejected with a string`) as T;
    if (mode === 'never') return never() as T;
    return ok();
  };
}

function runningExecution(projectId: string) {
  const id = crypto.randomUUID();
  const [initial] = initialTransition(projectMachine, { projectId, executionId: id });
  return {
    id,
    tenant: 'local',
    projectId,
    eventId: null,
    machineId: PROJECT_MACHINE_ID,
    machineVersion: PROJECT_MACHINE_VERSION,
    snapshot: projectMachine.getPersistedSnapshot(initial),
    version: 0,
    ownerEpoch: 0,
    projection: projectionOf(initial),
    createdAt: new Date(),
    updatedAt: new Date(),
    finishedAt: null,
  };
}

function expectErrorBody(reply: Reply, status: number, code: string): void {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.body).toMatchObject({ error: { code, message: expect.any(String) } });
  expect(Object.keys(reply.body)).toEqual(['error']);
  expect(reply.text).not.toMatch(/\bat .+:\d+:\d+|blew up|rejected with/);
}

describe('every route answers whatever its dependencies do', () => {
  let server: HttpServer;
  let api: ApiClient;

  beforeAll(async () => {
    const execution = runningExecution('web');
    const metrics = new Metrics();
    // A command store that really decides, so the after-commit paths (stream, notify) are reached.
    type Decide = (current: typeof execution) => { snapshot: unknown; projection: typeof execution.projection } | null;
    const applyCommand = async (_tenant: string, _projectId: string, decide: Decide) => {
      const next = decide(execution);
      return { record: next ? { ...execution, ...next, version: 1 } : execution, changed: Boolean(next) };
    };
    const deps = {
      log: createLogger({ level: 'silent' }),
      bodyLimit: 64 * 1024,
      apiKeys: new Map<string, string>(),
      enqueueTimeoutMs: 200,
      statusCache: new StatusCache(0),
      events: {
        insert: failing('events.insert', async () => {}),
        getForTenant: failing('events.get', async () => null),
      },
      executions: {
        latest: failing('executions.latest', async () => execution),
        get: failing('executions.get', async () => execution),
        applyCommand: (tenant: string, projectId: string, decide: Decide) => failing('executions.applyCommand', () => applyCommand(tenant, projectId, decide))(),
        create: failing('executions.create', async () => execution),
      },
      artifacts: { list: failing('artifacts.list', async () => []) },
      queue: { enqueue: failing('queue.enqueue', async () => {}), ping: async () => {} },
      kv: { setIfAbsent: failing('kv.setIfAbsent', async () => true), get: async () => null, delete: async () => {} },
      frames: {
        append: failing('frames.append', async () => ({})),
        since: async () => ({ frames: [], complete: true, lastSeq: 0 }),
        subscribe: async () => async () => {},
        close: async () => {},
      },
      notifyExecution: failing('notify', async () => {}),
      readiness: [{ name: 'database', check: failing('readiness', async () => {}) }],
      metrics: Object.assign(Object.create(metrics) as Metrics, { text: failing('metrics.text', () => metrics.text()) }),
    };
    server = await startHttpServer(deps as unknown as HttpDeps, { host: '127.0.0.1', port: 0 });
    api = apiClient(server.port);
  });

  afterAll(async () => {
    server?.close();
    await server?.drain(1_000);
  });

  const within = async (ms: number, call: () => Promise<Reply>) => {
    const started = performance.now();
    const reply = await call();
    expect(performance.now() - started, `answered after ${Math.round(performance.now() - started)} ms`).toBeLessThan(ms);
    return reply;
  };

  const failures: Array<[Mode, number, string]> = [
    ['throw', 500, 'internal_error'],
    ['reject', 500, 'internal_error'],
    ['never', 503, 'store_unavailable'],
  ];
  const initBody = { projectId: 'web', repository: { url: 'https://git.example.com/x.git' } };

  for (const [mode, status, code] of failures) {
    it(`answers every store-backed route when the store ${mode === 'never' ? 'never answers' : `${mode}s`}`, async () => {
      const routes: Array<[string, () => Promise<Reply>]> = [
        ['events.insert', () => api.post('/events', { type: 'X', projectId: 'p', payload: {} })],
        ['events.get', () => api.get(`/events/${crypto.randomUUID()}`)],
        ['executions.latest', () => api.get('/api/devteam/automation/status/web')],
        ['executions.applyCommand', () => api.post('/api/devteam/automation/pause/web', '')],
        ['executions.get', () => api.get(`/api/devteam/automation/executions/${crypto.randomUUID()}/artifacts`)],
        ['executions.create', () => api.post('/api/devteam/automation/initialize', initBody)],
        ['kv.setIfAbsent', () => api.post('/api/devteam/automation/initialize', initBody, { headers: { 'idempotency-key': 'k-1' } })],
      ];
      for (const [dependency, call] of routes) {
        modes[dependency] = mode;
        try {
          expectErrorBody(await within(1_500, call), status, code);
        } finally {
          delete modes[dependency];
        }
      }
    });
  }

  it('answers 202 when the queue, the stream or the worker notice hang or fail after the commit', async () => {
    for (const mode of ['throw', 'reject', 'never'] as const) {
      modes['queue.enqueue'] = modes['frames.append'] = modes.notify = mode;
      try {
        expect((await within(2_000, () => api.post('/events', { type: 'X', projectId: 'p', payload: {} }))).status).toBe(202);
        expect((await within(3_500, () => api.post('/api/devteam/automation/initialize', initBody))).status).toBe(202);
        const paused = await within(3_000, () => api.post('/api/devteam/automation/pause/web', ''));
        expect(paused.status, paused.text).toBe(202);
      } finally {
        delete modes['queue.enqueue'];
        delete modes['frames.append'];
        delete modes.notify;
      }
    }
  });

  it('answers /readyz and /metrics whatever their checks do', async () => {
    for (const mode of ['throw', 'reject', 'never'] as const) {
      modes.readiness = mode;
      const ready = await within(1_500, () => api.get('/readyz'));
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ status: 'unavailable', checks: { database: expect.stringMatching(/^down/) } });
      delete modes.readiness;
      modes['metrics.text'] = mode === 'never' ? 'throw' : mode;
      expectErrorBody(await within(1_500, () => api.get('/metrics')), 500, 'internal_error');
      delete modes['metrics.text'];
    }
    expect((await api.get('/readyz')).status).toBe(200);
    expect((await api.get('/metrics')).status).toBe(200);
  });

  it('answers malformed ids, unknown routes and bad bodies with the error body', async () => {
    expectErrorBody(await api.get('/events/%00'), 400, 'invalid_id');
    expectErrorBody(await api.get('/api/devteam/automation/status/%ff'), 400, 'invalid_id');
    expectErrorBody(await api.post('/api/devteam/automation/stop/..%2F..', ''), 400, 'invalid_id');
    expectErrorBody(await api.request('PUT', '/events'), 404, 'not_found');
    expectErrorBody(await api.post('/events', '{"type":'), 400, 'invalid_json');
    expectErrorBody(await api.post('/events', 'x', { headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
    expectErrorBody(await api.post('/api/devteam/automation/initialize', initBody, { headers: { 'idempotency-key': 'a b' } }), 422, 'validation_failed');
  });
});
