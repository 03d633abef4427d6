// GET /api/devteam/automation/executions/{executionId}/deliveries: parse, call the use case
// (src/app/list-deliveries.ts), reply.
import type { TemplatedApp } from 'uWebSockets.js';
import { listDeliveries, type ListDeliveriesDeps } from '../app/index.js';
import type { Logger } from '../infra/log.js';
import { EXECUTIONS_PATH, executionIdSchema } from './artifacts-route.js';
import { authenticate } from './auth.js';
import { ApiError } from './errors.js';
import { Exchange, type InFlight } from './exchange.js';
import { replyError } from './reply-error.js';

export interface DeliveriesRouteDeps extends ListDeliveriesDeps {
  log: Logger;
  apiKeys: ReadonlyMap<string, string>;
}

export function registerDeliveriesRoute(app: TemplatedApp, deps: DeliveriesRouteDeps, inFlight: InFlight): void {
  app.get(`${EXECUTIONS_PATH}/:executionId/deliveries`, (res, req) => {
    const exchange = new Exchange(res, inFlight, 'GET /api/devteam/automation/executions/:id/deliveries');
    const authorization = req.getHeader('authorization');
    const executionId = (req.getParameter(0) ?? '').toLowerCase();
    void (async () => {
      const tenant = authenticate(authorization, deps.apiKeys);
      if (!executionIdSchema.safeParse(executionId).success) throw new ApiError('invalid_id', 'executionId must be a UUID');
      exchange.json(200, await listDeliveries(deps, { tenant, executionId }));
    })().catch((error) => replyError(exchange, error, deps.log));
  });
}
