// The distributed TTL store: plain Redis strings with PX expiry; SET NX makes setIfAbsent atomic
// across every process.
import type { Redis } from 'ioredis';
import { closeRedis, onRedis, openRedis, type RedisLog, type RedisTarget } from '../redis.js';
import type { Kv } from './kv.js';

export type RedisKvOptions = RedisTarget & {
  /** Start of every key (`<prefix>:kv:<key>`). */
  prefix: string;
  log?: RedisLog;
};

export class RedisKv implements Kv {
  private readonly redis: Redis;
  private readonly owned: boolean;
  private readonly prefix: string;

  constructor(opts: RedisKvOptions) {
    ({ redis: this.redis, owned: this.owned } = openRedis(opts, { name: `${opts.prefix}:kv`, lazyConnect: true, log: opts.log }));
    this.prefix = opts.prefix;
  }

  get(key: string): Promise<string | null> {
    return onRedis(this.redis, () => this.redis.get(this.key(key)));
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    assertTtl(ttlMs);
    await onRedis(this.redis, () => this.redis.set(this.key(key), value, 'PX', ttlMs));
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    assertTtl(ttlMs);
    return (await onRedis(this.redis, () => this.redis.set(this.key(key), value, 'PX', ttlMs, 'NX'))) === 'OK';
  }

  async delete(key: string): Promise<void> {
    await onRedis(this.redis, () => this.redis.del(this.key(key)));
  }

  async close(): Promise<void> {
    if (this.owned) await closeRedis(this.redis);
  }

  private key(key: string): string {
    return `${this.prefix}:kv:${key}`;
  }
}

function assertTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) throw new RangeError(`kv ttlMs must be a positive integer, got ${ttlMs}`);
}
