// A project's lease that records itself on the project row: the lease decides, the row follows in
// order, and a slow or failing database never holds up the owner's renewals or release for long.
import { describe, expect, it } from 'vitest';
import { RecordedLease } from '../../src/actors/recorded-lease.js';
import { MemoryLease } from '../../src/infra/lease/index.js';
import { createLogger } from '../../src/infra/log.js';

const log = createLogger({ level: 'silent' });
const project = { tenant: 'acme', projectId: 'web' };

/** A store whose writes are logged and, while `hold` is set, wait until released. */
function fakeStore() {
  const writes: string[] = [];
  let held: Array<() => void> = [];
  let hold = false;
  let failing = false;
  const write = async (what: string) => {
    if (hold) await new Promise<void>((r) => held.push(r));
    if (failing) throw new Error('database down');
    writes.push(what);
  };
  return {
    writes,
    hold: () => void (hold = true),
    letGo: () => {
      hold = false;
      for (const r of held.splice(0)) r();
    },
    fail: (on: boolean) => void (failing = on),
    store: {
      recordLease: (_t: string, _p: string, token: string, ttlMs: number) => write(`record ${token.slice(0, 4)} ${ttlMs}`),
      clearLease: (_t: string, _p: string, token: string) => write(`clear ${token.slice(0, 4)}`),
    },
  };
}

describe('RecordedLease', () => {
  it('records an acquired lease before handing it out, and nothing for a refused one', async () => {
    const inner = new MemoryLease();
    const db = fakeStore();
    const lease = new RecordedLease(inner, db.store, project, log);
    const grant = await lease.acquire('p', 5_000);
    expect(db.writes).toEqual([`record ${grant!.token.slice(0, 4)} 5000`]);
    expect(await new RecordedLease(inner, db.store, project, log).acquire('p', 5_000)).toBeNull();
    expect(db.writes).toHaveLength(1);
  });

  it('answers a renewal without waiting for the database, and writes the release after every pending record', async () => {
    const db = fakeStore();
    const lease = new RecordedLease(new MemoryLease(), db.store, project, log);
    const grant = (await lease.acquire('p', 5_000))!;
    const t = grant.token.slice(0, 4);
    db.hold();
    expect(await lease.renew(grant, 5_000)).toBe(true); // answered while the write waits
    // Renewals behind a write in flight are folded into one: a slow database gets no backlog.
    await lease.renew(grant, 5_000);
    await lease.renew(grant, 5_000);
    const released = lease.release(grant);
    db.letGo();
    expect(await released).toBe(true);
    expect(db.writes).toEqual([`record ${t} 5000`, `record ${t} 5000`, `record ${t} 5000`, `clear ${t}`]);
  });

  it('releases within its bound when the database hangs, and shrugs off failed writes', async () => {
    const db = fakeStore();
    const inner = new MemoryLease();
    const lease = new RecordedLease(inner, db.store, project, log);
    const grant = (await lease.acquire('p', 5_000))!;
    db.hold();
    const t0 = performance.now();
    expect(await lease.release(grant)).toBe(true);
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(await inner.acquire('p', 5_000)).not.toBeNull(); // the lease itself was freed at once
    db.letGo();
    db.fail(true);
    const again = new RecordedLease(new MemoryLease(), db.store, project, log);
    const other = (await again.acquire('q', 5_000))!;
    expect(await again.renew(other, 5_000)).toBe(true);
    expect(await again.release(other)).toBe(true);
  });
});
