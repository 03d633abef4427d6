// POST /events: validate, commit the event row (owned by the caller's tenant), enqueue its job,
// reply 202. GET /events/:id reads the row back, for its tenant only. The row is the truth: when
// the enqueue fails the outbox dispatches it later.
import type { TemplatedApp } from 'uWebSockets.js';
import type { EventsStore } from '../infra/db/index.js';
import type { Logger } from '../infra/log.js';
import type { EventQueue } from '../actors/index.js';
import { authenticate } from './auth.js';
import { checkBodyHeaders, readJsonBody } from './body.js';
import { ApiError, validationError } from './errors.js';
import { storeCall } from './store-call.js';
import { Exchange, type InFlight } from './exchange.js';
import { dispatchCommitted } from './dispatch-event.js';
import { replyError } from './reply-error.js';
import { correlationIdSchema, eventBodySchema, uuidSchema } from './schemas.js';

export interface EventRoutesDeps {
  events: EventsStore;
  queue: EventQueue;
  log: Logger;
  bodyLimit: number;
  apiKeys: ReadonlyMap<string, string>;
  /** How long the reply waits for the enqueue before leaving it to the outbox. */
  enqueueTimeoutMs?: number;
}

export function registerEventRoutes(app: TemplatedApp, deps: EventRoutesDeps, inFlight: InFlight): void {
  app.post('/events', (res, req) => {
    const exchange = new Exchange(res, inFlight, 'POST /events');
    // Headers live only during this synchronous part of the handler.
    const headers = {
      authorization: req.getHeader('authorization'),
      contentType: req.getHeader('content-type'),
      contentLength: req.getHeader('content-length'),
      correlationId: req.getHeader('x-correlation-id'),
    };
    void acceptEvent(exchange, headers, deps).catch((error) => replyError(exchange, error, deps.log));
  });

  app.get('/events/:id', (res, req) => {
    const exchange = new Exchange(res, inFlight, 'GET /events/:id');
    const authorization = req.getHeader('authorization');
    const id = req.getParameter(0) ?? '';
    void (async () => {
      const tenant = authenticate(authorization, deps.apiKeys);
      if (!uuidSchema.safeParse(id).success) throw new ApiError('invalid_id', 'event id must be a UUID');
      // Another tenant's event is indistinguishable from an unknown one: 404, not 403.
      const row = await storeCall(() => deps.events.getForTenant(tenant, id));
      if (!row) throw new ApiError('not_found', `no event ${id}`);
      exchange.json(200, row);
    })().catch((error) => replyError(exchange, error, deps.log));
  });
}

async function acceptEvent(
  exchange: Exchange,
  headers: { authorization: string; contentType: string; contentLength: string; correlationId: string },
  deps: EventRoutesDeps,
): Promise<void> {
  const tenant = authenticate(headers.authorization, deps.apiKeys);
  checkBodyHeaders(headers, deps.bodyLimit);
  const raw = await readJsonBody(exchange, deps.bodyLimit);
  const parsed = eventBodySchema.safeParse(raw);
  if (!parsed.success) throw validationError(parsed.error);
  const body = parsed.data;

  const headerCorrelation = correlationIdSchema.safeParse(headers.correlationId);
  const correlationId = body.correlationId ?? (headerCorrelation.success ? headerCorrelation.data : crypto.randomUUID());
  const eventId = crypto.randomUUID();
  const log = deps.log.child({ eventId, correlationId, projectId: body.projectId, type: body.type, tenant });

  await storeCall(() =>
    deps.events.insert({ id: eventId, tenant, type: body.type, projectId: body.projectId, correlationId, payload: body.payload }),
  );

  const enqueued = await dispatchCommitted(
    deps.queue,
    { eventId, type: body.type, projectId: body.projectId, correlationId },
    log,
    deps.enqueueTimeoutMs,
  );
  log.info({ enqueued }, 'event accepted');
  exchange.json(202, { taskId: eventId, eventId, correlationId }, { 'x-correlation-id': correlationId, location: `/events/${eventId}` });
}
