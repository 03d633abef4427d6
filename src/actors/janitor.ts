// Periodic cleanup on a worker host: project sandboxes idle past DEVTEAM_SANDBOX_IDLE_MS are
// stopped and removed, repository caches unused past DEVTEAM_REPO_CACHE_UNUSED_MS are deleted.
import type { Logger } from '../infra/log.js';
import type { RepoCache } from '../infra/repo/index.js';
import type { Sandbox } from '../infra/sandbox/index.js';

export interface JanitorOptions {
  sandbox: Sandbox;
  repos: RepoCache;
  sandboxIdleMs: number;
  repoUnusedMs: number;
  log: Logger;
  /** Default: a quarter of the sandbox idle time, between 5 s and 5 min. */
  intervalMs?: number;
}

export interface SweepResult {
  sandboxes: string[];
  repos: Array<{ tenant: string; projectId: string }>;
}

export class Janitor {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<SweepResult> | null = null;

  constructor(private readonly options: JanitorOptions) {}

  start(): void {
    const interval = this.options.intervalMs ?? Math.min(300_000, Math.max(5_000, Math.floor(this.options.sandboxIdleMs / 4)));
    this.timer = setInterval(() => void this.sweep().catch((err) => this.options.log.warn({ err }, 'cleanup sweep failed')), interval);
    this.timer.unref();
  }

  /** One pass; concurrent calls share the pass in flight. */
  sweep(): Promise<SweepResult> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
  }

  private async pass(): Promise<SweepResult> {
    const { sandbox, repos, log } = this.options;
    const sandboxes = await sandbox.reapIdle(this.options.sandboxIdleMs);
    const removed = await repos.cleanupUnused(this.options.repoUnusedMs);
    if (sandboxes.length || removed.length) log.info({ sandboxes, repos: removed }, 'removed idle sandboxes and unused repository caches');
    return { sandboxes, repos: removed };
  }
}
