// WS /ws/devteam: the live stream of project runs. Clients name projects (query or subscribe
// messages) and may resume after a `lastSeq`; the frame log gives what they missed, then live
// frames follow through uWS topics — in order, without gaps or duplicates. Slow clients are cut
// at a backpressure limit instead of growing this process's memory.
import uWS, { type TemplatedApp, type WebSocket } from 'uWebSockets.js';
import { ClientMessageSchema, executionUpdate, type Frame } from '../client/index.js';
import type { ExecutionsStore } from '../infra/db/index.js';
import type { AppendedFrame, FrameLog } from '../infra/frames/index.js';
import type { Logger } from '../infra/log.js';
import type { Metrics } from '../infra/metrics/index.js';
import { authenticate } from './auth.js';
import { projectIdSchema } from './schemas.js';
import { STORE_TIMEOUT_MS } from './store-call.js';
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
  const { type, ts, projectId, seq, payload } = frame;
  return JSON.stringify({ type, ts, projectId, seq, payload });
}


const HARD_MESSAGE_LIMIT = 1024 * 1024;

export async function registerStream(app: TemplatedApp, deps: StreamDeps): Promise<Stream> {
  const maxMessageBytes = Math.min(deps.maxMessageBytes ?? 16 * 1024, HARD_MESSAGE_LIMIT);
  // uWS forbids touching a closed socket, so state is read from the Client object, never the socket.
  const replaying = new Map<string, Set<Client>>();
  let open = 0;

  const unsubscribe = await deps.frames.subscribe((frame) => {
    const topic = topicOf(frame.tenant, frame.projectId);
    for (const client of replaying.get(topic) ?? []) client.pending.get(frame.projectId)?.push(frame);
    const subscribers = app.numSubscribers(topic);
    if (subscribers === 0) return;
    app.publish(topic, frameJson(frame));
    deps.metrics?.wsFramesSent.inc(subscribers);
  });

  const clients = new Map<WebSocket<Client>, Client>();
  const send = (ws: WebSocket<Client>, frame: Frame | AppendedFrame) => {
    if (clients.get(ws)?.closed) return;
    // 2: dropped at the backpressure limit (uWS then closes the connection).
    if (ws.send(frameJson(frame)) === 2) deps.metrics?.wsFramesDropped.inc();
    else deps.metrics?.wsFramesSent.inc();
  };
  const errorFrame = (message: string, projectId = ''): Frame => ({ type: 'error', ts: Date.now(), projectId, seq: 0, payload: { message } });

  async function subscribe(ws: WebSocket<Client>, rawProjectId: unknown, lastSeq: number | undefined): Promise<void> {
    const client = clients.get(ws)!;
    const parsed = projectIdSchema.safeParse(rawProjectId);
    if (!parsed.success) return send(ws, errorFrame('projectId must be letters, digits, ".", "_", "-" (not first), at most 128 characters'));
    const projectId = parsed.data;
    const tenant = client.tenant!;
    if (client.projects.has(projectId) || client.pending.has(projectId)) return;
    // Another tenant's project is indistinguishable from an unknown one.
    const execution = await withTimeout(deps.executions.latest(tenant, projectId), STORE_TIMEOUT_MS, 'the database');
    if (client.closed) return;
    if (!execution) return ws.end(CLOSE.policy, `unknown project ${projectId}`);

    const topic = topicOf(tenant, projectId);
    client.pending.set(projectId, []);
    let watchers = replaying.get(topic);
    if (!watchers) replaying.set(topic, (watchers = new Set()));
    watchers.add(client);
    try {
      const key = { tenant, projectId };
      // Without a lastSeq the client wants the present: a resync at the current seq, then live.
      const missed = await withTimeout(deps.frames.since(key, lastSeq ?? Number.MAX_SAFE_INTEGER), STORE_TIMEOUT_MS, 'the frame log');
      if (client.closed) return;
      let sent: number;
      if (missed.complete && lastSeq !== undefined) {
        for (const frame of missed.frames) send(ws, frame);
        sent = missed.frames.at(-1)?.seq ?? lastSeq;
      } else {
        const current = (await withTimeout(deps.executions.latest(tenant, projectId), STORE_TIMEOUT_MS, 'the database')) ?? execution;
        if (client.closed) return;
        sent = missed.lastSeq;
        send(ws, { type: 'resync', ts: Date.now(), projectId, seq: sent, payload: executionUpdate(current.id, current.projection) });
      }
      // Synchronous from here: no frame can arrive between the flush and the subscription.
      for (const frame of client.pending.get(projectId) ?? []) if (frame.seq > sent) send(ws, frame);
      if (client.closed) return;
      ws.subscribe(topic);
      client.projects.add(projectId);
    } finally {
      client.pending.delete(projectId);
      watchers.delete(client);
      if (watchers.size === 0) replaying.delete(topic);
    }
  }

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
        tenant = authenticate(authorization, deps.apiKeys);
      } catch (error) {
        authError = (error as Error).message;
      }
      const lastSeqParam = query.get('lastSeq');
      const lastSeq = lastSeqParam !== null && /^\d{1,15}$/.test(lastSeqParam) ? Number(lastSeqParam) : undefined;
      const data: Client = {
        tenant,
        authError,
        queryProjects: query.getAll('projectId'),
        queryLastSeq: lastSeq,
        pending: new Map(),
        projects: new Set(),
        closed: false,
      };
      // Browsers that send the token as a subprotocol need one chosen back.
      const chosen = protocols.includes('devteam') ? 'devteam' : (protocols[0] ?? '');
      res.upgrade(data, req.getHeader('sec-websocket-key'), chosen, req.getHeader('sec-websocket-extensions'), context);
    },

    open: (ws) => {
      open++;
      deps.metrics?.wsConnections.inc();
      const client = ws.getUserData();
      clients.set(ws, client);
      if (client.authError) return ws.end(CLOSE.policy, client.authError.slice(0, 120));
      send(ws, { type: 'hello', ts: Date.now(), projectId: '', seq: 0, payload: { tenant: client.tenant, projects: client.queryProjects } });
      const lastSeq = client.queryProjects.length === 1 ? client.queryLastSeq : undefined;
      for (const projectId of client.queryProjects) {
        subscribe(ws, projectId, lastSeq).catch((err) => {
          deps.log.warn({ err, projectId }, 'stream subscription failed');
          send(ws, errorFrame('the stream is unavailable; reconnect later', projectId));
        });
      }
    },

    message: (ws, message, isBinary) => {
      if (message.byteLength > maxMessageBytes) return ws.end(CLOSE.tooBig, `message over ${maxMessageBytes} bytes`);
      let parsed;
      try {
        parsed = isBinary ? null : ClientMessageSchema.safeParse(JSON.parse(Buffer.from(message).toString('utf8')));
      } catch {
        parsed = null;
      }
      if (!parsed?.success) return send(ws, errorFrame('expected {"type":"subscribe","projectId":…,"lastSeq"?} or {"type":"unsubscribe","projectId":…}'));
      const msg = parsed.data;
      if (msg.type === 'subscribe') {
        subscribe(ws, msg.projectId, msg.lastSeq).catch((err) => {
          deps.log.warn({ err, projectId: msg.projectId }, 'stream subscription failed');
          send(ws, errorFrame('the stream is unavailable; reconnect later', msg.projectId));
        });
      } else {
        const client = clients.get(ws)!;
        if (client.projects.delete(msg.projectId)) ws.unsubscribe(topicOf(client.tenant!, msg.projectId));
      }
    },

    close: (ws) => {
      open--;
      deps.metrics?.wsConnections.dec();
      const client = clients.get(ws);
      if (client) client.closed = true;
      clients.delete(ws);
    },
  });

  return {
    async close() {
      await unsubscribe();
      for (const [ws, client] of clients) {
        client.closed = true;
        ws.end(1001, 'server shutting down');
      }
    },
    connections: () => open,
  };
}
