// Starts the real service (`devteam <role>`) as a child process for a benchmark and waits for
// its "started" line: benchmarks always go through the whole HTTP stack.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { Redis } from 'ioredis';
import { RedisWorkerRegistry } from '../src/infra/workers/index.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
export const ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A fresh database on the Postgres server, dropped afterwards. */
export async function tempDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `devteam_bench_${crypto.randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const a = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

export interface Service {
  child: ChildProcess;
  port: number | null;
  stop(): Promise<void>;
}

/** Starts `devteam <args>`; `nodeArgs` go to node itself (e.g. `--cpu-prof` to profile the service). */
export function start(args: string[], env: Record<string, string>, nodeArgs: string[] = []): Promise<Service> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], {
      // The benches initialize projects on file:///nonexistent/… (a clone that fails at once):
      // file remotes are refused unless a root allows them.
      env: { PATH: process.env.PATH!, PORT: '0', LOG_LEVEL: 'warn', DEVTEAM_FILE_REMOTE_ROOTS: '/nonexistent', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const line of buffer.split('\n')) {
        if (!line.includes('devteam runner started')) continue;
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        const port = (JSON.parse(line) as { port: number | null }).port;
        resolve({
          child,
          port,
          stop: () =>
            new Promise((done) => {
              // Already gone (crashed, or stopped twice): nothing to wait for.
              if (child.exitCode !== null || child.signalCode !== null) return done();
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`devteam ${args[0]} exited with ${code}`)));
  });
}


/** Removes every Redis key under the prefix (SCAN + DEL, never KEYS); returns how many. */
export async function dropRedisPrefix(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  let removed = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) removed += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return removed;
}

/**
 * Announces, under `prefix`, a worker that can run `command` projects, for a bench of an API
 * without workers of its own: initialize is admitted by what live workers announced (none runs
 * the projects; their file:///nonexistent remotes would fail anyway).
 */
export async function announceWorker(prefix: string): Promise<void> {
  const registry = new RedisWorkerRegistry({ url: REDIS_URL, prefix });
  try {
    await registry.announce(
      { workerId: 'bench-worker', host: 'bench', driver: 'none', sandbox: { available: true, problem: null, remedy: null }, agents: {}, keys: [] },
      3600 * 1000,
    );
  } finally {
    await registry.close();
  }
}
