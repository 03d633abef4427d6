// The queue job that carries an event from the API to a worker. The event row is the truth;
// the job only names it, so a lost or duplicated job never loses or doubles an event.
import type { Queue } from '../infra/queue/index.js';

/** The event type that starts or continues a project's automation (a queue job of EVENTS_QUEUE). */
export const DEVTEAM_AUTOMATION = 'DEVTEAM_AUTOMATION';

export const EVENTS_QUEUE = 'events';

export interface EventJob {
  eventId: string;
  type: string;
  projectId: string;
  correlationId: string;
}

export type EventQueue = Queue<EventJob>;
