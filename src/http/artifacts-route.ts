// GET /api/devteam/automation/executions/{executionId}/artifacts[?taskId=1.1&content=1]: parse,
// call the use case (src/app/list-artifacts.ts), reply.
import type { TemplatedApp } from 'uWebSockets.js';
import { z } from 'zod';
import { listArtifacts, type ArtifactsRequest, type ListArtifactsDeps } from '../app/index.js';
import type { Logger } from '../infra/log.js';
import { TaskIdSchema } from '../project/index.js';
import { authenticate } from './auth.js';
import { ApiError, validationError } from './errors.js';
import { Exchange, type InFlight } from './exchange.js';
import { replyError } from './reply-error.js';

export const EXECUTIONS_PATH = '/api/devteam/automation/executions';

export interface ArtifactsRouteDeps extends ListArtifactsDeps {
  log: Logger;
  apiKeys: ReadonlyMap<string, string>;
}

// Checked before any query: a malformed id would otherwise reach Postgres as a uuid cast error (503).
export const executionIdSchema = z.guid();
export const artifactsQuerySchema = z.object({
  content: z.enum(['0', '1', 'true', 'false']).optional(),
});

export function registerArtifactsRoute(app: TemplatedApp, deps: ArtifactsRouteDeps, inFlight: InFlight): void {
  app.get(`${EXECUTIONS_PATH}/:executionId/artifacts`, (res, req) => {
    const exchange = new Exchange(res, inFlight, 'GET /api/devteam/automation/executions/:id/artifacts');
    // uWS request data is only valid until the handler returns: read everything now.
    const authorization = req.getHeader('authorization');
    const rawId = req.getParameter(0) ?? '';
    const query = new URLSearchParams(req.getQuery() ?? '');
    void (async () => {
      const tenant = authenticate(authorization, deps.apiKeys);
      exchange.json(200, await listArtifacts(deps, { tenant, ...parseArtifactsRequest(rawId, query) }));
    })().catch((error) => replyError(exchange, error, deps.log));
  });
}

/** The path's execution id and the query, checked; throws 400 `invalid_id` or 422. */
function parseArtifactsRequest(rawId: string, query: URLSearchParams): Omit<ArtifactsRequest, 'tenant'> {
  const executionId = rawId.toLowerCase();
  if (!executionIdSchema.safeParse(executionId).success) throw new ApiError('invalid_id', 'executionId must be a UUID');
  const taskId = query.get('taskId') ?? undefined;
  if (taskId !== undefined && !TaskIdSchema.safeParse(taskId).success) throw new ApiError('invalid_id', 'taskId must be "<phase>.<n>", e.g. "1.2"');
  const parsed = artifactsQuerySchema.safeParse({ content: query.get('content') ?? undefined });
  if (!parsed.success) throw validationError(parsed.error);
  return { executionId, taskId, withContent: parsed.data.content === '1' || parsed.data.content === 'true' };
}
