// The Bus contract: every implementation (in-process, Redis pub/sub) must pass these tests unchanged.
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus } from '../../src/infra/bus/index.js';
import { eventually } from '../support/services.js';

export interface BusFixture {
  bus: Bus;
  cleanup(): Promise<void>;
}

export type MakeBus = () => Promise<BusFixture>;

export function busContract(implementation: string, make: MakeBus): void {
  describe(`Bus contract: ${implementation}`, () => {
    const fixtures: BusFixture[] = [];

    async function setup(): Promise<Bus> {
      const fixture = await make();
      fixtures.push(fixture);
      return fixture.bus;
    }

    afterEach(async () => {
      await Promise.all(fixtures.splice(0).map((f) => f.cleanup()));
    });

    it('delivers every message published after subscribe to every subscriber, in publish order', async () => {
      const bus = await setup();
      const a: string[] = [];
      const b: string[] = [];
      await bus.subscribe('orders', (m) => void a.push(m));
      await bus.subscribe('orders', (m, channel) => void b.push(`${channel}/${m}`));
      const sent = Array.from({ length: 100 }, (_, i) => `m${i}`);
      for (const m of sent) await bus.publish('orders', m);
      await eventually(async () => (a.length === 100 && b.length === 100 ? true : undefined), 5_000, '100 messages twice');
      expect(a).toEqual(sent);
      expect(b).toEqual(sent.map((m) => `orders/${m}`));
    });

    it('keeps order for messages published without awaiting each publish', async () => {
      const bus = await setup();
      const got: string[] = [];
      await bus.subscribe('burst', (m) => void got.push(m));
      const sent = Array.from({ length: 200 }, (_, i) => `b${i}`);
      await Promise.all(sent.map((m) => bus.publish('burst', m)));
      await eventually(async () => (got.length === 200 ? true : undefined), 5_000, '200 messages');
      expect(got).toEqual(sent);
    });

    it('keeps delivering to the other handlers, and to itself, when a handler throws', async () => {
      const bus = await setup();
      const thrower: string[] = [];
      const other: string[] = [];
      await bus.subscribe('fragile', (m) => {
        thrower.push(m);
        throw new Error(`handler failed on ${m}`);
      });
      await bus.subscribe('fragile', (m) => void other.push(m));
      await bus.publish('fragile', 'one');
      await bus.publish('fragile', 'two');
      await eventually(async () => (other.length === 2 ? true : undefined), 5_000, 'both messages');
      expect(other).toEqual(['one', 'two']);
      expect(thrower).toEqual(['one', 'two']);
    });

    it('stops delivering to a handler once it unsubscribed, and only to that handler', async () => {
      const bus = await setup();
      const leaving: string[] = [];
      const staying: string[] = [];
      const unsubscribe = await bus.subscribe('room', (m) => void leaving.push(m));
      await bus.subscribe('room', (m) => void staying.push(m));
      await bus.publish('room', 'before');
      await eventually(async () => (leaving.length === 1 && staying.length === 1 ? true : undefined), 5_000, 'the first message');
      await unsubscribe();
      await unsubscribe(); // a second call is harmless
      await bus.publish('room', 'after');
      // Both handlers hang off one subscription: when `staying` has it, `leaving` would have too.
      await eventually(async () => (staying.length === 2 ? true : undefined), 5_000, 'the second message');
      expect(staying).toEqual(['before', 'after']);
      expect(leaving).toEqual(['before']);
    });

    it('does not deliver what was published while nobody listened, and delivers again after a new subscribe', async () => {
      const bus = await setup();
      const first: string[] = [];
      const unsubscribe = await bus.subscribe('quiet', (m) => void first.push(m));
      await unsubscribe();
      await bus.publish('quiet', 'lost');
      const second: string[] = [];
      await bus.subscribe('quiet', (m) => void second.push(m));
      await bus.publish('quiet', 'heard');
      await eventually(async () => (second.length > 0 ? true : undefined), 5_000, 'the message after resubscribing');
      expect(second).toEqual(['heard']);
      expect(first).toEqual([]);
    });

    it('keeps channels apart', async () => {
      const bus = await setup();
      const red: string[] = [];
      const blue: string[] = [];
      await bus.subscribe('red', (m) => void red.push(m));
      await bus.subscribe('blue', (m) => void blue.push(m));
      await bus.publish('red', 'r1');
      await bus.publish('blue', 'b1');
      await bus.publish('red', 'r2');
      await eventually(async () => (red.length === 2 && blue.length === 1 ? true : undefined), 5_000, 'three messages');
      expect(red).toEqual(['r1', 'r2']);
      expect(blue).toEqual(['b1']);
    });

    it('answers ping', async () => {
      const bus = await setup();
      await expect(bus.ping()).resolves.toBeUndefined();
    });
  });
}
