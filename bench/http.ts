// HTTP API numbers under load: autocannon against the real processes (children), never in-process.
//   a. GET /api/devteam/automation/status/{id} — ours (uWS, `devteam api`) vs the Fastify front
//      (bench/fastify-front.ts: the same readStatus, the same StatusCache, same database), identical
//      settings, in turn: both with the cache (the ratio of the frameworks over a cache hit) and both
//      with it off (DEVTEAM_STATUS_CACHE_MS=0: the frameworks over a database read).
//   b. POST /events (durable: event row committed, job enqueued, then 202).
//   c. POST /api/devteam/automation/initialize with a new projectId per request.
//   d. (full runs only) GET status on the embedded `devteam serve` (PGlite).
// Postgres + Redis mode: a temp database (dropped afterwards) and a unique Redis prefix (its keys
// removed afterwards). Seeds 100 projects through initialize; no worker runs, so they stay initialized.
//
//   node dist/bench/http.js [--seconds 10] [--connections 32] [--quick]
// --quick: 3 s per run, 16 connections, no embedded run; exits 1 when a quick gate is missed (GATE
// below: within 3× of the design.md targets). Figures are always printed.
// --slowed-status-ms X: a DEMONSTRATION only — "ours" in section a is the same uWS route in
// bench/slowed-front.ts with X ms of busy CPU per read, to show that the quick gate catches it.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { announceWorker, dropRedisPrefix, REDIS_URL, start, tempDatabase, type Service } from './service.js';
import { machineSpeed, scaledLatency, scaledRate } from './machine-speed.js';
import { machine } from './stats.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string' },
    connections: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'slowed-status-ms': { type: 'string' },
  },
});
const SLOWED_MS = values['slowed-status-ms'] === undefined ? null : Number(values['slowed-status-ms']);
const QUICK = values.quick;
const SECONDS = Number(values.seconds ?? (QUICK ? 3 : 10));
const CONNECTIONS = Number(values.connections ?? (QUICK ? 16 : 32));
const WARMUP_SECONDS = 1;
const PROJECTS = 100;
const STATUS_PATH = '/api/devteam/automation/status';
const INITIALIZE_PATH = '/api/devteam/automation/initialize';
const JSON_HEADERS = { 'content-type': 'application/json' };
const REPOSITORY = { url: 'file:///nonexistent/bench.git' };
/** Needs no CLI or key: admitted wherever a sandbox can start. */
const AGENT = { preset: 'command', command: ['true'] };

// Targets (design.md) and the --quick gates: 3× the target where this machine holds it (status),
// 6× where it does not (POST /events; the reason is printed). Ranges in docs/performance.md.
const STATUS_TARGET = { p99Ms: 2, rps: 10_000 };
const EVENTS_TARGET = { p99Ms: 20, rps: 2_000 };
const BASE_GATE = { statusP99Ms: 6, statusRps: 3_400, eventsP99Ms: 60, eventsRps: 670 };
/** Cached status reads per second at least this share of the bare node:http server's rate, same machine, same run. */
const STATUS_VS_HELLO = 0.4;
const EVENTS_GATE_REASON =
  'POST /events gated at 3× the target p99 (60 ms) but only a third of its rate: each request is a WAL flush + a Redis enqueue on the same 2 cores as autocannon; a CI run alone measured 2,591 req/s p99 11 ms, runs sharing the cores with test suites (load 10–14) 1.2–1.5k req/s p99 48–84 ms';

