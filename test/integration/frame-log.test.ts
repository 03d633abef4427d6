// The frame log: the contract against the in-process implementation and the Redis one (real Redis,
// a fresh key prefix per fixture, deleted afterwards), then what only Redis has: keys, expiry, outages,
// and a Redis server of the test's own that restarts from an older snapshot.
import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { MemoryFrameLog, MemoryFrameSeqMarks, RedisFrameLog } from '../../src/infra/frames/index.js';
import { RedisUnavailableError } from '../../src/infra/redis.js';
import { frameLogContract } from '../contract/frame-log.contract.js';
import { REDIS_URL, dropRedisPrefix, eventually, freePort, tempDir, uniquePrefix } from '../support/services.js';

/** Nothing listens there: connections are refused at once. */
const UNREACHABLE_URL = 'redis://127.0.0.1:1';
/** Small blocks, so that the contract runs through many reservations (production: 1,000). */
const SEQ_BLOCK = 16;

frameLogContract(
  'MemoryFrameLog',
  async ({ retain }) => {
    // The marks outlive the log, as the database outlives an embedded process.
    const seqMarks = new MemoryFrameSeqMarks();
    let log = new MemoryFrameLog({ retain, seqMarks, seqBlock: SEQ_BLOCK });
    return {
      log,
      async lose() {
        await log.close();
        return (log = new MemoryFrameLog({ retain, seqMarks, seqBlock: SEQ_BLOCK }));
      },
      cleanup: () => log.close(),
    };
  },
  { shared: false },
);

frameLogContract(
  'RedisFrameLog',
  async ({ retain }) => {
    const prefix = uniquePrefix('frames');
    // One marks store for every instance, as every process shares the database.
    const seqMarks = new MemoryFrameSeqMarks();
    const log = new RedisFrameLog({ url: REDIS_URL, prefix, retain, seqMarks, seqBlock: SEQ_BLOCK });
    return {
      log,
      peer: async () => new RedisFrameLog({ url: REDIS_URL, prefix, retain, seqMarks, seqBlock: SEQ_BLOCK }),
      // FLUSHALL, for this prefix only (other tests share the server).
      async lose() {
        await dropRedisPrefix(prefix);
        return log;
      },
      async cleanup() {
        await log.close();
        await dropRedisPrefix(prefix);
      },
    };
  },
  { shared: true },
);

