// The in-process worker registry of embedded mode: the one worker of this process, as the API of
// the same process sees it.
import { assertTtl, type WorkerCapabilities, type WorkerRegistry } from './worker-registry.js';

export class MemoryWorkerRegistry implements WorkerRegistry {
  /** performance.now() deadlines: expiry must not move when the wall clock does. */
  private readonly workers = new Map<string, { capabilities: WorkerCapabilities; deadline: number }>();

  async announce(capabilities: WorkerCapabilities, ttlMs: number): Promise<void> {
    assertTtl(ttlMs);
    this.workers.set(capabilities.workerId, { capabilities: structuredClone(capabilities), deadline: performance.now() + ttlMs });
  }

  async withdraw(workerId: string): Promise<void> {
    this.workers.delete(workerId);
  }

  async live(): Promise<WorkerCapabilities[]> {
    const now = performance.now();
    const alive: WorkerCapabilities[] = [];
    for (const [id, entry] of this.workers) {
      if (entry.deadline <= now) this.workers.delete(id);
      else alive.push(structuredClone(entry.capabilities));
    }
    return alive;
  }

  async close(): Promise<void> {
    this.workers.clear();
  }
}
