// GET /api/devteam/automation/executions/{executionId}/artifacts[?taskId=1.1&content=1]: what each
// task attempt produced (prompt, diff, files, outputs); contents only on request, as they can be large.
import type { TemplatedApp } from 'uWebSockets.js';
import { z } from 'zod';
import type { ArtifactsStore, ExecutionsStore } from '../infra/db/index.js';
import type { Logger } from '../infra/log.js';
import { TaskIdSchema } from '../infra/tasks/index.js';
import { authenticate } from './auth.js';
import { ApiError, validationError } from './errors.js';
import { Exchange, type InFlight } from './exchange.js';
import { replyError } from './reply-error.js';
import { storeCall } from '../app/store-call.js';

export const EXECUTIONS_PATH = '/api/devteam/automation/executions';

export interface ArtifactsRouteDeps {
  artifacts: ArtifactsStore;
  executions: ExecutionsStore;
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
    void list(exchange, authorization, rawId, query, deps).catch((error) => replyError(exchange, error, deps.log));
  });
}

async function list(exchange: Exchange, authorization: string, rawId: string, query: URLSearchParams, deps: ArtifactsRouteDeps): Promise<void> {
  const tenant = authenticate(authorization, deps.apiKeys);
  const executionId = rawId.toLowerCase();
  if (!executionIdSchema.safeParse(executionId).success) throw new ApiError('invalid_id', 'executionId must be a UUID');
  const taskId = query.get('taskId') ?? undefined;
  if (taskId !== undefined && !TaskIdSchema.safeParse(taskId).success) throw new ApiError('invalid_id', 'taskId must be "<phase>.<n>", e.g. "1.2"');
  const parsed = artifactsQuerySchema.safeParse({ content: query.get('content') ?? undefined });
  if (!parsed.success) throw validationError(parsed.error);
  const withContent = parsed.data.content === '1' || parsed.data.content === 'true';

  const execution = await storeCall(() => deps.executions.get(executionId));
  // Another tenant's execution is indistinguishable from an unknown one: 404, not 403.
  if (!execution || execution.tenant !== tenant) throw new ApiError('not_found', `no execution ${executionId}`);
  const artifacts = await storeCall(() => deps.artifacts.list(executionId, { taskId, withContent }));
  exchange.json(200, { executionId, projectId: execution.projectId, artifacts });
}
