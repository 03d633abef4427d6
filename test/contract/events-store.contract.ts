// The EventsStore contract: every implementation (and every database it runs on) must pass these
// tests unchanged. The store lives for the whole describe; each test uses its own event ids.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClaimedEvent, EventsStore, NewEvent } from '../../src/infra/db/index.js';
import { AWKWARD_JSON, serializationProbe, unserializable } from './store-json.js';

export interface EventsStoreFixture {
  /** A store that gives up an event after `maxAttempts` processing attempts. */
  events(maxAttempts: number): EventsStore;
  cleanup(): Promise<void>;
}

export type MakeEventsStore = () => Promise<EventsStoreFixture>;

/** The runner's default. */
const MAX_ATTEMPTS = 5;
const FRESH = { staleAfterMs: 60_000 } as const;

const newEvent = (over: Partial<NewEvent> = {}): NewEvent => ({
  id: crypto.randomUUID(),
  tenant: 'acme',
  type: 'DEVTEAM_AUTOMATION',
  projectId: 'web',
  correlationId: `corr-${crypto.randomUUID().slice(0, 8)}`,
  payload: { executionId: 'e-1', n: 1 },
  ...over,
});

/** Waits until the database's clock has moved `ms` past now (no fixed sleep on a loaded host). */
async function elapse(ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() <= until) await new Promise((r) => setTimeout(r, Math.max(1, until - Date.now())));
}

