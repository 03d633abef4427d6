// Public surface of the frame log (the live stream's ordered, replayable per-project frames).
export type { AppendedFrame, FrameHandler, FrameLog, ProjectKey } from './frame-log.js';
export { DEFAULT_SEQ_BLOCK, FrameSeqError, MemoryFrameSeqMarks, assertReservation, type FrameSeqMarks } from './frame-seq-marks.js';
export { MemoryFrameLog, type MemoryFrameLogOptions } from './memory-frame-log.js';
export { RedisFrameLog, type RedisFrameLogOptions } from './redis-frame-log.js';
