// The automation API's read side: GET /api/devteam/automation/status/{projectId} answers from the
// status projection stored beside each snapshot write — one indexed read, no machine to load.
import type { TemplatedApp } from 'uWebSockets.js';
import { readStatus, type ReadStatusDeps } from '../app/index.js';
import type { ExecutionsStore } from '../infra/db/index.js';
import type { StatusCache } from './status-cache.js';
import type { Logger } from '../infra/log.js';
import { authenticate } from './auth.js';
import { ApiError } from './errors.js';
import { Exchange, type InFlight } from './exchange.js';
import { replyError } from './reply-error.js';
import { projectIdFromPath } from './project-id.js';
import { storeCall } from '../app/store-call.js';

export interface AutomationRoutesDeps {
  executions: ExecutionsStore;
  log: Logger;
  apiKeys: ReadonlyMap<string, string>;
  /** Bodies of recent status reads, dropped on every change of the project. */
  statusCache: StatusCache;
}

export const STATUS_PATH = '/api/devteam/automation/status';

export function registerAutomationRoutes(app: TemplatedApp, deps: AutomationRoutesDeps, inFlight: InFlight): void {
  const statusDeps = statusReadDeps(deps);
  app.get(`${STATUS_PATH}/:projectId`, (res, req) => {
    const exchange = new Exchange(res, inFlight, 'GET /api/devteam/automation/status/:projectId');
    const authorization = req.getHeader('authorization');
    const rawId = req.getParameter(0) ?? '';
    void (async () => {
      const tenant = authenticate(authorization, deps.apiKeys);
      const projectId = projectIdFromPath(rawId);
      // Another tenant's project is indistinguishable from an unknown one: 404, not 403.
      const body = await readStatus(statusDeps, tenant, projectId);
      if (body === null) throw new ApiError('not_found', `no automation for project ${projectId}`);
      exchange.sendRaw(200, body);
    })().catch((error) => replyError(exchange, error, deps.log));
  });
}

/** What the status route reads through (also what the Fastify baseline in bench/ uses): the latest
 * execution bounded and mapped by storeCall, and the cache. */
export function statusReadDeps(deps: Pick<AutomationRoutesDeps, 'executions' | 'statusCache'>): ReadStatusDeps {
  return { latest: (tenant, projectId) => storeCall(() => deps.executions.latest(tenant, projectId)), statusCache: deps.statusCache };
}

export { statusBody } from '../app/index.js';