export function eventsStoreContract(implementation: string, make: MakeEventsStore): void {
  describe(`EventsStore contract: ${implementation}`, () => {
    let fixture: EventsStoreFixture;
    let events: EventsStore;

    beforeAll(async () => {
      fixture = await make();
      events = fixture.events(MAX_ATTEMPTS);
    });
    afterAll(async () => fixture?.cleanup());

    async function claimed(over: Partial<NewEvent> = {}): Promise<ClaimedEvent> {
      const event = newEvent(over);
      await events.insert(event);
      const claim = await events.claim(event.id, { enqueuedAt: Date.now(), ...FRESH });
      expect(claim).not.toBeNull();
      return claim!;
    }

    it('inserts a received event that get returns with its defaults', async () => {
      const event = newEvent();
      await events.insert(event);
      const row = await events.get(event.id);
      expect(row).toMatchObject({
        ...event,
        taskContext: null,
        status: 'received',
        attempts: 0,
        error: null,
        dispatchedAt: null,
        startedAt: null,
        processedAt: null,
        queueLatencyMs: null,
      });
      expect(row!.createdAt).toBeInstanceOf(Date);
      expect(await events.get(crypto.randomUUID())).toBeNull();
    });

    it('refuses an event without the tenant that sent it', async () => {
      await expect(events.insert(newEvent({ tenant: '' }))).rejects.toBeInstanceOf(TypeError);
      await expect(events.insert(newEvent({ tenant: undefined as never }))).rejects.toBeInstanceOf(TypeError);
    });

    it('getForTenant returns the tenant its own event, and null for another tenant exactly as for an unknown id', async () => {
      const event = newEvent({ tenant: 'acme' });
      await events.insert(event);
      expect(await events.getForTenant('acme', event.id)).toMatchObject({ id: event.id, tenant: 'acme' });
      expect(await events.getForTenant('beta', event.id)).toBeNull();
      expect(await events.getForTenant('acme', crypto.randomUUID())).toBeNull();
    });

    it('claims a received event once: processing, attempt 1, with when it was enqueued and the queue latency', async () => {
      const event = newEvent();
      await events.insert(event);
      const enqueuedAt = Date.now() - 50;
      const claim = await events.claim(event.id, { enqueuedAt, ...FRESH });
      expect(claim).toMatchObject({ id: event.id, status: 'processing', attempts: 1, claim: 1, error: null });
      expect(claim!.dispatchedAt!.getTime()).toBe(enqueuedAt);
      expect(claim!.startedAt).toBeInstanceOf(Date);
      expect(claim!.queueLatencyMs).toBeGreaterThanOrEqual(0);
      // A duplicate delivery while the worker is alive.
      expect(await events.claim(event.id, { enqueuedAt, ...FRESH })).toBeNull();
      expect(await events.claim(crypto.randomUUID(), { enqueuedAt, ...FRESH })).toBeNull();
    });

    it('marks processed once: a second mark, a late failure and a new claim are refused', async () => {
      const claim = await claimed();
      expect(await events.markProcessed(claim)).toBe(true);
      expect(await events.markProcessed(claim)).toBe(false);
      expect(await events.markFailed(claim, 'late')).toBe(false);
      expect(await events.release(claim, 'late')).toBe(false);
      expect(await events.claim(claim.id, { enqueuedAt: Date.now(), staleAfterMs: 0 })).toBeNull();
      const row = await events.get(claim.id);
      expect(row).toMatchObject({ status: 'processed', attempts: 1, error: null });
      expect(row!.processedAt).toBeInstanceOf(Date);
    });

    it('marks failed once, with the reason, and then nothing moves it', async () => {
      const claim = await claimed();
      expect(await events.markFailed(claim, 'clone failed: 403')).toBe(true);
      expect(await events.markFailed(claim, 'again')).toBe(false);
      expect(await events.markProcessed(claim)).toBe(false);
      expect(await events.get(claim.id)).toMatchObject({ status: 'failed', error: 'clone failed: 403' });
      expect((await events.get(claim.id))!.processedAt).toBeInstanceOf(Date);
    });

    it('release hands the event back; the next claim is attempt 2 and fences out the first', async () => {
      const first = await claimed();
      expect(await events.release(first, 'redis hiccup')).toBe(true);
      expect(await events.release(first, 'twice')).toBe(false);
      expect(await events.get(first.id)).toMatchObject({ status: 'received', error: 'redis hiccup', attempts: 1 });

      const second = await events.claim(first.id, { enqueuedAt: Date.now(), ...FRESH });
      expect(second).toMatchObject({ claim: 2, attempts: 2, error: null });
      expect(await events.saveTaskContext(first, { stale: true })).toBe(false);
      expect(await events.markProcessed(first)).toBe(false);
      expect(await events.markProcessed(second!)).toBe(true);
      expect(await events.get(first.id)).toMatchObject({ status: 'processed', taskContext: null });
    });

    it('lets a new claim take an event whose worker went silent, and fences out the silent one', async () => {
      const silent = await claimed();
      await elapse(20);
      const taken = await events.claim(silent.id, { enqueuedAt: Date.now(), staleAfterMs: 10 });
      expect(taken).toMatchObject({ claim: 2 });
      expect(await events.markProcessed(silent)).toBe(false);
      expect(await events.markProcessed(taken!)).toBe(true);
    });

    it('saves the task context while the claim is held, and refuses it once the event is finished', async () => {
      const claim = await claimed();
      expect(await events.saveTaskContext(claim, { taskId: '1.1', title: 'Add the login page' })).toBe(true);
      expect((await events.get(claim.id))!.taskContext).toEqual({ taskId: '1.1', title: 'Add the login page' });
      expect(await events.markProcessed(claim)).toBe(true);
      expect(await events.saveTaskContext(claim, { late: true })).toBe(false);
      expect((await events.get(claim.id))!.taskContext).toEqual({ taskId: '1.1', title: 'Add the login page' });
    });

    it('finds for redelivery the events not picked up within the grace and the stale ones, never the finished, oldest first', async () => {
      const waiting = newEvent();
      await events.insert(waiting);
      const stale = await claimed();
      const done = await claimed();
      await events.markProcessed(done);
      await elapse(300);
      const fresh = newEvent();
      await events.insert(fresh);

      const found = (await events.findRedeliverable({ graceMs: 250, staleAfterMs: 250, limit: 1_000 })).map((r) => r.id);
      const mine = found.filter((id) => [waiting.id, stale.id, done.id, fresh.id].includes(id));
      expect(mine).toEqual([waiting.id, stale.id]);
      expect((await events.findRedeliverable({ graceMs: 10, staleAfterMs: 10, limit: 1_000 })).find((r) => r.id === waiting.id)).toEqual({
        id: waiting.id,
        type: waiting.type,
        projectId: waiting.projectId,
        correlationId: waiting.correlationId,
      });
      // Within the grace and with a live worker, nothing is due.
      const patient = (await events.findRedeliverable({ graceMs: 60_000, staleAfterMs: 60_000, limit: 1_000 })).map((r) => r.id);
      expect(patient).not.toContain(waiting.id);
      expect(patient).not.toContain(stale.id);
      expect(await events.findRedeliverable({ graceMs: 10, staleAfterMs: 10, limit: 1 })).toHaveLength(1);
      await events.markProcessed(stale);
    });

    it('gives up an event after maxAttempts: no claim, no redelivery, and failExhausted fails it with the last error', async () => {
      const exhaustible = fixture.events(2);
      const event = newEvent();
      await exhaustible.insert(event);
      for (const n of [1, 2]) {
        const claim = await exhaustible.claim(event.id, { enqueuedAt: Date.now(), ...FRESH });
        expect(claim).toMatchObject({ claim: n });
        expect(await exhaustible.release(claim!, `worker died ${n}`)).toBe(true);
      }
      expect(await exhaustible.claim(event.id, { enqueuedAt: Date.now(), staleAfterMs: 0 })).toBeNull();
      await elapse(20);
      expect((await exhaustible.findRedeliverable({ graceMs: 0, staleAfterMs: 0, limit: 1_000 })).map((r) => r.id)).not.toContain(event.id);

      expect(await exhaustible.failExhausted(FRESH)).toBeGreaterThanOrEqual(1);
      expect(await exhaustible.get(event.id)).toMatchObject({ status: 'failed', attempts: 2, error: 'gave up after 2 attempts; last error: worker died 2' });
      expect((await exhaustible.get(event.id))!.processedAt).toBeInstanceOf(Date);
    });

    it('failExhausted also fails an exhausted event whose last worker went silent, and says so', async () => {
      const exhaustible = fixture.events(1);
      const event = newEvent();
      await exhaustible.insert(event);
      expect(await exhaustible.claim(event.id, { enqueuedAt: Date.now(), ...FRESH })).toMatchObject({ claim: 1 });
      expect(await exhaustible.failExhausted(FRESH)).toBeGreaterThanOrEqual(0);
      expect((await exhaustible.get(event.id))!.status).toBe('processing');
      await elapse(20);
      expect(await exhaustible.failExhausted({ staleAfterMs: 10 })).toBeGreaterThanOrEqual(1);
      expect(await exhaustible.get(event.id)).toMatchObject({ status: 'failed', error: 'gave up after 1 attempts; last error: the worker stopped responding' });
    });

    it('round-trips payload and task context exactly: unicode, large and tiny numbers, deep and wide values', async () => {
      const event = newEvent({ payload: { ...AWKWARD_JSON } });
      await events.insert(event);
      expect((await events.get(event.id))!.payload).toEqual(AWKWARD_JSON);
      const claim = (await events.claim(event.id, { enqueuedAt: Date.now(), ...FRESH }))!;
      expect(claim.payload).toEqual(AWKWARD_JSON);
      expect(await events.saveTaskContext(claim, { ...AWKWARD_JSON })).toBe(true);
      expect((await events.getForTenant('acme', event.id))!.taskContext).toEqual(AWKWARD_JSON);
    });

    it('serializes JSON itself, once, before any query: the driver never sees a user value', async () => {
      const payload = serializationProbe();
      const event = newEvent({ payload: { probe: payload.value } });
      const inserting = events.insert(event);
      expect(payload.calls()).toBe(1);
      await inserting;
      expect(payload.calls()).toBe(1);
      expect((await events.get(event.id))!.payload).toEqual({ probe: { probed: true } });

      const context = serializationProbe();
      const claim = (await events.claim(event.id, { enqueuedAt: Date.now(), ...FRESH }))!;
      const saving = events.saveTaskContext(claim, { probe: context.value });
      expect(context.calls()).toBe(1);
      expect(await saving).toBe(true);
      expect(context.calls()).toBe(1);
    });

    it('refuses a value JSON cannot hold as this call’s own error, and the store keeps answering', async () => {
      const cyclic = newEvent({ payload: unserializable() as Record<string, unknown> });
      const ordinary = Array.from({ length: 20 }, (_, n) => newEvent({ payload: { n } }));
      const results = await Promise.allSettled([events.insert(cyclic), ...ordinary.map((e) => events.insert(e))]);
      expect(results[0]).toMatchObject({ status: 'rejected', reason: { code: 'invalid_json_value', reason: 'not_serializable' } });
      expect(results.slice(1).every((r) => r.status === 'fulfilled')).toBe(true);
      expect(await events.get(cyclic.id)).toBeNull();
      for (const [n, e] of ordinary.entries()) expect((await events.get(e.id))!.payload).toEqual({ n });

      const claim = (await events.claim(ordinary[0]!.id, { enqueuedAt: Date.now(), ...FRESH }))!;
      await expect(events.saveTaskContext(claim, unserializable() as Record<string, unknown>)).rejects.toMatchObject({ code: 'invalid_json_value' });
      expect(await events.markProcessed(claim)).toBe(true);
    });
  });
}
