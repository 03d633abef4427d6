// The worker against real Postgres: the SQL-guarded claim makes duplicate and concurrent
// deliveries run a workflow once; unknown types and bad payloads are recorded as failures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { handleEventJob, WorkflowRegistry, defaultRegistry, type EventJob, type EventWorkerDeps, type Workflow } from '../../src/actors/index.js';
import { migrate, openDatabase, PostgresEventsStore, PostgresExecutionsStore, type Database, type EventsStore } from '../../src/infra/db/index.js';
import { createLogger } from '../../src/infra/log.js';
import { MemoryQueue, type QueueJob } from '../../src/infra/queue/index.js';
import { createTestDatabase, type TestDatabase } from '../support/services.js';

const log = createLogger({ level: 'silent' });

describe('event worker', () => {
  let testDb: TestDatabase;
  let db: Database;
  let events: EventsStore;
  const queue = new MemoryQueue<EventJob>({ name: 'unused' });

  beforeAll(async () => {
    testDb = await createTestDatabase('worker');
    db = await openDatabase({ url: testDb.url, dataDir: '/nonexistent' });
    await migrate(db.sql);
    events = new PostgresEventsStore(db.sql);
  });

  afterAll(async () => {
    await queue.close();
    await db?.close();
    await testDb?.drop();
  });

  async function newEvent(type: string, payload: Record<string, unknown> = {}): Promise<QueueJob<EventJob>> {
    const eventId = crypto.randomUUID();
    await events.insert({ id: eventId, tenant: 'local', type, projectId: 'p1', correlationId: `c-${eventId}`, payload });
    return { id: eventId, attempt: 1, enqueuedAt: Date.now(), data: { eventId, type, projectId: 'p1', correlationId: `c-${eventId}` } };
  }

  /** The registry the worker runs, on this database; no project is ever driven here. */
  function registry(): WorkflowRegistry {
    return defaultRegistry({ executions: new PostgresExecutionsStore(db.sql, {}), host: { take: () => 'full' } });
  }

  function deps(registry: WorkflowRegistry, staleAfterMs = 60_000): EventWorkerDeps {
    return { queue, events, registry, log, concurrency: 4, staleAfterMs };
  }

  function countingWorkflow(name: string, gate?: Promise<void>): Workflow<unknown> & { runs: number } {
    const workflow = {
      name,
      payloadSchema: z.unknown(),
      runs: 0,
      async run() {
        workflow.runs++;
        await gate;
        return { status: 'processed' as const };
      },
    };
    return workflow;
  }

  it('runs the workflow once when the same job is delivered five times at once', async () => {
    let open!: () => void;
    const workflow = countingWorkflow('COUNTED', new Promise<void>((r) => (open = r)));
    const job = await newEvent('COUNTED');
    const deliveries = Array.from({ length: 5 }, () => handleEventJob(deps(new WorkflowRegistry().register(workflow)), job, new AbortController().signal));
    setTimeout(open, 50);
    await Promise.all(deliveries);
    expect(workflow.runs).toBe(1);
    const row = await events.get(job.data.eventId);
    expect(row).toMatchObject({ status: 'processed', attempts: 1 });
    // A late duplicate after completion is skipped too.
    await handleEventJob(deps(new WorkflowRegistry().register(workflow)), job, new AbortController().signal);
    expect(workflow.runs).toBe(1);
  });

  it('fails a DEVTEAM_AUTOMATION event for a project that was never initialized, saying what to do', async () => {
    // The hand-off of a live execution to its actor is tested end to end in automation-path.test.ts.
    const job = await newEvent('DEVTEAM_AUTOMATION', {});
    await handleEventJob(deps(registry()), job, new AbortController().signal);
    const row = await events.get(job.data.eventId);
    expect(row?.status).toBe('failed');
    expect(row?.error).toMatch(/^project p1 is not initialized: POST \/api\/devteam\/automation\/initialize first/);
    expect(row?.queueLatencyMs).toBeGreaterThanOrEqual(0);
  });

  it('fails an unknown type and an invalid payload with a clear reason', async () => {
    const unknown = await newEvent('NOT_REGISTERED');
    await handleEventJob(deps(registry()), unknown, new AbortController().signal);
    expect(await events.get(unknown.data.eventId)).toMatchObject({ status: 'failed', error: expect.stringContaining('unknown event type "NOT_REGISTERED"') });

    const invalid = await newEvent('DEVTEAM_AUTOMATION', { executionId: 'not-an-id' });
    await handleEventJob(deps(registry()), invalid, new AbortController().signal);
    expect(await events.get(invalid.data.eventId)).toMatchObject({ status: 'failed', error: expect.stringMatching(/^invalid payload for DEVTEAM_AUTOMATION: executionId:/) });
  });

  it('hands the event back when the attempt throws, so the retry can claim it', async () => {
    let calls = 0;
    const flaky: Workflow<unknown> = {
      name: 'FLAKY',
      payloadSchema: z.unknown(),
      async run() {
        if (++calls === 1) throw new Error('store hiccup');
        return { status: 'processed' };
      },
    };
    const registry = new WorkflowRegistry().register(flaky);
    const job = await newEvent('FLAKY');
    await expect(handleEventJob(deps(registry), job, new AbortController().signal)).rejects.toThrow('store hiccup');
    expect(await events.get(job.data.eventId)).toMatchObject({ status: 'received', error: 'store hiccup', attempts: 1 });
    await handleEventJob(deps(registry), { ...job, attempt: 2 }, new AbortController().signal);
    expect(await events.get(job.data.eventId)).toMatchObject({ status: 'processed', attempts: 2 });
  });

  it('reclaims an event whose worker went silent, and fences the stale worker out', async () => {
    const job = await newEvent('COUNTED_STALE');
    const stale = await events.claim(job.data.eventId, { enqueuedAt: Date.now(), staleAfterMs: 60_000 });
    expect(stale?.claim).toBe(1);
    // Not stale yet: a second claim is refused.
    expect(await events.claim(job.data.eventId, { enqueuedAt: Date.now(), staleAfterMs: 60_000 })).toBeNull();
    await db.sql`UPDATE events SET started_at = now() - interval '10 minutes' WHERE id = ${job.data.eventId}`;
    const workflow = countingWorkflow('COUNTED_STALE');
    await handleEventJob(deps(new WorkflowRegistry().register(workflow), 60_000), job, new AbortController().signal);
    expect(workflow.runs).toBe(1);
    expect(await events.get(job.data.eventId)).toMatchObject({ status: 'processed', attempts: 2 });
    // The first worker wakes up: its writes are rejected by the attempt fence.
    expect(await events.markFailed(stale!, 'late')).toBe(false);
    expect(await events.saveTaskContext(stale!, { late: true })).toBe(false);
  });

  it('lists only committed events that nobody started as redeliverable, and gives up after 5 attempts', async () => {
    const fresh = await newEvent('X');
    const old = await newEvent('X');
    await db.sql`UPDATE events SET created_at = now() - interval '1 minute' WHERE id = ${old.data.eventId}`;
    const due = await events.findRedeliverable({ graceMs: 5_000, staleAfterMs: 60_000, limit: 1000 });
    const ids = due.map((d) => d.id);
    expect(ids).toContain(old.data.eventId);
    expect(ids).not.toContain(fresh.data.eventId);

    await db.sql`UPDATE events SET attempts = 5, status = 'processing', started_at = now() - interval '1 hour' WHERE id = ${old.data.eventId}`;
    expect(await events.findRedeliverable({ graceMs: 5_000, staleAfterMs: 60_000, limit: 1000 })).not.toContainEqual(expect.objectContaining({ id: old.data.eventId }));
    expect(await events.failExhausted({ staleAfterMs: 60_000 })).toBeGreaterThanOrEqual(1);
    expect(await events.get(old.data.eventId)).toMatchObject({ status: 'failed', error: expect.stringContaining('gave up after 5 attempts') });
  });
});
