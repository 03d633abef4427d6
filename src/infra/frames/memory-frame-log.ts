// The in-process frame log of embedded mode: per project a counter and a ring of the last `retain`
// frames. Subscribers are called synchronously, in append order, before `append` resolves.
import type { AppendedFrame, FrameHandler, FrameLog, ProjectKey } from './frame-log.js';

export interface MemoryFrameLogOptions {
  /** Frames kept per project (the newest ones). */
  retain?: number;
  log?: { warn(obj: object, msg: string): void };
}

interface ProjectLog {
  seq: number;
  /** The kept frames as JSON (a reader or subscriber never mutates what is kept), oldest first. */
  ring: string[];
  /** Index in `ring` of the oldest kept frame once the ring is full. */
  start: number;
}

interface Subscription {
  handler: FrameHandler;
}

export const DEFAULT_RETAIN = 1_000;

export class MemoryFrameLog implements FrameLog {
  private readonly retain: number;
  private readonly log: MemoryFrameLogOptions['log'];
  private readonly projects = new Map<string, ProjectLog>();
  private readonly subscriptions = new Set<Subscription>();

  constructor(opts: MemoryFrameLogOptions = {}) {
    this.retain = assertRetain(opts.retain ?? DEFAULT_RETAIN);
    this.log = opts.log;
  }

  async append(key: ProjectKey, type: Parameters<FrameLog['append']>[1], payload: unknown): Promise<AppendedFrame> {
    const id = projectId(key);
    let project = this.projects.get(id);
    if (!project) this.projects.set(id, (project = { seq: 0, ring: [], start: 0 }));
    const seq = ++project.seq;
    // Built as RedisFrameLog builds it: same key order, a payload JSON cannot express becomes null.
    const payloadJson = (JSON.stringify(payload) as string | undefined) ?? 'null';
    const json = `{"type":${JSON.stringify(type)},"ts":${Date.now()},"projectId":${JSON.stringify(key.projectId)},"seq":${seq},"tenant":${JSON.stringify(key.tenant)},"payload":${payloadJson}}`;
    if (project.ring.length < this.retain) {
      project.ring.push(json);
    } else {
      project.ring[project.start] = json;
      project.start = (project.start + 1) % this.retain;
    }
    for (const { handler } of this.subscriptions) {
      try {
        handler(JSON.parse(json) as AppendedFrame);
      } catch (err) {
        this.log?.warn({ err, tenant: key.tenant, projectId: key.projectId, seq }, 'frame handler threw; other handlers still get the frame');
      }
    }
    return JSON.parse(json) as AppendedFrame;
  }

  async since(key: ProjectKey, lastSeq: number): Promise<{ frames: AppendedFrame[]; complete: boolean; lastSeq: number }> {
    assertLastSeq(lastSeq);
    const project = this.projects.get(projectId(key));
    if (!project) return { frames: [], complete: lastSeq === 0, lastSeq: 0 };
    const { ring, start, seq } = project;
    // Kept seqs are contiguous and end at `seq`: the oldest kept one is seq - ring.length + 1.
    const oldest = seq - ring.length + 1;
    const from = Math.max(lastSeq + 1, oldest);
    const frames: AppendedFrame[] = [];
    for (let s = from; s <= seq; s++) frames.push(JSON.parse(ring[(start + (s - oldest)) % ring.length]!) as AppendedFrame);
    return { frames, complete: isComplete(lastSeq, seq, frames[0]?.seq), lastSeq: seq };
  }

  async subscribe(handler: FrameHandler): Promise<() => Promise<void>> {
    // Wrapped: the same function subscribed twice is two subscriptions, each removed on its own.
    const subscription: Subscription = { handler };
    this.subscriptions.add(subscription);
    return async () => void this.subscriptions.delete(subscription);
  }

  async close(): Promise<void> {
    this.subscriptions.clear();
  }
}

function projectId(key: ProjectKey): string {
  return `${key.tenant}\0${key.projectId}`;
}

/**
 * Whether the frames after `lastSeq` are all there: nothing is missing when the client is up to date,
 * or when the first frame returned is the very next one. A client ahead of the counter saw a sequence
 * that no longer exists (its project's log expired and started again): it must resync too.
 */
export function isComplete(lastSeq: number, currentSeq: number, firstReturned: number | undefined): boolean {
  if (lastSeq === currentSeq) return true;
  if (lastSeq > currentSeq) return false;
  return firstReturned === lastSeq + 1;
}

export function assertRetain(retain: number): number {
  if (!Number.isSafeInteger(retain) || retain < 1) throw new RangeError(`frame log retain must be a positive integer, got ${retain}`);
  return retain;
}

export function assertLastSeq(lastSeq: number): void {
  if (!Number.isSafeInteger(lastSeq) || lastSeq < 0) throw new RangeError(`lastSeq must be a non-negative integer, got ${lastSeq}`);
}
