// Regression: a request must never wedge or desynchronise a database connection. Poison bodies (a
// 5,000-level payload, U+0000, lone surrogates) are sent in the middle of ~200 ordinary concurrent
// requests, on real Postgres and on the embedded PGlite: every ordinary request gets its own
// event back, every poison one a 4xx, and the service stays ready. Below the edge, the same poison
// handed straight to the stores and the driver fails alone, as a data error.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { storeError } from '../../src/app/store-call.js';
import { migrate, openDatabase, PostgresEventsStore, type Database, type EventsStore } from '../../src/infra/db/index.js';
import { createLogger } from '../../src/infra/log.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { apiClient, nestedJson, type ApiClient } from '../support/api-client.js';
import { createTestDatabase, tempDir, type TestDatabase } from '../support/services.js';

const ORDINARY = 200;
const POISON = [
  `{"type":"X","projectId":"p","payload":{"deep":${nestedJson(5_000)}}}`,
  '{"type":"X","projectId":"p","payload":{"nul":"a\\u0000b"}}',
  '{"type":"X","projectId":"p","payload":{"k\\u0000":"v"}}',
  '{"type":"X","projectId":"p","payload":{"lone":"\\ud800"}}',
  '{"type":"X","projectId":"p","payload":{"\\udfff":"v"}}',
];

const backends: Array<{ name: string; start: () => Promise<{ runtime: Runtime; cleanup: () => Promise<void> }> }> = [
  {
    name: 'postgres',
    start: async () => {
      const db: TestDatabase = await createTestDatabase('desync');
      const dir = await tempDir('devteam-desync-pg');
      const runtime = await startRuntime(loadConfig({ PORT: '0', DATABASE_URL: db.url, DEVTEAM_DATA_DIR: dir.path }), { api: true, worker: false }, createLogger({ level: 'silent' }));
      return { runtime, cleanup: async () => (await runtime.stop(), await db.drop(), await dir.remove()) };
    },
  },
  {
    name: 'embedded',
    start: async () => {
      const dir = await tempDir('devteam-desync-lite');
      const runtime = await startRuntime(loadConfig({ PORT: '0', DEVTEAM_DATA_DIR: join(dir.path, 'data') }), { api: true, worker: false }, createLogger({ level: 'silent' }));
      return { runtime, cleanup: async () => (await runtime.stop(), await dir.remove()) };
    },
  },
];

for (const backend of backends) {
  describe(`poison requests among ordinary ones on ${backend.name}`, () => {
    let runtime: Runtime;
    let cleanup: () => Promise<void>;
    let api: ApiClient;

    beforeAll(async () => {
      ({ runtime, cleanup } = await backend.start());
      api = apiClient(runtime.port!);
    });

    afterAll(async () => {
      await cleanup?.();
    });

    it('answers every ordinary request with its own event, every poison one with a 4xx, and stays ready', async () => {
      const ordinary = Array.from({ length: ORDINARY }, (_, n) => ({ n, marker: crypto.randomUUID(), correlationId: `c-${n}-${crypto.randomUUID().slice(0, 8)}` }));
      const sends: Array<Promise<{ kind: 'ordinary'; n: number; status: number; body: any } | { kind: 'poison'; i: number; status: number; body: any }>> = [];
      for (const o of ordinary) {
        sends.push(
          api.post('/events', { type: 'X', projectId: `p-${o.n}`, correlationId: o.correlationId, payload: { n: o.n, marker: o.marker } }).then((r) => ({ kind: 'ordinary' as const, n: o.n, status: r.status, body: r.body })),
        );
        // Poison spread through the burst, so it lands between queries already queued on the connection.
        if (o.n % 40 === 20) for (const [i, body] of POISON.entries()) sends.push(api.post('/events', body).then((r) => ({ kind: 'poison' as const, i, status: r.status, body: r.body })));
      }
      const replies = await Promise.all(sends);

      const poison = replies.filter((r) => r.kind === 'poison');
      expect(poison.length).toBe(POISON.length * 5);
      for (const r of poison) {
        expect(r.status, JSON.stringify(r.body)).toBeGreaterThanOrEqual(400);
        expect(r.status).toBeLessThan(500);
        expect(r.body.error.code).toBe('validation_failed');
      }

      const accepted = replies.filter((r): r is Extract<(typeof replies)[number], { kind: 'ordinary' }> => r.kind === 'ordinary');
      for (const r of accepted) {
        expect(r.status, JSON.stringify(r.body)).toBe(202);
        expect(r.body.correlationId).toBe(ordinary[r.n]!.correlationId);
      }
      const readBack = await Promise.all(accepted.map(async (r) => ({ n: r.n, reply: await api.get(`/events/${r.body.eventId}`) })));
      for (const { n, reply } of readBack) {
        expect(reply.status).toBe(200);
        expect(reply.body).toMatchObject({ projectId: `p-${n}`, correlationId: ordinary[n]!.correlationId, payload: { n, marker: ordinary[n]!.marker } });
      }

      expect((await api.get('/readyz')).status).toBe(200);
      // And the connection still serves one more round trip correctly.
      const last = await api.post('/events', { type: 'X', projectId: 'after', payload: { last: true } });
      expect((await api.get(`/events/${last.body.eventId}`)).body.payload).toEqual({ last: true });
    });
  });
}

