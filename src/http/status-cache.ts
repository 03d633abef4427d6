// The status read's body, kept in memory per project for a short time and dropped the moment the
// project changes: every transition reaches each API process as a stream frame (see
// status-invalidation.ts), and writes made through this process drop it at once. Reads then cost
// no database round trip; a missed frame (Redis hiccup) is bounded by the TTL.
// Decision 0010 lists the guarantees; the unit test pins each one.

/** A load in progress; an invalidation of its project while it runs marks it stale. */
interface PendingRead {
  stale: boolean;
}

export class StatusCache {
  private readonly bodies = new Map<string, { body: string; expires: number }>();
  /**
   * The loads in progress per project. Invalidation marks them, so a read that started before a
   * change never stores its (possibly old) body. Entries live only while a load runs, so this map
   * needs no cap and nothing is ever evicted from it (a capped counter could forget a project
   * mid-read and accept the old body).
   */
  private readonly pending = new Map<string, Set<PendingRead>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  private key(tenant: string, projectId: string): string {
    return `${tenant}\u0000${projectId}`;
  }

  /** The cached body, or the loaded one (cached when nothing changed meanwhile); null is never cached. */
  async read(tenant: string, projectId: string, load: () => Promise<string | null>): Promise<string | null> {
    if (!this.enabled) return load();
    const key = this.key(tenant, projectId);
    const hit = this.bodies.get(key);
    if (hit && hit.expires > Date.now()) return hit.body;
    const read: PendingRead = { stale: false };
    let reads = this.pending.get(key);
    if (!reads) this.pending.set(key, (reads = new Set()));
    reads.add(read);
    let body: string | null;
    try {
      body = await load();
    } finally {
      reads.delete(read);
      if (reads.size === 0 && this.pending.get(key) === reads) this.pending.delete(key);
    }
    if (body !== null && !read.stale) this.store(key, body);
    return body;
  }

  /** Drops the project's body and makes every load of it in progress discard what it loaded. */
  invalidate(tenant: string, projectId: string): void {
    if (!this.enabled) return;
    const key = this.key(tenant, projectId);
    this.bodies.delete(key);
    for (const read of this.pending.get(key) ?? []) read.stale = true;
  }

  private store(key: string, body: string): void {
    // Delete first so the entry moves to the end: the oldest insertion goes when over the cap.
    this.bodies.delete(key);
    this.bodies.set(key, { body, expires: Date.now() + this.ttlMs });
    if (this.bodies.size > this.maxEntries) this.bodies.delete(this.bodies.keys().next().value!);
  }
}
