// The status read's body, kept in memory per project for a short time and dropped the moment the
// project changes: every transition reaches each API process as a stream frame (and writes made
// through this process drop it at once). Reads then cost no database round trip; a missed frame
// (Redis hiccup) is bounded by the TTL.
export class StatusCache {
  private readonly bodies = new Map<string, { body: string; expires: number }>();
  /** Bumped by each invalidation: a read that started before one must not store its (old) body. */
  private readonly generations = new Map<string, number>();

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
    const generation = this.generations.get(key) ?? 0;
    const body = await load();
    if (body !== null && (this.generations.get(key) ?? 0) === generation) {
      this.bodies.delete(key);
      this.bodies.set(key, { body, expires: Date.now() + this.ttlMs });
      if (this.bodies.size > this.maxEntries) this.bodies.delete(this.bodies.keys().next().value!);
    }
    return body;
  }

  invalidate(tenant: string, projectId: string): void {
    if (!this.enabled) return;
    const key = this.key(tenant, projectId);
    this.bodies.delete(key);
    this.generations.delete(key);
    this.generations.set(key, (this.generations.get(key) ?? 0) + 1);
    if (this.generations.size > this.maxEntries) this.generations.delete(this.generations.keys().next().value!);
  }
}
