// The distributed worker registry: one Redis string per worker with PX expiry (Redis's clock, not
// the hosts'), and a set of the ids announced, pruned of those whose record expired.
import type { Redis } from 'ioredis';
import { closeRedis, onRedis, openRedis, type RedisLog, type RedisTarget } from '../redis.js';
import { assertTtl, WorkerCapabilitiesSchema, type WorkerCapabilities, type WorkerRegistry } from './worker-registry.js';

export type RedisWorkerRegistryOptions = RedisTarget & {
  /** Start of every key (`<prefix>:workers`, `<prefix>:worker:<id>`). */
  prefix: string;
  log?: RedisLog;
};

export class RedisWorkerRegistry implements WorkerRegistry {
  private readonly redis: Redis;
  private readonly owned: boolean;
  private readonly prefix: string;

  constructor(opts: RedisWorkerRegistryOptions) {
    ({ redis: this.redis, owned: this.owned } = openRedis(opts, { name: `${opts.prefix}:workers`, lazyConnect: true, log: opts.log }));
    this.prefix = opts.prefix;
  }

  async announce(capabilities: WorkerCapabilities, ttlMs: number): Promise<void> {
    assertTtl(ttlMs);
    const record = JSON.stringify(WorkerCapabilitiesSchema.parse(capabilities));
    await onRedis(this.redis, () =>
      this.redis.multi().set(this.workerKey(capabilities.workerId), record, 'PX', ttlMs).sadd(this.setKey(), capabilities.workerId).exec(),
    );
  }

  async withdraw(workerId: string): Promise<void> {
    await onRedis(this.redis, () => this.redis.multi().del(this.workerKey(workerId)).srem(this.setKey(), workerId).exec());
  }

  async live(): Promise<WorkerCapabilities[]> {
    const ids = await onRedis(this.redis, () => this.redis.smembers(this.setKey()));
    if (ids.length === 0) return [];
    const records = await onRedis(this.redis, () => this.redis.mget(ids.map((id) => this.workerKey(id))));
    const gone = ids.filter((_, i) => records[i] === null);
    if (gone.length > 0) await onRedis(this.redis, () => this.redis.srem(this.setKey(), ...gone));
    const alive: WorkerCapabilities[] = [];
    for (const record of records) {
      if (record === null) continue;
      // A record another build wrote in another shape is no worker this API can judge.
      const parsed = WorkerCapabilitiesSchema.safeParse(safeJson(record));
      if (parsed.success) alive.push(parsed.data);
    }
    return alive;
  }

  async close(): Promise<void> {
    if (this.owned) await closeRedis(this.redis);
  }

  private setKey(): string {
    return `${this.prefix}:workers`;
  }

  private workerKey(id: string): string {
    return `${this.prefix}:worker:${id}`;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
