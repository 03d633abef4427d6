// The coordination adapters (queue, bus, lease, kv): each contract suite runs against the
// in-process implementation and the Redis one (real Redis, a fresh key prefix per fixture, deleted
// afterwards), then what only the Redis implementations have: many processes, and Redis being down.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBus, RedisBus } from '../../src/infra/bus/index.js';
import { MemoryKv, RedisKv } from '../../src/infra/kv/index.js';
import { MemoryLease, RedisLease } from '../../src/infra/lease/index.js';
import { BullmqQueue, MemoryQueue, type QueueJob } from '../../src/infra/queue/index.js';
import { RedisUnavailableError, closeRedis, createRedis } from '../../src/infra/redis.js';
import { busContract } from '../contract/bus.contract.js';
import { kvContract } from '../contract/kv.contract.js';
import { leaseContract } from '../contract/lease.contract.js';
import { queueContract, type Payload } from '../contract/queue.contract.js';
import { REDIS_URL, eventually } from '../support/services.js';

/** Nothing listens there: connections are refused at once. */
const UNREACHABLE_URL = 'redis://127.0.0.1:1';

const usedPrefixes: string[] = [];

function redisPrefix(): string {
  const prefix = `devteam-test:${crypto.randomUUID()}`;
  usedPrefixes.push(prefix);
  return prefix;
}

async function keysUnder(prefix: string): Promise<string[]> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    return keys;
  } finally {
    redis.disconnect();
  }
}

async function dropPrefix(prefix: string): Promise<void> {
  const keys = await keysUnder(prefix);
  if (keys.length === 0) return;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  } finally {
    redis.disconnect();
  }
}

afterAll(async () => {
  // Every fixture deleted its keys: parallel runs leave nothing behind.
  const left = (await Promise.all(usedPrefixes.map(keysUnder))).flat();
  expect(left).toEqual([]);
});

queueContract('MemoryQueue', async ({ name, log }) => {
  const queue = new MemoryQueue<Payload>({ name, log });
  return { queue, cleanup: () => queue.close() };
});

queueContract('BullmqQueue', async ({ name, log }) => {
  const prefix = redisPrefix();
  const queue = new BullmqQueue<Payload>({ url: REDIS_URL, prefix, name, log });
  return {
    queue,
    async cleanup() {
      await queue.close();
      await dropPrefix(prefix);
    },
  };
});

busContract('MemoryBus', async () => {
  const bus = new MemoryBus();
  return { bus, cleanup: () => bus.close() };
});

busContract('RedisBus', async () => {
  const bus = new RedisBus({ url: REDIS_URL, prefix: redisPrefix() });
  return { bus, cleanup: () => bus.close() };
});

leaseContract('MemoryLease', async () => {
  const lease = new MemoryLease();
  return { lease, cleanup: () => lease.close() };
});

leaseContract('RedisLease', async () => {
  const prefix = redisPrefix();
  const lease = new RedisLease({ url: REDIS_URL, prefix });
  return {
    lease,
    async cleanup() {
      await lease.close();
      await dropPrefix(prefix);
    },
  };
});

kvContract('MemoryKv', async () => {
  const kv = new MemoryKv();
  return { kv, cleanup: () => kv.close() };
});

kvContract('RedisKv', async () => {
  const prefix = redisPrefix();
  const kv = new RedisKv({ url: REDIS_URL, prefix });
  return {
    kv,
    async cleanup() {
      await kv.close();
      await dropPrefix(prefix);
    },
  };
});

