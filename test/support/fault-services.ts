// Processes the fault tests own: the service (killed when its start fails, so no orphan is left),
// and private Postgres and Redis servers on free ports that a test can stop, kill and restart.
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { startCli, type CliProcess } from './cli-process.js';
import { eventually } from './services.js';

/** `devteam <args>` until its "started" line; the process is killed if it does not get there. */
export async function startOwnedService(args: string[], env: Record<string, string | undefined>, timeoutMs = 30_000): Promise<{ proc: CliProcess; port: number | null }> {
  const proc = startCli(args, { PORT: '0', ...env });
  try {
    const started = await Promise.race([
      proc.waitForLine((l) => l.msg === 'devteam runner started', timeoutMs),
      proc.exited.then((code) => {
        throw new Error(`devteam ${args.join(' ')} exited with ${code}: ${proc.stderr.join('').slice(-2000)}`);
      }),
    ]);
    return { proc, port: (started.port as number | null) ?? null };
  } catch (error) {
    proc.child.kill('SIGKILL');
    throw error;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

const PG_BIN = process.env.TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** A uid/gid to run Postgres as when this process is root (initdb and postgres refuse root). */
async function postgresUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number((await execa('id', ['-u', 'postgres'])).stdout);
  const gid = Number((await execa('id', ['-g', 'postgres'])).stdout);
  return { uid, gid };
}

export interface OwnPostgres {
  port: number;
  url(database?: string): string;
  /** Fast shutdown (SIGINT), waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL of the postmaster (its backends exit on their own). */
  kill(): Promise<void>;
  start(): Promise<void>;
  running(): boolean;
  /** Stops the server and deletes its data directory. */
  remove(): Promise<void>;
}

/** initdb into a new temp directory (its own, so the postgres user can reach it), then `postgres` on a free port (trust auth, no fsync: a test server). */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'devteam-pg-'));
  const data = join(dir, 'pgdata');
  mkdirSync(data, { recursive: true });
  const user = await postgresUser();
  if (user) {
    chownSync(dir, user.uid, user.gid);
    chownSync(data, user.uid, user.gid);
  }
  const opts = user ? { uid: user.uid, gid: user.gid } : {};
  await execa(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions'], { ...opts, env: { LC_ALL: 'C', PATH: process.env.PATH } });
  const port = await freePort();
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const ready = () =>
    eventually(async () => {
      const r = await execa(join(PG_BIN, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres'], { reject: false });
      return r.exitCode === 0 ? true : undefined;
    }, 30_000, `postgres on ${port}`);
  const pg: OwnPostgres = {
    port,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async start() {
      child = spawn(
        join(PG_BIN, 'postgres'),
        ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
        { ...opts, stdio: ['ignore', 'ignore', 'ignore'] },
      );
      const c = child;
      exited = new Promise((r) => c.once('exit', () => r()));
      await ready();
    },
    async stop() {
      if (!pg.running()) return;
      child!.kill('SIGINT');
      await exited;
    },
    async kill() {
      if (!pg.running()) return;
      child!.kill('SIGKILL');
      await exited;
      // The backends notice the postmaster is gone and exit; wait until the port is free.
      await eventually(async () => ((await portFree(port)) ? true : undefined), 15_000, `postgres backends on ${port} to exit`);
    },
    running: () => child !== null && child.exitCode === null && child.signalCode === null,
    async remove() {
      await pg.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await pg.start();
  return pg;
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export interface OwnRedis {
  port: number;
  url: string;
  /** SIGKILL (no persistence: everything in it is gone). */
  kill(): Promise<void>;
  start(): Promise<void>;
  running(): boolean;
}

/** redis-server on a free port, no RDB, no AOF: a restart starts empty. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const redis: OwnRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { stdio: ['ignore', 'ignore', 'ignore'] });
      const c = child;
      exited = new Promise((r) => c.once('exit', () => r()));
      await eventually(async () => {
        const r = await execa('redis-cli', ['-p', String(port), 'ping'], { reject: false });
        return r.stdout.trim() === 'PONG' ? true : undefined;
      }, 15_000, `redis on ${port}`);
    },
    async kill() {
      if (!redis.running()) return;
      child!.kill('SIGKILL');
      await exited;
    },
    running: () => child !== null && child.exitCode === null && child.signalCode === null,
  };
  await redis.start();
  return redis;
}
