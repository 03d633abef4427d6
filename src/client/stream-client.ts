// A client of the live stream (/ws/devteam) for Node and browsers: connects, subscribes to projects,
// validates every frame, hands each project frame to the caller exactly once and in order (by `seq`),
// and reconnects with linear backoff, resuming every project after its last seen `seq`.
// No Node-only imports: the WebSocket constructor is injected (the `ws` package in Node 20).
import { FrameSchema, type ClientMessage, type Frame } from './frames.js';

/** The part of a WebSocket (browser, undici or `ws`) the client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType?: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onopen: ((event: any) => void) | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onmessage: ((event: any) => void) | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onclose: ((event: any) => void) | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onerror: ((event: any) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor: `globalThis.WebSocket` in browsers, `import { WebSocket } from 'ws'` in Node. */
export type WebSocketConstructorLike = new (
  url: string,
  protocols?: string | string[],
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  options?: any,
) => WebSocketLike;

export type StreamState = 'connecting' | 'open' | 'closed' | 'reconnecting';

export interface StreamStatusInfo {
  /** Reconnect attempt number (1 for the first reconnect after a drop). */
  attempt?: number;
  /** Delay before the next connection attempt. */
  delayMs?: number;
  /** Close code of the connection that ended. */
  code?: number;
  reason?: string;
  /** true when the client gave up for good (close code 1008: unauthorized). */
  fatal?: boolean;
  /** true when the caller ended the stream with `close()`. */
  requested?: boolean;
}

/** How the token reaches the server: an Authorization header (Node `ws`), the subprotocol or the query (browsers). */
export type StreamAuthMode = 'header' | 'protocol' | 'query';

export interface StreamClientOptions {
  /** http(s) or ws(s) base URL, e.g. http://127.0.0.1:8080 (`/ws/devteam` is appended unless present). */
  url: string;
  token?: string;
  projects: string[];
  /** Resume points for the first connection: frames with `seq` <= the value are not wanted (0 = replay everything retained). */
  lastSeq?: Record<string, number>;
  WebSocket?: WebSocketConstructorLike;
  /** Default: 'header' when the constructor takes options (`ws`), else 'protocol'. */
  auth?: StreamAuthMode;
  /** Linear backoff: stepMs * attempt, capped at maxMs. */
  backoff?: { stepMs?: number; maxMs?: number };
  onFrame: (frame: Frame) => void;
  onStatus?: (state: StreamState, info: StreamStatusInfo) => void;
  /** Invalid frames, transport errors, exceptions thrown by callbacks: reported, never thrown. */
  onError?: (error: Error) => void;
}

export const WS_PATH = '/ws/devteam';
export const CLOSE_POLICY_VIOLATION = 1008;
const OPEN = 1;

