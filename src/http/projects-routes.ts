// GET /api/devteam/automation/projects[?status=&cursor=&limit=] (the tenant's projects with their
// status projection) and GET …/projects/{projectId}/executions[?cursor=&limit=] (a project's runs,
// newest first): parse, call the use case (src/app/list-projects.ts), reply.
import type { TemplatedApp } from 'uWebSockets.js';
import { z } from 'zod';
import { listExecutions, listProjects, type ListProjectsDeps } from '../app/index.js';
import type { Logger } from '../infra/log.js';
import { authenticate } from './auth.js';
import { validationError } from './errors.js';
import { Exchange, type InFlight } from './exchange.js';
import { projectIdFromPath } from './project-id.js';
import { replyError } from './reply-error.js';
import { AUTOMATION_PATH } from './control-routes.js';

export const PROJECTS_PATH = `${AUTOMATION_PATH}/projects`;

export interface ProjectsRoutesDeps extends ListProjectsDeps {
  log: Logger;
  apiKeys: ReadonlyMap<string, string>;
}

const limitSchema = z.coerce.number().int().min(1).max(200).default(50);
export const projectsQuerySchema = z.object({
  status: z.enum(['running', 'paused', 'stopping', 'stopped', 'completed', 'failed']).optional(),
  cursor: z.string().min(1).max(400).optional(),
  limit: limitSchema,
});
export const executionsQuerySchema = z.object({
  cursor: z.guid().optional(),
  limit: limitSchema,
});

/** A query string as one value per key (a repeated key keeps its last value). */
function queryOf(raw: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(raw));
}

export function registerProjectsRoutes(app: TemplatedApp, deps: ProjectsRoutesDeps, inFlight: InFlight): void {
  app.get(PROJECTS_PATH, (res, req) => {
    const exchange = new Exchange(res, inFlight, 'GET /api/devteam/automation/projects');
    // uWS request data is only valid until the handler returns: read everything now.
    const authorization = req.getHeader('authorization');
    const query = queryOf(req.getQuery() ?? '');
    void (async () => {
      const tenant = authenticate(authorization, deps.apiKeys);
      const parsed = projectsQuerySchema.safeParse(query);
      if (!parsed.success) throw validationError(parsed.error);
      exchange.json(200, await listProjects(deps, { tenant, ...parsed.data }));
    })().catch((error) => replyError(exchange, error, deps.log));
  });
  app.get(`${PROJECTS_PATH}/:projectId/executions`, (res, req) => {
    const exchange = new Exchange(res, inFlight, 'GET /api/devteam/automation/projects/:projectId/executions');
    const authorization = req.getHeader('authorization');
    const rawId = req.getParameter(0) ?? '';
    const query = queryOf(req.getQuery() ?? '');
    void (async () => {
      const tenant = authenticate(authorization, deps.apiKeys);
      const projectId = projectIdFromPath(rawId);
      const parsed = executionsQuerySchema.safeParse(query);
      if (!parsed.success) throw validationError(parsed.error);
      const { cursor, limit } = parsed.data;
      exchange.json(200, await listExecutions(deps, { tenant, projectId, before: cursor?.toLowerCase(), limit }));
    })().catch((error) => replyError(exchange, error, deps.log));
  });
}
