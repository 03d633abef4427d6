// GET /events/{id} as a use case: the tenant's event row, and for an event that drives a project
// its task context is that execution's live state (status, phase, task, progress), not a copy.
import type { EventRow, EventsStore, ExecutionsStore } from '../infra/db/index.js';
import { ApiError } from './errors.js';
import { storeCall } from './store-call.js';

export interface ReadEventDeps {
  events: EventsStore;
  executions: ExecutionsStore;
}

export async function readEvent(deps: ReadEventDeps, tenant: string, id: string): Promise<EventRow> {
  // Another tenant's event is indistinguishable from an unknown one: 404, not 403.
  const row = await storeCall(() => deps.events.getForTenant(tenant, id));
  if (!row) throw new ApiError('not_found', `no event ${id}`);
  const executionId = row.taskContext?.executionId;
  if (typeof executionId !== 'string') return row;
  const execution = await storeCall(() => deps.executions.get(executionId));
  if (!execution || execution.tenant !== tenant) return row;
  return { ...row, taskContext: { executionId, ...execution.projection } };
}
