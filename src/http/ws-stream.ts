// WS /ws/devteam: the live stream of project runs. Clients name projects (query or subscribe
// messages) and may resume after a `lastSeq`; the frame log gives what they missed, then live
// frames follow through uWS topics — in order, without gaps or duplicates. A project the tenant
// has not initialized yet can be subscribed too (a dashboard subscribes first): its frames come
// from the first transition on. Slow clients are cut at a backpressure limit instead of growing
// this process's memory.
import uWS, { type HttpRequest, type TemplatedApp, type WebSocket } from 'uWebSockets.js';
import { ClientMessageSchema, executionUpdate, type ClientMessage, type Frame } from '../client/index.js';
import type { ExecutionRecord, ExecutionsStore } from '../infra/db/index.js';
import type { AppendedFrame, FrameLog, ProjectKey } from '../infra/frames/index.js';
import type { Logger } from '../infra/log.js';
import type { Metrics } from '../infra/metrics/index.js';
import { authenticate } from './auth.js';
import { projectIdSchema } from './schemas.js';
import { STORE_TIMEOUT_MS } from '../app/store-call.js';
import { withTimeout } from '../infra/deadline.js';

export const STREAM_PATH = '/ws/devteam';
/** Close codes of RFC 6455 the stream uses. */
export const CLOSE = { policy: 1008, tooBig: 1009 } as const;

export interface StreamDeps {
  frames: FrameLog;
  executions: ExecutionsStore;
  apiKeys: ReadonlyMap<string, string>;
  log: Logger;
  /** Largest accepted client message (bigger → close 1009). */
  maxMessageBytes?: number;
  /** Bytes queued for one client before it is disconnected. */
  maxBackpressureBytes?: number;
  idleTimeoutSec?: number;
  metrics?: Metrics;
}

interface Client {
  tenant: string | null;
  authError: string | null;
  queryProjects: string[];
  queryLastSeq: number | undefined;
  /** Projects whose replay is in progress: live frames wait here until it is sent. */
  pending: Map<string, AppendedFrame[]>;
  projects: Set<string>;
  closed: boolean;
}

export interface Stream {
  /** Stops relaying frames from the log and closes every connection with 1001 (on shutdown). */
  close(): Promise<void>;
  connections(): number;
}

export const topicOf = (tenant: string, projectId: string) => `p\u0000${tenant}\u0000${projectId}`;

function frameJson(frame: AppendedFrame | Frame): string {
  const { type, ts, projectId, seq, executionId, payload } = frame;
  // `?? null`: a frame kept in Redis by a version before executionId was in the envelope has none.
  return JSON.stringify({ type, ts, projectId, seq, executionId: executionId ?? null, payload });
}

const HARD_MESSAGE_LIMIT = 1024 * 1024;
/**
 * Projects one connection may follow at once. Any id can be subscribed (a dashboard subscribes
 * before initializing), so without a cap one socket could pin unbounded memory in topics.
 */
export const MAX_SUBSCRIPTIONS_PER_CONNECTION = 1000;

const errorFrame = (message: string, projectId = ''): Frame => ({ type: 'error', ts: Date.now(), projectId, seq: 0, executionId: null, payload: { message } });

/**
 * The connection an upgrade request asks for: its tenant (or why it has none), the projects and
 * lastSeq of its query, and the subprotocol to answer. Reads `req` synchronously, as uWS requires.
 */
function clientOf(req: HttpRequest, apiKeys: ReadonlyMap<string, string>): { client: Client; protocol: string } {
  const query = new URLSearchParams(req.getQuery() ?? '');
  const protocols = req
    .getHeader('sec-websocket-protocol')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const protocolToken = protocols.find((p) => p.startsWith('bearer.'))?.slice('bearer.'.length);
  const token = protocolToken ?? query.get('token') ?? undefined;
  const authorization = req.getHeader('authorization') || (token ? `Bearer ${token}` : '');
  let tenant: string | null = null;
  let authError: string | null = null;
  try {
    tenant = authenticate(authorization, apiKeys);
  } catch (error) {
    authError = (error as Error).message;
  }
  const lastSeqParam = query.get('lastSeq');
  const lastSeq = lastSeqParam !== null && /^\d{1,15}$/.test(lastSeqParam) ? Number(lastSeqParam) : undefined;
  const client: Client = {
    tenant,
    authError,
    queryProjects: query.getAll('projectId'),
    queryLastSeq: lastSeq,
    pending: new Map(),
    projects: new Set(),
    closed: false,
  };
  // Browsers that send the token as a subprotocol need one chosen back.
  return { client, protocol: protocols.includes('devteam') ? 'devteam' : (protocols[0] ?? '') };
}

