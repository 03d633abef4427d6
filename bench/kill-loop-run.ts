// The "resume anywhere" fault loop (decision 0025): an API and several workers, each with its own
// data directory (its own checkout: nothing is shared but Postgres, Redis and the remote), drive one
// 5-task run after another; in each run the worker that owns the project is SIGKILLed at a random
// moment (after a random number of its steps, plus a random delay) and restarted. Counted: runs
// completed, tasks whose change is on the remote exactly once, steps run again per kill. Used by
// bench/kill-loop.ts (100 kills) and test/fault/kill-loop.test.ts (the CI size).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import postgres from 'postgres';
import { Redis } from 'ioredis';

export interface KillLoopOptions {
  /** Runs, one after another. */
  runs: number;
  /** SIGKILLs of the owner in each run, each after a random number of further steps (default 1). */
  killsPerRun?: number;
  tasks: number;
  workers: number;
  leaseTtlMs: number;
  /** The whole loop stops starting runs after this long. */
  deadlineMs: number;
  /** Longest a run may take to end after its kill. */
  runTimeoutMs: number;
  /** How long the agent lingers after its change (so a kill often lands while it runs). */
  agentSleepSec: number;
  /** The compiled CLI (dist/src/cli.js). */
  cli: string;
  seed: number;
  adminUrl: string;
  redisUrl: string;
  log?: (line: string) => void;
  /** Also log every step of every run with its time (to see where a run spends its time). */
  trace?: boolean;
}

export interface KillRecord {
  run: number;
  /** The phase the owner was in at each kill of the run (its last "step started"). */
  phases: string[];
  /** Steps run more than once in the run (started again, not a reused journaled result). */
  reruns: number;
  status: string;
  /** From each kill to the next "took ownership" of the project. */
  takeoverMs: number[];
}

export interface KillLoopResult {
  runs: number;
  kills: number;
  completed: number;
  tasksTotal: number;
  /** Tasks whose change is on the remote's main exactly once (one commit, one line). */
  tasksOnceOnRemote: number;
  /** refs/devteam/* left on a remote after its run completed. */
  hiddenRefsLeft: number;
  problems: string[];
  records: KillRecord[];
  durationMs: number;
}

interface Proc {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  exited: Promise<unknown>;
  port: number | null;
}

/** A small PRNG (mulberry32) so a loop can be replayed from its seed. */
function prng(seed: number): (min: number, max: number) => number {
  let a = seed >>> 0;
  return (min, max) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return min + Math.floor(r * (max - min + 1));
  };
}

async function poll<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function startCli(cli: string, args: string[], env: Record<string, string>): Promise<Proc> {
  const child = spawn(process.execPath, [cli, ...args], {
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'info', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc: Proc = { child, lines: [], exited: new Promise((r) => child.once('exit', r)), port: null };
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-2_000);
  });
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        proc.lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
  return Promise.race([
    poll(`devteam ${args[0]} to start`, 30_000, () => proc.lines.find((l) => l.msg === 'devteam runner started')).then((l) => {
      proc.port = (l.port as number | null) ?? null;
      return proc;
    }),
    proc.exited.then(() => {
      throw new Error(`devteam ${args[0]} exited before it started: ${stderr || JSON.stringify(proc.lines.slice(-3))}`);
    }),
  ]);
}

const git = async (cwd: string, ...args: string[]) => (await execa('git', args, { cwd, env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } })).stdout;

/** A bare remote whose main holds NOTES.md and a task list of `count` chained tasks. */
async function notesRemote(dir: string, name: string, count: number): Promise<{ bare: string; initial: string; taskIds: string[] }> {
  const bare = join(dir, `${name}.git`);
  const work = join(dir, `${name}-work`);
  await git(dir, 'init', '--quiet', '--bare', '-b', 'main', bare);
  await git(dir, 'clone', '--quiet', bare, work);
  await git(work, 'checkout', '--quiet', '-b', 'main');
  const taskIds = Array.from({ length: count }, (_, i) => `1.${i + 1}`);
  const lines = ['# Test task list', '', 'Provenance: test', '', 'Phase 1: Work (Dependencies: [])', ''];
  taskIds.forEach((id, i) => {
    lines.push(`- ${id} Append note ${i + 1} (Dependencies: [${i === 0 ? '' : taskIds[i - 1]}])`, `  - ${id}.1 Do what the title says`, `  - ${id}.2 Verify correctness of Task ${id} against acceptance criteria`, '    • <criterion 1: the note is there [source: test]>', '');
  });
  await writeFile(join(work, 'NOTES.md'), '# Notes\n');
  await mkdir(join(work, 'ai_docs', 'tasks'), { recursive: true });
  await writeFile(join(work, 'ai_docs', 'tasks', 'task_list.md'), `${lines.join('\n')}\n`);
  await git(work, 'add', '-A');
  await git(work, 'commit', '--quiet', '-m', 'notes project');
  await git(work, 'push', '--quiet', 'origin', 'main');
  return { bare, initial: await git(work, 'rev-parse', 'HEAD'), taskIds };
}

