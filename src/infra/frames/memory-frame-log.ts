// The in-process frame log of embedded mode: per project a counter and a ring of the last `retain`
// frames. Subscribers are called synchronously, in append order, before `append` resolves. The
// counter starts from the project's durable mark and takes seqs in reserved blocks, so a restarted
// process never hands out a seq again.
import type { AppendedFrame, FrameHandler, FrameLog, ProjectKey } from './frame-log.js';
import { DEFAULT_SEQ_BLOCK, MemoryFrameSeqMarks, assertSeqBlock, type FrameSeqMarks } from './frame-seq-marks.js';

export interface MemoryFrameLogOptions {
  /** Frames kept per project (the newest ones). */
  retain?: number;
  /** Durable high-water marks (the database); default: in this process only, seq starts at 1 again after a restart. */
  seqMarks?: FrameSeqMarks;
  /** Seqs reserved per durable write. */
  seqBlock?: number;
  log?: { warn(obj: object, msg: string): void };
}

type FrameKind = Parameters<FrameLog['append']>[1];

interface Waiter {
  type: FrameKind;
  executionId: string;
  payload: unknown;
  resolve(frame: AppendedFrame): void;
  reject(error: unknown): void;
}

interface ProjectLog {
  seq: number;
  /** Seqs up to here are reserved in the marks: handed out without asking. */
  ceiling: number;
  /** The kept frames as JSON (a reader or subscriber never mutates what is kept), oldest first. */
  ring: string[];
  /** Index in `ring` of the oldest kept frame once the ring is full. */
  start: number;
  /** seq and ceiling start from the durable mark, read on first use. */
  ready: boolean;
  loading: Promise<void> | undefined;
  reserving: Promise<void> | undefined;
  /** Appends that arrived while the mark or a reservation was awaited, in call order. */
  waiting: Waiter[];
  draining: boolean;
}

interface Subscription {
  handler: FrameHandler;
}

export const DEFAULT_RETAIN = 1_000;

export class MemoryFrameLog implements FrameLog {
  private readonly retain: number;
  private readonly marks: FrameSeqMarks;
  private readonly block: number;
  /** Seqs left in a block when the next one is reserved in the background. */
  private readonly lowWater: number;
  private readonly log: MemoryFrameLogOptions['log'];
  private readonly projects = new Map<string, ProjectLog>();
  private readonly subscriptions = new Set<Subscription>();

  constructor(opts: MemoryFrameLogOptions = {}) {
    this.retain = assertRetain(opts.retain ?? DEFAULT_RETAIN);
    this.marks = opts.seqMarks ?? new MemoryFrameSeqMarks();
    this.block = assertSeqBlock(opts.seqBlock ?? DEFAULT_SEQ_BLOCK);
    this.lowWater = Math.floor(this.block / 4);
    this.log = opts.log;
  }

  async append(key: ProjectKey, type: FrameKind, executionId: string, payload: unknown): Promise<AppendedFrame> {
    const project = this.project(key);
    // The hot path: a seq already reserved, nobody queued before this call.
    if (project.ready && project.waiting.length === 0 && project.seq < project.ceiling) return this.write(project, key, type, executionId, payload);
    return new Promise<AppendedFrame>((resolve, reject) => {
      project.waiting.push({ type, executionId, payload, resolve, reject });
      void this.drain(project, key);
    });
  }

  async since(key: ProjectKey, lastSeq: number): Promise<{ frames: AppendedFrame[]; complete: boolean; lastSeq: number }> {
    assertLastSeq(lastSeq);
    const project = this.project(key);
    // After a restart the ring is empty and seq is the durable mark: a client from before resyncs.
    if (!project.ready) await this.load(project, key);
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

  private project(key: ProjectKey): ProjectLog {
    const id = projectId(key);
    let project = this.projects.get(id);
    if (!project) {
      project = { seq: 0, ceiling: 0, ring: [], start: 0, ready: false, loading: undefined, reserving: undefined, waiting: [], draining: false };
      this.projects.set(id, project);
    }
    return project;
  }

  /** Hands the queued appends their seqs in order, reading the mark or reserving a block when needed. */
  private async drain(project: ProjectLog, key: ProjectKey): Promise<void> {
    if (project.draining) return;
    project.draining = true;
    try {
      while (project.waiting.length > 0) {
        if (!project.ready) await this.load(project, key);
        else if (project.seq >= project.ceiling) await this.reserve(project, key);
        else {
          const waiter = project.waiting.shift()!;
          try {
            waiter.resolve(this.write(project, key, waiter.type, waiter.executionId, waiter.payload));
          } catch (err) {
            waiter.reject(err);
          }
        }
      }
    } catch (err) {
      // The marks failed: these appends fail, the next one tries again.
      for (const waiter of project.waiting.splice(0)) waiter.reject(err);
    } finally {
      project.draining = false;
    }
  }

  private load(project: ProjectLog, key: ProjectKey): Promise<void> {
    project.loading ??= this.marks.mark(key).then(
      (mark) => {
        project.seq = Math.max(project.seq, mark);
        project.ceiling = Math.max(project.ceiling, project.seq);
        project.ready = true;
        project.loading = undefined;
      },
      (err: unknown) => {
        project.loading = undefined;
        throw err;
      },
    );
    return project.loading;
  }

  /** One reservation at a time; it only raises the ceiling, so seqs stay contiguous. */
  private reserve(project: ProjectLog, key: ProjectKey): Promise<void> {
    project.reserving ??= this.marks.reserve(key, project.seq, this.block).then(
      (to) => {
        project.ceiling = Math.max(project.ceiling, to);
        project.reserving = undefined;
      },
      (err: unknown) => {
        project.reserving = undefined;
        throw err;
      },
    );
    return project.reserving;
  }

  private write(project: ProjectLog, key: ProjectKey, type: FrameKind, executionId: string, payload: unknown): AppendedFrame {
    // Built as RedisFrameLog builds it: same key order, a payload JSON cannot express becomes null.
    const payloadJson = (JSON.stringify(payload) as string | undefined) ?? 'null';
    const seq = ++project.seq;
    const json = `{"type":${JSON.stringify(type)},"ts":${Date.now()},"projectId":${JSON.stringify(key.projectId)},"seq":${seq},"executionId":${JSON.stringify(executionId)},"tenant":${JSON.stringify(key.tenant)},"payload":${payloadJson}}`;
    if (project.ring.length < this.retain) {
      project.ring.push(json);
    } else {
      project.ring[project.start] = json;
      project.start = (project.start + 1) % this.retain;
    }
    if (project.ceiling - seq === this.lowWater && !project.reserving) {
      // Ahead of need, so the hot path does not wait for the database at the end of the block.
      this.reserve(project, key).catch((err: unknown) =>
        this.log?.warn({ err, tenant: key.tenant, projectId: key.projectId, seq }, 'could not reserve the next frame seqs ahead; retried when the block runs out'),
      );
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
