// The job queue between the API (producer) and workers (consumers): at-least-once delivery,
// de-duplicated by job id while a job is pending, retried with backoff when a handler throws.

export interface EnqueueOptions {
  /** Stable id; enqueueing an id that is still waiting or running is a no-op (returns the same id). */
  jobId: string;
  /** Delay before the job becomes available, in ms. */
  delayMs?: number;
}

export interface QueueJob<T> {
  id: string;
  data: T;
  /** 1 for the first delivery, 2 for the first retry, … */
  attempt: number;
  /** Epoch ms at which the job was (last) enqueued. */
  enqueuedAt: number;
}

export type JobHandler<T> = (job: QueueJob<T>, signal: AbortSignal) => Promise<void>;

export interface ConsumeOptions {
  /** Jobs processed at once by this consumer. */
  concurrency: number;
  /** Deliveries before a throwing job is given up (default 3). */
  maxAttempts?: number;
  /** Base of the exponential retry backoff in ms (default 500). */
  backoffMs?: number;
}

export interface Consumer {
  /**
   * Stops taking new jobs and waits for the running ones up to `timeoutMs`; then aborts their
   * signals and returns. Jobs not finished are left to be redelivered.
   */
  close(timeoutMs: number): Promise<void>;
}

export interface Queue<T> {
  readonly name: string;
  enqueue(data: T, opts: EnqueueOptions): Promise<string>;
  consume(handler: JobHandler<T>, opts: ConsumeOptions): Consumer;
  /** Resolves when the backing store answers; rejects (fast) when it does not. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
