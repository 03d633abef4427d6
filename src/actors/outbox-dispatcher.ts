// The outbox: re-enqueues events that were committed but never started (the enqueue after the
// commit failed, or an in-process queue died with its process) and events whose worker died.
// One dispatcher runs at a time across processes, under a lease; duplicates are harmless anyway
// (job ids de-duplicate pending jobs, and the claim in SQL admits one worker).
import type { Logger } from '../infra/log.js';
import type { EventsStore } from '../infra/db/index.js';
import type { Lease, LeaseGrant } from '../infra/lease/index.js';
import type { EventQueue } from '../app/event-job.js';

export interface OutboxDeps {
  events: EventsStore;
  queue: EventQueue;
  lease: Lease;
  log: Logger;
  intervalMs: number;
  graceMs: number;
  staleAfterMs: number;
  batch?: number;
}

export class OutboxDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private grant: LeaseGrant | null = null;

  constructor(private readonly deps: OutboxDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.deps.intervalMs);
    this.timer.unref();
  }

  /** One pass; returns how many events were re-enqueued (0 when another process holds the lease). */
  async tick(): Promise<number> {
    if (this.running) return 0;
    let count = 0;
    this.running = (async () => {
      try {
        if (!(await this.holdLease())) return;
        const { events, queue, log } = this.deps;
        await events.failExhausted({ staleAfterMs: this.deps.staleAfterMs });
        const due = await events.findRedeliverable({
          graceMs: this.deps.graceMs,
          staleAfterMs: this.deps.staleAfterMs,
          limit: this.deps.batch ?? 500,
        });
        for (const event of due) {
          await queue.enqueue(
            { eventId: event.id, type: event.type, projectId: event.projectId, correlationId: event.correlationId },
            { jobId: event.id },
          );
          count++;
        }
        if (count > 0) log.info({ count }, 'outbox re-enqueued events');
      } catch (error) {
        this.deps.log.warn({ err: error }, 'outbox pass failed; retrying on the next tick');
      }
    })();
    await this.running;
    this.running = null;
    return count;
  }

  private async holdLease(): Promise<boolean> {
    const ttl = this.deps.intervalMs * 3;
    if (this.grant && (await this.deps.lease.renew(this.grant, ttl))) return true;
    this.grant = await this.deps.lease.acquire('outbox', ttl);
    return this.grant !== null;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
    if (this.grant) await this.deps.lease.release(this.grant).catch(() => false);
    this.grant = null;
  }
}
