// GET status while workers drive many projects: the status cache is invalidated by every
// persisted transition (each reaches the API as a frame), so reads here are a mix of cache hits
// and database reads, on cores the worker's git processes also want. The real service as child
// processes: `devteam api` + `devteam worker` on Postgres + Redis (distributed, the default) or
// `devteam serve` (embedded). Projects are real: file:// bare remotes with a task list, a
// `command` agent (appends to NOTES.md), verify `git --version`.
//
//   node dist/bench/status-churn.js [--projects 50] [--tasks 6] [--seconds 10] [--connections 16] [--rate 10000]
//                                   [--mode distributed|embedded] [--quick]
// --quick: 50 projects × 4 tasks, 5 s measured; exits 1 when the quick gate is missed (see GATE).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { WebSocket } from 'ws';
import { projectBody, Remotes } from './remotes.js';
import { dropRedisPrefix, REDIS_URL, start, tempDatabase, type Service } from './service.js';
import { machineSpeed, scaledLatency, scaledRate } from './machine-speed.js';
import { machine } from './stats.js';

const { values } = parseArgs({
  options: {
    projects: { type: 'string' },
    tasks: { type: 'string' },
    seconds: { type: 'string' },
    connections: { type: 'string' },
    rate: { type: 'string' },
    mode: { type: 'string', default: 'distributed' },
    quick: { type: 'boolean', default: false },
  },
});
const QUICK = values.quick;
const PROJECTS = Number(values.projects ?? 50);
const TASKS = Number(values.tasks ?? (QUICK ? 4 : 6));
const SECONDS = Number(values.seconds ?? (QUICK ? 5 : 10));
const CONNECTIONS = Number(values.connections ?? 16);
// Offered load, req/s (0 = as fast as it goes): the target's rate, so the load leaves the worker
// the CPU it would have at that rate and p99 is measured where the target states it.
const RATE = Number(values.rate ?? 10_000);
const MODE = values.mode!;
if (!['distributed', 'embedded'].includes(MODE)) throw new Error('--mode: distributed or embedded');
const STATUS_PATH = '/api/devteam/automation/status';
// design.md: status p99 ≤ 2 ms at ≥ 10k req/s. Under churn this machine does not come near 3×
// that, so the gate is the honest figure (measured ranges in docs/performance.md), reason printed.
const TARGET = { p99Ms: 2, rps: 10_000 };
const BASE_GATE = { p99Ms: 50, rps: 9_000 };
const GATE_REASON =
  'gate 25× the target p99 (50 ms): 10k req/s offered while the worker runs 50 projects\' git, agent and verify processes on the same 2 cores (plus the load generator, Postgres, Redis): a CI run alone measured p99 8 ms, runs under load 10–14 67–89 ms';

console.log(machine());
// The gate scaled to this machine's speed today (bench/machine-speed.ts).
const speed = await machineSpeed();
console.log(speed.describe());
const GATE = { p99Ms: scaledLatency(BASE_GATE.p99Ms, speed), rps: scaledRate(BASE_GATE.rps, speed) };
console.log(`mode: ${QUICK ? 'quick' : 'full'}, ${MODE}; ${PROJECTS} projects × ${TASKS} tasks; status load ${SECONDS} s at ${CONNECTIONS} connections, offered ${RATE || 'max'} req/s (autocannon in this process)`);

