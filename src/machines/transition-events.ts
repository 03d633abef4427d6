// What a persisted transition means to the outside, as webhook events: a task that became done or
// failed, a run that ended. Derived from the status projections before and after the transition,
// so each is found exactly once — every transition is persisted once (compare-and-set).
import type { WebhookEvent } from '../project/index.js';
import type { LifecycleStatus } from './project-context.js';
import type { TaskResult } from './step-contracts.js';

/** The part of a status projection the events are read from. */
export interface TransitionView {
  status: LifecycleStatus | string;
  results: Record<string, Pick<TaskResult, 'status'> | unknown>;
}

export interface TransitionEvent {
  event: WebhookEvent;
  /** The task of a task.* event. */
  taskId?: string;
}

const RUN_ENDS: Partial<Record<string, WebhookEvent>> = { completed: 'run.completed', failed: 'run.failed', stopped: 'run.stopped' };
const TASK_ENDS: Partial<Record<string, WebhookEvent>> = { done: 'task.done', failed: 'task.failed' };

const statusOf = (result: unknown): string | undefined => (result as { status?: string } | undefined)?.status;

/** Task events first (in the results' order), then the run's end. */
export function transitionEvents(before: TransitionView, after: TransitionView): TransitionEvent[] {
  const events: TransitionEvent[] = [];
  for (const [taskId, result] of Object.entries(after.results)) {
    const now = statusOf(result);
    const event = now === undefined ? undefined : TASK_ENDS[now];
    if (event && statusOf(before.results[taskId]) !== now) events.push({ event, taskId });
  }
  const ended = RUN_ENDS[after.status];
  if (ended && before.status !== after.status) events.push({ event: ended });
  return events;
}