interface Figures {
  rps: number;
  p50: number;
  p90: number;
  /** autocannon's histogram has no p95 bucket: p97.5 is the nearest it reports. */
  p97_5: number;
  p99: number;
  max: number;
  total: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

type Req = { method?: string; path?: string; body?: string | Buffer; headers?: Record<string, string> };

async function load(port: number, request: { method: 'GET' | 'POST'; setup: (req: Req) => Req; connections?: number }, seconds: number): Promise<Figures> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: request.connections ?? CONNECTIONS,
    duration: seconds,
    requests: [{ method: request.method, headers: request.method === 'POST' ? JSON_HEADERS : {}, setupRequest: request.setup as never }],
  });
  const l = result.latency;
  return {
    rps: result.requests.average,
    p50: l.p50,
    p90: l.p90,
    p97_5: l.p97_5,
    p99: l.p99,
    max: l.max,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

/** A short unmeasured run first (JIT, pool connections), then the measured one. */
async function measure(port: number, request: { method: 'GET' | 'POST'; setup: (req: Req) => Req; connections?: number }): Promise<Figures> {
  await load(port, request, WARMUP_SECONDS);
  return load(port, request, SECONDS);
}

function print(label: string, f: Figures): void {
  const n = (x: number) => x.toFixed(2).padStart(7);
  console.log(
    `${label.padEnd(34)} ${f.rps.toFixed(0).padStart(7)} req/s   p50 ${n(f.p50)}  p90 ${n(f.p90)}  p97.5 ${n(f.p97_5)}  p99 ${n(f.p99)}  max ${n(f.max)} ms   (n=${f.total}, non-2xx ${f.non2xx}, errors ${f.errors}, timeouts ${f.timeouts})`,
  );
  if (f.non2xx || f.errors || f.timeouts) console.log(`  !! ${label}: ${f.non2xx} non-2xx, ${f.errors} errors, ${f.timeouts} timeouts — the figures above include failed requests`);
}

const metOrMissed = (ok: boolean) => (ok ? 'met' : 'MISSED');

const statusRequest = () => {
  let n = 0;
  return { method: 'GET' as const, setup: (req: Req): Req => ({ ...req, path: `${STATUS_PATH}/bench-${n++ % PROJECTS}` }) };
};

async function seed(port: number): Promise<void> {
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < PROJECTS; i++) {
    const res = await fetch(`${base}${INITIALIZE_PATH}`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ projectId: `bench-${i}`, repository: REPOSITORY, agent: AGENT }),
    });
    if (res.status !== 202) throw new Error(`initialize bench-${i} answered ${res.status}: ${await res.text()}`);
  }
  // Every seeded project must answer 200 before measuring (a 404 is faster and would flatter us).
  for (let i = 0; i < PROJECTS; i++) {
    const res = await fetch(`${base}${STATUS_PATH}/bench-${i}`);
    if (res.status !== 200) throw new Error(`status of bench-${i} answered ${res.status}: ${await res.text()}`);
  }
}