const dir = await mkdtemp(join(tmpdir(), 'devteam-bench-churn-'));
const prefix = `devteam-bench-churn-${crypto.randomUUID().slice(0, 8)}`;
const services: Service[] = [];
let dropDb: (() => Promise<void>) | null = null;
let failed = false;
try {
  const remotes = new Remotes(dir, TASKS);
  const urls: string[] = [];
  for (let i = 0; i < PROJECTS; i++) urls.push(await remotes.create());
  const common = {
    DEVTEAM_FILE_REMOTE_ROOTS: dir,
    // The agent and verify run as commands: 'none' has no command runner, so the real local sandbox (bubblewrap).
    DEVTEAM_SANDBOX: 'local',
    DEVTEAM_MAX_PROJECTS: String(PROJECTS + 8),
    DEVTEAM_WORKER_CONCURRENCY: '16',
    LOG_LEVEL: 'info',
  };
  let port: number;
  if (MODE === 'distributed') {
    const db = await tempDatabase();
    dropDb = db.drop;
    const env = { ...common, DATABASE_URL: db.url, REDIS_URL, DEVTEAM_REDIS_PREFIX: prefix };
    const api = await start(['api'], { ...env, DEVTEAM_DATA_DIR: join(dir, 'api') });
    services.push(api, await start(['worker'], { ...env, DEVTEAM_DATA_DIR: join(dir, 'worker') }));
    port = api.port!;
  } else {
    const s = await start(['serve'], { ...common, DEVTEAM_DATA_DIR: join(dir, 'serve') });
    services.push(s);
    port = s.port!;
  }
  const base = `http://127.0.0.1:${port}`;

  // One watcher on every project counts the transitions that invalidate the cache during the load.
  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/devteam`, { perMessageDeflate: false });
  await new Promise((resolve, reject) => ws.once('message', resolve).once('error', reject));
  let counting = false;
  let transitions = 0;
  const terminal = new Map<string, string>();
  let firstError = '';
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { type: string; projectId: string; payload: { status?: string; lastError?: string | null } };
    if (frame.type !== 'execution-update') return;
    if (counting) transitions++;
    const s = frame.payload.status;
    if (s === 'completed' || s === 'failed' || s === 'stopped') terminal.set(frame.projectId, s);
    if (s === 'failed' && !firstError) firstError = `${frame.projectId}: ${frame.payload.lastError}`;
  });

  const t0 = performance.now();
  for (let i = 0; i < PROJECTS; i++) {
    const res = await fetch(`${base}/api/devteam/automation/initialize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(projectBody(`churn-${i}`, urls[i]!)),
    });
    if (res.status !== 202) throw new Error(`initialize churn-${i} answered ${res.status}: ${await res.text()}`);
    ws.send(JSON.stringify({ type: 'subscribe', projectId: `churn-${i}` }));
  }
  console.log(`initialized ${PROJECTS} projects in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  let n = 0;
  const request = { method: 'GET' as const, setupRequest: (req: { path?: string }) => ({ ...req, path: `${STATUS_PATH}/churn-${n++ % PROJECTS}` }) };
  await autocannon({ url: base, connections: CONNECTIONS, duration: 1, requests: [request as never] });
  counting = true;
  const running0 = PROJECTS - terminal.size;
  const result = await autocannon({ url: base, connections: CONNECTIONS, duration: SECONDS, ...(RATE ? { overallRate: RATE } : {}), requests: [request as never] });
  counting = false;
  const running1 = PROJECTS - terminal.size;
  const l = result.latency;
  console.log(`\n== GET status under churn (${MODE}), rotating over the ${PROJECTS} driven projects`);
  console.log(
    `status under churn   ${result.requests.average.toFixed(0).padStart(7)} req/s   p50 ${l.p50} ms  p90 ${l.p90} ms  p97.5 ${l.p97_5} ms  p99 ${l.p99} ms  max ${l.max} ms   (n=${result.requests.total}, non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts})`,
  );
  console.log(`churn: ${transitions} transitions in ${SECONDS} s (${(transitions / SECONDS).toFixed(0)}/s, each invalidating a cached body); projects not finished: ${running0} at the start, ${running1} at the end`);
  const churned = transitions >= 2 * SECONDS && running1 >= PROJECTS / 2;
  if (!churned) console.log(`  !! too little churn: fewer than 2 transitions/s or most projects finished during the load (raise --tasks)`);
  const ok = (p99: number, rps: number) => l.p99 <= p99 && result.requests.average >= rps && result.non2xx === 0 && result.errors === 0;
  console.log(`target: p99 ≤ ${TARGET.p99Ms} ms at ≥ ${TARGET.rps} req/s: ${ok(TARGET.p99Ms, TARGET.rps) ? 'met' : 'MISSED'}`);
  if (QUICK) {
    failed = !ok(GATE.p99Ms, GATE.rps) || !churned;
    console.log(`quick gate: p99 ≤ ${GATE.p99Ms} ms at ≥ ${GATE.rps} req/s, no errors, real churn: ${failed ? 'FAILED' : 'ok'}`);
    console.log(`  why not 3×: ${GATE_REASON}`);
  }

  // How the projects ended: a failed project means the bench drove something other than the pipeline.
  const deadline = Date.now() + (QUICK ? 0 : 120_000);
  while (terminal.size < PROJECTS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  const ends = [...terminal.values()].reduce<Record<string, number>>((m, s) => ((m[s] = (m[s] ?? 0) + 1), m), {});
  const makespan = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`projects ended: ${JSON.stringify(ends)}${terminal.size < PROJECTS ? `, ${PROJECTS - terminal.size} still running (not waited for)` : ` (all ${PROJECTS} × ${TASKS} tasks in ${makespan} s)`}`);
  if (ends.failed) {
    console.log(`  !! some projects failed: their status is a failure projection, not the pipeline (first: ${firstError})`);
    if (QUICK) failed = true;
  }
  ws.close();
} catch (error) {
  console.error(error);
  process.exitCode = 2;
} finally {
  for (const s of [...services].reverse()) await s.stop().catch(() => {});
  await dropDb?.().catch((err) => console.error(`could not drop the temp database: ${err}`));
  if (MODE === 'distributed') await dropRedisPrefix(prefix).catch(() => 0);
  await rm(dir, { recursive: true, force: true });
}
if (failed) process.exitCode = 1;