describe('Redis adapters across processes', () => {
  it('keeps every key under the prefix, and leaves a borrowed connection open on close', async () => {
    const prefix = redisPrefix();
    const redis = createRedis(REDIS_URL, { name: 'borrowed' });
    const kv = new RedisKv({ redis, prefix });
    const lease = new RedisLease({ redis, prefix });
    const queue = new BullmqQueue<Payload>({ url: REDIS_URL, prefix, name: 'layout' });
    try {
      await kv.set('k', 'v', 10_000);
      await lease.acquire('p', 10_000);
      await queue.enqueue({ n: 1 }, { jobId: 'j' });
      await kv.close();
      await lease.close();
      expect(await redis.get(`${prefix}:kv:k`)).toBe('v');
      const keys = await keysUnder(prefix);
      expect(keys).toEqual(expect.arrayContaining([`${prefix}:kv:k`, `${prefix}:lease:p`, `${prefix}:fence:p`, `${prefix}:queue:layout:j`]));
      expect(keys.every((key) => key.startsWith(`${prefix}:`))).toBe(true);
    } finally {
      await queue.close();
      await closeRedis(redis);
      await dropPrefix(prefix);
    }
  });

  it('shares the jobs of one BullMQ queue between the workers of two instances, each job once', async () => {
    const prefix = redisPrefix();
    const producer = new BullmqQueue<Payload>({ url: REDIS_URL, prefix, name: 'shared' });
    const workerA = new BullmqQueue<Payload>({ url: REDIS_URL, prefix, name: 'shared' });
    const workerB = new BullmqQueue<Payload>({ url: REDIS_URL, prefix, name: 'shared' });
    try {
      const byWorker = { a: [] as string[], b: [] as string[] };
      const handler = (who: 'a' | 'b') => async (job: QueueJob<Payload>) => {
        byWorker[who].push(job.id);
        await new Promise((r) => setTimeout(r, 2)); // some work, so both workers get a share
      };
      const consumers = [workerA.consume(handler('a'), { concurrency: 2 }), workerB.consume(handler('b'), { concurrency: 2 })];
      await Promise.all(Array.from({ length: 100 }, (_, n) => producer.enqueue({ n }, { jobId: `s-${n}` })));
      await eventually(async () => (byWorker.a.length + byWorker.b.length === 100 ? true : undefined), 15_000, '100 jobs');
      expect(new Set([...byWorker.a, ...byWorker.b]).size).toBe(100);
      expect(byWorker.a.length).toBeGreaterThan(0);
      expect(byWorker.b.length).toBeGreaterThan(0);
      await Promise.all(consumers.map((c) => c.close(5_000)));
    } finally {
      await Promise.all([producer.close(), workerA.close(), workerB.close()]);
      await dropPrefix(prefix);
    }
  });

  it('delivers a message published by one RedisBus to the subscribers of another with the same prefix only', async () => {
    const prefix = redisPrefix();
    const other = redisPrefix();
    const publisher = new RedisBus({ url: REDIS_URL, prefix });
    const subscriber = new RedisBus({ url: REDIS_URL, prefix });
    const stranger = new RedisBus({ url: REDIS_URL, prefix: other });
    try {
      const got: string[] = [];
      const strangerGot: string[] = [];
      await subscriber.subscribe('frames', (m) => void got.push(m));
      await stranger.subscribe('frames', (m) => void strangerGot.push(m));
      await publisher.publish('frames', 'for-prefix');
      await stranger.publish('frames', 'for-other');
      await eventually(async () => (got.length === 1 && strangerGot.length === 1 ? true : undefined), 5_000, 'one message each');
      // Redis delivers to one connection in publish order: had 'for-prefix' crossed over, it would be first.
      expect(strangerGot).toEqual(['for-other']);
      expect(got).toEqual(['for-prefix']);
    } finally {
      await Promise.all([publisher.close(), subscriber.close(), stranger.close()]);
    }
  });

  it('keeps fencing across RedisLease instances: a second process cannot take a held lease', async () => {
    const prefix = redisPrefix();
    const one = new RedisLease({ url: REDIS_URL, prefix });
    const two = new RedisLease({ url: REDIS_URL, prefix });
    try {
      const grant = await one.acquire('project-x', 10_000);
      expect(grant).not.toBeNull();
      expect(await two.acquire('project-x', 10_000)).toBeNull();
      expect(await two.release(grant!)).toBe(true); // the token, not the process, proves ownership
      expect((await two.acquire('project-x', 10_000))!.fence).toBeGreaterThan(grant!.fence);
    } finally {
      await Promise.all([one.close(), two.close()]);
      await dropPrefix(prefix);
    }
  });
});

