// One HTTP request/response pair on uWebSockets.js: tracks abortion (the response must never be
// touched after it) and writes corked JSON replies.
import type { HttpResponse } from 'uWebSockets.js';

const STATUS_LINE: Record<number, string> = {
  200: '200 OK',
  202: '202 Accepted',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  422: '422 Unprocessable Entity',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

/** Counts requests being served, so shutdown can wait for them. */
export class InFlight {
  count = 0;
  /** Called once per answered request (metrics): route pattern, status, seconds. */
  observe?: (route: string, status: number, seconds: number) => void;
  private waiters: Array<() => void> = [];

  settle(): void {
    if (--this.count === 0) for (const wake of this.waiters.splice(0)) wake();
  }

  /** Resolves when no request is in flight, or after timeoutMs. */
  idle(timeoutMs: number): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

export class Exchange {
  aborted = false;
  done = false;

  private readonly started = performance.now();
  private abortListeners: Array<() => void> = [];

  constructor(
    readonly res: HttpResponse,
    private readonly inFlight?: InFlight,
    /** The route pattern, for metrics (never the concrete path: ids would explode the labels). */
    private readonly route = 'unmatched',
  ) {
    if (inFlight) inFlight.count++;
    res.onAborted(() => {
      this.aborted = true;
      this.finish();
      for (const listener of this.abortListeners.splice(0)) listener();
    });
  }

  /** Runs `listener` when the client goes away before the reply (uWS allows one onAborted: this shares it). */
  onAbort(listener: () => void): void {
    if (this.aborted) listener();
    else this.abortListeners.push(listener);
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.inFlight?.settle();
  }

  /**
   * Serializes and sends; a no-op when the client went away or a reply was already sent. A body
   * that cannot be serialized throws before anything is written, so the caller can still reply.
   */
  json(status: number, body: unknown, headers?: Record<string, string>, closeConnection = false): void {
    if (this.aborted || this.done) return;
    this.sendRaw(status, JSON.stringify(body), headers, closeConnection);
  }

  sendRaw(status: number, payload: string | Uint8Array, headers?: Record<string, string>, closeConnection = false): void {
    if (this.aborted || this.done) return;
    this.finish();
    this.inFlight?.observe?.(this.route, status, (performance.now() - this.started) / 1000);
    try {
      this.res.cork(() => {
        this.res.writeStatus(STATUS_LINE[status] ?? String(status));
        if (!headers?.['content-type']) this.res.writeHeader('content-type', 'application/json');
        if (headers) for (const key in headers) this.res.writeHeader(key, headers[key]!);
        this.res.end(payload, closeConnection);
      });
    } catch {
      // Half a reply cannot be taken back: cut the connection rather than leave the client waiting.
      try {
        this.res.close();
      } catch {
        // already closed
      }
    }
  }
}
