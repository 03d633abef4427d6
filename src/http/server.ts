// The uWebSockets.js app: routes only (validate, write, enqueue, read); no business logic here.
import uWS from 'uWebSockets.js';
import type { Logger } from '../infra/log.js';
import { ApiError } from './errors.js';
import { registerAutomationRoutes, type AutomationRoutesDeps } from './automation-routes.js';
import { registerControlRoutes, type ControlRoutesDeps } from './control-routes.js';
import { registerInitializeRoute, type InitializeRouteDeps } from './initialize-route.js';
import { registerArtifactsRoute, type ArtifactsRouteDeps } from './artifacts-route.js';
import { registerDeliveriesRoute, type DeliveriesRouteDeps } from './deliveries-route.js';
import { registerStream, type StreamDeps } from './ws-stream.js';
import { registerEventRoutes, type EventRoutesDeps } from './events-routes.js';
import { replyError } from './reply-error.js';
import { Exchange, InFlight } from './exchange.js';
import type { Metrics } from '../infra/metrics/index.js';
import { registerHealthRoutes, type ReadinessCheck } from './health-routes.js';
import { registerOpenApiRoute } from './openapi-route.js';
import { registerProjectsRoutes, type ProjectsRoutesDeps } from './projects-routes.js';
import { registerStaticRoutes, type StaticRouteDeps } from './static-route.js';

export interface HttpDeps extends EventRoutesDeps, AutomationRoutesDeps, ControlRoutesDeps, InitializeRouteDeps, ArtifactsRouteDeps, DeliveriesRouteDeps, ProjectsRoutesDeps, StaticRouteDeps, StreamDeps {
  log: Logger;
  readiness: ReadinessCheck[];
  /** This process's metrics, served at GET /metrics. */
  metrics?: Metrics;
}

export interface HttpServer {
  port: number;
  /** Stops accepting connections; requests already being served go on. */
  close(): void;
  /** Resolves when the requests being served have been answered (or after timeoutMs), then closes the live-stream sockets. */
  drain(timeoutMs: number): Promise<void>;
  /** Open /ws/devteam connections. */
  streamConnections(): number;
}

export async function startHttpServer(deps: HttpDeps, listen: { host: string; port: number }): Promise<HttpServer> {
  const app = uWS.App();
  const inFlight = new InFlight();
  const metrics = deps.metrics;
  if (metrics) {
    inFlight.observe = (route, status, seconds) => metrics.httpDuration.observe({ route, status: String(status) }, seconds);
    app.get('/metrics', (res) => {
      const exchange = new Exchange(res, inFlight, 'GET /metrics');
      Promise.resolve()
        .then(() => metrics.text())
        .then(
        (body) => exchange.sendRaw(200, body, { 'content-type': metrics.contentType }),
        (error) => replyError(exchange, error, deps.log),
      );
    });
  }
  registerHealthRoutes(app, deps.readiness, inFlight);
  registerEventRoutes(app, deps, inFlight);
  registerAutomationRoutes(app, deps, inFlight);
  registerControlRoutes(app, deps, inFlight);
  registerInitializeRoute(app, deps, inFlight);
  registerArtifactsRoute(app, deps, inFlight);
  registerDeliveriesRoute(app, deps, inFlight);
  registerProjectsRoutes(app, deps, inFlight);
  registerOpenApiRoute(app, inFlight);
  await registerStaticRoutes(app, deps, inFlight);
  const stream = await registerStream(app, deps);
  app.any('/*', (res, req) => {
    const exchange = new Exchange(res, inFlight, 'unmatched');
    replyError(exchange, new ApiError('not_found', `no route ${req.getMethod().toUpperCase()} ${req.getUrl()}`), deps.log);
  });

  const socket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    app.listen(listen.host, listen.port, (s) => (s ? resolve(s) : reject(new Error(`cannot listen on ${listen.host}:${listen.port}`))));
  });
  const port = uWS.us_socket_local_port(socket);
  let open = true;
  return {
    port,
    close() {
      if (!open) return;
      open = false;
      uWS.us_listen_socket_close(socket);
    },
    async drain(timeoutMs) {
      await inFlight.idle(timeoutMs);
      // Live-stream clients are told to go (close 1001 "going away") and reconnect elsewhere.
      await stream.close().catch(() => {});
    },
    streamConnections: () => stream.connections(),
  };
}