describe('Redis adapters when Redis is unreachable', () => {
  /** Runs `call` and returns its rejection and how long it took; fails when it resolves. */
  async function timedRejection(call: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
    const t0 = performance.now();
    try {
      await call();
    } catch (error) {
      return { error, ms: performance.now() - t0 };
    }
    throw new Error('expected a rejection');
  }

  it('rejects queue ping and enqueue within 3 s instead of hanging, and still closes', async () => {
    const queue = new BullmqQueue<Payload>({ url: UNREACHABLE_URL, prefix: 'devteam-test:unreachable', name: 'down' });
    try {
      const ping = await timedRejection(() => queue.ping());
      expect(ping.ms).toBeLessThan(3_000);
      expect(ping.error).toBeInstanceOf(RedisUnavailableError);
      const enqueue = await timedRejection(() => queue.enqueue({ n: 1 }, { jobId: 'never' }));
      expect(enqueue.ms).toBeLessThan(3_000);
      expect(enqueue.error).toMatchObject({ code: 'redis_unavailable' });
    } finally {
      const t0 = performance.now();
      await queue.close();
      expect(performance.now() - t0).toBeLessThan(3_000);
    }
  });

  it('closes a consumer that never reached Redis within its timeout', async () => {
    const queue = new BullmqQueue<Payload>({ url: UNREACHABLE_URL, prefix: 'devteam-test:unreachable', name: 'down' });
    const consumer = queue.consume(async () => {}, { concurrency: 1 });
    const t0 = performance.now();
    await consumer.close(200);
    await queue.close();
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it('rejects kv, lease and bus calls within 3 s instead of hanging', async () => {
    const kv = new RedisKv({ url: UNREACHABLE_URL, prefix: 'devteam-test:unreachable' });
    const lease = new RedisLease({ url: UNREACHABLE_URL, prefix: 'devteam-test:unreachable' });
    const bus = new RedisBus({ url: UNREACHABLE_URL, prefix: 'devteam-test:unreachable' });
    try {
      const calls: Array<() => Promise<unknown>> = [
        () => kv.get('k'),
        () => kv.setIfAbsent('k', 'v', 1_000),
        () => lease.acquire('p', 1_000),
        () => bus.publish('c', 'm'),
        () => bus.subscribe('c', () => {}),
        () => bus.ping(),
      ];
      const results = await Promise.all(calls.map((call) => timedRejection(call)));
      for (const { error, ms } of results) {
        expect(ms).toBeLessThan(3_000);
        expect(error).toBeInstanceOf(RedisUnavailableError);
      }
    } finally {
      await Promise.all([kv.close(), lease.close(), bus.close()]);
    }
  });
});

describe('Redis adapters across a Redis restart', () => {
  async function freePort(): Promise<number> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    server.close();
    await once(server, 'close');
    return port;
  }

  /** A private, throw-away Redis: this test kills it, so it must not be the shared one. */
  async function startRedis(port: number): Promise<ChildProcess> {
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {}); // refused until the server listens: expected
    try {
      await eventually(async () => {
        if (probe.status !== 'ready') await probe.connect().catch(() => probe.disconnect());
        return (await probe.ping()) === 'PONG' ? true : undefined;
      }, 10_000, `redis-server on port ${port}`);
    } finally {
      probe.disconnect();
    }
    return child;
  }

  async function stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }

  it('fails fast while Redis is down and recovers by itself when it is back: queue, worker, bus and kv', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    let server = await startRedis(port);
    const queue = new BullmqQueue<Payload>({ url, prefix: 'devteam-test', name: 'restart' });
    const bus = new RedisBus({ url, prefix: 'devteam-test' });
    const kv = new RedisKv({ url, prefix: 'devteam-test' });
    try {
      const jobs: number[] = [];
      const messages: string[] = [];
      const consumer = queue.consume(async (job) => void jobs.push(job.data.n), { concurrency: 2 });
      await bus.subscribe('frames', (m) => void messages.push(m));
      await queue.enqueue({ n: 1 }, { jobId: 'before' });
      await bus.publish('frames', 'before');
      await eventually(async () => (jobs.length === 1 && messages.length === 1 ? true : undefined), 5_000, 'traffic before the outage');

      await stop(server);
      const calls: Array<() => Promise<unknown>> = [
        () => queue.enqueue({ n: 2 }, { jobId: 'during' }),
        () => queue.ping(),
        () => bus.publish('frames', 'during'),
        () => kv.get('k'),
      ];
      for (const call of calls) {
        const t0 = performance.now();
        const error = await call().then(
          () => new Error('expected a rejection while Redis is down'),
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(RedisUnavailableError);
        expect(performance.now() - t0).toBeLessThan(3_000);
      }

      server = await startRedis(port);
      await eventually(async () => (await queue.ping()) ?? true, 10_000, 'the queue to reconnect');
      await queue.enqueue({ n: 3 }, { jobId: 'after' });
      await eventually(async () => (jobs.includes(3) ? true : undefined), 10_000, 'the worker to take jobs again');
      // The subscription made before the outage is restored without a new subscribe.
      await eventually(
        async () => {
          await bus.publish('frames', 'after');
          return messages.includes('after') ? true : undefined;
        },
        10_000,
        'the subscription to come back',
      );
      await kv.set('k', 'v', 10_000);
      expect(await kv.get('k')).toBe('v');
      expect(jobs).toEqual([1, 3]);
      await consumer.close(5_000);
    } finally {
      await Promise.all([queue.close(), bus.close(), kv.close()]);
      await stop(server);
    }
  });
});
