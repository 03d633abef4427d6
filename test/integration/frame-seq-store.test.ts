// The frame log's durable marks (FrameSeqStore, table frame_seq) on real Postgres and embedded PGlite,
// and the frame logs on top of them: a block reserved per write, never a write per frame, and a
// log that lost everything volatile (Redis flushed, a new process) resumes above every seq it gave.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameSeqStore, migrate, openDatabase, type Database } from '../../src/infra/db/index.js';
import { MemoryFrameLog, RedisFrameLog, type FrameSeqMarks, type ProjectKey } from '../../src/infra/frames/index.js';
import { createTestDatabase, dropRedisPrefix, REDIS_URL, tempDir, uniquePrefix } from '../support/services.js';

const backends: Array<{ name: string; open: () => Promise<{ db: Database; cleanup: () => Promise<void> }> }> = [
  {
    name: 'postgres',
    open: async () => {
      const t = await createTestDatabase('frameseq');
      const db = await openDatabase({ url: t.url, dataDir: '/nonexistent' });
      return { db, cleanup: async () => (await db.close(), await t.drop()) };
    },
  },
  {
    name: 'embedded',
    open: async () => {
      const dir = await tempDir('devteam-frameseq');
      const db = await openDatabase({ dataDir: dir.path });
      return { db, cleanup: async () => (await db.close(), await dir.remove()) };
    },
  },
];

/** Counts the durable writes a log makes. */
function counting(marks: FrameSeqMarks): FrameSeqMarks & { reserves: number } {
  const counted = {
    reserves: 0,
    mark: (key: ProjectKey) => marks.mark(key),
    reserve: (key: ProjectKey, floor: number, count: number) => {
      counted.reserves++;
      return marks.reserve(key, floor, count);
    },
  };
  return counted;
}

for (const backend of backends) {
  describe(`FrameSeqStore on ${backend.name}`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    let store: FrameSeqStore;

    beforeAll(async () => {
      ({ db, cleanup } = await backend.open());
      await migrate(db.sql);
      store = new FrameSeqStore(db.sql);
    }, 60_000);

    afterAll(async () => cleanup?.());

    it('raises the mark to max(mark, floor) + count, per tenant and project', async () => {
      const a = { tenant: 'acme', projectId: 'web' };
      expect(await store.mark(a)).toBe(0);
      expect(await store.reserve(a, 0, 1_000)).toBe(1_000);
      // A floor below the mark does not lower it: the block starts at the mark.
      expect(await store.reserve(a, 10, 1_000)).toBe(2_000);
      // A floor above it (a counter Redis kept from before the marks existed) is honoured.
      expect(await store.reserve(a, 5_000, 1_000)).toBe(6_000);
      expect(await store.mark(a)).toBe(6_000);
      expect(await store.mark({ tenant: 'beta', projectId: 'web' })).toBe(0);
      expect(await store.reserve({ tenant: 'beta', projectId: 'web' }, 0, 10)).toBe(10);
      expect(await store.mark(a)).toBe(6_000);
      // Seqs are JS numbers: anything up to 2^53 round-trips through bigint.
      const big = { tenant: 'acme', projectId: 'big' };
      expect(await store.reserve(big, 2 ** 52, 1)).toBe(2 ** 52 + 1);
      await expect(store.reserve(a, -1, 10)).rejects.toThrow(RangeError);
      await expect(store.reserve(a, 0, 0)).rejects.toThrow(RangeError);
    });

    it('gives concurrent reservations disjoint blocks', async () => {
      const key = { tenant: 'acme', projectId: 'race' };
      const marks = await Promise.all(Array.from({ length: 20 }, () => store.reserve(key, 0, 100)));
      expect([...marks].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => (i + 1) * 100));
    });

    it('lets an in-process log resume above every seq after a restart, one durable write per block', async () => {
      const key = { tenant: 'acme', projectId: `mem-${backend.name}` };
      const marks = counting(store);
      const first = new MemoryFrameLog({ seqMarks: marks, seqBlock: 1_000 });
      let last = 0;
      for (let n = 0; n < 2_100; n++) last = (await first.append(key, 'execution-log', 'e1', { n })).seq;
      expect(last).toBe(2_100);
      // Blocks up to 3,000 (the third reserved ahead, at 750 left): three writes for 2,100 frames.
      expect(marks.reserves).toBe(3);
      await first.close();
      const restarted = new MemoryFrameLog({ seqMarks: store, seqBlock: 1_000 });
      const resumed = await restarted.since(key, last);
      expect(resumed).toEqual({ frames: [], complete: false, lastSeq: 3_000 });
      expect((await restarted.append(key, 'execution-update', 'e1', null)).seq).toBe(3_001);
      await restarted.close();
    });

    if (backend.name === 'postgres') {
      it('lets Redis logs resume above every seq after a flush and a new process, one durable write per block', async () => {
        const prefix = uniquePrefix('frameseq');
        const key = { tenant: 'acme', projectId: 'redis' };
        const marks = counting(store);
        const first = new RedisFrameLog({ url: REDIS_URL, prefix, seqMarks: marks });
        try {
          let last = 0;
          for (let n = 0; n < 1_500; n++) last = (await first.append(key, 'execution-log', 'e1', { n })).seq;
          expect(last).toBe(1_500);
          expect(marks.reserves).toBe(2);
          await first.close();
          await dropRedisPrefix(prefix); // Redis restarted without its data
          const next = new RedisFrameLog({ url: REDIS_URL, prefix, seqMarks: store });
          try {
            const resumed = await next.since(key, last);
            expect(resumed.complete).toBe(false);
            expect(resumed.lastSeq).toBe(2_000);
            expect((await next.append(key, 'execution-update', 'e1', null)).seq).toBe(2_001);
            expect(await store.mark(key)).toBe(3_000);
          } finally {
            await next.close();
          }
        } finally {
          await first.close().catch(() => {});
          await dropRedisPrefix(prefix);
        }
      });
    }
  });
}
