// The ways a queue call fails before reaching a handler, with stable codes for the HTTP edge.
import { QueueKeys } from 'bullmq';

export class InvalidJobIdError extends Error {
  readonly code = 'invalid_job_id';
  constructor(
    readonly jobId: string,
    readonly reason: string,
  ) {
    super(`invalid job id ${JSON.stringify(jobId)}: ${reason}`);
  }
}

export class QueueClosedError extends Error {
  readonly code = 'queue_closed';
  constructor(readonly queue: string) {
    super(`queue "${queue}" is closed`);
  }
}

// A job is stored at `<prefix>:<queue>:<jobId>`, beside BullMQ's own keys (`…:wait`, `…:marker`):
// an id equal to one of their names would overwrite that structure.
const BULLMQ_KEY_NAMES = new Set(Object.keys(new QueueKeys().getKeys('queue')).filter(Boolean));

/**
 * BullMQ's rules for custom ids, enforced by every implementation so that code written against the
 * embedded queue does not break in distributed mode: an integer id would collide with BullMQ's own
 * counter ids, ':' is its key separator, and its key names are taken.
 */
export function assertJobId(jobId: string): void {
  if (typeof jobId !== 'string' || jobId.length === 0) throw new InvalidJobIdError(String(jobId), 'must be a non-empty string');
  if (`${Number.parseInt(jobId, 10)}` === jobId) throw new InvalidJobIdError(jobId, 'must not be an integer');
  if (jobId.includes(':')) throw new InvalidJobIdError(jobId, "must not contain ':'");
  if (BULLMQ_KEY_NAMES.has(jobId)) throw new InvalidJobIdError(jobId, "is the name of one of the queue's own keys");
}