/** A client message, or null when it is binary, not JSON or not one of the messages. */
function parseMessage(message: ArrayBuffer, isBinary: boolean): ClientMessage | null {
  if (isBinary) return null;
  try {
    const parsed = ClientMessageSchema.safeParse(JSON.parse(Buffer.from(message).toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The connections of one uWS app and the frames relayed to them. */
class StreamHub {
  // uWS forbids touching a closed socket, so state is read from the Client object, never the socket.
  readonly clients = new Map<WebSocket<Client>, Client>();
  /** Per topic, the clients whose replay of it is in progress. */
  private readonly replaying = new Map<string, Set<Client>>();
  private readonly maxMessageBytes: number;
  open = 0;

  constructor(
    private readonly app: TemplatedApp,
    private readonly deps: StreamDeps,
  ) {
    this.maxMessageBytes = Math.min(deps.maxMessageBytes ?? 16 * 1024, HARD_MESSAGE_LIMIT);
  }

  /** A frame of the log: queued for clients replaying its project, published to those subscribed. */
  relay(frame: AppendedFrame): void {
    const topic = topicOf(frame.tenant, frame.projectId);
    for (const client of this.replaying.get(topic) ?? []) client.pending.get(frame.projectId)?.push(frame);
    const subscribers = this.app.numSubscribers(topic);
    if (subscribers === 0) return;
    this.app.publish(topic, frameJson(frame));
    this.deps.metrics?.wsFramesSent.inc(subscribers);
  }

  opened(ws: WebSocket<Client>): void {
    this.open++;
    this.deps.metrics?.wsConnections.inc();
    const client = ws.getUserData();
    this.clients.set(ws, client);
    if (client.authError) return ws.end(CLOSE.policy, client.authError.slice(0, 120));
    this.send(ws, { type: 'hello', ts: Date.now(), projectId: '', seq: 0, executionId: null, payload: { tenant: client.tenant, projects: client.queryProjects } });
    const lastSeq = client.queryProjects.length === 1 ? client.queryLastSeq : undefined;
    for (const projectId of client.queryProjects) this.subscribe(ws, projectId, lastSeq);
  }

  received(ws: WebSocket<Client>, message: ArrayBuffer, isBinary: boolean): void {
    if (message.byteLength > this.maxMessageBytes) return ws.end(CLOSE.tooBig, `message over ${this.maxMessageBytes} bytes`);
    const msg = parseMessage(message, isBinary);
    if (!msg) return this.send(ws, errorFrame('expected {"type":"subscribe","projectId":…,"lastSeq"?} or {"type":"unsubscribe","projectId":…}'));
    if (msg.type === 'subscribe') return this.subscribe(ws, msg.projectId, msg.lastSeq);
    const client = this.clients.get(ws)!;
    if (client.projects.delete(msg.projectId)) ws.unsubscribe(topicOf(client.tenant!, msg.projectId));
  }

  closed(ws: WebSocket<Client>): void {
    this.open--;
    this.deps.metrics?.wsConnections.dec();
    const client = this.clients.get(ws);
    if (client) client.closed = true;
    this.clients.delete(ws);
  }

  /** Closes every connection with 1001 "going away". */
  endAll(): void {
    for (const [ws, client] of this.clients) {
      client.closed = true;
      ws.end(1001, 'server shutting down');
    }
  }

  private send(ws: WebSocket<Client>, frame: Frame | AppendedFrame): void {
    if (this.clients.get(ws)?.closed) return;
    // 2: dropped at the backpressure limit (uWS then closes the connection).
    if (ws.send(frameJson(frame)) === 2) this.deps.metrics?.wsFramesDropped.inc();
    else this.deps.metrics?.wsFramesSent.inc();
  }

  /** Starts a subscription; a store failure is logged and told to the client as an error frame. */
  private subscribe(ws: WebSocket<Client>, projectId: string, lastSeq: number | undefined): void {
    this.join(ws, projectId, lastSeq).catch((err) => {
      this.deps.log.warn({ err, projectId }, 'stream subscription failed');
      this.send(ws, errorFrame('the stream is unavailable; reconnect later', projectId));
    });
  }

  /**
   * Checks the project id, then replays and goes live. A project the tenant has not initialized is
   * subscribed all the same: everything is keyed by tenant, so another tenant's project with this id
   * is just an id this tenant has not used — same frames, nothing of the other's run.
   */
  private async join(ws: WebSocket<Client>, rawProjectId: unknown, lastSeq: number | undefined): Promise<void> {
    const client = this.clients.get(ws)!;
    const parsed = projectIdSchema.safeParse(rawProjectId);
    if (!parsed.success) return this.send(ws, errorFrame('projectId must be letters, digits, ".", "_", "-" (not first), at most 128 characters'));
    const key = { tenant: client.tenant!, projectId: parsed.data };
    if (client.projects.has(key.projectId) || client.pending.has(key.projectId)) return;
    if (client.projects.size + client.pending.size >= MAX_SUBSCRIPTIONS_PER_CONNECTION) {
      return this.send(ws, errorFrame(`at most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} projects per connection: unsubscribe from one first`, key.projectId));
    }
    await this.replayThenLive(ws, client, key, lastSeq);
  }

  /** Live frames that arrive during the replay are held in `pending` and sent after it, above its seq. */
  private async replayThenLive(ws: WebSocket<Client>, client: Client, key: ProjectKey, lastSeq: number | undefined): Promise<void> {
    const { projectId } = key;
    const topic = topicOf(key.tenant, projectId);
    client.pending.set(projectId, []);
    let watchers = this.replaying.get(topic);
    if (!watchers) this.replaying.set(topic, (watchers = new Set()));
    watchers.add(client);
    try {
      const sent = await this.replay(ws, client, key, lastSeq);
      if (sent === null) return;
      // Synchronous from here: no frame can arrive between the flush and the subscription.
      for (const frame of client.pending.get(projectId) ?? []) if (frame.seq > sent) this.send(ws, frame);
      if (client.closed) return;
      ws.subscribe(topic);
      client.projects.add(projectId);
    } finally {
      client.pending.delete(projectId);
      watchers.delete(client);
      if (watchers.size === 0) this.replaying.delete(topic);
    }
  }

  /**
   * Sends the frames after `lastSeq`, or — without a lastSeq, or when they are no longer all kept —
   * a resync at the current seq. The seq the client is now at; null when it left meanwhile.
   */
  private async replay(ws: WebSocket<Client>, client: Client, key: ProjectKey, lastSeq: number | undefined): Promise<number | null> {
    // Without a lastSeq the client wants the present: a resync at the current seq, then live.
    const missed = await withTimeout(this.deps.frames.since(key, lastSeq ?? Number.MAX_SAFE_INTEGER), STORE_TIMEOUT_MS, 'the frame log');
    if (client.closed) return null;
    if (missed.complete && lastSeq !== undefined) {
      for (const frame of missed.frames) this.send(ws, frame);
      return missed.frames.at(-1)?.seq ?? lastSeq;
    }
    // Read after the seq: every frame at or below it is of this execution or an earlier one.
    const current = await withTimeout(this.deps.executions.latest(key.tenant, key.projectId), STORE_TIMEOUT_MS, 'the database');
    if (client.closed) return null;
    this.send(ws, resyncFrame(key.projectId, missed.lastSeq, current));
    return missed.lastSeq;
  }
}

/** The present of a project: its latest execution's status at `seq`; executionId and payload null before its first initialize. */
function resyncFrame(projectId: string, seq: number, current: ExecutionRecord | null): Frame {
  const payload = current ? executionUpdate(current.id, current.projection) : null;
  return { type: 'resync', ts: Date.now(), projectId, seq, executionId: current?.id ?? null, payload };
}

export async function registerStream(app: TemplatedApp, deps: StreamDeps): Promise<Stream> {
  const hub = new StreamHub(app, deps);
  const unsubscribe = await deps.frames.subscribe((frame) => hub.relay(frame));
  app.ws<Client>(STREAM_PATH, {
    compression: uWS.DISABLED,
    // uWS drops a connection over this without a close frame (1006); below it, our own check
    // closes with the 1009 clients expect.
    maxPayloadLength: HARD_MESSAGE_LIMIT,
    maxBackpressure: deps.maxBackpressureBytes ?? 1024 * 1024,
    closeOnBackpressureLimit: 1,
    idleTimeout: deps.idleTimeoutSec ?? 60,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      const { client, protocol } = clientOf(req, deps.apiKeys);
      res.upgrade(client, req.getHeader('sec-websocket-key'), protocol, req.getHeader('sec-websocket-extensions'), context);
    },
    open: (ws) => hub.opened(ws),
    message: (ws, message, isBinary) => hub.received(ws, message, isBinary),
    close: (ws) => hub.closed(ws),
  });
  return {
    async close() {
      await unsubscribe();
      hub.endAll();
    },
    connections: () => hub.open,
  };
}
