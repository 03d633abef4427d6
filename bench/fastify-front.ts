// The baseline for bench/http.ts: GET /api/devteam/automation/status/:projectId served the way most
// Node services would build it — Fastify with its defaults — over the SAME handler logic as ours
// (src/http/automation-routes.ts): bearer auth against the same key map (or local mode), the same
// zod projectId check (projectIdSchema), and the SAME read: readStatus (src/app/read-status.ts)
// through the same deps (statusReadDeps: ExecutionsStore.latest through storeCall on a pool opened
// by the same openDatabase) and the same StatusCache with the same TTL (DEVTEAM_STATUS_CACHE_MS,
// default 1000; 0 = every read goes to the database), the same pre-serialized body sent as is, and
// the same error bodies and statuses (400/401/404/503). So the ratio measures the framework.
//
// Invalidation: ours also drops a cached body when a transition frame arrives; this front has no
// frame subscription, so it is only compared with ours on a store nobody writes to (bench/http.ts
// section a), where neither invalidates anything and the TTL alone bounds both caches.
//
// Logging: our service writes NO per-request log line for this route (src/http logs only 5xx
// failures, plus one info line per accepted event/initialize). So, to keep the two equal, Fastify's
// own request logger is OFF and this front also logs only 5xx failures, through the same pino
// factory (createLogger) at the same LOG_LEVEL (default info).
//
//   DATABASE_URL=postgres://… PORT=0 node dist/bench/fastify-front.js
//   → {"msg":"fastify front started","port":N} as one JSON line on stdout
// Optional: DEVTEAM_API_KEYS (tenant:key,…; absent → local mode), HOST (default 127.0.0.1), LOG_LEVEL,
// DEVTEAM_STATUS_CACHE_MS.
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import type { LevelWithSilent } from 'pino';
import { parseApiKeys } from '../src/config.js';
import { authenticate } from '../src/http/auth.js';
import { ApiError, toErrorResponse } from '../src/http/errors.js';
import { readStatus } from '../src/app/index.js';
import { projectIdSchema, StatusCache } from '../src/http/index.js';
import { statusReadDeps } from '../src/http/automation-routes.js';
import { openDatabase, PostgresExecutionsStore } from '../src/infra/db/index.js';
import { createLogger } from '../src/infra/log.js';
import { PROJECT_MACHINE_ID, PROJECT_MACHINE_VERSION } from '../src/machines/index.js';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('fastify-front: DATABASE_URL is required');
  process.exit(2);
}
const log = createLogger({ level: (process.env.LOG_LEVEL ?? 'info') as LevelWithSilent, base: { role: 'fastify-front' } });
const apiKeys = parseApiKeys(process.env.DEVTEAM_API_KEYS);
// Same pool as `devteam api` (openDatabase's default max of 10 connections).
const db = await openDatabase({ url: databaseUrl, dataDir: '.', log });
const executions = new PostgresExecutionsStore(db.sql, { [PROJECT_MACHINE_ID]: [PROJECT_MACHINE_VERSION] });
const statusCacheMs = Number(process.env.DEVTEAM_STATUS_CACHE_MS ?? 1_000);
const statusDeps = statusReadDeps({ executions, statusCache: new StatusCache(statusCacheMs) });

const app = Fastify({ logger: false });

// Any thrown error → the same body and status as ours (errors.ts); 5xx causes are logged, not sent.
app.setErrorHandler((error, _request, reply) => {
  const { status, body, headers } = toErrorResponse(error);
  if (status >= 500) log.error({ err: error, status }, 'request failed');
  if (headers) void reply.headers(headers);
  void reply.code(status).type('application/json').send(body);
});
app.setNotFoundHandler((request, reply) => {
  const { status, body } = toErrorResponse(new ApiError('not_found', `no route ${request.method} ${request.url}`));
  void reply.code(status).type('application/json').send(body);
});

app.get<{ Params: { projectId: string } }>('/api/devteam/automation/status/:projectId', async (request, reply) => {
  const tenant = authenticate(request.headers.authorization ?? '', apiKeys);
  // Fastify has already percent-decoded the parameter (ours decodes it in projectIdFromPath).
  const projectId = request.params.projectId;
  if (!projectIdSchema.safeParse(projectId).success) {
    throw new ApiError('invalid_id', 'projectId must be letters, digits, ".", "_", "-" (not first), at most 128 characters');
  }
  // Another tenant's project is indistinguishable from an unknown one: 404, not 403.
  const body = await readStatus(statusDeps, tenant, projectId);
  if (body === null) throw new ApiError('not_found', `no automation for project ${projectId}`);
  // Already serialized (like ours, which sends the cached string): Fastify sends a string as is.
  return reply.type('application/json').send(body);
});

await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 0) });
console.log(JSON.stringify({ msg: 'fastify front started', port: (app.server.address() as AddressInfo).port, statusCacheMs }));

let closing = false;
const shutdown = async () => {
  if (closing) return;
  closing = true;
  await app.close().catch(() => {});
  await db.close().catch(() => {});
  log.flush();
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());
