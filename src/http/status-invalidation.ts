// How each API process learns that a project's status changed: one subscription to the frame log
// that drops the project's cached status body on every execution-update frame (decision 0010).
// Created where the process is built, next to the StatusCache, and closed on shutdown.
import type { FrameLog } from '../infra/frames/index.js';
import type { StatusCache } from './status-cache.js';

export interface StatusInvalidation {
  /** Stops invalidating; safe to call more than once. */
  close(): Promise<void>;
}

/**
 * Subscribes `cache` to `frames`; resolves once the subscription is active. Subscribe it before
 * the live stream: both frame logs call handlers in subscription order, so a stream client is
 * never sent a transition whose old status this process could still serve.
 */
export async function invalidateStatusOnFrames(frames: FrameLog, cache: StatusCache): Promise<StatusInvalidation> {
  const unsubscribe = await frames.subscribe((frame) => {
    if (frame.type === 'execution-update') cache.invalidate(frame.tenant, frame.projectId);
  });
  let closing: Promise<void> | undefined;
  return { close: () => (closing ??= unsubscribe()) };
}
