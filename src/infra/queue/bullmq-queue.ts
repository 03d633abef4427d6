// The distributed queue: BullMQ on Redis supplies the engine (atomic moves, delays, locks, recovery
// of jobs whose worker died); this class maps it onto the Queue contract shared with MemoryQueue.
import { Queue as BullQueue, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { TimeoutError, withTimeout } from '../deadline.js';
import { COMMAND_TIMEOUT_MS, RedisUnavailableError, asUnavailable, closeRedis, createRedis, isConnectionError, onRedis, whenReady } from '../redis.js';
import { deliveryPolicy, judgeFailure, retryDelayMs, type DeliveryPolicy, type QueueLog } from './delivery-policy.js';
import { QueueClosedError, assertJobId } from './queue-errors.js';
import type { ConsumeOptions, Consumer, EnqueueOptions, JobHandler, Queue } from './queue.js';

export interface BullmqQueueOptions {
  url: string;
  /** Start of every Redis key of this queue (BullMQ's keys are `<prefix>:queue:<name>:…`). */
  prefix: string;
  name: string;
  log?: QueueLog;
}

const JOB_NAME = 'job';
/** Upper bound of a whole enqueue (readiness wait plus two commands): fail fast, never hang. */
const ENQUEUE_TIMEOUT_MS = 2_000;
/** Failed jobs kept in Redis for inspection; older ones are trimmed by BullMQ. */
const KEEP_FAILED = 1_000;
/**
 * Retries are decided by the consumer's policy (maxAttempts is a consume option, BullMQ reads it from
 * the job), so jobs are enqueued with a ceiling BullMQ never reaches and the worker gives up itself.
 */
const ATTEMPTS_CEILING = Number.MAX_SAFE_INTEGER;
/** Not a built-in type, so BullMQ asks the worker's backoffStrategy (the consumer's backoffMs). */
const BACKOFF_TYPE = 'consumer-policy';
/** After a timed-out close aborted the handlers, how long BullMQ gets to finish closing. */
const CLOSE_GRACE_MS = 2_000;

export class BullmqQueue<T> implements Queue<T> {
  readonly name: string;
  private readonly producer: Redis;
  private readonly queue: BullQueue;
  private readonly consumers = new Set<BullmqConsumer<T>>();
  private closed = false;

  constructor(private readonly opts: BullmqQueueOptions) {
    this.name = opts.name;
    // Not lazy: BullMQ keeps its first connection attempt, and a lazy one that fails once stays failed.
    this.producer = createRedis(opts.url, { name: `${opts.prefix}:queue:${opts.name}:producer`, log: opts.log });
    this.queue = new BullQueue(opts.name, { connection: this.producer, prefix: bullPrefix(opts.prefix) });
    this.queue.on('error', (err) => {
      if (!isConnectionError(err)) opts.log?.warn({ err, queue: opts.name }, 'queue error');
    });
  }

  async enqueue(data: T, opts: EnqueueOptions): Promise<string> {
    assertJobId(opts.jobId);
    if (this.closed) throw new QueueClosedError(this.name);
    try {
      return await withTimeout(this.add(data, opts), ENQUEUE_TIMEOUT_MS, `enqueue on queue "${this.name}"`);
    } catch (err) {
      if (err instanceof TimeoutError) throw new RedisUnavailableError(this.producer.options.connectionName ?? 'redis', err.message, { cause: err });
      throw asUnavailable(this.producer, err);
    }
  }

  private async add(data: T, opts: EnqueueOptions): Promise<string> {
    await whenReady(this.producer);
    // BullMQ ignores an add whose id exists in any state. Pending ids must be ignored (that is the
    // de-duplication), but a failed job kept for inspection must not block a new enqueue of its id.
    const state = await this.queue.getJobState(opts.jobId);
    if (state === 'failed' || state === 'completed') await this.queue.remove(opts.jobId);
    const job = await this.queue.add(JOB_NAME, data, {
      jobId: opts.jobId,
      delay: opts.delayMs && opts.delayMs > 0 ? opts.delayMs : undefined,
      attempts: ATTEMPTS_CEILING,
      backoff: { type: BACKOFF_TYPE },
      removeOnComplete: true,
      removeOnFail: { count: KEEP_FAILED },
    });
    return job.id ?? opts.jobId;
  }

  consume(handler: JobHandler<T>, opts: ConsumeOptions): Consumer {
    if (this.closed) throw new QueueClosedError(this.name);
    const consumer = new BullmqConsumer<T>(this.opts, handler, deliveryPolicy(opts), () => this.consumers.delete(consumer));
    this.consumers.add(consumer);
    return consumer;
  }

  async ping(): Promise<void> {
    if (this.closed) throw new QueueClosedError(this.name);
    await onRedis(this.producer, () => this.producer.ping());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.close(0)));
    await this.queue.close().catch(() => {});
    await closeRedis(this.producer);
  }
}

