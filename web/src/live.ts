// The page's live state: each watched project's latest status (from the stream; the REST listing
// only until the stream has spoken for a project, as the stream is never older than it), the
// stream connection's own state, and each project's recent log lines. One StreamClient for all
// projects, resuming from the last seq of each after a reconnect.
import { ExecutionLogSchema, ExecutionUpdateSchema, StreamClient, type Frame, type StreamState, type StreamStatusInfo } from '../../src/client/index.js';
import type { StatusBody } from './api.js';
import { apiKey } from './auth.js';
import { LogBuffer } from './log-buffer.js';
import { viewFromBody, viewFromUpdate, type ProjectView } from './projection.js';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface Connection {
  state: ConnectionState;
  /** When the next connection attempt is made (reconnecting). */
  retryAt?: number;
  attempt?: number;
  /** Why it is offline (1008: the key was refused). */
  reason?: string;
}

/** What the page saw of each frame (for tests and the reconnect check): bounded. */
export interface SeenFrame {
  projectId: string;
  seq: number;
  type: string;
  executionId: string | null;
}
const SEEN_CAP = 20_000;

export class Live {
  readonly projects = new Map<string, ProjectView>();
  readonly logs = new Map<string, LogBuffer>();
  readonly seen: SeenFrame[] = [];
  connection: Connection = { state: 'connecting' };
  private client: StreamClient | null = null;
  private readonly listeners = new Set<() => void>();
  private notifyScheduled = false;

  /** Starts the stream (again, e.g. with a new key). */
  start(): void {
    this.client?.close();
    const token = apiKey() ?? undefined;
    const lastSeq: Record<string, number> = {};
    for (const [id, view] of this.projects) if (view.seq !== null) lastSeq[id] = view.seq;
    this.client = new StreamClient({
      url: location.origin,
      token,
      auth: 'protocol',
      projects: [...this.projects.keys()],
      lastSeq,
      backoff: { stepMs: 1000, maxMs: 10_000 },
      onFrame: (frame) => this.onFrame(frame),
      onStatus: (state, info) => this.onStatus(state, info),
      onError: (error) => console.warn('stream:', error.message),
    });
  }

  /** Follows these projects on the stream (already followed ones are left as they are). */
  watch(projectIds: Iterable<string>): void {
    for (const id of projectIds) {
      if (!this.projects.has(id)) this.projects.set(id, { ...viewFromBody(null, id) });
      if (this.client && !this.client.projects.includes(id)) this.client.subscribe(id);
    }
    this.changed();
  }

  /** A status read over REST: shown only while the stream has said nothing of the project. */
  applyBody(body: StatusBody): void {
    const current = this.projects.get(body.projectId);
    if (current?.fromStream) return;
    this.projects.set(body.projectId, viewFromBody(body, body.projectId));
    if (this.client && !this.client.projects.includes(body.projectId)) this.client.subscribe(body.projectId);
    this.changed();
  }

  log(projectId: string): LogBuffer {
    let buffer = this.logs.get(projectId);
    if (!buffer) this.logs.set(projectId, (buffer = new LogBuffer()));
    return buffer;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private onFrame(frame: Frame): void {
    if (frame.type === 'hello' || frame.type === 'error') return;
    this.seen.push({ projectId: frame.projectId, seq: frame.seq, type: frame.type, executionId: frame.executionId });
    if (this.seen.length > SEEN_CAP) this.seen.splice(0, this.seen.length - SEEN_CAP);
    const current = this.projects.get(frame.projectId);
    if (frame.type === 'execution-log') {
      const parsed = ExecutionLogSchema.safeParse(frame.payload);
      if (!parsed.success) return;
      const { source, taskId, attempt, lines } = parsed.data;
      const buffer = this.log(frame.projectId);
      // A new run starts a new log.
      if (current && current.executionId !== frame.executionId) buffer.clear();
      buffer.append(lines.map((l) => ({ source, stream: l.stream, taskId, attempt, text: l.text })));
      if (current) this.projects.set(frame.projectId, { ...current, seq: frame.seq, executionId: frame.executionId });
      return;
    }
    // execution-update or resync (whose payload is null before the project's first run).
    if (frame.payload === null) {
      this.projects.set(frame.projectId, { ...(current ?? viewFromBody(null, frame.projectId)), seq: frame.seq, fromStream: true });
      return this.changed();
    }
    const parsed = ExecutionUpdateSchema.safeParse(frame.payload);
    if (!parsed.success) return;
    if (current && current.executionId !== parsed.data.executionId) this.log(frame.projectId).clear();
    this.projects.set(frame.projectId, viewFromUpdate(parsed.data, frame, current));
    this.changed();
  }

  private onStatus(state: StreamState, info: StreamStatusInfo): void {
    if (state === 'open') this.connection = { state: 'live' };
    else if (state === 'connecting') this.connection = { state: this.connection.state === 'reconnecting' ? 'reconnecting' : 'connecting', attempt: info.attempt };
    else if (state === 'reconnecting') this.connection = { state: 'reconnecting', retryAt: Date.now() + (info.delayMs ?? 0), attempt: info.attempt };
    else if (!info.requested) this.connection = { state: 'offline', reason: info.fatal ? `the stream refused the API key (close ${info.code}${info.reason ? `: ${info.reason}` : ''})` : 'closed' };
    this.changed();
  }

  /**
   * Listeners run once per animation frame, however many frames arrived in it: 200 resyncs on
   * opening the page are one render, not 200 (a hidden tab, where animation frames stop, catches
   * up through the timer).
   */
  private changed(): void {
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    const run = () => {
      if (!this.notifyScheduled) return;
      this.notifyScheduled = false;
      clearTimeout(timer);
      for (const listener of this.listeners) listener();
    };
    const timer = setTimeout(run, 100);
    requestAnimationFrame(run);
  }
}
