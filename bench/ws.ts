// The live stream's numbers: WS handshake latency (new WebSocket → hello frame) and frame
// latency with 1…1,000 subscribers of one project, driven by REAL worker transitions: the project
// runs through its tasks (file:// bare remote with a task list, `command` agent appending to
// NOTES.md, verify `git --version`, local sandbox), and every `execution-update` the worker
// publishes is timed from its `ts` (stamped by the frame log when the worker appends it, right after
// the transition's snapshot write committed — src/actors/project-run.ts) to the subscriber's
// message handler (Date.now(): same machine, same clock, 1 ms resolution). The project is paused
// right after initialize so every subscriber is in before it runs; the API's own resume frame and
// anything stamped before the resume reply are not counted. Runs against the real service as child
// processes: embedded (`devteam serve`, PGlite, in-process bus) and/or distributed (`devteam api`
// + `devteam worker`, Postgres + Redis).
//
//   node dist/bench/ws.js [--subscribers 1,100,1000] [--tasks 6] [--mode embedded|distributed|both] [--quick]
//
// --quick: subscribers 1,100,1000, 3 tasks, distributed only; exits 1 when a quick gate is missed
// (GATE below: 3× the design.md targets, see docs/performance.md). Explicit flags override --quick.
import { execSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { projectBody, Remotes } from './remotes.js';
import { dropRedisPrefix, REDIS_URL, start, tempDatabase, type Service } from './service.js';
import { machineSpeed, scaledLatency } from './machine-speed.js';
import { machine, percentile, summary } from './stats.js';

const { values } = parseArgs({
  options: {
    subscribers: { type: 'string' },
    tasks: { type: 'string' },
    mode: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const QUICK = values.quick ?? false;
const SUBSCRIBERS = (values.subscribers ?? '1,100,1000').split(',').map((s) => Number(s.trim()));
const TASKS = Number(values.tasks ?? (QUICK ? '3' : '6'));
const MODE = values.mode ?? (QUICK ? 'distributed' : 'both');
if (SUBSCRIBERS.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--subscribers: comma-separated positive integers');
if (!Number.isInteger(TASKS) || TASKS < 1) throw new Error('--tasks: a positive integer');
if (!['embedded', 'distributed', 'both'].includes(MODE)) throw new Error('--mode: embedded, distributed or both');
const MODES = MODE === 'both' ? ['embedded', 'distributed'] : [MODE];
const MAX_N = Math.max(...SUBSCRIBERS);

const OPEN_CONCURRENCY = 50;
const RUN = crypto.randomUUID().slice(0, 6);
const ROUND_WAIT_MS = 180_000;
const TARGET = { handshakeP99: 10, handshakeFloor: 300, frameP99: 20, frameFloor: 500, frameAt: 1000 };
// The quick gates (measured ranges in docs/performance.md). 3× the target where this machine
// passes it; where it does not, the honest figure, and the reason is printed with the verdict.
const BASE_GATE = { handshakeP99: 30, frameP99: { 1: 60, 100: 60, 1000: 80 } as Record<number, number> };
const GATE_REASON = {
  handshake:
    'gate 3× the target; p99 of 200 sequential handshakes is the 2nd-worst sample: a CI run alone measured 8 ms, runs sharing the cores with test suites (load 10–14) 15–31 ms',
  frames:
    'gates 3× the target at 1 and 100 subscribers, 4× at 1,000 (80 ms): the worker transitions come in bursts and the 1,000 client sockets live in this one process on the same 2 cores, so each burst queues 1,000 × burst messages; a CI run alone measured p99 27 ms at 1,000 (target missed), runs under load 10–14 143–287 ms',
};
const frameGate = (n: number) => GATE.frameP99[n] ?? GATE.frameP99[1000]!;

interface Frame {
  type: string;
  ts: number;
  projectId: string;
  seq: number;
  payload: { status?: string } & Record<string, unknown>;
}

/** The round in progress: worker frames of one project, until every subscriber saw its end. */
interface Round {
  projectId: string;
  /** Frames stamped at or before this (the API's resume frame, anything before) are not counted. */
  cutoff: number;
  remaining: number;
  latencies: number[];
  end: string;
  resolve(): void;
}
let round: Round | null = null;
const TERMINAL = new Set(['completed', 'failed', 'stopped']);

class Client {
  readonly ws: WebSocket;
  readonly hello: Promise<number>;
  private resyncWaiter: ((frame: Frame) => void) | null = null;
  waiting = false;

  constructor(url: string) {
    const t0 = performance.now();
    this.ws = new WebSocket(url, { perMessageDeflate: false });
    this.hello = new Promise<number>((resolve, reject) => {
      this.ws.once('error', reject);
      this.ws.once('close', (code, reason) => reject(new Error(`closed ${code} ${reason.toString()} before hello`)));
      this.ws.on('message', (data) => {
        const received = Date.now();
        const frame = JSON.parse(data.toString()) as Frame;
        if (frame.type === 'hello') return resolve(performance.now() - t0);
        if (frame.type === 'resync') return this.resyncWaiter?.(frame);
        if (frame.type === 'error') console.error(`stream error frame: ${JSON.stringify(frame.payload)}`);
        const r = round;
        if (!r || !this.waiting || frame.type !== 'execution-update' || frame.projectId !== r.projectId || frame.ts <= r.cutoff) return;
        r.latencies.push(received - frame.ts);
        if (TERMINAL.has(frame.payload.status ?? '')) {
          this.waiting = false;
          r.end = frame.payload.status!;
          if (--r.remaining === 0) r.resolve();
        }
      });
    });
  }

  subscribe(projectId: string): Promise<Frame> {
    return new Promise((resolve) => {
      this.resyncWaiter = (frame) => {
        this.resyncWaiter = null;
        resolve(frame);
      };
      this.ws.send(JSON.stringify({ type: 'subscribe', projectId }));
    });
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((done) => {
      const timer = setTimeout(() => {
        this.ws.terminate();
        done();
      }, 5000);
      this.ws.once('close', () => {
        clearTimeout(timer);
        done();
      });
      this.ws.close(1000);
    });
  }
}

/** Runs fn for 0…n-1 with at most `limit` in flight. */
async function pool<T>(n: number, limit: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, lane));
  return out;
}

async function closeAll(clients: Client[]): Promise<void> {
  await Promise.all(clients.map((c) => c.close()));
}

async function post(base: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { text };
  }
  return { status: res.status, json };
}

const fmt = (n: number) => `${n.toFixed(2)} ms`;
const verdict = (value: number, limit: number) => (value <= limit ? 'met' : 'MISSED');
const p99 = (samples: number[]) => percentile([...samples].sort((a, b) => a - b), 99);

interface Result {
  mode: string;
  handshakeP99: number;
  frames: Array<{ n: number; p99: number }>;
}

async function handshakes(wsUrl: string, n: number, concurrency = OPEN_CONCURRENCY): Promise<number[]> {
  const clients: Client[] = [];
  try {
    return await pool(n, concurrency, async () => {
      const c = new Client(wsUrl);
      clients.push(c);
      return c.hello;
    });
  } finally {
    await closeAll(clients);
  }
}

async function frameRound(base: string, wsUrl: string, n: number, remotes: Remotes): Promise<{ frames: number[]; transitions: number; end: string; seconds: number }> {
  const projectId = `frames-${n}-${RUN}`;
  const init = await post(base, '/api/devteam/automation/initialize', projectBody(projectId, await remotes.create()));
  if (init.status !== 202) throw new Error(`initialize answered ${init.status}: ${JSON.stringify(init.json)}`);
  // Before the worker gets far: every subscriber is in before the project runs.
  const paused = await post(base, `/api/devteam/automation/pause/${projectId}`);
  if (paused.status !== 202) throw new Error(`pause right after initialize answered ${paused.status}: ${JSON.stringify(paused.json)}`);
  const clients: Client[] = [];
  try {
    await pool(n, OPEN_CONCURRENCY, async () => {
      const c = new Client(wsUrl);
      clients.push(c);
      await c.hello;
      await c.subscribe(projectId);
    });
    for (const c of clients) c.waiting = true;
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const r: Round = { projectId, cutoff: Number.POSITIVE_INFINITY, remaining: n, latencies: [], end: '', resolve };
    round = r;
    const t0 = performance.now();
    const resumed = await post(base, `/api/devteam/automation/resume/${projectId}`);
    if (resumed.status !== 202) throw new Error(`resume answered ${resumed.status}: ${JSON.stringify(resumed.json)}`);
    r.cutoff = Date.now();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      done,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${r.remaining} of ${n} subscribers saw no end of ${projectId} within ${ROUND_WAIT_MS} ms`)), ROUND_WAIT_MS);
      }),
    ]).finally(() => clearTimeout(timer));
    round = null;
    return { frames: r.latencies, transitions: r.latencies.length / n, end: r.end, seconds: (performance.now() - t0) / 1000 };
  } finally {
    round = null;
    await closeAll(clients);
  }
}

async function runMode(mode: string, service: Service, remotes: Remotes): Promise<Result> {
  const base = `http://127.0.0.1:${service.port}`;
  const wsUrl = `ws://127.0.0.1:${service.port}/ws/devteam`;
  // The handshakes' hello needs no project; a project for nothing else to connect to.
  const hs0 = await post(base, '/api/devteam/automation/initialize', projectBody(`handshake-${RUN}`, await remotes.create()));
  if (hs0.status !== 202) throw new Error(`initialize answered ${hs0.status}: ${JSON.stringify(hs0.json)}`);

  // One at a time: the latency a connecting client sees. Then a burst, for what many at once cost.
  const single = await handshakes(wsUrl, 200, 1);
  console.log(`\n== ${mode}: handshake (new WebSocket → hello frame), 200 connections one at a time`);
  console.log(summary('handshake, sequential', single, 34));
  console.log(`== ${mode}: handshake, ${MAX_N} connections opened ${OPEN_CONCURRENCY} at a time`);
  const hs = await handshakes(wsUrl, MAX_N);
  console.log(summary(`handshake, ${MAX_N} conns burst`, hs, 34));
  const handshakeP99 = p99(single);
  if (p99(hs) > TARGET.handshakeFloor) console.log(`  burst handshake p99 ${fmt(p99(hs))} is over the spec floor of ${TARGET.handshakeFloor} ms`);
  console.log(
    `  handshake p99 ${fmt(handshakeP99)}: target ≤ ${TARGET.handshakeP99} ms ${verdict(handshakeP99, TARGET.handshakeP99)}, quick gate ≤ ${GATE.handshakeP99} ms ${verdict(handshakeP99, GATE.handshakeP99)}, spec floor ≤ ${TARGET.handshakeFloor} ms ${verdict(handshakeP99, TARGET.handshakeFloor)}`,
  );

  const frames: Result['frames'] = [];
  for (const n of SUBSCRIBERS) {
    console.log(`\n== ${mode}: ${n} subscriber(s) of one project the worker drives through ${TASKS} tasks`);
    const r = await frameRound(base, wsUrl, n, remotes);
    console.log(`  ${r.transitions} worker transitions in ${r.seconds.toFixed(1)} s, the project ended ${r.end}`);
    if (r.end !== 'completed') console.log(`  !! the project ended ${r.end}: the frames are not the pipeline's`);
    console.log(summary(`frame latency, ${n} subs`, r.frames, 34) + '  (commit → receipt: Date.now() − frame.ts)');
    const p = p99(r.frames);
    frames.push({ n, p99: r.end === 'completed' ? p : Number.POSITIVE_INFINITY });
    const at = n === TARGET.frameAt ? '' : ` (targets are stated at ${TARGET.frameAt} subscribers)`;
    console.log(
      `  frame p99 ${fmt(p)}: target ≤ ${TARGET.frameP99} ms ${verdict(p, TARGET.frameP99)}, quick gate ≤ ${frameGate(n)} ms ${verdict(p, frameGate(n))}, spec floor ≤ ${TARGET.frameFloor} ms ${verdict(p, TARGET.frameFloor)}${at}`,
    );
  }
  return { mode, handshakeP99, frames };
}

console.log(machine());
// The gates scaled to this machine's speed today (bench/machine-speed.ts).
const speed = await machineSpeed();
console.log(speed.describe());
const GATE = {
  handshakeP99: scaledLatency(BASE_GATE.handshakeP99, speed),
  frameP99: Object.fromEntries(Object.entries(BASE_GATE.frameP99).map(([n, ms]) => [n, scaledLatency(ms, speed)])) as Record<number, number>,
};
const nofile = execSync('ulimit -n', { shell: '/bin/sh' }).toString().trim();
console.log(`ulimit -n ${nofile} (the bench holds ${MAX_N} client sockets; the service, started with the same limit, holds as many)`);
if (nofile !== 'unlimited' && Number(nofile) < MAX_N + 200) {
  console.log(`  WARNING: ${MAX_N} sockets + libraries need more than ${nofile} descriptors; raise it with \`ulimit -n ${MAX_N * 2}\``);
}

// start() waits for the "devteam runner started" line, which is logged at info: LOG_LEVEL=warn
// would hide it and start() would wait forever, so the services run at info (stdout is drained).
const startWithin = (p: Promise<Service>, role: string) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`devteam ${role} did not start within 60 s`)), 60_000).unref())]);

