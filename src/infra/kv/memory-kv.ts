// The in-process TTL store of embedded mode. Expired records are dropped when read, and a periodic
// sweep drops the ones nobody reads again so memory stays bounded.
import type { Kv } from './kv.js';

export interface MemoryKvOptions {
  /** How often expired records are swept (default 60 s). */
  sweepIntervalMs?: number;
}

interface Entry {
  value: string;
  /** performance.now() deadline: expiry must not move when the wall clock does. */
  deadline: number;
}

export class MemoryKv implements Kv {
  private readonly entries = new Map<string, Entry>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(opts: MemoryKvOptions = {}) {
    this.sweeper = setInterval(() => this.sweep(), opts.sweepIntervalMs ?? 60_000);
    // Housekeeping only: it must not keep the process alive.
    this.sweeper.unref();
  }

  async get(key: string): Promise<string | null> {
    return this.live(key)?.value ?? null;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    assertTtl(ttlMs);
    this.entries.set(key, { value, deadline: performance.now() + ttlMs });
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    assertTtl(ttlMs);
    // Atomic by construction: nothing awaits between the check and the write.
    if (this.live(key)) return false;
    this.entries.set(key, { value, deadline: performance.now() + ttlMs });
    return true;
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.entries.clear();
  }

  private live(key: string): Entry | null {
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (entry.deadline <= performance.now()) {
      this.entries.delete(key);
      return null;
    }
    return entry;
  }

  private sweep(): void {
    const now = performance.now();
    for (const [key, entry] of this.entries) if (entry.deadline <= now) this.entries.delete(key);
  }
}

function assertTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) throw new RangeError(`kv ttlMs must be a positive integer, got ${ttlMs}`);
}
