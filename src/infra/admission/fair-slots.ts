// A per-worker counting semaphore that is fair across tenants: a fixed number of slots (builds
// running at once, sandbox cold starts at once); a caller without a free slot queues, and a freed
// slot goes to the tenants waiting in turn (round robin), so one tenant's fifty queued projects
// delay another tenant's one by at most one slot-turn per waiting tenant, never by their whole
// queue. Within a tenant, first come first served. A wait honours the caller's AbortSignal.

export interface FairSlotsOptions {
  /** Slots (at least 1). */
  capacity: number;
}

interface Waiter {
  tenant: string;
  grant: () => void;
}

/** Gives back the slot; a second call does nothing. */
export type Release = () => void;

export class FairSlots {
  private used = 0;
  /** Waiting tenants in turn order: a tenant served goes to the end (Map keeps insertion order). */
  private readonly queues = new Map<string, Waiter[]>();

  constructor(private readonly options: FairSlotsOptions) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) throw new RangeError('FairSlots capacity must be a positive integer');
  }

  get capacity(): number {
    return this.options.capacity;
  }

  /** Slots taken now. */
  inUse(): number {
    return this.used;
  }

  /** Callers queued now, all tenants. */
  waiting(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.length;
    return n;
  }

  /** Whether a caller now would have to queue. */
  full(): boolean {
    return this.used >= this.options.capacity || this.queues.size > 0;
  }

  /**
   * A slot for `tenant`: at once when one is free and nobody waits, else in the tenant's turn.
   * Rejects with the signal's reason when it aborts first (the caller never held the slot).
   */
  acquire(tenant: string, signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (!this.full()) {
      this.used++;
      return Promise.resolve(this.releaser());
    }
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        tenant,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.releaser());
        },
      };
      const onAbort = () => {
        this.dequeue(waiter);
        reject(abortReason(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const queue = this.queues.get(tenant);
      if (queue) queue.push(waiter);
      else this.queues.set(tenant, [waiter]);
    });
  }

  /** Runs `work` holding a slot; the slot is given back however it ends. */
  async run<T>(tenant: string, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    const release = await this.acquire(tenant, signal);
    try {
      return await work();
    } finally {
      release();
    }
  }

  private releaser(): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.used--;
      this.grantNext();
    };
  }

  /** The next tenant in turn gets the free slot; it goes to the end of the turn order. */
  private grantNext(): void {
    while (this.used < this.options.capacity) {
      const next = this.queues.entries().next();
      if (next.done) return;
      const [tenant, queue] = next.value;
      const waiter = queue.shift()!;
      this.queues.delete(tenant);
      if (queue.length > 0) this.queues.set(tenant, queue);
      this.used++;
      waiter.grant();
    }
  }

  private dequeue(waiter: Waiter): void {
    const queue = this.queues.get(waiter.tenant);
    if (!queue) return;
    const at = queue.indexOf(waiter);
    if (at >= 0) queue.splice(at, 1);
    if (queue.length === 0) this.queues.delete(waiter.tenant);
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted while waiting for a slot');
}