describe('RedisFrameLog', () => {
  it('keeps a project in three keys under the prefix (counter, ceiling, stream), all expiring, and stays apart from another prefix', async () => {
    const prefix = uniquePrefix('frames');
    const otherPrefix = uniquePrefix('frames');
    const log = new RedisFrameLog({ url: REDIS_URL, prefix, retain: 10, ttlMs: 60_000, seqMarks: new MemoryFrameSeqMarks() });
    const other = new RedisFrameLog({ url: REDIS_URL, prefix: otherPrefix, retain: 10, seqMarks: new MemoryFrameSeqMarks() });
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      const otherGot: number[] = [];
      await other.subscribe((f) => void otherGot.push(f.seq));
      // A ':' in a tenant or project id cannot make two projects share keys.
      await log.append({ tenant: 'a:b', projectId: 'c' }, 'execution-update', 'e1', { n: 1 });
      await log.append({ tenant: 'a', projectId: 'b:c' }, 'execution-update', 'e1', { n: 1 });
      expect((await log.since({ tenant: 'a', projectId: 'b:c' }, 0)).lastSeq).toBe(1);
      const keys = (await redis.keys(`${prefix}:*`)).sort();
      expect(keys).toHaveLength(6);
      expect(keys.every((k) => k.startsWith(`${prefix}:frames:`))).toBe(true);
      for (const k of keys) {
        const ttl = await redis.pttl(k);
        expect(ttl).toBeGreaterThan(50_000);
        expect(ttl).toBeLessThanOrEqual(60_000);
      }
      expect((await other.since({ tenant: 'a', projectId: 'b:c' }, 0)).lastSeq).toBe(0);
      await other.append({ tenant: 'x', projectId: 'y' }, 'execution-update', 'e1', null);
      await new Promise((r) => setTimeout(r, 50));
      expect(otherGot).toEqual([1]);
    } finally {
      redis.disconnect();
      await Promise.all([log.close(), other.close()]);
      await Promise.all([dropRedisPrefix(prefix), dropRedisPrefix(otherPrefix)]);
    }
  });

  it('continues above every seq handed out when only the counter key was lost, with entry ids still growing', async () => {
    const prefix = uniquePrefix('frames');
    const log = new RedisFrameLog({ url: REDIS_URL, prefix, retain: 10, seqMarks: new MemoryFrameSeqMarks(), seqBlock: 100 });
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const key = { tenant: 't', projectId: 'p' };
    try {
      for (let n = 0; n < 3; n++) await log.append(key, 'execution-update', 'e1', { n });
      await redis.del(`${prefix}:frames:seq:t:p`);
      // Seeded from the durable mark (the end of the reserved block), not reused from 1.
      const next = await log.append(key, 'execution-update', 'e1', { n: 3 });
      expect(next.seq).toBe(101);
      expect((await log.since(key, 0)).frames.map((f) => f.seq)).toEqual([1, 2, 3, 101]);
      expect((await log.since(key, 3)).complete).toBe(false);
    } finally {
      redis.disconnect();
      await log.close();
      await dropRedisPrefix(prefix);
    }
  });

  it('continues a counter written before durable marks existed at counter + 1 (an upgrade keeps its numbering)', async () => {
    const prefix = uniquePrefix('frames');
    const seqMarks = new MemoryFrameSeqMarks();
    const log = new RedisFrameLog({ url: REDIS_URL, prefix, retain: 10, seqMarks, seqBlock: 100 });
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const key = { tenant: 't', projectId: 'p' };
    try {
      await redis.set(`${prefix}:frames:seq:t:p`, '15');
      expect((await log.since(key, 15)).lastSeq).toBe(15);
      expect((await log.append(key, 'execution-update', 'e1', null)).seq).toBe(16);
      expect(await seqMarks.mark(key)).toBe(115);
      await dropRedisPrefix(prefix);
      expect((await log.append(key, 'execution-update', 'e1', null)).seq).toBe(116);
    } finally {
      redis.disconnect();
      await log.close();
      await dropRedisPrefix(prefix);
    }
  });

  it('reserves the next block ahead of need: appends at the end of a block do not wait for the marks', async () => {
    const prefix = uniquePrefix('frames');
    const marks = new MemoryFrameSeqMarks();
    const reservations: number[] = [];
    let slow = false;
    const seqMarks = {
      mark: (key: { tenant: string; projectId: string }) => marks.mark(key),
      async reserve(key: { tenant: string; projectId: string }, floor: number, count: number) {
        reservations.push(floor);
        if (slow) await new Promise((r) => setTimeout(r, 200));
        return marks.reserve(key, floor, count);
      },
    };
    const log = new RedisFrameLog({ url: REDIS_URL, prefix, retain: 10, seqMarks, seqBlock: 100 });
    const key = { tenant: 't', projectId: 'p' };
    try {
      await log.append(key, 'execution-update', 'e1', null); // the first block: 1..100
      slow = true;
      // 75 reaches the low-water mark (25 left): the next block is reserved in the background.
      for (let n = 2; n <= 75; n++) await log.append(key, 'execution-update', 'e1', { n });
      expect(reservations).toEqual([0, 75]);
      await eventually(async () => ((await marks.mark(key)) === 200 ? true : undefined), 5_000, 'the block ahead');
      await new Promise((r) => setTimeout(r, 20)); // its EXTEND follows the reservation on the same connection
      const t0 = performance.now();
      for (let n = 76; n <= 150; n++) await log.append(key, 'execution-update', 'e1', { n });
      expect(performance.now() - t0).toBeLessThan(150);
      expect((await log.since(key, 140)).frames.map((f) => f.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 141 + i));
    } finally {
      await log.close();
      await dropRedisPrefix(prefix);
    }
  });

  it('measures append latency', async () => {
    const prefix = uniquePrefix('frames');
    const log = new RedisFrameLog({ url: REDIS_URL, prefix, seqMarks: new MemoryFrameSeqMarks() });
    const key = { tenant: 't', projectId: 'p' };
    try {
      await log.append(key, 'execution-update', 'e1', null);
      const times: number[] = [];
      const payload = { executionId: 'e', source: 'agent', taskId: null, attempt: 1, lines: [{ stream: 'stdout', text: 'x'.repeat(200) }] };
      for (let n = 0; n < 500; n++) {
        const t0 = performance.now();
        await log.append(key, 'execution-log', 'e1', payload);
        times.push(performance.now() - t0);
      }
      times.sort((x, y) => x - y);
      console.log(`RedisFrameLog append p50 ${times[250]!.toFixed(3)} ms, p99 ${times[495]!.toFixed(3)} ms`);
      expect(times[250]).toBeLessThan(50);
    } finally {
      await log.close();
      await dropRedisPrefix(prefix);
    }
  });

  it('rejects append, since and subscribe within 3 s when Redis is unreachable, and still closes', async () => {
    const log = new RedisFrameLog({ url: UNREACHABLE_URL, prefix: 'devteam-test:unreachable', seqMarks: new MemoryFrameSeqMarks() });
    try {
      const key = { tenant: 't', projectId: 'p' };
      const calls: Array<() => Promise<unknown>> = [
        () => log.append(key, 'execution-update', 'e1', { n: 1 }),
        () => log.since(key, 0),
        () => log.subscribe(() => {}),
      ];
      const results = await Promise.all(
        calls.map(async (call) => {
          const t0 = performance.now();
          const error = await call().then(
            () => new Error('expected a rejection'),
            (e: unknown) => e,
          );
          return { error, ms: performance.now() - t0 };
        }),
      );
      for (const { error, ms } of results) {
        expect(error).toBeInstanceOf(RedisUnavailableError);
        expect(ms).toBeLessThan(3_000);
      }
    } finally {
      const t0 = performance.now();
      await log.close();
      expect(performance.now() - t0).toBeLessThan(3_000);
    }
  });
});

