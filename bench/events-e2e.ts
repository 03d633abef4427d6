// POST /events → processed, measured against the real service started as child processes:
// embedded (`devteam serve`) and distributed (`devteam api` + `devteam worker` on Postgres + Redis).
// Prints p50/p95/p99 of the POST round trip, of created → processed (database clock) and of the
// queue latency recorded by the worker, plus the machine it ran on.
//   node dist/bench/events-e2e.js [--events 500] [--concurrency 16] [--mode embedded|distributed|both]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { machine, summary } from './stats.js';
import { dropRedisPrefix, REDIS_URL, start, tempDatabase, type Service } from './service.js';


const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '16' },
    mode: { type: 'string', default: 'both' },
  },
});
const EVENTS = Number(values.events);
// The worker's concurrency, when the caller sets it (e.g. to compare settings); the service's default otherwise.
const concurrencyEnv: Record<string, string> = process.env.DEVTEAM_WORKER_CONCURRENCY ? { DEVTEAM_WORKER_CONCURRENCY: process.env.DEVTEAM_WORKER_CONCURRENCY } : {};
const CONCURRENCY = Number(values.concurrency);

async function run(mode: 'embedded' | 'distributed'): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'devteam-bench-'));
  const services: Service[] = [];
  let dropDb: (() => Promise<void>) | null = null;
  const prefix = `devteam-bench-${crypto.randomUUID().slice(0, 8)}`;
  try {
    let port: number;
    if (mode === 'embedded') {
      // The service's default log level: its logging is part of its cost.
      const s = await start(['serve'], { DEVTEAM_DATA_DIR: dir, LOG_LEVEL: 'info', ...concurrencyEnv });
      services.push(s);
      port = s.port!;
    } else {
      const db = await tempDatabase();
      dropDb = db.drop;
      const env = { DATABASE_URL: db.url, REDIS_URL, DEVTEAM_REDIS_PREFIX: prefix, DEVTEAM_DATA_DIR: dir, LOG_LEVEL: 'info', ...concurrencyEnv };
      const api = await start(['api'], env);
      services.push(api, await start(['worker'], env));
      port = api.port!;
    }

    const base = `http://127.0.0.1:${port}`;
    // Warm-up: first requests pay for JIT and connection set-up.
    for (let i = 0; i < 20; i++) await post(base, i);

    const postMs: number[] = [];
    const ids: string[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < EVENTS) {
          const i = next++;
          const started = performance.now();
          const id = await post(base, i);
          postMs.push(performance.now() - started);
          ids.push(id);
        }
      }),
    );
    const postSeconds = (performance.now() - t0) / 1000;

    const rows = await waitAll(base, ids);
    const e2e = rows.map((r) => new Date(r.processedAt).getTime() - new Date(r.createdAt).getTime());
    const queue = rows.map((r) => r.queueLatencyMs);
    console.log(`\n== ${mode}: ${EVENTS} events, ${CONCURRENCY} concurrent clients`);
    console.log(`POST /events throughput      ${(EVENTS / postSeconds).toFixed(0)} req/s`);
    console.log(summary('POST /events (202, durable)', postMs));
    console.log(summary('created → processed', e2e));
    console.log(summary('queue latency (enqueue→start)', queue));
    const failed = rows.filter((r) => r.status !== 'processed').length;
    if (failed) console.log(`!! ${failed} events did not end processed`);
  } finally {
    for (const s of services.reverse()) await s.stop();
    await dropDb?.();
    if (mode === 'distributed') await dropRedisPrefix(prefix);
    await rm(dir, { recursive: true, force: true });
  }
}

async function post(base: string, i: number): Promise<string> {
  const res = await fetch(`${base}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'DEVTEAM_AUTOMATION', projectId: `bench-${i % 10}`, payload: { taskId: '1.1' } }),
  });
  if (res.status !== 202) throw new Error(`POST /events answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { eventId: string }).eventId;
}

interface Row {
  status: string;
  createdAt: string;
  processedAt: string;
  queueLatencyMs: number;
}

async function waitAll(base: string, ids: string[]): Promise<Row[]> {
  const deadline = Date.now() + 120_000;
  const rows: Row[] = [];
  for (const id of ids) {
    for (;;) {
      const row = (await (await fetch(`${base}/events/${id}`)).json()) as Row;
      if (row.status === 'processed' || row.status === 'failed') {
        rows.push(row);
        break;
      }
      if (Date.now() > deadline) throw new Error(`event ${id} still ${row.status} after 120 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return rows;
}


console.log(machine());
const modes = values.mode === 'both' ? (['embedded', 'distributed'] as const) : [values.mode as 'embedded' | 'distributed'];
for (const mode of modes) await run(mode);
