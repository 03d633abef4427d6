// Public surface of the frame log (the live stream's ordered, replayable per-project frames).
export type { AppendedFrame, FrameHandler, FrameLog, ProjectKey } from './frame-log.js';
