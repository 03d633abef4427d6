// Fuzz of the embedded service (`devteam serve`, PGlite, in-process queue) with two tenants' keys.
import { startOwnedService } from '../support/fault-services.js';
import { API_KEYS_ENV, defineFuzzSuite, stopProcess, type StartedService } from './fuzz-suite.js';

defineFuzzSuite('embedded devteam serve', async (dataDir) => {
  const env = {
    DEVTEAM_DATA_DIR: dataDir,
    DEVTEAM_API_KEYS: API_KEYS_ENV,
    DEVTEAM_GIT_TIMEOUT_MS: '2000',
    DEVTEAM_SHUTDOWN_TIMEOUT_MS: '2000',
  };
  const first = await startOwnedService(['serve'], env);
  const service: StartedService = {
    proc: first.proc,
    port: first.port!,
    restarts: 0,
    async restart() {
      await stopProcess(service.proc);
      const next = await startOwnedService(['serve'], env);
      Object.assign(service, { proc: next.proc, port: next.port!, restarts: service.restarts + 1 });
    },
    stop: () => stopProcess(service.proc),
  };
  return service;
});
