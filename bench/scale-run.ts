// One scale scenario for bench/scale.ts: the real service (embedded `devteam serve`, or `devteam
// api` + N `devteam worker` on Postgres + Redis) drives P real projects at once — file:// bare
// remotes with a chain of tasks, a `command` agent, a trivial verify — and reports when each
// project ended and, per task, where its time went, from the service's own records:
//   wall     = the task's finishedAt − the previous task's finishedAt (tasks after the first), or
//              − the initialize reply (the first: queueing, the clone and the sandbox's cold start)
//   agent    = the agent-output artifact's durationMs (the agent's process in the sandbox)
//   build    = the verify-output artifact's commands' durationMs
//   overhead = wall − agent − build: the runner's own time (git, persisted transitions, frames,
//              artifacts, sandbox starts, waiting for a core or a slot)
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { Remotes } from './remotes.js';
import { dropRedisPrefix, REDIS_URL, start, tempDatabase, type Service } from './service.js';

export interface ScenarioOptions {
  label: string;
  mode: 'embedded' | 'distributed';
  /** Worker processes (distributed only). */
  workers?: number;
  projects: number;
  tasks: number;
  /** The agent's argv (run by the `command` preset in the checkout). */
  agent: string[];
  verify: string[][];
  /** DEVTEAM_MAX_PROJECTS per worker; default: all projects at once. */
  maxProjects?: number;
  env?: Record<string, string>;
  /** node flags of the worker processes (e.g. --cpu-prof). */
  workerNodeArgs?: string[];
  timeoutMs?: number;
  /** Project body changes (e.g. a real verify of a vite project). */
  body?: (projectId: string, url: string) => Record<string, unknown>;
  /** Builds the remote instead of the standard bench remote (returns a file:// URL). */
  remote?: (root: string, i: number) => Promise<string>;
}

export interface TaskFigure {
  project: string;
  task: string;
  index: number;
  wallMs: number;
  agentMs: number;
  buildMs: number;
  overheadMs: number;
}

export interface ScenarioResult {
  /** From the first initialize request to the last project's end. */
  makespanMs: number;
  /** Per project: initialize reply → its end. */
  projectMs: number[];
  ends: Record<string, number>;
  tasks: TaskFigure[];
  firstError: string;
}

interface TaskResult {
  status: string;
  finishedAt: string;
}

interface Artifact {
  taskId: string | null;
  attempt: number;
  kind: string;
  meta: Record<string, unknown>;
}

export async function runScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const dir = await mkdtemp(join(tmpdir(), 'devteam-bench-scale-'));
  const prefix = `devteam-bench-scale-${crypto.randomUUID().slice(0, 8)}`;
  const services: Service[] = [];
  let dropDb: (() => Promise<void>) | null = null;
  try {
    const remotes = new Remotes(dir, o.tasks, true);
    const urls: string[] = [];
    for (let i = 0; i < o.projects; i++) urls.push(o.remote ? await o.remote(dir, i) : await remotes.create());
    const common = {
      DEVTEAM_FILE_REMOTE_ROOTS: dir,
      DEVTEAM_SANDBOX: 'local',
      DEVTEAM_MAX_PROJECTS: String(o.maxProjects ?? o.projects),
      DEVTEAM_WORKER_CONCURRENCY: '16',
      // As deployed: `info` (the service's "started" line, which start() waits for, is at info too).
      LOG_LEVEL: 'info',
      ...o.env,
    };
    let port: number;
    if (o.mode === 'distributed') {
      const db = await tempDatabase();
      dropDb = db.drop;
      const env = { ...common, DATABASE_URL: db.url, REDIS_URL, DEVTEAM_REDIS_PREFIX: prefix };
      const api = await start(['api'], { ...env, DEVTEAM_DATA_DIR: join(dir, 'api') });
      services.push(api);
      for (let w = 0; w < (o.workers ?? 2); w++) {
        await mkdir(join(dir, `worker-${w}`), { recursive: true });
        services.push(await start(['worker'], { ...env, DEVTEAM_DATA_DIR: join(dir, `worker-${w}`) }, o.workerNodeArgs ?? []));
      }
      port = api.port!;
    } else {
      const s = await start(['serve'], { ...common, DEVTEAM_DATA_DIR: join(dir, 'serve') }, o.workerNodeArgs ?? []);
      services.push(s);
      port = s.port!;
    }
    return await drive(`http://127.0.0.1:${port}`, o, urls);
  } finally {
    for (const s of [...services].reverse()) await s.stop().catch(() => {});
    await dropDb?.().catch((err) => console.error(`could not drop the temp database: ${err}`));
    if (o.mode === 'distributed') await dropRedisPrefix(prefix).catch(() => 0);
    await rm(dir, { recursive: true, force: true });
  }
}

