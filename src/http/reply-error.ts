// Sends any thrown error as the JSON error body; 5xx causes are logged, never sent.
import type { Logger } from '../infra/log.js';
import { toErrorResponse } from './errors.js';
import type { Exchange } from './exchange.js';

export function replyError(exchange: Exchange, error: unknown, log: Logger): void {
  const { status, body, headers } = toErrorResponse(error);
  if (status >= 500) log.error({ err: error, status }, 'request failed');
  // A body still streaming in when we refuse it is not read further: close after replying.
  exchange.json(status, body, headers, status === 413);
}
