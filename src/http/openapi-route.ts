// GET /openapi.json: the API's OpenAPI 3.1 document, built once at start-up. No auth, like /healthz
// and /metrics: it describes the service, never a tenant's data, and tools fetch it before they have a key.
import type { TemplatedApp } from 'uWebSockets.js';
import { Exchange, type InFlight } from './exchange.js';
import { OPENAPI_PATH, openApiDocument } from './openapi.js';

export function registerOpenApiRoute(app: TemplatedApp, inFlight: InFlight): void {
  const body = JSON.stringify(openApiDocument());
  app.get(OPENAPI_PATH, (res) => {
    new Exchange(res, inFlight, `GET ${OPENAPI_PATH}`).sendRaw(200, body);
  });
}
