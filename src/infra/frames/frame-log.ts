// The per-project frame log behind the live stream: appends assign each frame the project's next
// `seq` and keep the last `retain` frames; every process can subscribe to all appends (the API
// relays them to its WebSocket clients) and read back what a reconnecting client missed.
import type { Frame, FrameType } from '../../client/frames.js';

/** Frames are keyed by tenant and project: two tenants may use the same project id. */
export interface ProjectKey {
  tenant: string;
  projectId: string;
}

export interface AppendedFrame extends Frame {
  tenant: string;
}

export type FrameHandler = (frame: AppendedFrame) => void;

export interface FrameLog {
  /**
   * Assigns seq (previous + 1, across processes) and ts, keeps it, and publishes it to subscribers.
   * Every appended frame is of one execution of the project: `executionId` is kept in its envelope.
   */
  append(key: ProjectKey, type: Exclude<FrameType, 'hello' | 'error' | 'resync'>, executionId: string, payload: unknown): Promise<AppendedFrame>;
  /**
   * Kept frames with seq > lastSeq, in order. `complete` is false when frames after lastSeq were
   * already dropped (the gap is older than what is kept): the client must resync.
   */
  since(key: ProjectKey, lastSeq: number): Promise<{ frames: AppendedFrame[]; complete: boolean; lastSeq: number }>;
  /** Every appended frame of every project, in seq order per project. Resolves once active. */
  subscribe(handler: FrameHandler): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
