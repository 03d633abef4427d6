// The reconcile poll of several workers on real Postgres and Redis: it tries the lease only of live
// projects whose recorded lease ran out (or was never taken), so projects other workers hold cost
// no Redis call; a dead owner's project is still taken over once its lease runs out, and a new
// project is taken at once on its bus notice.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initialTransition } from 'xstate';
import { EXECUTIONS_CHANNEL, ProjectHost } from '../../src/actors/index.js';
import { RedisBus } from '../../src/infra/bus/index.js';
import { migrate, openDatabase, PostgresExecutionsStore, type Database, type ExecutionsStore } from '../../src/infra/db/index.js';
import { RedisLease, type Lease, type LeaseGrant } from '../../src/infra/lease/index.js';
import { createLogger } from '../../src/infra/log.js';
import { PROJECT_MACHINE_ID, PROJECT_MACHINE_VERSION, projectMachine, projectionOf } from '../../src/machines/index.js';
import type { ProjectSteps } from '../../src/steps/index.js';
import { createTestDatabase, dropRedisPrefix, eventually, REDIS_URL, uniquePrefix, type TestDatabase } from '../support/services.js';

const TTL_MS = 3_000;
const RECONCILE_MS = 100;
const log = createLogger({ level: 'silent' });

/** Counts the calls that reach the real lease; `freeze()` makes it a dead owner's (nothing settles). */
class CountingLease implements Lease {
  acquires = 0;
  grants = 0;
  renewals = 0;
  private frozen: Array<() => void> | null = null;

  constructor(private readonly lease: Lease) {}

  async acquire(key: string, ttlMs: number): Promise<LeaseGrant | null> {
    this.acquires++;
    const grant = await this.lease.acquire(key, ttlMs);
    if (grant) this.grants++;
    return grant;
  }

  async renew(grant: LeaseGrant, ttlMs: number): Promise<boolean> {
    this.renewals++;
    return this.frozen ? this.hang() : this.lease.renew(grant, ttlMs);
  }

  async release(grant: LeaseGrant): Promise<boolean> {
    return this.frozen ? this.hang() : this.lease.release(grant);
  }

  async close(): Promise<void> {
    await this.lease.close();
  }

  /** From now on renewals and releases never answer: the owner neither renews nor lets go. */
  freeze(): void {
    this.frozen = [];
  }

  /** Lets the frozen calls answer "not yours", so the dead owner's host can stop. */
  thaw(): void {
    for (const answer of this.frozen ?? []) answer();
    this.frozen = null;
  }

  reset(): void {
    this.acquires = 0;
    this.renewals = 0;
  }

  private hang(): Promise<boolean> {
    return new Promise((resolve) => this.frozen!.push(() => resolve(false)));
  }
}

/** Counts reconcile rounds (one search for projects to drive). */
class CountingStore extends PostgresExecutionsStore {
  rounds = 0;

  override async needingOwner(limit: number) {
    this.rounds++;
    return super.needingOwner(limit);
  }

  override async needingDriver(limit: number) {
    this.rounds++;
    return super.needingDriver(limit);
  }
}

/** Steps that never finish: every project stays running, its lease held and renewed. */
const blockingSteps = async (): Promise<ProjectSteps> => {
  const block = (_input: unknown, { signal }: { signal: AbortSignal }) =>
    new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
  return { select: block, prep: block, implement: block, verify: block, merge: block, push: block, cleanup: block } as unknown as ProjectSteps;
};