async function drive(base: string, o: ScenarioOptions, urls: string[]): Promise<ScenarioResult> {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/devteam`, { perMessageDeflate: false });
  await new Promise((resolve, reject) => ws.once('message', resolve).once('error', reject));
  const ended = new Map<string, { status: string; at: number }>();
  let firstError = '';
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { type: string; projectId: string; payload: { status?: string; lastError?: string | null } };
    if (frame.type !== 'execution-update') return;
    const s = frame.payload.status;
    if ((s === 'completed' || s === 'failed' || s === 'stopped') && !ended.has(frame.projectId)) ended.set(frame.projectId, { status: s, at: performance.now() });
    if (s === 'failed' && !firstError) firstError = `${frame.projectId}: ${frame.payload.lastError}`;
  });
  const ids = urls.map((_, i) => `${o.label.replace(/[^A-Za-z0-9-]/g, '-')}-${i}`);
  for (const id of ids) ws.send(JSON.stringify({ type: 'subscribe', projectId: id }));
  const body = o.body ?? ((projectId: string, url: string) => ({ projectId, repository: { url, branch: 'main' }, agent: { preset: 'command', command: o.agent, timeoutSec: 120 }, verify: { commands: o.verify, timeoutSec: 300 } }));
  const t0 = performance.now();
  const started = new Map<string, { at: number; wall: number; executionId: string }>();
  // All at once, as a burst of users would.
  await Promise.all(
    ids.map(async (id, i) => {
      const res = await fetch(`${base}/api/devteam/automation/initialize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body(id, urls[i]!)) });
      if (res.status !== 202) throw new Error(`initialize ${id} answered ${res.status}: ${await res.text()}`);
      const { executionId } = (await res.json()) as { executionId: string };
      started.set(id, { at: performance.now(), wall: Date.now(), executionId });
    }),
  );
  const deadline = Date.now() + (o.timeoutMs ?? 600_000);
  while (ended.size < ids.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const makespanMs = performance.now() - t0;
  ws.close();
  if (ended.size < ids.length) throw new Error(`${o.label}: ${ids.length - ended.size} projects did not end within ${o.timeoutMs ?? 600_000} ms`);
  const ends: Record<string, number> = {};
  for (const e of ended.values()) ends[e.status] = (ends[e.status] ?? 0) + 1;
  const tasks: TaskFigure[] = [];
  for (const id of ids) tasks.push(...(await taskFigures(base, id, started.get(id)!)));
  return { makespanMs, projectMs: ids.map((id) => ended.get(id)!.at - started.get(id)!.at), ends, tasks, firstError };
}

async function taskFigures(base: string, projectId: string, start: { wall: number; executionId: string }): Promise<TaskFigure[]> {
  const status = (await (await fetch(`${base}/api/devteam/automation/status/${projectId}`)).json()) as { results: Record<string, TaskResult> };
  const listing = (await (await fetch(`${base}/api/devteam/automation/executions/${start.executionId}/artifacts`)).json()) as { artifacts: Artifact[] };
  const done = Object.entries(status.results)
    .filter(([, r]) => r.status === 'done')
    .map(([task, r]) => ({ task, at: Date.parse(r.finishedAt) }))
    .sort((a, b) => a.at - b.at);
  const figures: TaskFigure[] = [];
  let previous = start.wall;
  done.forEach(({ task, at }, index) => {
    const mine = listing.artifacts.filter((a) => a.taskId === task);
    const agentMs = mine.filter((a) => a.kind === 'agent-output').reduce((s, a) => s + Number(a.meta.durationMs ?? 0), 0);
    const buildMs = mine
      .filter((a) => a.kind === 'verify-output')
      .reduce((s, a) => s + ((a.meta.commands as Array<{ durationMs: number }> | undefined) ?? []).reduce((t, c) => t + c.durationMs, 0), 0);
    const wallMs = at - previous;
    figures.push({ project: projectId, task, index, wallMs, agentMs, buildMs, overheadMs: wallMs - agentMs - buildMs });
    previous = at;
  });
  return figures;
}
