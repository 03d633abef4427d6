// The in-process lease of embedded mode: the same contract as RedisLease (exclusive, expiring,
// fenced) for the owners inside one process.
import type { Lease, LeaseGrant } from './lease.js';

interface Holder {
  token: string;
  /** performance.now() deadline: expiry must not move when the wall clock does. */
  deadline: number;
}

export class MemoryLease implements Lease {
  private readonly holders = new Map<string, Holder>();
  /** Kept after release and expiry, like RedisLease's counter keys, so a fence is never reused. */
  private readonly fences = new Map<string, number>();

  async acquire(key: string, ttlMs: number): Promise<LeaseGrant | null> {
    assertTtl(ttlMs);
    const holder = this.holders.get(key);
    if (holder && holder.deadline > performance.now()) return null;
    const fence = (this.fences.get(key) ?? 0) + 1;
    this.fences.set(key, fence);
    const token = crypto.randomUUID();
    this.holders.set(key, { token, deadline: performance.now() + ttlMs });
    return { key, token, fence, expiresAt: Date.now() + ttlMs };
  }

  async renew(grant: LeaseGrant, ttlMs: number): Promise<boolean> {
    assertTtl(ttlMs);
    const holder = this.owned(grant);
    if (!holder) return false;
    holder.deadline = performance.now() + ttlMs;
    grant.expiresAt = Date.now() + ttlMs;
    return true;
  }

  async release(grant: LeaseGrant): Promise<boolean> {
    if (!this.owned(grant)) return false;
    this.holders.delete(grant.key);
    return true;
  }

  async close(): Promise<void> {
    this.holders.clear();
  }

  /** The holder when `grant` still owns an unexpired lease (an expired one is owned by nobody). */
  private owned(grant: LeaseGrant): Holder | null {
    const holder = this.holders.get(grant.key);
    if (!holder || holder.token !== grant.token) return null;
    if (holder.deadline <= performance.now()) {
      this.holders.delete(grant.key);
      return null;
    }
    return holder;
  }
}

function assertTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) throw new RangeError(`lease ttlMs must be a positive integer, got ${ttlMs}`);
}
