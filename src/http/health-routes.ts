// Liveness (the process answers) and readiness (its dependencies answer, each within a deadline).
import type { TemplatedApp } from 'uWebSockets.js';
import { Exchange, type InFlight } from './exchange.js';
import { withTimeout } from '../infra/deadline.js';
import { redactText } from '../infra/log.js';

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export function registerHealthRoutes(app: TemplatedApp, checks: ReadinessCheck[], inFlight: InFlight, timeoutMs = 1_000): void {
  app.get('/healthz', (res) => {
    new Exchange(res, inFlight, 'GET /healthz').json(200, { status: 'ok' });
  });

  app.get('/readyz', (res) => {
    const exchange = new Exchange(res, inFlight, 'GET /readyz');
    void Promise.all(checks.map((c) => runCheck(c, timeoutMs)))
      .then((results) => {
        const report = Object.fromEntries(results);
        const ready = results.every(([, r]) => r === 'ok');
        exchange.json(ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable', checks: report });
      })
      // Never a request left without an answer, whatever a check does.
      .catch(() => exchange.json(503, { status: 'unavailable', checks: {} }));
  });
}

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<[string, string]> {
  try {
    await withTimeout(Promise.resolve().then(() => check.check()), timeoutMs, check.name);
    return [check.name, 'ok'];
  } catch (error) {
    return [check.name, `down: ${redactText(error instanceof Error ? error.message : String(error))}`];
  }
}