/** The agent: appends one line naming its task to NOTES.md, then lingers. */
function notesBody(projectId: string, url: string, sleepSec: number): Record<string, unknown> {
  const script = String.raw`echo "note $(sed -n 's/^# Task \([^:]*\):.*/\1/p' "$1" | head -n 1) $(date +%s%N)" >> NOTES.md && sleep "$2"`;
  return {
    projectId,
    repository: { url, branch: 'main' },
    agent: { preset: 'command', command: ['sh', '-c', script, 'agent', '{promptFile}', String(sleepSec)], timeoutSec: 60 },
    verify: { commands: [['sh', '-c', 'sleep 0.2']], timeoutSec: 60 },
    limits: { cpus: 1, memoryMb: 512 },
  };
}

/** Tasks of the run on the remote's main exactly once (one commit naming it, adding one line naming it), and the problems. */
async function remoteCheck(remote: { bare: string; initial: string; taskIds: string[] }): Promise<{ once: number; problems: string[]; hiddenRefs: number }> {
  const { bare } = remote;
  const problems: string[] = [];
  const log = (await git(bare, 'log', '--format=%H %s', `${remote.initial}..main`)).split('\n').filter(Boolean);
  let once = 0;
  for (const id of remote.taskIds) {
    const commits = log.filter((l) => l.slice(41).startsWith(`Task ${id}:`));
    if (commits.length !== 1) {
      problems.push(`task ${id}: ${commits.length} commits on main`);
      continue;
    }
    const sha = commits[0]!.slice(0, 40);
    const diff = await git(bare, 'show', '--format=', '-U0', sha);
    const added = diff.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++'));
    if (added.length !== 1 || !added[0]!.startsWith(`+note ${id} `)) problems.push(`task ${id}: its commit adds ${JSON.stringify(added)}`);
    else once++;
  }
  const strays = log.filter((l) => !remote.taskIds.some((id) => l.slice(41).startsWith(`Task ${id}:`)));
  if (strays.length) problems.push(`commits naming no task: ${JSON.stringify(strays.map((l) => l.slice(41)))}`);
  const notes = (await git(bare, 'show', 'main:NOTES.md')).split('\n').filter((l) => l.startsWith('note '));
  if (notes.length !== remote.taskIds.length) problems.push(`NOTES.md has ${notes.length} note lines for ${remote.taskIds.length} tasks`);
  const hidden = (await git(bare, 'for-each-ref', '--format=%(refname)', 'refs/devteam/')).split('\n').filter(Boolean);
  return { once, problems, hiddenRefs: hidden.length };
}