const stores: Array<{ name: string; open: () => Promise<{ db: Database; cleanup: () => Promise<void> }> }> = [
  {
    name: 'postgres',
    open: async () => {
      const t = await createTestDatabase('desync_store');
      const db = await openDatabase({ url: t.url, dataDir: '/nonexistent' });
      return { db, cleanup: async () => (await db.close(), await t.drop()) };
    },
  },
  {
    name: 'embedded',
    open: async () => {
      const dir = await tempDir('devteam-desync-store');
      const db = await openDatabase({ dataDir: dir.path });
      return { db, cleanup: async () => (await db.close(), await dir.remove()) };
    },
  },
];

for (const backend of stores) {
  describe(`poison handed straight to the store on ${backend.name}`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    let events: EventsStore;

    beforeAll(async () => {
      ({ db, cleanup } = await backend.open());
      await migrate(db.sql);
      events = new PostgresEventsStore(db.sql);
    });

    afterAll(async () => {
      await cleanup?.();
    });

    const row = (payload: Record<string, unknown>) => ({ id: crypto.randomUUID(), tenant: 't', type: 'X', projectId: 'p', correlationId: 'c', payload });

    it('fails each poison write alone, as a data error (422), and every other query keeps its own reply', async () => {
      const deep = JSON.parse(nestedJson(5_000)) as Record<string, unknown>;
      const poison: Array<() => Promise<unknown>> = [
        () => events.insert(row(deep)),
        () => events.insert(row({ nul: 'a\u0000b' })),
        () => events.insert(row({ lone: '\ud800' })),
        () => events.insert(row({ '\udfff': 1 })),
        // Even a value handed to the driver unserialized: its serializer must not throw mid-write.
        () => db.sql`SELECT ${deep as never}::jsonb AS v`,
        () => db.sql`SELECT ${'a\u0000b'}::text AS v`,
      ];
      const ordinary = Array.from({ length: 200 }, (_, n) => row({ n }));
      const work: Array<Promise<{ kind: 'ok'; n: number; got: unknown } | { kind: 'poison'; error: unknown }>> = [];
      for (const [n, r] of ordinary.entries()) {
        work.push(events.insert(r).then(async () => ({ kind: 'ok' as const, n, got: (await events.get(r.id))?.payload })));
        if (n % 40 === 20) for (const p of poison) work.push(p().then(() => ({ kind: 'poison' as const, error: null }), (error: unknown) => ({ kind: 'poison' as const, error })));
      }
      const results = await Promise.all(work);
      for (const r of results) {
        if (r.kind === 'ok') expect(r.got).toEqual({ n: r.n });
        else {
          expect(r.error).toBeTruthy();
          expect(storeError(r.error).status).toBe(422);
        }
      }
      const [{ one }] = (await db.sql`SELECT 1 AS one`) as unknown as [{ one: number }];
      expect(one).toBe(1);
      await db.ping();
    });
  });
}
