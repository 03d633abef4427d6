// Admission slots of one worker: bounded, a queue rather than a failure, fair across tenants, and
// a queued caller that is paused or stopped leaves the queue without ever holding a slot.
import { describe, expect, it } from 'vitest';
import { Admission, FairSlots, type Release } from '../../src/infra/admission/index.js';
import { Metrics } from '../../src/infra/metrics/index.js';

/** Lets queued promise callbacks run. */
const settle = () => new Promise((r) => setImmediate(r));

describe('FairSlots', () => {
  it('never has more holders than slots; the rest wait', async () => {
    const slots = new FairSlots({ capacity: 2 });
    let running = 0;
    let peak = 0;
    const gates: Array<() => void> = [];
    const jobs = Array.from({ length: 6 }, () =>
      slots.run('a', undefined, async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((r) => gates.push(r));
        running--;
      }),
    );
    await settle();
    expect(running).toBe(2);
    expect(slots.waiting()).toBe(4);
    while (gates.length) {
      gates.shift()!();
      await settle();
    }
    await Promise.all(jobs);
    expect(peak).toBe(2);
    expect(slots.inUse()).toBe(0);
  });

  it("a tenant with one build gets a slot before another tenant's queue of fifty drains", async () => {
    const slots = new FairSlots({ capacity: 2 });
    const order: string[] = [];
    const held: Release[] = [await slots.acquire('a'), await slots.acquire('a')];
    const waits: Array<Promise<void>> = [];
    for (let i = 0; i < 50; i++) waits.push(slots.acquire('a').then((r) => void (order.push(`a${i}`), held.push(r))));
    // B's one project asks after all fifty of A's.
    waits.push(slots.acquire('b').then((r) => void (order.push('b'), held.push(r))));
    await settle();
    // Free slots one at a time, as builds finish.
    while (order.length < 51) {
      held.shift()!();
      await settle();
    }
    await Promise.all(waits);
    // A's first waiter was ahead in the turn order; B comes right after it, not after 50.
    expect(order.indexOf('b')).toBe(1);
    expect(order.filter((x) => x !== 'b')).toEqual(Array.from({ length: 50 }, (_, i) => `a${i}`));
  });

  it('takes tenants in turn when several wait', async () => {
    const slots = new FairSlots({ capacity: 1 });
    const held: Release[] = [await slots.acquire('x')];
    const order: string[] = [];
    const waits = ['a', 'a', 'a', 'b', 'b', 'c'].map((t) => slots.acquire(t).then((r) => void (order.push(t), held.push(r))));
    while (order.length < 6) {
      held.shift()!();
      await settle();
    }
    await Promise.all(waits);
    expect(order).toEqual(['a', 'b', 'c', 'a', 'b', 'a']);
  });

  it('a queued caller whose signal aborts (pause, stop) leaves the queue with the reason and never holds a slot', async () => {
    const slots = new FairSlots({ capacity: 1 });
    const first = await slots.acquire('a');
    const pause = new AbortController();
    const queued = slots.acquire('b', pause.signal);
    const next = slots.acquire('c');
    expect(slots.waiting()).toBe(2);
    pause.abort(new Error('paused'));
    await expect(queued).rejects.toThrow('paused');
    expect(slots.waiting()).toBe(1);
    first();
    const r = await next;
    expect(slots.inUse()).toBe(1);
    r();
    r();
    expect(slots.inUse()).toBe(0);
    await expect(slots.acquire('d', AbortSignal.abort(new Error('stopped')))).rejects.toThrow('stopped');
  });
});

describe('Admission', () => {
  it('shows a wait in /metrics and to the caller, and the gauge returns to 0', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const admission = new Admission({ builds: 1, sandboxStarts: 1, metrics });
    let open!: () => void;
    const first = admission.run('build', { tenant: 'a' }, () => new Promise<void>((r) => (open = r)));
    const told: number[] = [];
    const second = admission.run('build', { tenant: 'b', onQueued: (ahead) => told.push(ahead) }, async () => 'built');
    await settle();
    expect(told).toEqual([0]);
    expect(await metrics.text()).toMatch(/devteam_admission_waiting\{kind="build"\} 1/);
    // Sandbox starts have their own slots: not held up by the build.
    await expect(admission.run('sandbox_start', { tenant: 'a' }, async () => 'started')).resolves.toBe('started');
    open();
    await first;
    await expect(second).resolves.toBe('built');
    const text = await metrics.text();
    expect(text).toMatch(/devteam_admission_waiting\{kind="build"\} 0/);
    expect(text).toMatch(/devteam_admission_wait_seconds_count\{kind="build"\} 1/);
  });
});
