// The webhook deliveries of an execution and each of their tries, for the tenant that owns it.
import type { DeliveryRecord, ExecutionsStore, WebhookDeliveriesStore } from '../infra/db/index.js';
import { ApiError } from './errors.js';
import { storeCall } from './store-call.js';

export interface ListDeliveriesDeps {
  deliveries: WebhookDeliveriesStore;
  executions: ExecutionsStore;
}

export interface DeliveriesListing {
  executionId: string;
  projectId: string;
  deliveries: DeliveryRecord[];
}

/** `executionId`: a checked, lower-case UUID (the front validates it before any query). */
export async function listDeliveries(deps: ListDeliveriesDeps, req: { tenant: string; executionId: string }): Promise<DeliveriesListing> {
  const execution = await storeCall(() => deps.executions.get(req.executionId));
  // Another tenant's execution is indistinguishable from an unknown one: 404, not 403.
  if (!execution || execution.tenant !== req.tenant) throw new ApiError('not_found', `no execution ${req.executionId}`);
  const deliveries = await storeCall(() => deps.deliveries.listForExecution(req.executionId));
  return { executionId: req.executionId, projectId: execution.projectId, deliveries };
}
