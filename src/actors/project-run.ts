// One worker driving one project's execution: owns it through the lease and a fresh epoch,
// restores the stored snapshot, runs the machine with the production steps, persists every
// transition (compare-and-set on version, fenced by the epoch), and gives the project up —
// stopping the step and killing its processes — as soon as ownership is in doubt.
import { createActor, type AnyActorLogic, type InspectionEvent, type Observer } from 'xstate';
import type { ExecutionRecord, ExecutionsStore } from '../infra/db/index.js';
import { ExecutionStoreError } from '../infra/db/index.js';
import type { Lease, LeaseGrant } from '../infra/lease/index.js';
import type { Logger } from '../infra/log.js';
import { lifecycleOf, machineOf, projectionOf, restoreOptions, stampedStep } from '../machines/index.js';
import type { ProjectSteps } from '../steps/index.js';
import { ProjectStream } from './project-stream.js';
import { executionUpdate } from '../client/index.js';
import type { FrameLog } from '../infra/frames/index.js';
import type { Metrics } from '../infra/metrics/index.js';
import type { WebhookNotifier } from './webhook-notifier.js';

/** Steps whose finished result is reused when the step runs again after a crash. */
const JOURNALED = new Set(['implement', 'verify', 'merge', 'push']);

export type RunEnd = 'settled' | 'lost' | 'busy' | 'stopped';

export interface ProjectRunDeps {
  executions: ExecutionsStore;
  lease: Lease;
  log: Logger;
  leaseTtlMs: number;
  steps: (record: ExecutionRecord) => Promise<ProjectSteps>;
  /** Where watchers' frames go (execution-update per transition, execution-log batches). */
  frames?: FrameLog;
  metrics?: Metrics;
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** The project's webhooks (null when it has none): each transition's deliveries are written with it. */
  notifier?: (record: ExecutionRecord) => Promise<WebhookNotifier | null>;
}

export function leaseKey(tenant: string, projectId: string): string {
  return `project:${tenant}:${projectId}`;
}

export class ProjectRun {
  private grant: LeaseGrant | null = null;
  private wake: ((why: 'reload' | 'lost' | 'stop') => void) | null = null;
  private pendingReload = false;
  private stopped = false;

  constructor(
    readonly executionId: string,
    readonly tenant: string,
    readonly projectId: string,
    private readonly deps: ProjectRunDeps,
  ) {}

  /** The stored state changed under us (a control command): re-read it now. */
  reload(): void {
    if (this.wake) this.wake('reload');
    else this.pendingReload = true;
  }

  /** Shutdown: stop the step, keep the stored state for the next owner. */
  stop(): void {
    this.stopped = true;
    this.wake?.('stop');
  }

  async run(): Promise<RunEnd> {
    const { lease, executions, leaseTtlMs } = this.deps;
    this.grant = await lease.acquire(leaseKey(this.tenant, this.projectId), leaseTtlMs);
    if (!this.grant) return 'busy';
    let log = this.deps.log.child({ projectId: this.projectId, executionId: this.executionId, tenant: this.tenant });
    const renewal = this.keepLease(log);
    try {
      const epoch = await executions.claim(this.tenant, this.projectId);
      const correlationId = (await executions.correlationOf(this.executionId)) ?? this.executionId;
      log = log.child({ correlationId, epoch });
      log.info({ fence: this.grant.fence }, 'took ownership of the project');
      let first = true;
      for (;;) {
        if (this.stopped) return 'stopped';
        const record = await executions.load(this.executionId);
        if (first) this.deps.metrics?.ownership.inc({ kind: record.ownerEpoch > 0 ? 'takeover' : 'new' });
        first = false;
        const status = record.projection.status;
        if (status !== 'running' && status !== 'stopping') {
          log.info({ status }, 'nothing to drive: releasing the project');
          return 'settled';
        }
        const end = await this.drive(record, epoch, log);
        if (end === 'lost') this.deps.metrics?.leaseLost.inc();
        if (end !== 'reload') return end;
      }
    } catch (error) {
      if (error instanceof ExecutionStoreError && error.code === 'lease_lost') {
        this.deps.metrics?.leaseLost.inc();
        return 'lost';
      }
      throw error;
    } finally {
      clearInterval(renewal);
      const grant = this.grant;
      this.grant = null;
      await lease.release(grant).catch(() => false);
    }
  }

  /** Renews at a third of the TTL; a failed or late renewal stops the actor before the TTL ends. */
  private keepLease(log: Logger): NodeJS.Timeout {
    const { lease, leaseTtlMs } = this.deps;
    const timer = setInterval(() => {
      const grant = this.grant;
      if (!grant) return;
      // Give up a safety margin before the TTL ends, so the step's processes are dead before
      // another worker may take the project.
      if (Date.now() >= grant.expiresAt - Math.min(1_000, leaseTtlMs / 5)) {
        log.warn('lease about to expire without a renewal: giving the project up');
        this.wake?.('lost');
        return;
      }
      lease.renew(grant, leaseTtlMs).then(
        (ok) => {
          if (ok) grant.expiresAt = Date.now() + leaseTtlMs;
          else {
            log.warn('lease renewal refused (another worker owns the project): stopping');
            this.grant = null;
            this.wake?.('lost');
          }
        },
        (err) => log.warn({ err }, 'lease renewal failed; retrying before it expires'),
      );
    }, Math.max(100, Math.floor(leaseTtlMs / 3)));
    timer.unref();
    return timer;
  }

