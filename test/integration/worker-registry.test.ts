// The worker registry contract on both implementations, and what the Redis one does with a record
// written by another build.
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { MemoryWorkerRegistry, RedisWorkerRegistry } from '../../src/infra/workers/index.js';
import { workerRegistryContract } from '../contract/worker-registry.contract.js';
import { dropRedisPrefix, REDIS_URL, uniquePrefix } from '../support/services.js';

workerRegistryContract('MemoryWorkerRegistry', async () => {
  const registry = new MemoryWorkerRegistry();
  return { registry, cleanup: () => registry.close() };
});

workerRegistryContract('RedisWorkerRegistry', async () => {
  const prefix = uniquePrefix('workers');
  const registry = new RedisWorkerRegistry({ url: REDIS_URL, prefix });
  return {
    registry,
    cleanup: async () => {
      await registry.close();
      await dropRedisPrefix(prefix);
    },
  };
});

describe('RedisWorkerRegistry', () => {
  it('skips a record in another shape instead of failing every initialize', async () => {
    const prefix = uniquePrefix('workers');
    const registry = new RedisWorkerRegistry({ url: REDIS_URL, prefix });
    const redis = new Redis(REDIS_URL);
    try {
      await redis.multi().set(`${prefix}:worker:old`, '{"workerId":"old","version":1}', 'PX', 10_000).sadd(`${prefix}:workers`, 'old').exec();
      await registry.announce({ workerId: 'new', host: 'h', driver: 'none', sandbox: { available: true, problem: null, remedy: null }, agents: {}, keys: [] }, 10_000);
      expect((await registry.live()).map((w) => w.workerId)).toEqual(['new']);
    } finally {
      redis.disconnect();
      await registry.close();
      await dropRedisPrefix(prefix);
    }
  });
});
