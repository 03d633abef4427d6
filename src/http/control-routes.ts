// POST /api/devteam/automation/{pause,resume,stop}/{projectId}: parse, call the use case
// (src/app/apply-command.ts: the machine decides on the stored snapshot under a row lock), reply
// 202 with the state the command left.
import type { TemplatedApp } from 'uWebSockets.js';
import { applyCommand, PROJECT_COMMANDS, type ApplyCommandDeps } from '../app/index.js';
import type { ProjectCommand } from '../machines/index.js';
import { authenticate } from './auth.js';
import { Exchange, type InFlight } from './exchange.js';
import { projectIdFromPath } from './project-id.js';
import { replyError } from './reply-error.js';
import { correlationIdSchema } from './schemas.js';
import type { StatusCache } from './status-cache.js';

export const AUTOMATION_PATH = '/api/devteam/automation';

export interface ControlRoutesDeps extends Omit<ApplyCommandDeps, 'onApplied'> {
  apiKeys: ReadonlyMap<string, string>;
  statusCache: StatusCache;
}

export function registerControlRoutes(app: TemplatedApp, deps: ControlRoutesDeps, inFlight: InFlight): void {
  const useCase: ApplyCommandDeps = { ...deps, onApplied: (tenant, projectId) => deps.statusCache.invalidate(tenant, projectId) };
  for (const command of PROJECT_COMMANDS) {
    app.post(`${AUTOMATION_PATH}/${command}/:projectId`, (res, req) => {
      const exchange = new Exchange(res, inFlight, `POST /api/devteam/automation/${command}/:projectId`);
      // uWS request data is only valid until the handler returns: read everything now.
      const authorization = req.getHeader('authorization');
      const rawId = req.getParameter(0) ?? '';
      const header = correlationIdSchema.safeParse(req.getHeader('x-correlation-id'));
      const correlationId = header.success ? header.data : crypto.randomUUID();
      void control(exchange, { command, authorization, rawId, correlationId }, deps.apiKeys, useCase).catch((error) => replyError(exchange, error, deps.log));
    });
  }
}

async function control(
  exchange: Exchange,
  request: { command: ProjectCommand; authorization: string; rawId: string; correlationId: string },
  apiKeys: ReadonlyMap<string, string>,
  deps: ApplyCommandDeps,
): Promise<void> {
  const tenant = authenticate(request.authorization, apiKeys);
  const projectId = projectIdFromPath(request.rawId);
  const { command, correlationId } = request;
  const applied = await applyCommand(deps, { tenant, projectId, command, correlationId });
  exchange.json(202, applied, { 'x-correlation-id': correlationId });
}
