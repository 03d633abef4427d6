// Fuzz of the distributed API (`devteam api` on its own Postgres database and Redis prefix) with two
// tenants' keys.
import { announceCapableWorker } from '../support/capable-workers.js';
import { startOwnedService } from '../support/fault-services.js';
import { createTestDatabase, dropRedisPrefix, REDIS_URL, uniquePrefix } from '../support/services.js';
import { API_KEYS_ENV, defineFuzzSuite, stopProcess, type StartedService } from './fuzz-suite.js';

defineFuzzSuite('distributed devteam api', async (dataDir) => {
  const db = await createTestDatabase('fuzz');
  const prefix = uniquePrefix('fuzz');
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL,
    DEVTEAM_REDIS_PREFIX: prefix,
    DEVTEAM_DATA_DIR: dataDir,
    DEVTEAM_API_KEYS: API_KEYS_ENV,
    DEVTEAM_SHUTDOWN_TIMEOUT_MS: '2000',
  };
  let first;
  try {
    // The API alone is fuzzed: a worker that could run the seeded projects is announced, none runs.
    await announceCapableWorker(prefix);
    first = await startOwnedService(['api'], env);
  } catch (error) {
    await db.drop();
    throw error;
  }
  const service: StartedService = {
    proc: first.proc,
    port: first.port!,
    restarts: 0,
    async restart() {
      await stopProcess(service.proc);
      const next = await startOwnedService(['api'], env);
      Object.assign(service, { proc: next.proc, port: next.port!, restarts: service.restarts + 1 });
    },
    async stop() {
      await stopProcess(service.proc);
      await db.drop();
      await dropRedisPrefix(prefix);
    },
  };
  return service;
});