interface Running {
  controller: AbortController;
  /** Set when close() gave up waiting: the job goes back to the queue, whatever the handler does. */
  interrupted: boolean;
  interrupt(): void;
}

class BullmqConsumer<T> implements Consumer {
  private readonly connection: Redis;
  private readonly worker: Worker;
  private readonly running = new Set<Running>();
  private closing: Promise<void> | null = null;

  constructor(
    private readonly opts: BullmqQueueOptions,
    private readonly handler: JobHandler<T>,
    private readonly policy: DeliveryPolicy,
    private readonly onClosed: () => void,
  ) {
    this.connection = createRedis(opts.url, { name: `${opts.prefix}:queue:${opts.name}:worker`, forBullmq: true, log: opts.log });
    // Two parameters: BullMQ then leaves cancellation to us (it passes its own signal only to
    // processors that take a third one).
    const processor = (job: Job, token?: string) => this.process(job, token);
    this.worker = new Worker(opts.name, processor, {
      connection: this.connection,
      prefix: bullPrefix(opts.prefix),
      concurrency: policy.concurrency,
      // Seconds an idle worker blocks in BZPOPMIN before asking again. Latency does not depend on
      // it: an enqueue pushes a marker that wakes the blocked worker at once.
      drainDelay: 5,
      // After a Redis error, look for jobs again after 1 s instead of BullMQ's 15 s: recovery from an
      // outage should be as quick as the outage is short.
      runRetryDelay: 1_000,
      settings: { backoffStrategy: (attemptsMade: number) => retryDelayMs(policy, attemptsMade) },
    });
    this.worker.on('error', (err) => {
      if (!isConnectionError(err)) opts.log?.warn({ err, queue: opts.name }, 'queue worker error');
    });
  }

  private async process(job: Job, token: string | undefined): Promise<void> {
    const attempt = job.attemptsMade + 1;
    let interrupt = () => {};
    const interruption = new Promise<void>((resolve) => (interrupt = resolve));
    const run: Running = {
      controller: new AbortController(),
      interrupted: false,
      interrupt() {
        run.interrupted = true;
        run.controller.abort(new Error('consumer closed before the job finished'));
        interrupt();
      },
    };
    this.running.add(run);
    try {
      const handled = Promise.resolve().then(() =>
        this.handler({ id: job.id ?? '', data: job.data as T, attempt, enqueuedAt: job.timestamp }, run.controller.signal),
      );
      // An interrupted handler may still settle later, when nobody waits for it any more.
      handled.catch(() => {});
      await Promise.race([handled, interruption]);
    } catch (err) {
      if (!run.interrupted) {
        const verdict = judgeFailure(this.policy, { queue: this.opts.name, jobId: job.id ?? '', attempt, err }, this.opts.log);
        // BullMQ would retry up to the job's (ceiling) attempts; the consumer's policy says stop.
        if (!verdict.retry) throw new UnrecoverableError(err instanceof Error ? err.message : String(err));
        throw err;
      }
    } finally {
      this.running.delete(run);
    }
    if (run.interrupted) {
      // Hand the job back at the head of the queue now rather than when its lock expires; if Redis
      // does not answer, the stalled-job check hands it back later.
      if (token) await withTimeout(job.moveToWait(token), COMMAND_TIMEOUT_MS).catch(() => {});
      // Tells BullMQ the job was moved by us: it records neither a completion nor a failure.
      throw new WaitingError();
    }
  }

  close(timeoutMs: number): Promise<void> {
    this.closing ??= this.shutdown(timeoutMs);
    return this.closing;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    // worker.close() stops fetching, waits for the running jobs, then closes BullMQ's connections.
    const closed = this.worker.close();
    let done = await settlesWithin(closed, timeoutMs);
    if (!done) {
      // BullMQ memoizes close(), so close(true) cannot cut this wait short; settling the processors
      // can: each aborted job is handed back and its processor returns at once.
      for (const run of this.running) run.interrupt();
      done = await settlesWithin(closed, CLOSE_GRACE_MS);
    }
    if (done) {
      await closeRedis(this.connection);
    } else {
      // Redis is unreachable and BullMQ is still recording a result: cutting its connection now
      // would make it retry in a tight loop, so the connection closes once BullMQ is done.
      this.opts.log?.warn({ queue: this.opts.name }, 'queue worker did not close in time; its connection closes when Redis answers');
      void closed.catch(() => {}).then(() => closeRedis(this.connection));
    }
    this.onClosed();
  }
}

function bullPrefix(prefix: string): string {
  return `${prefix}:queue`;
}

function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return withTimeout(promise, ms).then(
    () => true,
    () => false,
  );
}
