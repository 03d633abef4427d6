// The automation API's read side: GET /api/devteam/automation/status/{projectId} answers from the
// status projection stored beside each snapshot write — one indexed read, no machine to load.
import type { TemplatedApp } from 'uWebSockets.js';
import type { ExecutionRecord, ExecutionsStore } from '../infra/db/index.js';
import type { StatusCache } from './status-cache.js';
import type { Logger } from '../infra/log.js';
import { authenticate } from './auth.js';
import { ApiError } from './errors.js';
import { Exchange, type InFlight } from './exchange.js';
import { replyError } from './reply-error.js';
import { projectIdFromPath } from './project-id.js';
import { storeCall } from './store-call.js';

export interface AutomationRoutesDeps {
  executions: ExecutionsStore;
  log: Logger;
  apiKeys: ReadonlyMap<string, string>;
  /** Bodies of recent status reads, dropped on every change of the project. */
  statusCache: StatusCache;
}

export const STATUS_PATH = '/api/devteam/automation/status';

export function registerAutomationRoutes(app: TemplatedApp, deps: AutomationRoutesDeps, inFlight: InFlight): void {
  app.get(`${STATUS_PATH}/:projectId`, (res, req) => {
    const exchange = new Exchange(res, inFlight, 'GET /api/devteam/automation/status/:projectId');
    const authorization = req.getHeader('authorization');
    const rawId = req.getParameter(0) ?? '';
    void (async () => {
      const tenant = authenticate(authorization, deps.apiKeys);
      const projectId = projectIdFromPath(rawId);
      // Another tenant's project is indistinguishable from an unknown one: 404, not 403.
      const body = await deps.statusCache.read(tenant, projectId, async () => {
        const execution = await storeCall(() => deps.executions.latest(tenant, projectId));
        return execution ? JSON.stringify(statusBody(projectId, execution)) : null;
      });
      if (body === null) throw new ApiError('not_found', `no automation for project ${projectId}`);
      exchange.sendRaw(200, body);
    })().catch((error) => replyError(exchange, error, deps.log));
  });
}

/** The body of a status read (also what the Fastify baseline in bench/ serves). */
export function statusBody(projectId: string, execution: ExecutionRecord) {
  const p = execution.projection;
  return {
    projectId,
    executionId: execution.id,
    status: p.status,
    phase: p.phase,
    currentTask: p.currentTask,
    progress: p.progress,
    attempt: p.attempt,
    lastError: p.lastError,
    results: p.results,
    createdAt: execution.createdAt,
    updatedAt: execution.updatedAt,
    finishedAt: execution.finishedAt,
  };
}