/** The stream URL for a base URL: http→ws, https→wss, `/ws/devteam` appended to the base path. */
export function streamUrl(base: string, query: Array<[string, string]> = []): string {
  const url = new URL(base);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new Error(`stream url: unsupported protocol ${url.protocol}`);
  if (!url.pathname.endsWith(WS_PATH)) url.pathname = `${url.pathname.replace(/\/+$/, '')}${WS_PATH}`;
  for (const [k, v] of query) url.searchParams.append(k, v);
  return url.toString();
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

export class StreamClient {
  private readonly options: StreamClientOptions;
  private readonly Ctor: WebSocketConstructorLike;
  private readonly stepMs: number;
  private readonly maxMs: number;
  private readonly seqs = new Map<string, number | undefined>();
  private ws: WebSocketLike | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private stopped = false;

  constructor(options: StreamClientOptions) {
    this.options = options;
    const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructorLike }).WebSocket;
    if (!Ctor) throw new Error('StreamClient: no WebSocket constructor (in Node 20 pass `WebSocket` from the ws package)');
    this.Ctor = Ctor;
    this.stepMs = Math.max(0, options.backoff?.stepMs ?? 1000);
    this.maxMs = Math.max(this.stepMs, options.backoff?.maxMs ?? 30_000);
    for (const p of options.projects) this.seqs.set(p, options.lastSeq?.[p]);
    streamUrl(options.url); // fail fast on a bad URL
    this.connect();
  }

  /** The last `seq` seen (or resumed from) for a project; undefined before its first frame. */
  lastSeq(projectId: string): number | undefined {
    return this.seqs.get(projectId);
  }

  /** The projects currently watched. */
  get projects(): string[] {
    return [...this.seqs.keys()];
  }

  /** Whether the socket is open now. */
  get isOpen(): boolean {
    return this.ws?.readyState === OPEN;
  }

  subscribe(projectId: string, lastSeq?: number): void {
    if (this.stopped) return;
    if (!this.seqs.has(projectId) || lastSeq !== undefined) this.seqs.set(projectId, lastSeq ?? this.seqs.get(projectId));
    this.sendSubscribe(projectId);
  }

  unsubscribe(projectId: string): void {
    if (!this.seqs.delete(projectId)) return;
    this.send({ type: 'unsubscribe', projectId });
  }

  /** Ends the stream for good: no reconnect; onStatus('closed', { requested: true }). */
  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const ws = this.ws;
    this.ws = undefined;
    if (ws) {
      this.detach(ws);
      try {
        ws.close(1000, 'client closed');
      } catch {
        // already closing
      }
    }
    this.status('closed', { requested: true });
  }

  private connect(): void {
    if (this.stopped) return;
    this.timer = undefined;
    this.status('connecting', this.attempt ? { attempt: this.attempt } : {});
    const { token } = this.options;
    const mode: StreamAuthMode = this.options.auth ?? (this.Ctor.length >= 3 ? 'header' : 'protocol');
    const query: Array<[string, string]> = token && mode === 'query' ? [['token', token]] : [];
    let ws: WebSocketLike;
    try {
      const url = streamUrl(this.options.url, query);
      if (token && mode === 'header') ws = new this.Ctor(url, undefined, { headers: { authorization: `Bearer ${token}` } });
      else if (token && mode === 'protocol') ws = new this.Ctor(url, ['devteam', `bearer.${token}`]);
      else ws = new this.Ctor(url);
    } catch (error) {
      this.error(error);
      this.scheduleReconnect({});
      return;
    }
    this.ws = ws;
    try {
      ws.binaryType = 'arraybuffer';
    } catch {
      // not settable: fine, text frames are strings
    }
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.status('open', {});
      for (const projectId of this.seqs.keys()) this.sendSubscribe(projectId);
    };
    ws.onmessage = (event: { data?: unknown }) => {
      if (ws !== this.ws) return;
      this.receive(event?.data);
    };
    ws.onerror = (event: { error?: unknown; message?: unknown }) => {
      if (ws !== this.ws) return;
      this.error(event?.error ?? new Error(typeof event?.message === 'string' ? event.message : 'websocket error'));
    };
    ws.onclose = (event: { code?: number; reason?: unknown }) => {
      if (ws !== this.ws) return;
      this.ws = undefined;
      this.detach(ws);
      const code = typeof event?.code === 'number' ? event.code : 1006;
      const reason = typeof event?.reason === 'string' ? event.reason : String(event?.reason ?? '');
      if (this.stopped) return;
      if (code === CLOSE_POLICY_VIOLATION) {
        this.stopped = true;
        this.status('closed', { code, reason, fatal: true });
        return;
      }
      this.scheduleReconnect({ code, reason });
    };
  }

  private scheduleReconnect(info: StreamStatusInfo): void {
    if (this.stopped) return;
    this.attempt += 1;
    const delayMs = Math.min(this.stepMs * this.attempt, this.maxMs);
    this.status('reconnecting', { ...info, attempt: this.attempt, delayMs });
    this.timer = setTimeout(() => this.connect(), delayMs);
  }

  private detach(ws: WebSocketLike): void {
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    // Keep an error listener: `ws` throws on an 'error' event nobody listens to (close() while connecting).
    ws.onerror = () => {};
  }

  private receive(data: unknown): void {
    let text: string;
    if (typeof data === 'string') text = data;
    else if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) text = new TextDecoder().decode(data as ArrayBuffer);
    else return this.error(new Error('invalid frame: not a text message'));
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return this.error(new Error(`invalid frame: not JSON: ${text.slice(0, 120)}`));
    }
    const result = FrameSchema.safeParse(parsed);
    if (!result.success) return this.error(new Error(`invalid frame: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`));
    const frame = result.data;
    // Any valid frame means the connection works: the next drop starts the backoff over.
    this.attempt = 0;
    if (frame.type !== 'hello' && frame.type !== 'error') {
      if (!this.seqs.has(frame.projectId)) return; // not (or no longer) watched
      const last = this.seqs.get(frame.projectId);
      if (frame.type === 'resync') this.seqs.set(frame.projectId, frame.seq);
      else if (last !== undefined && frame.seq <= last) return; // duplicate: already delivered
      else this.seqs.set(frame.projectId, frame.seq);
    }
    try {
      this.options.onFrame(frame);
    } catch (error) {
      this.error(error);
    }
  }

  private sendSubscribe(projectId: string): void {
    const lastSeq = this.seqs.get(projectId);
    this.send(lastSeq === undefined ? { type: 'subscribe', projectId } : { type: 'subscribe', projectId, lastSeq });
  }

  private send(message: ClientMessage): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== OPEN) return; // sent on (re)open
    try {
      ws.send(JSON.stringify(message));
    } catch (error) {
      this.error(error);
    }
  }

  private status(state: StreamState, info: StreamStatusInfo): void {
    try {
      this.options.onStatus?.(state, info);
    } catch (error) {
      this.error(error);
    }
  }

  private error(error: unknown): void {
    try {
      this.options.onError?.(toError(error));
    } catch {
      // the caller's error handler failed: nothing left to report to
    }
  }
}
