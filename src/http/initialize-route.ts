// POST /api/devteam/automation/initialize: parse the request, call the start-automation use case
// (src/app/start-automation.ts), reply 202 with the execution and where to read its status.
import type { TemplatedApp } from 'uWebSockets.js';
import { startAutomation, type StartAutomationDeps } from '../app/start-automation.js';
import { authenticate } from './auth.js';
import { checkBodyHeaders, readJsonBody } from './body.js';
import { AUTOMATION_PATH } from './control-routes.js';
import { ApiError } from './errors.js';
import { Exchange, type InFlight } from './exchange.js';
import { replyError } from './reply-error.js';
import { correlationIdSchema } from './schemas.js';
import type { StatusCache } from './status-cache.js';

export { IDEMPOTENCY_TTL_MS, statusLocation } from '../app/start-automation.js';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export interface InitializeRouteDeps extends Omit<StartAutomationDeps, 'onStarted'> {
  bodyLimit: number;
  apiKeys: ReadonlyMap<string, string>;
  statusCache: StatusCache;
}

export function registerInitializeRoute(app: TemplatedApp, deps: InitializeRouteDeps, inFlight: InFlight): void {
  app.post(`${AUTOMATION_PATH}/initialize`, (res, req) => {
    const exchange = new Exchange(res, inFlight, 'POST /api/devteam/automation/initialize');
    const headers = {
      authorization: req.getHeader('authorization'),
      contentType: req.getHeader('content-type'),
      contentLength: req.getHeader('content-length'),
      correlationId: req.getHeader('x-correlation-id'),
      idempotencyKey: req.getHeader('idempotency-key'),
    };
    void initialize(exchange, headers, deps).catch((error) => replyError(exchange, error, deps.log));
  });
}

async function initialize(
  exchange: Exchange,
  headers: { authorization: string; contentType: string; contentLength: string; correlationId: string; idempotencyKey: string },
  deps: InitializeRouteDeps,
): Promise<void> {
  const tenant = authenticate(headers.authorization, deps.apiKeys);
  checkBodyHeaders(headers, deps.bodyLimit);
  if (headers.idempotencyKey !== '' && !IDEMPOTENCY_KEY.test(headers.idempotencyKey)) {
    throw new ApiError('validation_failed', 'Idempotency-Key must be 1-255 printable ASCII characters', [{ field: 'Idempotency-Key', message: 'invalid' }]);
  }
  const body = await readJsonBody(exchange, deps.bodyLimit);
  const header = correlationIdSchema.safeParse(headers.correlationId);
  const correlationId = header.success ? header.data : crypto.randomUUID();
  const started = await startAutomation(
    { ...deps, onStarted: (t, projectId) => deps.statusCache.invalidate(t, projectId) },
    { tenant, body, correlationId, idempotencyKey: headers.idempotencyKey || undefined },
  );
  const { executionId, eventId, projectId, status, location } = started;
  exchange.json(202, { executionId, eventId, projectId, correlationId, status }, { location, 'x-correlation-id': correlationId });
}
