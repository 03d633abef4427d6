// The fuzz suite, defined once and run against each way of running the service (embedded `serve`,
// distributed `api`): seeds two tenants' resources, fuzzes HTTP and the live stream, then checks
// that the process lives and the database still answers.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LONG_MODE, Prng, seedFrom } from '../support/prng.js';
import { rawHttp } from '../support/raw-http.js';
import type { CliProcess } from '../support/cli-process.js';
import { tempDir } from '../support/services.js';
import { eventBody, initializeBody, type FuzzContext, type Ids } from './fuzz-http-cases.js';
import { probeRoundTrip, runHttpFuzz, type FuzzTarget } from './fuzz-http.js';
import { runWsFuzz } from './fuzz-ws.js';

export const KEYS = { own: 'fuzz-alpha-key-4f1c9a2e7b', other: 'fuzz-beta-key-0d8e3b6a51c' };
export const API_KEYS_ENV = `alpha:${KEYS.own},beta:${KEYS.other}`;
const BODY_LIMIT = 262_144;

/** CI: ~1.5k HTTP requests and ~100 stream connections per service; long: the full corpus and thousands more. */
export const FUZZ_SIZE = LONG_MODE ? { random: 8_000, full: true, handshakes: 400, sessions: 300 } : { random: 500, full: false, handshakes: 60, sessions: 40 };

export interface StartedService {
  proc: CliProcess;
  port: number;
  /** Stops the process (SIGTERM, SIGKILL after 5 s) and starts a new one on the same data. */
  restart(): Promise<void>;
  restarts: number;
  stop(): Promise<void>;
}

/** SIGTERM, then SIGKILL if the process has not exited within `graceMs`. */
export async function stopProcess(proc: CliProcess, graceMs = 5_000): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

async function seedTenant(port: number, key: string, tenant: string, projectId: string): Promise<Ids> {
  const auth: Array<[string, string]> = [['Authorization', `Bearer ${key}`], ['Content-Type', 'application/json']];
  const ev = await rawHttp(port, { method: 'POST', target: '/events', headers: auth, body: JSON.stringify(eventBody(0)) }, 5_000);
  if (ev.status !== 202) throw new Error(`seeding an event: ${ev.status} ${ev.body.toString()}`);
  const init = await rawHttp(port, { method: 'POST', target: '/api/devteam/automation/initialize', headers: auth, body: JSON.stringify({ ...initializeBody(0, tenant), projectId }) }, 5_000);
  if (init.status !== 202) throw new Error(`seeding a project: ${init.status} ${init.body.toString()}`);
  return { eventId: JSON.parse(ev.body.toString()).eventId, projectId, executionId: JSON.parse(init.body.toString()).executionId };
}

export function defineFuzzSuite(mode: string, start: (dataDir: string) => Promise<StartedService>): void {
  describe(`fuzz: ${mode}`, () => {
    let service: StartedService;
    let dir: Awaited<ReturnType<typeof tempDir>>;
    let ctx: FuzzContext;
    let target: FuzzTarget;
    const seed = seedFrom('DEVTEAM_FUZZ_SEED', `fuzz ${mode}`);
    const only = process.env.DEVTEAM_FUZZ_CASE;

    beforeAll(async () => {
      dir = await tempDir('devteam-fuzz');
      service = await start(join(dir.path, 'data'));
      const own = await seedTenant(service.port, KEYS.own, 'ALPHA', 'fz-own');
      const other = await seedTenant(service.port, KEYS.other, 'BETA', 'fz-other');
      ctx = { keys: KEYS, own, other, canary: join(dir.path, 'canary-must-not-exist'), bodyLimit: BODY_LIMIT };
      target = {
        label: mode,
        get port() {
          return service.port;
        },
        alive: () => service.proc.child.exitCode === null && service.proc.child.signalCode === null,
        restart: () => service.restart(),
      };
    }, 90_000);

    afterAll(async () => {
      await service?.stop();
      await dir?.remove();
    }, 60_000);

    it(`answers every malformed HTTP request without a 5xx, a hang or an undocumented error body, on every endpoint and with both tenants' keys (seed ${seed})`, async () => {
      const tally = await runHttpFuzz(target, ctx, { seed, randomCases: FUZZ_SIZE.random, fullCorpus: FUZZ_SIZE.full, maxRestarts: LONG_MODE ? 10 : 2, only: only?.startsWith('w') ? '-' : only });
      console.log(tally.summary(`HTTP fuzz, ${mode}, seed ${seed}`));
      expect(tally.kinds()).toEqual([]);
    }, LONG_MODE ? 1_800_000 : 120_000);

    const stillAlive = (after: string) => async () => {
      expect(target.alive(), `the ${mode} process exited after the ${after}: ${service.proc.stderr.join('').slice(-2000)}`).toBe(true);
      expect(await probeRoundTrip(service.port, ctx, `after-${after}`, 5_000), `after the ${after}`).toBeNull();
    };

    it('is still alive after the HTTP fuzz: /readyz is 200 and a valid event round-trips its own payload', stillAlive('HTTP fuzz'), 30_000);

    it(`answers hostile live-stream handshakes and messages with schema frames and the documented close codes (seed ${seed})`, async () => {
      // A service the HTTP fuzz broke (reported above) is replaced, so the stream is judged on its own.
      if (!target.alive() || (await probeRoundTrip(service.port, ctx, 'before-ws', 5_000))) {
        console.log(`${mode}: restarting the broken service before the WS fuzz`);
        await service.restart();
      }
      const tally = await runWsFuzz(service.port, ctx, new Prng(seed).fork(1_000_000), { handshakes: FUZZ_SIZE.handshakes, sessions: FUZZ_SIZE.sessions, budgetMs: LONG_MODE ? 1_500_000 : 45_000 });
      console.log(tally.summary(`WS fuzz, ${mode}, seed ${seed}`));
      expect(tally.kinds()).toEqual([]);
    }, LONG_MODE ? 1_800_000 : 90_000);

    it('is still alive after the WS fuzz: /readyz is 200 and a valid event round-trips its own payload', stillAlive('WS fuzz'), 30_000);

    // Found by the fuzz (a batch broke the embedded store; no single case did): the smallest reproduction.
    it('keeps answering after two concurrent POST /events whose payloads nest 5,000 deep', async () => {
      if (!target.alive() || (await probeRoundTrip(service.port, ctx, 'before-deep', 5_000))) await service.restart();
      const body = (n: number) => `{"type":"FUZZ_EVENT","projectId":"fz-deep-${n}","payload":{"d":${'['.repeat(5_000)}${']'.repeat(5_000)}}}`;
      const headers: Array<[string, string]> = [['Authorization', `Bearer ${KEYS.own}`], ['Content-Type', 'application/json']];
      const answers = await Promise.all([1, 2].map((n) => rawHttp(service.port, { method: 'POST', target: '/events', headers, body: body(n) }, 5_000)));
      const statuses = answers.map((a) => (a.hung ? 'no answer' : a.status));
      console.log(`${mode}: two concurrent 5,000-deep payloads → ${statuses.join(', ')}`);
      const after = await probeRoundTrip(service.port, ctx, 'after-deep', 5_000);
      const refused = statuses.every((s) => s === 400 || s === 422);
      expect({ refused, statuses, after }).toEqual({ refused: true, statuses, after: null });
    }, 60_000);
  });
}
