// One project's lease as its owner holds it: the lease itself, plus the holder and its expiry
// recorded on the project row after every acquire and renewal (forgotten on release), so the
// reconcile poll of every worker skips the projects somebody holds without asking the lease.
import type { ExecutionsStore } from '../infra/db/index.js';
import type { Lease, LeaseGrant } from '../infra/lease/index.js';
import type { Logger } from '../infra/log.js';

/** How long a release waits for the row to forget the lease: a stuck database must not hold up the run's end. */
const RELEASE_RECORD_MS = 1_000;

export class RecordedLease implements Lease {
  /** The row writes of this project, in order: a renewal's record never lands after the release's clear. */
  private writes: Promise<void> = Promise.resolve();
  /** A record waits behind the write in flight: a later one would say nothing more. */
  private recordQueued = false;

  constructor(
    private readonly lease: Lease,
    private readonly executions: Pick<ExecutionsStore, 'recordLease' | 'clearLease'>,
    private readonly project: { tenant: string; projectId: string },
    private readonly log: Logger,
  ) {}

  async acquire(key: string, ttlMs: number): Promise<LeaseGrant | null> {
    const grant = await this.lease.acquire(key, ttlMs);
    if (grant) await this.record(grant, ttlMs);
    return grant;
  }

  async renew(grant: LeaseGrant, ttlMs: number): Promise<boolean> {
    const renewed = await this.lease.renew(grant, ttlMs);
    // Not awaited: the owner's view of its own expiry must not wait for the database.
    if (renewed) void this.record(grant, ttlMs);
    return renewed;
  }

  async release(grant: LeaseGrant): Promise<boolean> {
    try {
      return await this.lease.release(grant);
    } finally {
      // Even when the release failed: other workers then try the lease, which still decides.
      const { tenant, projectId } = this.project;
      const cleared = this.enqueue(() => this.executions.clearLease(tenant, projectId, grant.token));
      await within(cleared, RELEASE_RECORD_MS);
    }
  }

  /** The underlying lease belongs to the host, which closes it. */
  async close(): Promise<void> {}

  private record(grant: LeaseGrant, ttlMs: number): Promise<void> {
    if (this.recordQueued) return this.writes;
    this.recordQueued = true;
    const { tenant, projectId } = this.project;
    return this.enqueue(() => {
      this.recordQueued = false;
      return this.executions.recordLease(tenant, projectId, grant.token, ttlMs);
    });
  }

  private enqueue(write: () => Promise<void>): Promise<void> {
    // A failed write only leaves a stale hint: a record that runs out early makes other workers try
    // the lease (which refuses them); a clear that failed makes them wait until the record runs out.
    this.writes = this.writes.then(write).catch((err) => this.log.warn({ err }, 'could not record the project lease on its row'));
    return this.writes;
  }
}

function within(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
