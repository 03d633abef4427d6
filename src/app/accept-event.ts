// POST /events as a use case: the event row is committed (owned by the caller's tenant) before
// the reply, then its job is enqueued (the outbox dispatches it if that fails). A DEVTEAM_AUTOMATION
// event whose payload is a whole initialize body starts automating that project, exactly as
// POST /initialize does: its execution and this event are stored together.
import type { EventsStore } from '../infra/db/index.js';
import type { Logger } from '../infra/log.js';
import { dispatchCommitted } from './dispatch-event.js';
import { ApiError, validationFailed, type FieldIssue } from './errors.js';
import { DEVTEAM_AUTOMATION, type EventQueue } from './event-job.js';
import { startAutomation, type StartAutomationDeps } from './start-automation.js';
import { storeCall } from './store-call.js';

export interface AcceptEventDeps extends StartAutomationDeps {
  events: EventsStore;
  queue: EventQueue;
  log: Logger;
  /** How long the reply waits for the enqueue before leaving it to the outbox. */
  enqueueTimeoutMs?: number;
}

export interface IncomingEvent {
  tenant: string;
  type: string;
  projectId: string;
  correlationId: string;
  payload: Record<string, unknown>;
}

export interface AcceptedEvent {
  eventId: string;
  correlationId: string;
  enqueued: boolean;
}

/** A payload that configures a project (it names a repository) rather than naming one. */
function isInitializeBody(event: IncomingEvent): boolean {
  return event.type === DEVTEAM_AUTOMATION && typeof event.payload.repository === 'object' && event.payload.repository !== null;
}

export async function acceptEvent(deps: AcceptEventDeps, event: IncomingEvent): Promise<AcceptedEvent> {
  const eventId = crypto.randomUUID();
  const { tenant, correlationId } = event;
  if (isInitializeBody(event)) {
    // One project per event: the payload's projectId, when it names one, must be the event's.
    if (event.payload.projectId !== undefined && event.payload.projectId !== event.projectId) {
      throw validationFailed([{ field: 'payload.projectId', message: `must be the event's projectId (${event.projectId}) or left out` }]);
    }
    const body = { ...event.payload, projectId: event.projectId };
    const started = await startAutomation(deps, { tenant, body, correlationId, eventId }).catch((error: unknown) => {
      // Name the fields as the client sent them: inside the payload.
      if (error instanceof ApiError && error.code === 'validation_failed' && Array.isArray(error.details)) {
        throw validationFailed((error.details as FieldIssue[]).map((d) => ({ field: `payload.${d.field}`, message: d.message })));
      }
      throw error;
    });
    return { eventId, correlationId, enqueued: started.enqueued };
  }
  const log = deps.log.child({ eventId, correlationId, projectId: event.projectId, type: event.type, tenant });
  await storeCall(() => deps.events.insert({ id: eventId, tenant, type: event.type, projectId: event.projectId, correlationId, payload: event.payload }));
  const enqueued = await dispatchCommitted(deps.queue, { eventId, type: event.type, projectId: event.projectId, correlationId }, log, deps.enqueueTimeoutMs);
  log.info({ enqueued }, 'event accepted');
  return { eventId, correlationId, enqueued };
}
