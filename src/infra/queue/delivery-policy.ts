// What happens when a handler throws — how many deliveries, how long between them, what is logged —
// shared by every queue implementation so both modes retry and give up identically.
import type { ConsumeOptions } from './queue.js';

export interface QueueLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_BACKOFF_MS = 500;

export interface DeliveryPolicy {
  concurrency: number;
  maxAttempts: number;
  backoffMs: number;
}

export function deliveryPolicy(opts: ConsumeOptions): DeliveryPolicy {
  const policy = {
    concurrency: opts.concurrency,
    maxAttempts: opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    backoffMs: opts.backoffMs ?? DEFAULT_BACKOFF_MS,
  };
  if (!Number.isSafeInteger(policy.concurrency) || policy.concurrency < 1) throw new RangeError(`concurrency must be an integer >= 1, got ${opts.concurrency}`);
  if (!Number.isSafeInteger(policy.maxAttempts) || policy.maxAttempts < 1) throw new RangeError(`maxAttempts must be an integer >= 1, got ${opts.maxAttempts}`);
  if (!Number.isFinite(policy.backoffMs) || policy.backoffMs < 0) throw new RangeError(`backoffMs must be >= 0, got ${opts.backoffMs}`);
  return policy;
}

/** Delay before the delivery that follows failed delivery number `attempt` (1-based). */
export function retryDelayMs(policy: DeliveryPolicy, attempt: number): number {
  return Math.round(policy.backoffMs * 2 ** (attempt - 1));
}

export interface FailedDelivery {
  queue: string;
  jobId: string;
  attempt: number;
  err: unknown;
}

/** Logs a failed delivery and says whether it is retried (and after how long) or given up. */
export function judgeFailure(policy: DeliveryPolicy, failure: FailedDelivery, log?: QueueLog): { retry: false } | { retry: true; delayMs: number } {
  const { queue, jobId, attempt, err } = failure;
  if (attempt >= policy.maxAttempts) {
    log?.error({ err, queue, jobId, attempt, maxAttempts: policy.maxAttempts }, 'job failed on its last attempt; given up');
    return { retry: false };
  }
  const delayMs = retryDelayMs(policy, attempt);
  log?.warn({ err, queue, jobId, attempt, maxAttempts: policy.maxAttempts, retryInMs: delayMs }, 'job failed; retrying');
  return { retry: true, delayMs };
}