describe('reconcile poll of several workers', () => {
  let tdb: TestDatabase;
  let db: Database;
  let store: ExecutionsStore;
  const prefix = uniquePrefix('reconcile');
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    tdb = await createTestDatabase('reconcile');
    db = await openDatabase({ url: tdb.url, dataDir: '/nonexistent' });
    await migrate(db.sql);
    store = new PostgresExecutionsStore(db.sql, { [PROJECT_MACHINE_ID]: [PROJECT_MACHINE_VERSION] });
  }, 30_000);

  // Every worker a test started stops after it, even a failed one: none competes in the next test.
  afterEach(async () => {
    await settleAll();
    for (const close of closers.splice(0).reverse()) await close().catch(() => {});
  }, 30_000);

  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
    await dropRedisPrefix(prefix);
  }, 30_000);

  /** A worker: its own lease, bus and store handle, like a separate process. */
  async function worker(opts: { reconcileMs?: number; soleWorker?: boolean } = {}) {
    const lease = new CountingLease(new RedisLease({ url: REDIS_URL, prefix }));
    const bus = new RedisBus({ url: REDIS_URL, prefix });
    const executions = new CountingStore(db.sql, { [PROJECT_MACHINE_ID]: [PROJECT_MACHINE_VERSION] });
    const host = new ProjectHost({
      executions,
      lease,
      bus,
      log,
      steps: blockingSteps,
      leaseTtlMs: TTL_MS,
      reconcileMs: opts.reconcileMs ?? RECONCILE_MS,
      maxProjects: 64,
      soleWorker: opts.soleWorker,
    });
    await host.start();
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      lease.thaw();
      await host.stop();
      await bus.close();
      await lease.close();
    };
    closers.push(stop);
    return { host, lease, bus, executions, stop };
  }

  async function initialize(projectId: string): Promise<string> {
    const id = crypto.randomUUID();
    const [initial] = initialTransition(projectMachine, { projectId, executionId: id });
    await store.create({
      id,
      tenant: 'acme',
      projectId,
      eventId: null,
      config: {},
      machine: { id: PROJECT_MACHINE_ID, version: PROJECT_MACHINE_VERSION },
      snapshot: projectMachine.getPersistedSnapshot(initial),
      projection: projectionOf(initial),
    });
    return id;
  }

  /** Ends every live execution, so the next test's workers find none of this one's projects. */
  const settleAll = () => db.sql`UPDATE executions SET status = 'completed', finished_at = now() WHERE status IN ('running', 'stopping')`;

  const notify = (bus: RedisBus, executionId: string) => bus.publish(EXECUTIONS_CHANNEL, JSON.stringify({ executionId, status: 'running' }));

  /** Lease attempts of all workers over `rounds` reconcile rounds of each, per round. */
  async function attemptsPerRound(workers: Array<Awaited<ReturnType<typeof worker>>>, rounds: number): Promise<number> {
    for (const w of workers) w.lease.reset();
    const start = workers.map((w) => w.executions.rounds);
    await eventually(async () => (workers.every((w, i) => w.executions.rounds - start[i]! >= rounds) ? true : undefined), 10_000, `${rounds} rounds`);
    const done = workers.map((w, i) => w.executions.rounds - start[i]!);
    const acquires = workers.reduce((n, w) => n + w.lease.acquires, 0);
    return acquires / (done.reduce((a, b) => a + b, 0) / workers.length);
  }

  it('makes no lease attempt on the projects held by 2 workers × 50 projects, where trying every live project made one per project', async () => {
    const workers = [await worker(), await worker()];
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => initialize(`held-${i}`)));
    for (const id of ids) await notify(workers[0]!.bus, id);
    await eventually(async () => (workers.reduce((n, w) => n + w.lease.grants, 0) === 50 ? true : undefined), 15_000, 'all 50 projects taken');
    await eventually(async () => (workers.reduce((n, w) => n + w.host.driving().length, 0) === 50 ? true : undefined), 5_000, 'only the 50 taken driven');
    // Nobody drives a project twice, and every holder's lease is on its project's row.
    expect(new Set(workers.flatMap((w) => w.host.driving())).size).toBe(50);
    await eventually(async () => ((await store.needingOwner(100)).length === 0 ? true : undefined), 5_000, 'every lease recorded');

    const after = await attemptsPerRound(workers, 10);
    // A renewal (every third of the TTL) keeps each recorded expiry ahead of the polls.
    const renewals = workers.reduce((n, w) => n + w.lease.renewals, 0);
    expect(renewals).toBeGreaterThan(0);
    expect(after).toBe(0);

    // The search of every live project, as before the lease was recorded: a lease attempt per
    // project another worker holds, every round.
    const before = [await worker({ soleWorker: true }), await worker({ soleWorker: true })];
    const old = await attemptsPerRound(before, 10);
    console.log(`lease attempts per reconcile round, 2 workers × 50 held projects: ${old} trying every live project, ${after} trying only unowned ones`);
    expect(old).toBeGreaterThanOrEqual(90); // each of the two idle workers tries all 50
  }, 60_000);

  it('takes over a project whose owner died within the lease TTL + one reconcile interval', async () => {
    const a = await worker();
    const id = await initialize('dead-owner');
    await notify(a.bus, id);
    await eventually(async () => (a.lease.grants === 1 ? true : undefined), 5_000, 'A to take the project');
    const b = await worker();
    await attemptsPerRound([a, b], 3);

    const diedAt = Date.now();
    a.lease.freeze(); // no renewal and no release: the row keeps A's last expiry until it runs out
    await eventually(async () => (b.lease.grants === 1 ? true : undefined), TTL_MS + 5_000, 'B to take the project');
    const takeoverMs = Date.now() - diedAt;
    console.log(`takeover after the owner stopped renewing: ${takeoverMs} ms (TTL ${TTL_MS} ms, reconcile ${RECONCILE_MS} ms)`);
    expect(takeoverMs).toBeLessThanOrEqual(TTL_MS + RECONCILE_MS + 300);
    expect(b.lease.acquires).toBeLessThanOrEqual(3); // B tried once the record ran out, not every round
    // B's lease replaced A's expired one on the row.
    await eventually(async () => {
      const recorded = await store.recordedLease('acme', 'dead-owner');
      return recorded?.expiresAt && recorded.expiresAt.getTime() > Date.now() + TTL_MS / 2 ? true : undefined;
    }, 2_000, "B's lease on the row");
  }, 30_000);

  it('takes a new project at once on its bus notice, long before the next reconcile tick', async () => {
    const w = await worker({ reconcileMs: 60_000 });
    await eventually(async () => (w.executions.rounds >= 1 ? true : undefined), 5_000, 'the first round');
    const id = await initialize('noticed');
    const t0 = Date.now();
    await notify(w.bus, id);
    await eventually(async () => (w.lease.grants === 1 ? true : undefined), 5_000, 'the project to be taken');
    expect(Date.now() - t0).toBeLessThan(1_000);
    await eventually(async () => ((await store.recordedLease('acme', 'noticed'))?.expiresAt ? true : undefined), 5_000, 'its lease recorded');
    await w.stop();
    // Released on shutdown: the next worker need not wait for the TTL.
    expect(await store.recordedLease('acme', 'noticed')).toEqual({ token: null, expiresAt: null });
  }, 30_000);
});