describe('RedisFrameLog on a Redis server that restarts', () => {

  /** redis-server on its own port and directory, no automatic snapshots: the test says when to SAVE. */
  async function startRedis(port: number, dir: string): Promise<ChildProcess> {
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', 'dump.rdb', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await eventually(async () => ((await probe.connect().then(() => probe.ping())) === 'PONG' ? true : undefined), 10_000, `redis-server on ${port}`);
    } finally {
      probe.disconnect();
    }
    return child;
  }

  it('continues above every seq handed out when the server comes back from an older snapshot', async () => {
    const port = await freePort();
    const dir = await tempDir('devteam-redis-restart');
    const url = `redis://127.0.0.1:${port}`;
    const children: ChildProcess[] = [];
    const seqMarks = new MemoryFrameSeqMarks();
    const key = { tenant: 't', projectId: 'p' };
    let log: RedisFrameLog | undefined;
    try {
      children.push(await startRedis(port, dir.path));
      log = new RedisFrameLog({ url, prefix: 'restart', seqMarks, seqBlock: 100 });
      const admin = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
      admin.on('error', () => {});
      for (let n = 1; n <= 10; n++) await log.append(key, 'execution-update', 'e1', { n });
      await admin.save(); // the snapshot it will come back with: seq 10
      for (let n = 11; n <= 15; n++) await log.append(key, 'execution-update', 'e1', { n });
      await admin.call('SHUTDOWN', 'NOSAVE').catch(() => {});
      admin.disconnect();
      await new Promise<void>((r) => (children[0]!.exitCode !== null ? r() : children[0]!.once('exit', () => r())));
      children.push(await startRedis(port, dir.path));

      // The restored counter says 10, but 11..15 were handed out: a client that saw 15 resyncs above it.
      const resumed = await eventually(() => log!.since(key, 15), 10_000, 'the log reconnected');
      expect(resumed.complete).toBe(false);
      expect(resumed.lastSeq).toBeGreaterThanOrEqual(15);
      const next = await log.append(key, 'execution-update', 'e1', { n: 16 });
      expect(next.seq).toBeGreaterThan(resumed.lastSeq);
      // 11..15 are gone from the stream too: a client at 12 resyncs, it is not told "nothing missed".
      expect((await log.since(key, 12)).complete).toBe(false);
      // The resync seq is a real point to resume from: nothing between it and the next frame.
      expect(await log.since(key, resumed.lastSeq)).toEqual({ frames: [next], complete: true, lastSeq: next.seq });
      expect((await log.since(key, next.seq)).complete).toBe(true);
    } finally {
      await log?.close();
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      await dir.remove();
    }
  });
});
