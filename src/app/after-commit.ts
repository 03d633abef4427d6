// Side effects after a request's write is committed (publish the new status, wake a worker): each
// bounded by a deadline and never failing the request — the committed row is the truth, and the
// worker or the stream catches up on its own. A reply never waits on them longer than this.

import { withTimeout } from '../infra/deadline.js';
import type { Logger } from '../infra/log.js';

export const AFTER_COMMIT_TIMEOUT_MS = 1_000;

/** Runs `call` within the deadline; false (and a warning with `what`) when it failed or was too slow. */
export async function afterCommit(call: () => Promise<unknown>, what: string, log: Logger, timeoutMs = AFTER_COMMIT_TIMEOUT_MS): Promise<boolean> {
  try {
    await withTimeout(Promise.resolve().then(call), timeoutMs, what);
    return true;
  } catch (err) {
    log.warn({ err }, `could not ${what}; it catches up by itself`);
    return false;
  }
}
