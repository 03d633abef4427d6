// A worker registry holding one live worker that can run every preset: for tests of the API alone
// (no worker process of their own), which are about what the API does with a request, not about
// whether a worker could run it (test/e2e/admission.test.ts is).
import { AGENT_CLI_NAMES, ALL_MODEL_KEY_VARS } from '../../src/project/index.js';
import { MemoryWorkerRegistry, RedisWorkerRegistry, type WorkerCapabilities } from '../../src/infra/workers/index.js';
import { REDIS_URL } from './services.js';

export const CAPABLE_WORKER: WorkerCapabilities = {
  workerId: 'test-capable-worker',
  host: 'test',
  driver: 'local',
  sandbox: { available: true, problem: null, remedy: null },
  agents: Object.fromEntries(AGENT_CLI_NAMES.map((cli) => [cli, `/opt/agents/bin/${cli}`])),
  keys: [...ALL_MODEL_KEY_VARS],
};

/** Announced for a day; `keys` adds tenant secrets (names) the worker is to have. */
export async function capableWorkers(keys: string[] = []): Promise<MemoryWorkerRegistry> {
  const registry = new MemoryWorkerRegistry();
  await registry.announce({ ...CAPABLE_WORKER, keys: [...CAPABLE_WORKER.keys, ...keys] }, 24 * 3600 * 1000);
  return registry;
}

/** The same worker announced in Redis under `prefix`, for an API process of its own; closes the connection. */
export async function announceCapableWorker(prefix: string, url = REDIS_URL): Promise<void> {
  const registry = new RedisWorkerRegistry({ url, prefix });
  try {
    await registry.announce(CAPABLE_WORKER, 2 * 3600 * 1000);
  } finally {
    await registry.close();
  }
}