export async function killLoop(opts: KillLoopOptions): Promise<KillLoopResult> {
  const say = opts.log ?? (() => {});
  const rand = prng(opts.seed);
  const t0 = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'devteam-kill-loop-'));
  const dbName = `devteam_kill_${crypto.randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const admin = postgres(opts.adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(opts.adminUrl);
  dbUrl.pathname = `/${dbName}`;
  const prefix = `devteam-kill-${crypto.randomUUID().slice(0, 8)}`;
  const env = (name: string): Record<string, string> => ({
    DATABASE_URL: dbUrl.toString(),
    REDIS_URL: opts.redisUrl,
    DEVTEAM_REDIS_PREFIX: prefix,
    // Each worker its own data directory: a takeover never finds the dead owner's checkout.
    DEVTEAM_DATA_DIR: join(dir, name),
    DEVTEAM_FILE_REMOTE_ROOTS: dir,
    DEVTEAM_LEASE_TTL_MS: String(opts.leaseTtlMs),
    DEVTEAM_RECONCILE_MS: '200',
    DEVTEAM_OUTBOX_INTERVAL_MS: '500',
    DEVTEAM_OUTBOX_GRACE_MS: '1000',
  });
  const all: Proc[] = [];
  const workers: Proc[] = [];
  const result: KillLoopResult = { runs: 0, kills: 0, completed: 0, tasksTotal: 0, tasksOnceOnRemote: 0, hiddenRefsLeft: 0, problems: [], records: [], durationMs: 0 };
  try {
    const api = await startCli(opts.cli, ['api'], env('api'));
    all.push(api);
    for (let i = 0; i < opts.workers; i++) {
      workers[i] = await startCli(opts.cli, ['worker'], env(`w${i}`));
      all.push(workers[i]!);
    }
    const base = `http://127.0.0.1:${api.port}/api/devteam/automation`;
    const status = async (projectId: string): Promise<Record<string, any> | null> => {
      try {
        const res = await fetch(`${base}/status/${projectId}`, { signal: AbortSignal.timeout(2_000) });
        return res.status === 200 ? ((await res.json()) as Record<string, any>) : null;
      } catch {
        return null;
      }
    };
    const mine = (executionId: string) => (l: Record<string, unknown>) => l.executionId === executionId;
    for (let run = 1; run <= opts.runs && Date.now() - t0 < opts.deadlineMs; run++) {
      const projectId = `kill-${run}`;
      const remote = await notesRemote(dir, projectId, opts.tasks);
      const res = await fetch(`${base}/initialize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(notesBody(projectId, `file://${remote.bare}`, opts.agentSleepSec)) });
      if (res.status !== 202) throw new Error(`initialize answered ${res.status}: ${await res.text()}`);
      const { executionId } = (await res.json()) as { executionId: string };
      result.runs++;
      result.tasksTotal += opts.tasks;
      const ownerNow = () =>
        workers.findIndex((w) => {
          const own = w.lines.filter((l) => mine(executionId)(l) && (l.msg === 'took ownership of the project' || l.msg === 'stopped driving the project'));
          return own.at(-1)?.msg === 'took ownership of the project' && w.child.exitCode === null && w.child.signalCode === null;
        });
      const steps = () => all.flatMap((p) => p.lines.filter((l) => mine(executionId)(l) && l.msg === 'step started'));
      const phases: string[] = [];
      const killTimes: number[] = [];
      const perRun = opts.killsPerRun ?? 1;
      // A run has ~6 steps per task: spread the kills over it.
      const span = Math.max(2, Math.floor((opts.tasks * 6 - 2) / perRun));
      for (let k = 0; k < perRun; k++) {
        // A random moment: after a random number of further steps of the run, plus up to 400 ms.
        const target = steps().length + rand(1, span);
        const delayMs = rand(0, 400);
        const owner = await poll(`run ${run}: step ${target}`, opts.runTimeoutMs, async () => {
          const i = ownerNow();
          if (i >= 0 && steps().length >= target) return i;
          const s = await status(projectId);
          return s && ['completed', 'failed', 'stopped'].includes(s.status) ? -1 : undefined;
        });
        if (owner < 0) break;
        await new Promise((r) => setTimeout(r, delayMs));
        const w = workers[owner]!;
        phases.push(String(w.lines.filter((l) => mine(executionId)(l) && l.msg === 'step started').at(-1)?.step ?? '?'));
        killTimes.push(Date.now());
        w.child.kill('SIGKILL');
        await w.exited;
        result.kills++;
        workers[owner] = await startCli(opts.cli, ['worker'], env(`w${owner}`));
        all.push(workers[owner]!);
      }
      const end = await poll(`run ${run} to end`, opts.runTimeoutMs, async () => {
        const s = await status(projectId);
        return s && ['completed', 'failed', 'stopped'].includes(s.status) ? s : undefined;
      }, 150).catch(async () => (await status(projectId)) ?? { status: 'unknown' });
      // Steps started more than once in this run, a reused journaled result not counted.
      const lines = all.flatMap((p) => p.lines.filter(mine(executionId)));
      const started = lines.filter((l) => l.msg === 'step started');
      const reused = lines.filter((l) => l.msg === 'step finished before a restart: reusing its result').length;
      const distinct = new Set(started.map((l) => `${l.step}:${l.task}:${l.attempt}`)).size;
      const owned = lines.filter((l) => l.msg === 'took ownership of the project').map((l) => Date.parse(String(l.time)));
      const takeoverMs = killTimes.map((t) => owned.find((o) => o >= t)).map((o, i) => (o === undefined ? -1 : o - killTimes[i]!)).filter((ms) => ms >= 0);
      const record: KillRecord = { run, phases, reruns: started.length - reused - distinct, status: String(end.status), takeoverMs };
      result.records.push(record);
      if (opts.trace) {
        const first = Date.parse(String(started[0]?.time ?? 0));
        say(started.map((l) => `+${Date.parse(String(l.time)) - first}ms ${l.step} ${l.task ?? '-'}#${l.attempt}`).join(' | '));
      }
      if (end.status === 'completed') result.completed++;
      else result.problems.push(`run ${run} (${projectId}, killed in ${phases.join(', ') || 'no step'}): ${end.status}, lastError ${end.lastError ?? '-'}`);
      const check = await remoteCheck(remote);
      result.tasksOnceOnRemote += check.once;
      if (end.status === 'completed') result.hiddenRefsLeft += check.hiddenRefs;
      result.problems.push(...check.problems.map((p) => `run ${run}: ${p}`));
      say(`run ${run}: killed in ${phases.join(', ') || '(the run ended first)'} → ${end.status}; takeover ${takeoverMs.join(', ') || '-'} ms; steps re-run ${record.reruns}; on the remote once ${check.once}/${opts.tasks}${check.problems.length ? `; ${check.problems.join('; ')}` : ''}`);
    }
  } finally {
    for (const p of all) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await p.exited;
    }
    await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: 2 });
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  }
  result.durationMs = Date.now() - t0;
  return result;
}

/** Steps re-run per run, as {re-runs: runs}, over the runs that were killed (one kill per run: per kill). */
export function rerunDistribution(records: KillRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) if (r.phases.length > 0) out[r.reruns] = (out[r.reruns] ?? 0) + 1;
  return out;
}
