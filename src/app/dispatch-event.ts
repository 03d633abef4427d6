// After an event row is committed: enqueue its job within a short deadline. A queue that is down
// does not fail the request — the row is the truth and the outbox dispatches it later.
import type { EventJob, EventQueue } from './event-job.js';
import { withTimeout } from '../infra/deadline.js';
import type { Logger } from '../infra/log.js';

export async function dispatchCommitted(queue: EventQueue, job: EventJob, log: Logger, timeoutMs = 2_000): Promise<boolean> {
  try {
    await withTimeout(queue.enqueue(job, { jobId: job.eventId }), timeoutMs, 'queue');
    return true;
  } catch (error) {
    log.warn({ err: error }, 'enqueue failed after commit; the outbox will dispatch the event');
    return false;
  }
}
