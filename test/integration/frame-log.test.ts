// The frame log: the contract against the in-process implementation and the Redis one (real Redis,
// a fresh key prefix per fixture, deleted afterwards), then what only Redis has: keys, expiry, outages.
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { MemoryFrameLog, RedisFrameLog } from '../../src/infra/frames/index.js';
import { RedisUnavailableError } from '../../src/infra/redis.js';
import { frameLogContract } from '../contract/frame-log.contract.js';
import { REDIS_URL, dropRedisPrefix, uniquePrefix } from '../support/services.js';

/** Nothing listens there: connections are refused at once. */
const UNREACHABLE_URL = 'redis://127.0.0.1:1';

frameLogContract(
  'MemoryFrameLog',
  async ({ retain }) => {
    const log = new MemoryFrameLog({ retain });
    return { log, cleanup: () => log.close() };
  },
  { shared: false },
);

frameLogContract(
  'RedisFrameLog',
  async ({ retain }) => {
    const prefix = uniquePrefix('frames');
    const log = new RedisFrameLog({ url: REDIS_URL, prefix, retain });
    return {
      log,
      peer: async () => new RedisFrameLog({ url: REDIS_URL, prefix, retain }),
      async cleanup() {
        await log.close();
        await dropRedisPrefix(prefix);
      },
    };
  },
  { shared: true },
);

describe('RedisFrameLog', () => {
  it('keeps a project in two keys under the prefix, both expiring, and stays apart from another prefix', async () => {
    const prefix = uniquePrefix('frames');
    const otherPrefix = uniquePrefix('frames');
    const log = new RedisFrameLog({ url: REDIS_URL, prefix, retain: 10, ttlMs: 60_000 });
    const other = new RedisFrameLog({ url: REDIS_URL, prefix: otherPrefix, retain: 10 });
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      const otherGot: number[] = [];
      await other.subscribe((f) => void otherGot.push(f.seq));
      // A ':' in a tenant or project id cannot make two projects share keys.
      await log.append({ tenant: 'a:b', projectId: 'c' }, 'execution-update', { n: 1 });
      await log.append({ tenant: 'a', projectId: 'b:c' }, 'execution-update', { n: 1 });
      expect((await log.since({ tenant: 'a', projectId: 'b:c' }, 0)).lastSeq).toBe(1);
      const keys = (await redis.keys(`${prefix}:*`)).sort();
      expect(keys).toHaveLength(4);
      expect(keys.every((k) => k.startsWith(`${prefix}:frames:`))).toBe(true);
      for (const k of keys) {
        const ttl = await redis.pttl(k);
        expect(ttl).toBeGreaterThan(50_000);
        expect(ttl).toBeLessThanOrEqual(60_000);
      }
      expect((await other.since({ tenant: 'a', projectId: 'b:c' }, 0)).lastSeq).toBe(0);
      await other.append({ tenant: 'x', projectId: 'y' }, 'execution-update', null);
      await new Promise((r) => setTimeout(r, 50));
      expect(otherGot).toEqual([1]);
    } finally {
      redis.disconnect();
      await Promise.all([log.close(), other.close()]);
      await Promise.all([dropRedisPrefix(prefix), dropRedisPrefix(otherPrefix)]);
    }
  });

  it('continues after the last kept frame when the counter key was lost', async () => {
    const prefix = uniquePrefix('frames');
    const log = new RedisFrameLog({ url: REDIS_URL, prefix, retain: 10 });
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const key = { tenant: 't', projectId: 'p' };
    try {
      for (let n = 0; n < 3; n++) await log.append(key, 'execution-update', { n });
      await redis.del(`${prefix}:frames:seq:t:p`);
      expect((await log.append(key, 'execution-update', { n: 3 })).seq).toBe(4);
      expect((await log.since(key, 0)).frames.map((f) => f.seq)).toEqual([1, 2, 3, 4]);
    } finally {
      redis.disconnect();
      await log.close();
      await dropRedisPrefix(prefix);
    }
  });

  it('measures append latency', async () => {
    const prefix = uniquePrefix('frames');
    const log = new RedisFrameLog({ url: REDIS_URL, prefix });
    const key = { tenant: 't', projectId: 'p' };
    try {
      await log.append(key, 'execution-update', null);
      const times: number[] = [];
      const payload = { executionId: 'e', source: 'agent', taskId: null, attempt: 1, lines: [{ stream: 'stdout', text: 'x'.repeat(200) }] };
      for (let n = 0; n < 500; n++) {
        const t0 = performance.now();
        await log.append(key, 'execution-log', payload);
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
    const log = new RedisFrameLog({ url: UNREACHABLE_URL, prefix: 'devteam-test:unreachable' });
    try {
      const key = { tenant: 't', projectId: 'p' };
      const calls: Array<() => Promise<unknown>> = [
        () => log.append(key, 'execution-update', { n: 1 }),
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
