// The Kv contract: every implementation (in-process, Redis) must pass these tests unchanged.
import { afterEach, describe, expect, it } from 'vitest';
import type { Kv } from '../../src/infra/kv/index.js';
import { eventually } from '../support/services.js';

export interface KvFixture {
  kv: Kv;
  cleanup(): Promise<void>;
}

export type MakeKv = () => Promise<KvFixture>;

const SHORT_TTL = 150;

export function kvContract(implementation: string, make: MakeKv): void {
  describe(`Kv contract: ${implementation}`, () => {
    const fixtures: KvFixture[] = [];

    async function setup(): Promise<Kv> {
      const fixture = await make();
      fixtures.push(fixture);
      return fixture.kv;
    }

    afterEach(async () => {
      await Promise.all(fixtures.splice(0).map((f) => f.cleanup()));
    });

    it('returns what set stored, and null for a key never set', async () => {
      const kv = await setup();
      await kv.set('idem:1', '{"status":202}', 10_000);
      expect(await kv.get('idem:1')).toBe('{"status":202}');
      expect(await kv.get('idem:missing')).toBeNull();
    });

    it('forgets a record once its ttl has passed', async () => {
      const kv = await setup();
      await kv.set('short', 'v', SHORT_TTL);
      expect(await kv.get('short')).toBe('v');
      await eventually(async () => ((await kv.get('short')) === null ? true : undefined), 5_000, 'the record to expire');
      expect(await kv.get('short')).toBeNull();
    });

    it('replaces the value and the ttl on set', async () => {
      const kv = await setup();
      await kv.set('k', 'old', SHORT_TTL);
      await kv.set('k', 'new', 10_000);
      const setAt = Date.now();
      await eventually(async () => (Date.now() > setAt + SHORT_TTL + 100 ? true : undefined), 5_000, 'the old ttl to pass');
      expect(await kv.get('k')).toBe('new');
    });

    it('sets only an absent key with setIfAbsent, and again once the record expired', async () => {
      const kv = await setup();
      expect(await kv.setIfAbsent('once', 'first', SHORT_TTL)).toBe(true);
      expect(await kv.setIfAbsent('once', 'second', SHORT_TTL)).toBe(false);
      expect(await kv.get('once')).toBe('first');
      await eventually(async () => ((await kv.setIfAbsent('once', 'third', 10_000)) ? true : undefined), 5_000, 'the record to expire');
      expect(await kv.get('once')).toBe('third');
    });

    it('lets exactly one of 50 concurrent setIfAbsent calls on one key win, and keeps its value', async () => {
      const kv = await setup();
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => kv.setIfAbsent('race', `writer-${i}`, 10_000)));
      const winners = results.flatMap((won, i) => (won ? [i] : []));
      expect(winners).toHaveLength(1);
      expect(await kv.get('race')).toBe(`writer-${winners[0]}`);
    });

    it('removes a record on delete, which makes setIfAbsent succeed again', async () => {
      const kv = await setup();
      await kv.set('gone', 'v', 10_000);
      await kv.delete('gone');
      await kv.delete('never-set');
      expect(await kv.get('gone')).toBeNull();
      expect(await kv.setIfAbsent('gone', 'back', 10_000)).toBe(true);
    });
  });
}
