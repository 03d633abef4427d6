// The project actors of one worker process: finds live executions nobody drives (new ones,
// resumed ones, ones whose worker died) and drives up to `maxProjects` of them at once. Control
// commands reach a driven project through the bus, so pause takes effect at once. Owners record
// their lease's expiry on the project row, so the search tries the lease only of projects whose
// recorded lease has run out or was released, not of every live project.
import type { InspectionEvent, Observer } from 'xstate';
import type { Bus } from '../infra/bus/index.js';
import type { ExecutionRecord, ExecutionsStore } from '../infra/db/index.js';
import type { Lease } from '../infra/lease/index.js';
import type { FrameLog } from '../infra/frames/index.js';
import type { Metrics } from '../infra/metrics/index.js';
import type { Logger } from '../infra/log.js';
import { ProjectRun, type ProjectRunDeps } from './project-run.js';
import { RecordedLease } from './recorded-lease.js';
import type { ProjectSteps } from '../steps/index.js';

export const EXECUTIONS_CHANNEL = 'executions';
const FAILED_RETRY_MS = 30_000;

/** What the API publishes after storing a command or a new execution. */
export interface ExecutionNotice {
  executionId: string;
  status: string;
}

export interface ProjectHostOptions {
  executions: ExecutionsStore;
  lease: Lease;
  bus: Bus;
  log: Logger;
  steps: (record: ExecutionRecord) => Promise<ProjectSteps>;
  frames?: FrameLog;
  metrics?: Metrics;
  leaseTtlMs: number;
  reconcileMs: number;
  maxProjects: number;
  /**
   * No other process drives these projects (embedded mode: in-process lease, one process per data
   * directory). Every live project is then tried: expiries recorded by a process that crashed are
   * ignored rather than waited out, and an in-process lease attempt costs nothing.
   */
  soleWorker?: boolean;
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** The project's webhooks, per drive (see ProjectRunDeps.notifier). */
  notifier?: ProjectRunDeps['notifier'];
}

export class ProjectHost {
  private readonly runs = new Map<string, { run: ProjectRun; done: Promise<void> }>();
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => Promise<void>) | null = null;
  private reconciling: Promise<void> | null = null;
  private again = false;
  private closed = false;
  /** Executions whose last drive threw, and when to try them again. */
  private readonly cooldown = new Map<string, number>();

  constructor(private readonly options: ProjectHostOptions) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.options.bus.subscribe(EXECUTIONS_CHANNEL, (message) => this.onNotice(message));
    this.timer = setInterval(() => this.wake(), this.options.reconcileMs);
    this.timer.unref();
    this.wake();
  }

  /** Look for work now rather than at the next tick. */
  wake(): void {
    if (this.closed) return;
    if (this.reconciling) {
      this.again = true;
      return;
    }
    this.reconciling = this.reconcile()
      .catch((err) => this.options.log.warn({ err }, 'looking for projects to drive failed'))
      .finally(() => {
        this.reconciling = null;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Execution ids this process drives right now. */
  driving(): string[] {
    return [...this.runs.keys()];
  }

  async stop(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.unsubscribe?.().catch(() => {});
    await this.reconciling;
    for (const { run } of this.runs.values()) run.stop();
    await Promise.all([...this.runs.values()].map((r) => r.done));
  }

  private onNotice(message: string): void {
    let notice: ExecutionNotice;
    try {
      notice = JSON.parse(message) as ExecutionNotice;
    } catch {
      return;
    }
    const mine = this.runs.get(notice.executionId);
    if (mine) mine.run.reload();
    else if (notice.status === 'running' || notice.status === 'stopping') this.wake();
  }

  private async reconcile(): Promise<void> {
    const free = this.options.maxProjects - this.runs.size;
    if (free <= 0) return;
    // Over-fetched by what this worker drives: a run whose lease record failed to be written shows up.
    const limit = free + this.runs.size;
    const { executions, soleWorker } = this.options;
    const candidates = await (soleWorker ? executions.needingDriver(limit) : executions.needingOwner(limit));
    for (const c of candidates) {
      if (this.closed || this.runs.size >= this.options.maxProjects) break;
      if (this.runs.has(c.id) || (this.cooldown.get(c.id) ?? 0) > Date.now()) continue;
      this.drive(c.id, c.tenant, c.projectId);
    }
  }

  /**
   * The job path (a DEVTEAM_AUTOMATION event): drive this execution now. `full` leaves it to the
   * reconcile poll of whichever worker has room; whether this worker gets its lease shows in the run.
   */
  take(executionId: string, tenant: string, projectId: string): 'driving' | 'started' | 'full' | 'closed' {
    if (this.closed) return 'closed';
    if (this.runs.has(executionId)) return 'driving';
    if (this.runs.size >= this.options.maxProjects) return 'full';
    this.cooldown.delete(executionId);
    this.drive(executionId, tenant, projectId);
    return 'started';
  }

  private drive(executionId: string, tenant: string, projectId: string): void {
    const { executions, lease, log, leaseTtlMs, steps, inspect, frames, metrics, notifier } = this.options;
    const recorded = new RecordedLease(lease, executions, { tenant, projectId }, log.child({ executionId, projectId }));
    const run = new ProjectRun(executionId, tenant, projectId, { executions, lease: recorded, log, leaseTtlMs, steps, inspect, frames, metrics, notifier });
    let end: string = 'failed';
    const done = run
      .run()
      .then((e) => {
        end = e;
        if (e !== 'busy') log.info({ executionId, projectId, end: e }, 'stopped driving the project');
      })
      .catch((err) => {
        // E.g. a snapshot of an unknown machine version: do not retry it in a tight loop.
        this.cooldown.set(executionId, Date.now() + FAILED_RETRY_MS);
        log.error({ err, executionId, projectId }, 'driving the project failed');
      })
      .finally(() => {
        this.runs.delete(executionId);
        // A project released as settled may have been resumed meanwhile: look again. Busy or
        // lost means another worker owns it: the next tick is soon enough.
        if (!this.closed && end === 'settled') this.wake();
      });
    this.runs.set(executionId, { run, done });
  }
}