/** Starts a bench front (fastify-front.js, slowed-front.js) as a child process and waits for its started line. */
function startFront(name: 'fastify' | 'slowed', env: Record<string, string>): Promise<Service> {
  const script = fileURLToPath(new URL(`./${name}-front.js`, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], {
      env: { PATH: process.env.PATH!, PORT: '0', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffer = '';
    const onExit = (code: number | null) => reject(new Error(`${name} front exited with ${code}`));
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const line of buffer.split('\n')) {
        if (!line.includes(`${name} front started`)) continue;
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        child.off('exit', onExit);
        resolve({
          child,
          port: (JSON.parse(line) as { port: number }).port,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null || child.signalCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
        return;
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}


async function waitSettled(port: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let live = 0;
    for (let i = 0; i < PROJECTS; i++) {
      const body = (await (await fetch(`http://127.0.0.1:${port}${STATUS_PATH}/bench-${i}`)).json()) as { status?: string };
      if (body.status === 'running' || body.status === 'paused') live++;
    }
    if (live === 0 || Date.now() > deadline) return live;
    await new Promise((r) => setTimeout(r, 500));
  }
}

// ---------------------------------------------------------------------------------------------
console.log(machine());
// The gates scaled to this machine's speed today (bench/machine-speed.ts).
const speed = await machineSpeed();
console.log(speed.describe());
const GATE = {
  statusP99Ms: scaledLatency(BASE_GATE.statusP99Ms, speed),
  // A status read from the cache is little more than the bare server's answer: its rate is gated
  // against the bare server measured on this machine this minute (ours did 0.86× on the quiet
  // reference machine and 0.7–0.8× on a slow day; 0.2 ms of CPU per read drops it to 0.22×).
  statusRps: Math.max(scaledRate(BASE_GATE.statusRps, speed), Math.round(STATUS_VS_HELLO * speed.helloRps)),
  eventsP99Ms: scaledLatency(BASE_GATE.eventsP99Ms, speed),
  eventsRps: scaledRate(BASE_GATE.eventsRps, speed),
};
console.log(`mode: ${QUICK ? 'quick' : 'full'} — ${SECONDS} s per measured run (after ${WARMUP_SECONDS} s warm-up), ${CONNECTIONS} connections, ${PROJECTS} seeded projects`);
console.log("latencies are autocannon's: whole milliseconds, percentiles p50/p90/p97.5/p99 (its histogram reports no p95)");
console.log(`node ${process.version}, ${cpus().length} CPUs (autocannon runs in this process, on the same CPUs as the servers)`);

const services: Service[] = [];
const dir = await mkdtemp(join(tmpdir(), 'devteam-bench-http-'));
const prefix = `devteam-bench-http-${crypto.randomUUID().slice(0, 8)}`;
let dropDb: (() => Promise<void>) | null = null;
let failedFloor = false;
let cleaned = false;

async function cleanup(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  // start()'s stop() waits for an 'exit' event: a child that has already exited (api stopped before
  // the embedded run) would leave it pending forever, so those are skipped.
  for (const s of [...services].reverse()) {
    if (s.child.exitCode !== null || s.child.signalCode !== null) continue;
    await s.stop().catch(() => {});
  }
  await dropDb?.().catch((err) => console.error(`could not drop the temp database: ${err}`));
  const removed = await dropRedisPrefix(prefix).catch((err) => {
    console.error(`could not remove Redis keys ${prefix}*: ${err}`);
    return 0;
  });
  await rm(dir, { recursive: true, force: true });
  console.log(`\ncleanup: all ${services.length} child processes stopped, dropped the temp database, removed ${removed} Redis keys (${prefix}*)`);
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cleanup().finally(() => process.exit(130)));
}

try {
  const db = await tempDatabase();
  dropDb = db.drop;
  const api = await start(['api'], {
    DATABASE_URL: db.url,
    REDIS_URL,
    DEVTEAM_REDIS_PREFIX: prefix,
    DEVTEAM_DATA_DIR: join(dir, 'api'),
    // The service's default level: its logging is part of its cost.
    LOG_LEVEL: 'info',
  });
  services.push(api);
  await announceWorker(prefix);
  await seed(api.port!);
  const front = await startFront('fastify', { DATABASE_URL: db.url, LOG_LEVEL: 'info' });
  services.push(front);
  const frontUncached = await startFront('fastify', { DATABASE_URL: db.url, LOG_LEVEL: 'info', DEVTEAM_STATUS_CACHE_MS: '0' });
  services.push(frontUncached);
  {
    // Same answer from both before comparing them.
    const [a, b] = await Promise.all([api.port, front.port].map(async (port) => (await fetch(`http://127.0.0.1:${port}${STATUS_PATH}/bench-7`)).json()));
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`ours and the Fastify front disagree:\n${JSON.stringify(a)}\n${JSON.stringify(b)}`);
  }
  // The same service with its status cache off: every read a database round trip.
  const uncached = await start(['api'], {
    DATABASE_URL: db.url,
    REDIS_URL,
    DEVTEAM_REDIS_PREFIX: prefix,
    DEVTEAM_DATA_DIR: join(dir, 'api-uncached'),
    DEVTEAM_STATUS_CACHE_MS: '0',
    LOG_LEVEL: 'info',
  });
  services.push(uncached);
  let slowed: Service | null = null;
  if (SLOWED_MS !== null) {
    slowed = await startFront('slowed', { DATABASE_URL: db.url, LOG_LEVEL: 'info', BENCH_SLOWED_STATUS_MS: String(SLOWED_MS) });
    services.push(slowed);
    console.log(`\n!! DEMONSTRATION: "ours" below is bench/slowed-front.js — the same uWS status route with ${SLOWED_MS} ms of busy CPU per read`);
  }

  console.log(`\n== a. GET status, Postgres + Redis, rotating over ${PROJECTS} projects (all processes up, measured one after the other)`);
  const ours = await measure((slowed ?? api).port!, statusRequest());
  print(slowed ? `ours SLOWED (+${SLOWED_MS} ms/read)` : 'ours (uWS, devteam api)', ours);
  const fastify = await measure(front.port!, statusRequest());
  print('Fastify front (same read + cache)', fastify);
  const oursUncached = await measure(uncached.port!, statusRequest());
  print('ours, cache off', oursUncached);
  await uncached.stop();
  const fastifyUncached = await measure(frontUncached.port!, statusRequest());
  print('Fastify front, cache off', fastifyUncached);
  await Promise.all([front.stop(), frontUncached.stop(), slowed?.stop()]);
  const rpsRatio = ours.rps / fastify.rps;
  const p99Ratio = ours.p99 / fastify.p99;
  console.log(`ratio ours/Fastify, the SAME cache on both (the framework over a cache hit): req/s ${rpsRatio.toFixed(2)}×, p99 ${p99Ratio.toFixed(2)}× (${ours.p99} vs ${fastify.p99} ms)`);
  console.log(
    `ratio ours/Fastify, cache off on both (the framework over a Postgres read): req/s ${(oursUncached.rps / fastifyUncached.rps).toFixed(2)}×, p99 ${(oursUncached.p99 / fastifyUncached.p99).toFixed(2)}× (${oursUncached.p99} vs ${fastifyUncached.p99} ms)`,
  );
  console.log(`goal: ours ≥ 2× Fastify's req/s at equal or lower p99, same cache on both: ${metOrMissed(rpsRatio >= 2 && ours.p99 <= fastify.p99)}`);
  console.log(`target: status p99 ≤ ${STATUS_TARGET.p99Ms} ms at ≥ ${STATUS_TARGET.rps} req/s: ${metOrMissed(ours.p99 <= STATUS_TARGET.p99Ms && ours.rps >= STATUS_TARGET.rps)}`);
  // Closed-loop load: mean latency = connections / throughput, so the p99 target bounds the concurrency.
  console.log(`  (Little's law: at ${CONNECTIONS} connections, p99 ≤ ${STATUS_TARGET.p99Ms} ms needs well over ${((CONNECTIONS / STATUS_TARGET.p99Ms) * 1000).toFixed(0)} req/s)`);

  // Each request waits for a Postgres commit and a Redis enqueue: at a fixed 2k req/s, mean latency
  // is connections / throughput, so 32 in flight cannot stay under 20 ms; 16 is the load the target describes.
  const eventConnections = Math.min(CONNECTIONS, 16);
  console.log(`\n== b. POST /events (durable: event row committed + job enqueued on Redis before the 202), ${eventConnections} connections`);
  let e = 0;
  const events = await measure(api.port!, {
    connections: eventConnections,
    method: 'POST',
    setup: (req) => ({ ...req, path: '/events', body: JSON.stringify({ type: 'DEVTEAM_AUTOMATION', projectId: `bench-${e++ % PROJECTS}`, payload: {} }) }),
  });
  print('POST /events', events);
  console.log(`target: POST /events p99 ≤ ${EVENTS_TARGET.p99Ms} ms at ≥ ${EVENTS_TARGET.rps} req/s: ${metOrMissed(events.p99 <= EVENTS_TARGET.p99Ms && events.rps >= EVENTS_TARGET.rps)}`);

  console.log('\n== c. POST initialize, a new projectId per request (each creates an execution + its event in one transaction, then enqueues)');
  const run = crypto.randomUUID().slice(0, 8);
  let k = 0;
  const init = await measure(api.port!, {
    method: 'POST',
    setup: (req) => ({ ...req, path: INITIALIZE_PATH, body: JSON.stringify({ projectId: `init-${run}-${k++}`, repository: REPOSITORY, agent: AGENT }) }),
  });
  print('POST initialize', init);

  if (QUICK) {
    const statusBad = !(ours.p99 <= GATE.statusP99Ms && ours.rps >= GATE.statusRps && ours.non2xx + ours.errors === 0);
    const eventsBad = !(events.p99 <= GATE.eventsP99Ms && events.rps >= GATE.eventsRps && events.non2xx + events.errors === 0);
    failedFloor = statusBad || eventsBad;
    console.log(
      `\nquick gates: status p99 ≤ ${GATE.statusP99Ms} ms at ≥ ${GATE.statusRps} req/s: ${statusBad ? 'FAILED' : 'ok'} (${ours.p99} ms, ${ours.rps.toFixed(0)} req/s); POST /events p99 ≤ ${GATE.eventsP99Ms} ms at ≥ ${GATE.eventsRps} req/s: ${eventsBad ? 'FAILED' : 'ok'} (${events.p99} ms, ${events.rps.toFixed(0)} req/s)`,
    );
    console.log(`  note: ${EVENTS_GATE_REASON}`);
  } else {
    await api.stop();
    console.log('\n== d. GET status, embedded PGlite (devteam serve, DEVTEAM_SANDBOX=none, DEVTEAM_RECONCILE_MS=60000)');
    // The in-process worker picks up each initialize at once (file:///nonexistent fails the clone);
    // we wait for the seeded projects to settle so the worker is idle while we measure.
    const embedded = await start(['serve'], {
      DEVTEAM_DATA_DIR: join(dir, 'embedded'),
      DEVTEAM_SANDBOX: 'none',
      // 600000 was asked for; the config caps DEVTEAM_RECONCILE_MS at 60000 (src/config.ts).
      DEVTEAM_RECONCILE_MS: '60000',
      LOG_LEVEL: 'info',
    });
    services.push(embedded);
    await seed(embedded.port!);
    const live = await waitSettled(embedded.port!, 30_000);
    if (live) console.log(`  !! ${live} seeded projects still live after 30 s: the worker may compete for CPU`);
    const emb = await measure(embedded.port!, statusRequest());
    print('ours embedded (devteam serve)', emb);
  }
} catch (error) {
  console.error(error);
  process.exitCode = 2;
} finally {
  await cleanup();
}
if (failedFloor) process.exitCode = 1;