const services: Service[] = [];
const cleanups: Array<() => Promise<void>> = [];
const results: Result[] = [];
let failed = false;
try {
  for (const mode of MODES) {
    let service: Service;
    const root = await mkdtemp(join(tmpdir(), 'devteam-bench-ws-remotes-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const remotes = new Remotes(root, TASKS);
    // The agent and verify run as commands: 'none' has no command runner, so the local sandbox (bubblewrap).
    const projectEnv = { DEVTEAM_FILE_REMOTE_ROOTS: root, DEVTEAM_SANDBOX: 'local', LOG_LEVEL: 'info' };
    if (mode === 'embedded') {
      const dir = await mkdtemp(join(tmpdir(), 'devteam-bench-ws-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      service = await startWithin(start(['serve'], { ...projectEnv, DEVTEAM_DATA_DIR: dir }), 'serve');
    } else {
      const db = await tempDatabase();
      cleanups.push(() => db.drop());
      const prefix = `devteam-bench-ws-${crypto.randomUUID().slice(0, 8)}`;
      cleanups.push(async () => void (await dropRedisPrefix(prefix)));
      const dir = await mkdtemp(join(tmpdir(), 'devteam-bench-ws-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const env = { ...projectEnv, DATABASE_URL: db.url, REDIS_URL, DEVTEAM_REDIS_PREFIX: prefix };
      service = await startWithin(start(['api'], { ...env, DEVTEAM_DATA_DIR: join(dir, 'api') }), 'api');
      services.push(await startWithin(start(['worker'], { ...env, DEVTEAM_DATA_DIR: join(dir, 'worker') }), 'worker'));
    }
    services.push(service);
    const label = mode === 'embedded' ? 'embedded (devteam serve, PGlite)' : 'distributed (devteam api, Postgres + Redis)';
    results.push(await runMode(label, service, remotes));
    for (const s of services.splice(0).reverse()) await s.stop();
  }

  console.log('\n== summary (p99)');
  for (const r of results) {
    console.log(`${r.mode}: handshake ${fmt(r.handshakeP99)}; frames ${r.frames.map((f) => `${f.n} subs ${fmt(f.p99)}`).join(', ') || 'skipped'}`);
    if (r.handshakeP99 > GATE.handshakeP99 || r.frames.some((f) => f.p99 > frameGate(f.n))) failed = true;
  }
  const frameGates = SUBSCRIBERS.map((n) => `${n} subs ≤ ${frameGate(n)} ms`).join(', ');
  console.log(`quick gates (handshake p99 ≤ ${GATE.handshakeP99} ms; frame p99 ${frameGates}; project completed): ${failed ? 'FAILED' : 'ok'}`);
  console.log(`  note: ${GATE_REASON.handshake}`);
  console.log(`  why not 3×: ${GATE_REASON.frames}`);
} finally {
  for (const s of services) if (s.child.exitCode === null && s.child.signalCode === null) await s.stop().catch(() => {});
  for (const c of cleanups.reverse()) await c().catch((err) => console.error(`cleanup: ${(err as Error).message}`));
}
if (QUICK && failed) process.exitCode = 1;
