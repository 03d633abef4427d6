// ONLY for demonstrating that bench/http.ts --quick fails on a slowed status route (docs/performance.md):
// the real uWS status route (registerAutomationRoutes, the same readStatus, StatusCache, store and
// logger as `devteam api`) in a bench-only process, with BENCH_SLOWED_STATUS_MS of busy CPU added
// to every read — what a regression on the hot path (an extra serialization, a sync call) costs.
// No product setting changes: the service itself has no such knob.
//
//   DATABASE_URL=postgres://… BENCH_SLOWED_STATUS_MS=0.2 PORT=0 node dist/bench/slowed-front.js
//   → {"msg":"slowed front started","port":N} as one JSON line on stdout
import uWS from 'uWebSockets.js';
import type { LevelWithSilent } from 'pino';
import { parseApiKeys } from '../src/config.js';
import { registerAutomationRoutes } from '../src/http/automation-routes.js';
import { InFlight } from '../src/http/exchange.js';
import { StatusCache } from '../src/http/index.js';
import { openDatabase, PostgresExecutionsStore } from '../src/infra/db/index.js';
import { createLogger } from '../src/infra/log.js';
import { PROJECT_MACHINE_ID, PROJECT_MACHINE_VERSION } from '../src/machines/index.js';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('slowed-front: DATABASE_URL is required');
  process.exit(2);
}
const slowMs = Number(process.env.BENCH_SLOWED_STATUS_MS ?? 0);

/** The same cache, with a busy wait in front of every read. */
class SlowedStatusCache extends StatusCache {
  override read(tenant: string, projectId: string, load: () => Promise<string | null>): Promise<string | null> {
    const until = performance.now() + slowMs;
    while (performance.now() < until);
    return super.read(tenant, projectId, load);
  }
}

const log = createLogger({ level: (process.env.LOG_LEVEL ?? 'info') as LevelWithSilent, base: { role: 'slowed-front' } });
const db = await openDatabase({ url: databaseUrl, dataDir: '.', log });
const executions = new PostgresExecutionsStore(db.sql, { [PROJECT_MACHINE_ID]: [PROJECT_MACHINE_VERSION] });
const app = uWS.App();
registerAutomationRoutes(
  app,
  { executions, log, apiKeys: parseApiKeys(process.env.DEVTEAM_API_KEYS), statusCache: new SlowedStatusCache(Number(process.env.DEVTEAM_STATUS_CACHE_MS ?? 1_000)) },
  new InFlight(),
);
const socket = await new Promise<uWS.us_listen_socket>((resolve, reject) =>
  app.listen(process.env.HOST ?? '127.0.0.1', Number(process.env.PORT ?? 0), (s) => (s ? resolve(s) : reject(new Error('cannot listen')))),
);
console.log(JSON.stringify({ msg: 'slowed front started', port: uWS.us_socket_local_port(socket), slowMs }));

const shutdown = async () => {
  uWS.us_listen_socket_close(socket);
  await db.close().catch(() => {});
  log.flush();
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());
