// POST /events and GET /events/:id: parse, call the use case (src/app/accept-event.ts,
// src/app/read-event.ts), reply.
import type { TemplatedApp } from 'uWebSockets.js';
import { acceptEvent, type AcceptEventDeps } from '../app/accept-event.js';
import { readEvent } from '../app/read-event.js';
import { authenticate } from './auth.js';
import { checkBodyHeaders, readJsonBody } from './body.js';
import { ApiError, validationError } from './errors.js';
import { Exchange, type InFlight } from './exchange.js';
import { replyError } from './reply-error.js';
import { correlationIdSchema, eventBodySchema, uuidSchema } from './schemas.js';
import type { StatusCache } from './status-cache.js';

export interface EventRoutesDeps extends Omit<AcceptEventDeps, 'onStarted'> {
  bodyLimit: number;
  apiKeys: ReadonlyMap<string, string>;
  statusCache: StatusCache;
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
    void acceptEventRequest(exchange, headers, deps).catch((error) => replyError(exchange, error, deps.log));
  });

  app.get('/events/:id', (res, req) => {
    const exchange = new Exchange(res, inFlight, 'GET /events/:id');
    const authorization = req.getHeader('authorization');
    const id = req.getParameter(0) ?? '';
    void (async () => {
      const tenant = authenticate(authorization, deps.apiKeys);
      if (!uuidSchema.safeParse(id).success) throw new ApiError('invalid_id', 'event id must be a UUID');
      exchange.json(200, await readEvent(deps, tenant, id));
    })().catch((error) => replyError(exchange, error, deps.log));
  });
}

async function acceptEventRequest(
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
  const { eventId } = await acceptEvent(
    { ...deps, onStarted: (t, projectId) => deps.statusCache.invalidate(t, projectId) },
    { tenant, type: body.type, projectId: body.projectId, correlationId, payload: body.payload },
  );
  exchange.json(202, { taskId: eventId, eventId, correlationId }, { 'x-correlation-id': correlationId, location: `/events/${eventId}` });
}
