// The distributed lease: one Redis key per resource holding the owner's token with a TTL, taken and
// checked by Lua scripts so that every step is atomic, plus a counter key that hands out fences.
import type { Redis } from 'ioredis';
import { closeRedis, onRedis, openRedis, type RedisLog, type RedisTarget } from '../redis.js';
import type { Lease, LeaseGrant } from './lease.js';

export type RedisLeaseOptions = RedisTarget & {
  /** Start of every key (`<prefix>:lease:<key>`, `<prefix>:fence:<key>`). */
  prefix: string;
  log?: RedisLog;
};

// KEYS: owner, fence counter. ARGV: token, ttl ms. Returns the new fence, or nil when held.
// The counter never expires: a fence must keep growing across releases and expiries.
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return false`;

// KEYS: owner. ARGV: token, ttl ms. 1 when the token still owns the key.
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

// KEYS: owner. ARGV: token. 1 when the token owned the key and it is now free.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

interface LeaseCommands {
  devteamLeaseAcquire(owner: string, fence: string, token: string, ttlMs: number): Promise<number | null>;
  devteamLeaseRenew(owner: string, token: string, ttlMs: number): Promise<number>;
  devteamLeaseRelease(owner: string, token: string): Promise<number>;
}

export class RedisLease implements Lease {
  private readonly redis: Redis & LeaseCommands;
  private readonly owned: boolean;
  private readonly prefix: string;

  constructor(opts: RedisLeaseOptions) {
    const { redis, owned } = openRedis(opts, { name: `${opts.prefix}:lease`, lazyConnect: true, log: opts.log });
    redis.defineCommand('devteamLeaseAcquire', { numberOfKeys: 2, lua: ACQUIRE });
    redis.defineCommand('devteamLeaseRenew', { numberOfKeys: 1, lua: RENEW });
    redis.defineCommand('devteamLeaseRelease', { numberOfKeys: 1, lua: RELEASE });
    this.redis = redis as Redis & LeaseCommands;
    this.owned = owned;
    this.prefix = opts.prefix;
  }

  async acquire(key: string, ttlMs: number): Promise<LeaseGrant | null> {
    assertTtl(ttlMs);
    const token = crypto.randomUUID();
    // Taken before the call: the reported expiry is never later than the real one.
    const startedAt = Date.now();
    const fence = await onRedis(this.redis, () => this.redis.devteamLeaseAcquire(this.ownerKey(key), this.fenceKey(key), token, ttlMs));
    if (fence === null) return null;
    return { key, token, fence: Number(fence), expiresAt: startedAt + ttlMs };
  }

  async renew(grant: LeaseGrant, ttlMs: number): Promise<boolean> {
    assertTtl(ttlMs);
    const startedAt = Date.now();
    const renewed = (await onRedis(this.redis, () => this.redis.devteamLeaseRenew(this.ownerKey(grant.key), grant.token, ttlMs))) === 1;
    if (renewed) grant.expiresAt = startedAt + ttlMs;
    return renewed;
  }

  async release(grant: LeaseGrant): Promise<boolean> {
    return (await onRedis(this.redis, () => this.redis.devteamLeaseRelease(this.ownerKey(grant.key), grant.token))) === 1;
  }

  async close(): Promise<void> {
    if (this.owned) await closeRedis(this.redis);
  }

  private ownerKey(key: string): string {
    return `${this.prefix}:lease:${key}`;
  }

  private fenceKey(key: string): string {
    return `${this.prefix}:fence:${key}`;
  }
}

function assertTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) throw new RangeError(`lease ttlMs must be a positive integer, got ${ttlMs}`);
}