  private drive(record: ExecutionRecord, epoch: number, log: Logger): Promise<'settled' | 'lost' | 'reload' | 'stopped'> {
    const { executions } = this.deps;
    return new Promise((resolve, reject) => {
      void (async () => {
        const steps = await this.deps.steps(record);
        const notifier = (await this.deps.notifier?.(record)) ?? null;
        // The projection as stored: what this drive's next write changes (webhook events come from the difference).
        let stored = record.projection;
        const stream = this.deps.frames ? new ProjectStream(this.deps.frames, { tenant: this.tenant, projectId: this.projectId }, record.id, log) : null;
        let version = record.version;
        let ended = false;
        let writes: Promise<void> = Promise.resolve();
        // A stored snapshot that does not parse fails here with InvalidSnapshotError (code invalid_snapshot).
        const actor = createActor(machineOf(record.snapshot).provide({ actors: this.actors(steps, log, stream) }), {
          ...restoreOptions(record.snapshot),
          inspect: this.deps.inspect,
        });
        const finish = (end: 'settled' | 'lost' | 'reload' | 'stopped') => {
          if (ended) return;
          ended = true;
          this.wake = null;
          // Stopping the actor aborts the running step's signal: its processes are killed.
          actor.stop();
          void writes.then(() => stream?.drain()).then(() => resolve(end));
        };
        this.wake = (why) => finish(why === 'stop' ? 'stopped' : why);
        if (this.pendingReload) {
          this.pendingReload = false;
          finish('reload');
          return;
        }
        actor.subscribe({
          next: (snapshot) => {
            if (ended) return;
            const persisted = actor.getPersistedSnapshot();
            const projection = projectionOf(snapshot);
            writes = writes.then(async () => {
              if (ended) return;
              const grant = this.grant;
              if (!grant || Date.now() >= grant.expiresAt) return finish('lost');
              const hooks = notifier?.forTransition(stored, projection);
              try {
                version = await executions.save({ executionId: record.id, expectedVersion: version, epoch, snapshot: persisted, projection }, hooks?.write);
                stored = projection;
                hooks?.committed();
              } catch (error) {
                const code = (error as { code?: string }).code;
                if (code === 'version_conflict') return finish('reload');
                if (code === 'lease_lost') {
                  log.warn('a newer owner holds the project: this worker stops driving it');
                  return finish('lost');
                }
                log.error({ err: error }, 'could not persist a transition: giving the project up');
                return finish('lost');
              }
              log.info({ status: projection.status, phase: projection.phase, task: projection.currentTask?.id, attempt: projection.attempt, version }, 'transition persisted');
              stream?.update(executionUpdate(record.id, projection));
              const status = lifecycleOf(snapshot);
              if (status === 'completed' || status === 'failed' || status === 'stopped') this.deps.metrics?.runs.inc({ status });
              if (status !== 'running' && status !== 'stopping') finish('settled');
            });
          },
          error: (err) => {
            log.error({ err }, 'the project machine failed');
            finish('lost');
          },
        });
        actor.start();
      })().catch(reject);
    });
  }

  /**
   * The steps as promise actors: each gets the actor's abort signal, journaled ones reuse a finished
   * result, and every output or failure is stamped with this host's clock (the machine has none).
   */
  private actors(steps: ProjectSteps, log: Logger, stream: ProjectStream | null): Record<string, AnyActorLogic> {
    const { executions } = this.deps;
    const clock = () => new Date();
    const wrap = (name: keyof ProjectSteps) =>
      stampedStep<unknown>(async ({ input, signal }) => {
        const stepLog = log.child({ step: name, task: input.task?.id, attempt: input.attempt, ...(input.lane !== undefined ? { lane: input.lane } : {}) });
        stepLog.info('step started');
        const source = name === 'verify' ? 'verify' : 'agent';
        const output = (s: 'stdout' | 'stderr', text: string) => stream?.line({ source, taskId: input.task?.id ?? null, attempt: input.attempt, stream: s, text });
        const ctx = { signal, log: stepLog, output };
        const metrics = this.deps.metrics;
        if (name === 'implement') metrics?.attempts.inc({ kind: input.attempt > 1 ? 'retry' : 'first' });
        const timed = async () => {
          const t0 = performance.now();
          let outcome = 'error';
          try {
            const result = await steps[name](input, ctx);
            outcome = 'ok';
            if (name === 'verify') metrics?.verifyDuration.observe({ result: (result as { ok: boolean }).ok ? 'passed' : 'failed' }, (performance.now() - t0) / 1000);
            return result;
          } catch (error) {
            if (signal.aborted) outcome = 'cancelled';
            throw error;
          } finally {
            metrics?.stepDuration.observe({ step: name, outcome }, (performance.now() - t0) / 1000);
          }
        };
        if (!JOURNALED.has(name)) return timed();
        // A lane's attempt may pass the merge queue more than once (re-verify, merge again): its round tells them apart.
        const key = `${input.task?.id ?? '-'}:${name}:${input.attempt}${input.round ? `:${input.round}` : ''}`;
        const previous = await executions.stepResult(input.executionId, key);
        if (previous?.status === 'succeeded') {
          stepLog.info('step finished before a restart: reusing its result');
          return previous.output;
        }
        await executions.stepStarted(input.executionId, key, { name, taskId: input.task?.id ?? null, attempt: input.attempt });
        const started = Date.now();
        try {
          const result = await timed();
          await executions.stepFinished(input.executionId, key, { ok: true, output: result });
          stepLog.info({ durationMs: Date.now() - started }, 'step finished');
          return result;
        } catch (error) {
          if (!signal.aborted) await executions.stepFinished(input.executionId, key, { ok: false, error: (error as Error).message });
          throw error;
        }
      }, clock);
    return Object.fromEntries((['select', 'prep', 'implement', 'verify', 'merge', 'push', 'cleanup'] as const).map((n) => [n, wrap(n)]));
  }
}
