// The in-process queue of embedded mode: jobs live in this process's memory (the event row stays
// the truth; the outbox re-enqueues what a crash lost) and are dispatched on enqueue, no polling.
import { withTimeout } from '../deadline.js';
import { deliveryPolicy, judgeFailure, type DeliveryPolicy, type QueueLog } from './delivery-policy.js';
import { QueueClosedError, assertJobId } from './queue-errors.js';
import type { ConsumeOptions, Consumer, EnqueueOptions, JobHandler, Queue } from './queue.js';

export interface MemoryQueueOptions {
  name: string;
  log?: QueueLog;
}

interface Entry {
  id: string;
  /** JSON, as BullMQ stores it: every delivery gets a fresh copy, and a producer mutating its object changes nothing. */
  payload: string;
  enqueuedAt: number;
  failures: number;
  timer: NodeJS.Timeout | null;
  /** The delivery that owns the job while it runs; a result from any other delivery is ignored. */
  delivery: Delivery | null;
}

interface Delivery {
  entry: Entry;
  controller: AbortController;
  done: Promise<void>;
}

export class MemoryQueue<T> implements Queue<T> {
  readonly name: string;
  private readonly log: QueueLog | undefined;
  /** Every pending job (waiting, delayed or running), by id: what de-duplicates enqueues. */
  private readonly entries = new Map<string, Entry>();
  /** Jobs ready to run, oldest first (a Set keeps insertion order and deletes in O(1)). */
  private readonly ready = new Set<Entry>();
  private readonly consumers = new Set<MemoryConsumer<T>>();
  private dispatchScheduled = false;
  private closed = false;

  constructor(opts: MemoryQueueOptions) {
    this.name = opts.name;
    this.log = opts.log;
  }

  async enqueue(data: T, opts: EnqueueOptions): Promise<string> {
    assertJobId(opts.jobId);
    if (this.closed) throw new QueueClosedError(this.name);
    if (this.entries.has(opts.jobId)) return opts.jobId;
    const entry: Entry = {
      id: opts.jobId,
      payload: JSON.stringify(data ?? null),
      enqueuedAt: Date.now(),
      failures: 0,
      timer: null,
      delivery: null,
    };
    this.entries.set(entry.id, entry);
    if (opts.delayMs && opts.delayMs > 0) this.delay(entry, opts.delayMs);
    else this.makeReady(entry);
    return entry.id;
  }

  consume(handler: JobHandler<T>, opts: ConsumeOptions): Consumer {
    if (this.closed) throw new QueueClosedError(this.name);
    const consumer = new MemoryConsumer<T>(this, handler, deliveryPolicy(opts));
    this.consumers.add(consumer);
    this.scheduleDispatch();
    return consumer;
  }

  async ping(): Promise<void> {
    if (this.closed) throw new QueueClosedError(this.name);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.close(0)));
    for (const entry of this.entries.values()) if (entry.timer) clearTimeout(entry.timer);
    this.entries.clear();
    this.ready.clear();
  }

  /** @internal A consumer stops taking jobs. */
  detach(consumer: MemoryConsumer<T>): void {
    this.consumers.delete(consumer);
  }

  /** @internal Runs when a delivery settles; `error` undefined means the handler succeeded. */
  settle(delivery: Delivery, policy: DeliveryPolicy, error: { err: unknown } | undefined): void {
    const { entry } = delivery;
    if (entry.delivery !== delivery) return; // handed back on close, or the queue was closed
    entry.delivery = null;
    if (!error) {
      this.entries.delete(entry.id);
    } else {
      entry.failures++;
      const verdict = judgeFailure(policy, { queue: this.name, jobId: entry.id, attempt: entry.failures, err: error.err }, this.log);
      if (verdict.retry) this.delay(entry, verdict.delayMs);
      else this.entries.delete(entry.id);
    }
    this.scheduleDispatch();
  }

  /** @internal A consumer closing past its timeout gives its running job back for redelivery. */
  handBack(delivery: Delivery): void {
    const { entry } = delivery;
    if (entry.delivery !== delivery) return;
    entry.delivery = null;
    if (this.closed) return;
    this.makeReady(entry);
  }

  /** @internal Called by a consumer with a free slot. */
  scheduleDispatch(): void {
    if (this.dispatchScheduled || this.closed) return;
    this.dispatchScheduled = true;
    // A microtask, not a timer: the job starts in the same turn of the event loop as its enqueue.
    queueMicrotask(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    // Round-robin over consumers with a free slot, so that one consumer does not take everything.
    let progressed = true;
    while (this.ready.size > 0 && progressed) {
      progressed = false;
      for (const consumer of this.consumers) {
        const entry = this.ready.values().next().value;
        if (!entry) return;
        if (!consumer.hasCapacity()) continue;
        this.ready.delete(entry);
        consumer.run(entry);
        progressed = true;
      }
    }
  }

  private makeReady(entry: Entry): void {
    this.ready.add(entry);
    this.scheduleDispatch();
  }

  private delay(entry: Entry, ms: number): void {
    entry.timer = setTimeout(() => {
      entry.timer = null;
      this.makeReady(entry);
    }, ms);
    // Pending jobs die with the process anyway (the outbox recovers them); they must not keep it alive.
    entry.timer.unref();
  }
}

class MemoryConsumer<T> implements Consumer {
  private readonly running = new Set<Delivery>();
  private closing: Promise<void> | null = null;

  constructor(
    private readonly queue: MemoryQueue<T>,
    private readonly handler: JobHandler<T>,
    private readonly policy: DeliveryPolicy,
  ) {}

  hasCapacity(): boolean {
    return !this.closing && this.running.size < this.policy.concurrency;
  }

  run(entry: Entry): void {
    const controller = new AbortController();
    const delivery: Delivery = { entry, controller, done: Promise.resolve() };
    entry.delivery = delivery;
    this.running.add(delivery);
    const job = { id: entry.id, data: JSON.parse(entry.payload) as T, attempt: entry.failures + 1, enqueuedAt: entry.enqueuedAt };
    delivery.done = (async () => {
      let error: { err: unknown } | undefined;
      try {
        await this.handler(job, controller.signal);
      } catch (err) {
        error = { err };
      }
      this.running.delete(delivery);
      this.queue.settle(delivery, this.policy, error);
    })();
  }

  close(timeoutMs: number): Promise<void> {
    this.closing ??= this.shutdown(timeoutMs);
    return this.closing;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    this.queue.detach(this);
    const drained = await withTimeout(Promise.all([...this.running].map((d) => d.done)), timeoutMs).then(
      () => true,
      () => false,
    );
    if (drained) return;
    for (const delivery of this.running) {
      delivery.controller.abort(new Error('consumer closed before the job finished'));
      this.queue.handBack(delivery);
    }
    this.running.clear();
  }
}
