// Where a frame log keeps each project's durable high-water mark: no seq above the mark was ever
// handed out. Logs reserve seqs in blocks ahead of use, so the mark is written once per block, not
// per frame, and a log that lost its counter (Redis flushed, process restarted) resumes above it.
import type { ProjectKey } from './frame-log.js';

export interface FrameSeqMarks {
  /** The project's mark: every seq ever handed out is ≤ it; 0 when none was. */
  mark(key: ProjectKey): Promise<number>;
  /**
   * Raises the mark to max(mark, floor) + count and returns the new mark, durably written once this
   * resolves: the seqs in (new − count, new] are the caller's, and every seq ≤ new is covered.
   */
  reserve(key: ProjectKey, floor: number, count: number): Promise<number>;
}

/** Seqs per reservation: one durable write per this many frames of a project. */
export const DEFAULT_SEQ_BLOCK = 1_000;

/** Marks in this process only: durable across a lost Redis, not across a restart (tests, one-off logs). */
export class MemoryFrameSeqMarks implements FrameSeqMarks {
  private readonly marks = new Map<string, number>();

  async mark(key: ProjectKey): Promise<number> {
    return this.marks.get(markId(key)) ?? 0;
  }

  async reserve(key: ProjectKey, floor: number, count: number): Promise<number> {
    assertReservation(floor, count);
    const id = markId(key);
    const next = Math.max(this.marks.get(id) ?? 0, floor) + count;
    this.marks.set(id, next);
    return next;
  }
}

export function assertReservation(floor: number, count: number): void {
  if (!Number.isSafeInteger(floor) || floor < 0) throw new RangeError(`seq reservation floor must be a non-negative integer, got ${floor}`);
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`seq reservation count must be a positive integer, got ${count}`);
  if (!Number.isSafeInteger(floor + count)) throw new RangeError(`seq reservation ${floor} + ${count} is past the largest safe integer`);
}

export function assertSeqBlock(block: number): number {
  if (!Number.isSafeInteger(block) || block < 1) throw new RangeError(`frame log seqBlock must be a positive integer, got ${block}`);
  return block;
}

/**
 * Raised when a log could not get a seq it may hand out (the marks store failed, or the volatile
 * state kept disappearing under it): the frame is not appended.
 */
export class FrameSeqError extends Error {
  readonly code = 'frame_seq_unavailable';
  constructor(
    message: string,
    readonly details: { tenant: string; projectId: string; attempts?: number },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FrameSeqError';
  }
}

function markId(key: ProjectKey): string {
  return `${key.tenant}\0${key.projectId}`;
}
