// The FrameLog contract: every implementation (in-process, Redis) must pass these tests unchanged.
import { afterEach, describe, expect, it } from 'vitest';
import type { AppendedFrame, FrameLog, ProjectKey } from '../../src/infra/frames/index.js';
import { eventually } from '../support/services.js';

export interface FrameLogFixture {
  log: FrameLog;
  /** Another instance on the same storage (another process), when the implementation has one. */
  peer?: () => Promise<FrameLog>;
  /**
   * Loses everything volatile and keeps only what is durable: Redis flushed (the prefix's keys
   * deleted), or the embedded process restarted (a new log on the same durable marks). Returns the
   * log to use from then on (the same instance when it survives the loss).
   */
  lose(): Promise<FrameLog>;
  cleanup(): Promise<void>;
}

/** Every fixture keeps `retain` frames per project. */
export type MakeFrameLog = (opts: { retain: number }) => Promise<FrameLogFixture>;

const RETAIN = 50;

export function frameLogContract(implementation: string, make: MakeFrameLog, opts: { shared: boolean }): void {
  describe(`FrameLog contract: ${implementation}`, () => {
    const fixtures: FrameLogFixture[] = [];
    const extra: FrameLog[] = [];

    async function setup(): Promise<FrameLogFixture> {
      const fixture = await make({ retain: RETAIN });
      fixtures.push(fixture);
      return fixture;
    }

    afterEach(async () => {
      await Promise.all(extra.splice(0).map((l) => l.close()));
      await Promise.all(fixtures.splice(0).map((f) => f.cleanup()));
    });

    const a: ProjectKey = { tenant: 't1', projectId: 'alpha' };
    const b: ProjectKey = { tenant: 't1', projectId: 'beta' };
    const aOther: ProjectKey = { tenant: 't2', projectId: 'alpha' };

    function update(n: number) {
      return { executionId: 'e1', n };
    }

    async function collect(log: FrameLog): Promise<AppendedFrame[]> {
      const got: AppendedFrame[] = [];
      await log.subscribe((f) => void got.push(f));
      return got;
    }

    it('starts seq at 1 and adds 1 per append, per project and per tenant', async () => {
      const { log } = await setup();
      const before = Date.now();
      const first = await log.append(a, 'execution-update', 'e1', update(1));
      expect(first).toMatchObject({ type: 'execution-update', projectId: 'alpha', tenant: 't1', seq: 1, executionId: 'e1', payload: update(1) });
      expect(first.ts).toBeGreaterThanOrEqual(before);
      expect((await log.append(a, 'execution-log', 'e1', update(2))).seq).toBe(2);
      expect((await log.append(b, 'execution-update', 'e1', update(1))).seq).toBe(1);
      // Same project id, other tenant: a sequence of its own.
      expect((await log.append(aOther, 'execution-update', 'e1', update(1))).seq).toBe(1);
      expect((await log.append(a, 'execution-update', 'e1', update(3))).seq).toBe(3);
      expect((await log.append(aOther, 'execution-update', 'e1', update(2))).seq).toBe(2);
      expect((await log.since(aOther, 0)).frames.map((f) => [f.tenant, f.seq])).toEqual([
        ['t2', 1],
        ['t2', 2],
      ]);
    });

    it('delivers every frame to every subscriber in seq order, with its tenant', async () => {
      const { log } = await setup();
      const one = await collect(log);
      const two = await collect(log);
      const appended: AppendedFrame[] = [];
      for (let n = 1; n <= 20; n++) appended.push(await log.append(n % 2 ? a : aOther, 'execution-update', 'e1', update(n)));
      await eventually(async () => (one.length === 20 && two.length === 20 ? true : undefined), 5_000, '20 frames twice');
      expect(one).toEqual(appended);
      expect(two).toEqual(appended);
      expect(one.filter((f) => f.tenant === 't1').map((f) => f.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(one.filter((f) => f.tenant === 't2').map((f) => f.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    });

    it('keeps delivering to the other handlers when a handler throws, and stops after unsubscribe', async () => {
      const { log } = await setup();
      let thrown = 0;
      const unsubscribe = await log.subscribe(() => {
        thrown++;
        throw new Error('handler failed');
      });
      const got = await collect(log);
      await log.append(a, 'execution-update', 'e1', update(1));
      await eventually(async () => (got.length === 1 ? true : undefined), 5_000, 'the first frame');
      await unsubscribe();
      await log.append(a, 'execution-update', 'e1', update(2));
      await eventually(async () => (got.length === 2 ? true : undefined), 5_000, 'the second frame');
      expect(thrown).toBe(1);
      expect(got.map((f) => f.seq)).toEqual([1, 2]);
    });

    it('gives 200 concurrent appends to one project seqs 1..200, delivered in order', async () => {
      const { log } = await setup();
      const got = await collect(log);
      const appended = await Promise.all(Array.from({ length: 200 }, (_, n) => log.append(a, 'execution-log', 'e1', update(n))));
      expect(appended.map((f) => f.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      await eventually(async () => (got.length === 200 ? true : undefined), 5_000, '200 frames');
      expect(got.map((f) => f.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    });

    it('returns the kept frames after lastSeq, in order', async () => {
      const { log } = await setup();
      const appended: AppendedFrame[] = [];
      for (let n = 1; n <= 10; n++) appended.push(await log.append(a, 'execution-update', 'e1', update(n)));
      await log.append(b, 'execution-update', 'e1', update(99));
      expect(await log.since(a, 0)).toEqual({ frames: appended, complete: true, lastSeq: 10 });
      expect(await log.since(a, 7)).toEqual({ frames: appended.slice(7), complete: true, lastSeq: 10 });
      expect(await log.since(a, 10)).toEqual({ frames: [], complete: true, lastSeq: 10 });
    });

    it(`drops what is older than the last ${RETAIN} frames and says so`, async () => {
      const { log } = await setup();
      for (let n = 1; n <= RETAIN + 30; n++) await log.append(a, 'execution-update', 'e1', update(n));
      const all = await log.since(a, 0);
      expect(all.complete).toBe(false);
      expect(all.lastSeq).toBe(RETAIN + 30);
      expect(all.frames.map((f) => f.seq)).toEqual(Array.from({ length: RETAIN }, (_, i) => i + 31));
      expect((await log.since(a, 5)).complete).toBe(false);
      // 29 dropped, 30 is the last one the client has: 31.. are all kept.
      expect((await log.since(a, 30)).complete).toBe(true);
      const recent = await log.since(a, RETAIN + 20);
      expect(recent.complete).toBe(true);
      expect(recent.frames.map((f) => f.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + RETAIN + 21));
    });

    it("keeps each frame's executionId in its envelope: returned by append, read back by since, delivered to subscribers", async () => {
      const { log } = await setup();
      const got = await collect(log);
      // A project's sequence runs across its executions (a second initialize): each frame says whose it is.
      const appended = [
        await log.append(a, 'execution-update', 'run-1', { executionId: 'run-1', status: 'failed' }),
        await log.append(a, 'execution-update', 'run-2', { executionId: 'run-2', status: 'running' }),
        await log.append(a, 'execution-log', 'run-2', { executionId: 'run-2', lines: [] }),
      ];
      expect(appended.map((f) => [f.seq, f.executionId])).toEqual([
        [1, 'run-1'],
        [2, 'run-2'],
        [3, 'run-2'],
      ]);
      expect((await log.since(a, 0)).frames).toEqual(appended);
      await eventually(async () => (got.length === 3 ? true : undefined), 5_000, 'three frames');
      expect(got).toEqual(appended);
    });

    it('answers an unknown project with nothing, complete', async () => {
      const { log } = await setup();
      await log.append(a, 'execution-update', 'e1', update(1));
      expect(await log.since({ tenant: 't1', projectId: 'nobody' }, 0)).toEqual({ frames: [], complete: true, lastSeq: 0 });
      expect(await log.since({ tenant: 't9', projectId: 'alpha' }, 0)).toEqual({ frames: [], complete: true, lastSeq: 0 });
    });

    it('tells a client ahead of the sequence (it saw a log that no longer exists) to resync', async () => {
      const { log } = await setup();
      await log.append(a, 'execution-update', 'e1', update(1));
      expect(await log.since(a, 5)).toEqual({ frames: [], complete: false, lastSeq: 1 });
      expect(await log.since({ tenant: 't1', projectId: 'nobody' }, 3)).toEqual({ frames: [], complete: false, lastSeq: 0 });
    });

    it('refuses a lastSeq that is not a non-negative integer', async () => {
      const { log } = await setup();
      await expect(log.since(a, -1)).rejects.toThrow(RangeError);
      await expect(log.since(a, 1.5)).rejects.toThrow(RangeError);
    });

    it('never goes back after the volatile state is lost: the next seq is above every seq handed out', async () => {
      const fixture = await setup();
      let seqA = 0;
      let seqB = 0;
      for (let n = 1; n <= 15; n++) seqA = (await fixture.log.append(a, 'execution-update', 'e1', update(n))).seq;
      for (let n = 1; n <= 3; n++) seqB = (await fixture.log.append(b, 'execution-update', 'e1', update(n))).seq;
      expect([seqA, seqB]).toEqual([15, 3]);
      for (let round = 0; round < 3; round++) {
        const log = await fixture.lose();
        const nextA = await log.append(a, 'execution-update', 'e1', update(100 + round));
        const nextB = await log.append(b, 'execution-update', 'e1', update(100 + round));
        expect(nextA.seq).toBeGreaterThan(seqA);
        expect(nextB.seq).toBeGreaterThan(seqB);
        // A client that saw seqA before the loss missed what it cannot be given: resync, not a replay.
        const resumed = await log.since(a, seqA);
        expect(resumed.complete).toBe(false);
        expect(resumed.lastSeq).toBe(nextA.seq);
        // From the new numbering on, it resumes normally.
        const more = await log.append(a, 'execution-log', 'e1', update(200 + round));
        expect(more.seq).toBe(nextA.seq + 1);
        expect(await log.since(a, nextA.seq)).toEqual({ frames: [more], complete: true, lastSeq: more.seq });
        seqA = more.seq;
        seqB = nextB.seq;
      }
    });

    it('tells a client resuming after the loss, before any new frame, to resync at a seq no lower than its own; the next frame is above it', async () => {
      const fixture = await setup();
      for (let n = 1; n <= 15; n++) await fixture.log.append(a, 'execution-update', 'e1', update(n));
      const log = await fixture.lose();
      const resumed = await log.since(a, 15);
      expect(resumed.complete).toBe(false);
      expect(resumed.frames).toEqual([]);
      expect(resumed.lastSeq).toBeGreaterThanOrEqual(15);
      // What the server answers a subscribe without lastSeq with: the present, to resync at.
      expect((await log.since(a, Number.MAX_SAFE_INTEGER)).lastSeq).toBe(resumed.lastSeq);
      const got = await collect(log);
      const next = await log.append(a, 'execution-update', 'e1', update(16));
      expect(next.seq).toBeGreaterThan(resumed.lastSeq);
      await eventually(async () => (got.length === 1 ? true : undefined), 5_000, 'the frame after the loss');
      expect(got).toEqual([next]);
      // A project that never had a frame is still unknown, complete, at 0.
      expect(await log.since({ tenant: 't1', projectId: 'nobody' }, 0)).toEqual({ frames: [], complete: true, lastSeq: 0 });
    });

    it('keeps seqs contiguous and delivered in order across many reservations', async () => {
      const { log } = await setup();
      const got = await collect(log);
      const total = 2_500;
      const appended: AppendedFrame[] = [];
      for (let n = 0; n < total; n += 250) {
        appended.push(...(await Promise.all(Array.from({ length: 250 }, (_, i) => log.append(a, 'execution-log', 'e1', update(n + i))))));
      }
      const seqs = Array.from({ length: total }, (_, i) => i + 1);
      expect(appended.map((f) => f.seq).sort((x, y) => x - y)).toEqual(seqs);
      await eventually(async () => (got.length === total ? true : undefined), 10_000, `${total} frames`);
      expect(got.map((f) => f.seq)).toEqual(seqs);
    });

    if (opts.shared) it('shares one sequence between two instances (processes), and both subscribers see every frame', async () => {
      const fixture = await setup();
      const one = fixture.log;
      const two = await fixture.peer!();
      extra.push(two);
      const gotOne = await collect(one);
      const gotTwo = await collect(two);
      // The project's first frame alone: two instances seeding a brand-new counter at once may each
      // reserve a block, and the later block may win — a documented jump (never a repeat), tested
      // after a loss below. From the first frame on they share one contiguous sequence.
      const first = await two.append(a, 'execution-update', 'e1', update(0));
      const appended = [
        first,
        ...(await Promise.all(Array.from({ length: 99 }, (_, i) => (i % 2 ? two : one).append(a, 'execution-update', 'e1', update(i + 1))))),
      ];
      const seqs = Array.from({ length: 100 }, (_, i) => i + 1);
      expect(appended.map((f) => f.seq).sort((x, y) => x - y)).toEqual(seqs);
      await eventually(async () => (gotOne.length === 100 && gotTwo.length === 100 ? true : undefined), 5_000, '100 frames on both');
      expect(gotOne.map((f) => f.seq)).toEqual(seqs);
      expect(gotTwo).toEqual(gotOne);
      expect((await two.since(a, 90)).frames).toEqual(gotOne.slice(90));
    });

    if (opts.shared) it('gives two instances appending at once after a loss distinct seqs above everything before, in order', async () => {
      const fixture = await setup();
      const two = await fixture.peer!();
      extra.push(two);
      for (let n = 1; n <= 40; n++) await (n % 2 ? fixture.log : two).append(a, 'execution-update', 'e1', update(n));
      const one = await fixture.lose();
      const gotOne = await collect(one);
      const gotTwo = await collect(two);
      const appended = await Promise.all(Array.from({ length: 100 }, (_, n) => (n % 2 ? one : two).append(a, 'execution-update', 'e1', update(n))));
      const seqs = appended.map((f) => f.seq).sort((x, y) => x - y);
      expect(new Set(seqs).size).toBe(100);
      expect(seqs[0]).toBeGreaterThan(40);
      // Contiguous within the new numbering: one seed, however many instances raced for it.
      expect(seqs.at(-1)! - seqs[0]!).toBe(99);
      await eventually(async () => (gotOne.length === 100 && gotTwo.length === 100 ? true : undefined), 5_000, '100 frames on both');
      expect(gotOne.map((f) => f.seq)).toEqual(seqs);
      expect(gotTwo).toEqual(gotOne);
    });
  });
}
