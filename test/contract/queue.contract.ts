// The Queue contract: every implementation (in-process, BullMQ) must pass these tests unchanged.
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidJobIdError, QueueClosedError, type Consumer, type Queue, type QueueJob, type QueueLog } from '../../src/infra/queue/index.js';
import { eventually } from '../support/services.js';

export interface Payload {
  n: number;
  tag?: string;
}

export interface QueueFixture {
  queue: Queue<Payload>;
  cleanup(): Promise<void>;
}

/** Builds a fresh, empty queue named `name` that reports retries and give-ups to `log`. */
export type MakeQueue = (opts: { name: string; log: QueueLog }) => Promise<QueueFixture>;

interface LogLine {
  level: 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string;
}

function recordingLog(): QueueLog & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    warn: (obj, msg) => lines.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
    error: (obj, msg) => lines.push({ level: 'error', obj: obj as Record<string, unknown>, msg }),
  };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Simulated work: the handler is busy for `ms` (not a wait for some other event). */
const work = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

export function queueContract(implementation: string, make: MakeQueue): void {
  describe(`Queue contract: ${implementation}`, () => {
    const fixtures: QueueFixture[] = [];
    const consumers: Consumer[] = [];
    let counter = 0;

    async function setup() {
      const log = recordingLog();
      const fixture = await make({ name: `contract-${++counter}-${crypto.randomUUID().slice(0, 8)}`, log });
      fixtures.push(fixture);
      return { queue: fixture.queue, log };
    }

    function consume(queue: Queue<Payload>, ...args: Parameters<Queue<Payload>['consume']>): Consumer {
      const consumer = queue.consume(...args);
      consumers.push(consumer);
      return consumer;
    }

    afterEach(async () => {
      await Promise.all(consumers.splice(0).map((c) => c.close(0)));
      await Promise.all(fixtures.splice(0).map((f) => f.cleanup()));
    });

    it('delivers each of 200 jobs exactly once with concurrency 4', async () => {
      const { queue } = await setup();
      const seen = new Map<string, number>();
      consume(queue, async (job) => {
        seen.set(job.id, (seen.get(job.id) ?? 0) + 1);
        await work(1);
      }, { concurrency: 4 });
      const ids = await Promise.all(Array.from({ length: 200 }, (_, n) => queue.enqueue({ n }, { jobId: `job-${n}` })));
      expect(ids).toEqual(Array.from({ length: 200 }, (_, n) => `job-${n}`));
      await eventually(async () => (seen.size === 200 ? true : undefined), 15_000, '200 deliveries');
      expect([...seen.values()].every((count) => count === 1)).toBe(true);
    });

    it('passes the job id, a copy of the data, attempt 1 and the enqueue time to the handler', async () => {
      const { queue } = await setup();
      const jobs: QueueJob<Payload>[] = [];
      consume(queue, async (job) => void jobs.push(job), { concurrency: 1 });
      const data = { n: 7, tag: 'seven' };
      const before = Date.now();
      await queue.enqueue(data, { jobId: 'carrier' });
      const after = Date.now();
      data.tag = 'changed after enqueue';
      const [job] = await eventually(async () => (jobs.length ? jobs : undefined), 5_000, 'the delivery');
      expect(job).toMatchObject({ id: 'carrier', data: { n: 7, tag: 'seven' }, attempt: 1 });
      expect(job!.enqueuedAt).toBeGreaterThanOrEqual(before);
      expect(job!.enqueuedAt).toBeLessThanOrEqual(after);
    });

    it('ignores an enqueue of a job id that is still waiting and returns the same id', async () => {
      const { queue } = await setup();
      expect(await queue.enqueue({ n: 1 }, { jobId: 'dup' })).toBe('dup');
      expect(await queue.enqueue({ n: 2 }, { jobId: 'dup' })).toBe('dup');
      await queue.enqueue({ n: 3 }, { jobId: 'marker-job' });
      const delivered: QueueJob<Payload>[] = [];
      // One at a time, in order: by the time the marker runs, any duplicate would have run before it.
      consume(queue, async (job) => void delivered.push(job), { concurrency: 1 });
      await eventually(async () => (delivered.some((j) => j.id === 'marker-job') ? true : undefined), 5_000, 'the marker');
      expect(delivered.map((j) => [j.id, j.data.n])).toEqual([
        ['dup', 1],
        ['marker-job', 3],
      ]);
    });

    it('ignores an enqueue of a job id that is running', async () => {
      const { queue } = await setup();
      const started = deferred();
      const release = deferred();
      const delivered: string[] = [];
      consume(queue, async (job) => {
        delivered.push(job.id);
        if (job.id === 'busy') {
          started.resolve();
          await release.promise;
        }
      }, { concurrency: 1 });
      await queue.enqueue({ n: 1 }, { jobId: 'busy' });
      await started.promise;
      expect(await queue.enqueue({ n: 2 }, { jobId: 'busy' })).toBe('busy');
      await queue.enqueue({ n: 3 }, { jobId: 'marker-job' });
      release.resolve();
      await eventually(async () => (delivered.includes('marker-job') ? true : undefined), 5_000, 'the marker');
      expect(delivered).toEqual(['busy', 'marker-job']);
    });

    it('delivers a job id again when it is enqueued after its job completed', async () => {
      const { queue } = await setup();
      const delivered: QueueJob<Payload>[] = [];
      consume(queue, async (job) => void delivered.push(job), { concurrency: 1 });
      await queue.enqueue({ n: 1 }, { jobId: 'again' });
      // Jobs run one at a time, so when the marker runs, the first job has completed.
      await queue.enqueue({ n: 0 }, { jobId: 'marker-job' });
      await eventually(async () => (delivered.length === 2 ? true : undefined), 5_000, 'both jobs');
      await queue.enqueue({ n: 2 }, { jobId: 'again' });
      await eventually(async () => (delivered.length === 3 ? true : undefined), 5_000, 'the second run');
      expect(delivered.map((j) => [j.id, j.data.n, j.attempt])).toEqual([
        ['again', 1, 1],
        ['marker-job', 0, 1],
        ['again', 2, 1],
      ]);
      expect(delivered[2]!.enqueuedAt).toBeGreaterThanOrEqual(delivered[0]!.enqueuedAt);
    });

    it('retries a throwing handler with exponential backoff, gives up after maxAttempts, and accepts the id again', async () => {
      const { queue, log } = await setup();
      const starts: Array<{ attempt: number; at: number }> = [];
      const failures: number[] = [];
      const backoffMs = 40;
      consume(queue, async (job) => {
        if (job.id !== 'flaky') return;
        starts.push({ attempt: job.attempt, at: Date.now() });
        if (job.data.n === 1) {
          failures.push(Date.now());
          throw new Error(`boom ${job.attempt}`);
        }
      }, { concurrency: 2, maxAttempts: 3, backoffMs });
      await queue.enqueue({ n: 1 }, { jobId: 'flaky' });
      await eventually(async () => (log.lines.some((l) => l.level === 'error') ? true : undefined), 10_000, 'the give-up');

      expect(starts.map((s) => s.attempt)).toEqual([1, 2, 3]);
      // backoffMs * 2^(attempt-1) after the failed attempt (a few ms of timer granularity allowed).
      expect(starts[1]!.at - failures[0]!).toBeGreaterThanOrEqual(backoffMs - 3);
      expect(starts[2]!.at - failures[1]!).toBeGreaterThanOrEqual(2 * backoffMs - 3);
      expect(log.lines.map((l) => [l.level, l.obj.attempt])).toEqual([
        ['warn', 1],
        ['warn', 2],
        ['error', 3],
      ]);
      expect(log.lines[2]!.obj).toMatchObject({ jobId: 'flaky' });

      // Given up means gone: the id is free, and a new job under it starts again at attempt 1.
      await queue.enqueue({ n: 2 }, { jobId: 'flaky' });
      await eventually(async () => (starts.length === 4 ? true : undefined), 5_000, 'the new job');
      expect(starts[3]!.attempt).toBe(1);
    });

    it('never runs more jobs at once than its concurrency, and does use all of it', async () => {
      const { queue } = await setup();
      let inFlight = 0;
      let maxInFlight = 0;
      let done = 0;
      consume(queue, async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await work(15);
        inFlight--;
        done++;
      }, { concurrency: 3 });
      await Promise.all(Array.from({ length: 15 }, (_, n) => queue.enqueue({ n }, { jobId: `c-${n}` })));
      await eventually(async () => (done === 15 ? true : undefined), 10_000, '15 jobs');
      expect(maxInFlight).toBe(3);
    });

    it('does not deliver a delayed job before its delay', async () => {
      const { queue } = await setup();
      const delivered: Array<{ job: QueueJob<Payload>; at: number }> = [];
      consume(queue, async (job) => void delivered.push({ job, at: Date.now() }), { concurrency: 1 });
      await queue.enqueue({ n: 1 }, { jobId: 'later', delayMs: 200 });
      const [first] = await eventually(async () => (delivered.length ? delivered : undefined), 5_000, 'the delayed job');
      expect(first!.at - first!.job.enqueuedAt).toBeGreaterThanOrEqual(195);
    });

    it('starts a job on an idle consumer within milliseconds of its enqueue', async () => {
      const { queue } = await setup();
      const latencies: number[] = [];
      consume(queue, async (job) => void latencies.push(Date.now() - job.data.n), { concurrency: 1 });
      for (let i = 0; i < 20; i++) {
        await queue.enqueue({ n: Date.now() }, { jobId: `l-${i}` });
        await eventually(async () => (latencies.length === i + 1 ? true : undefined), 5_000, `job ${i}`);
      }
      latencies.sort((a, b) => a - b);
      // The design target is p95 <= 20 ms; this bound only catches polling or a lost wake-up.
      expect(latencies[18]).toBeLessThanOrEqual(50);
    });

    it('close() lets the running job finish and takes no new jobs', async () => {
      const { queue } = await setup();
      const started = deferred();
      let finished = false;
      let signal: AbortSignal | undefined;
      const first: string[] = [];
      const c1 = consume(queue, async (job, s) => {
        first.push(job.id);
        signal = s;
        started.resolve();
        await work(100);
        finished = true;
      }, { concurrency: 2 });
      await queue.enqueue({ n: 1 }, { jobId: 'running' });
      await started.promise;
      await c1.close(5_000);
      expect(finished).toBe(true);
      expect(signal?.aborted).toBe(false);

      await queue.enqueue({ n: 2 }, { jobId: 'after-close' });
      const second: string[] = [];
      consume(queue, async (job) => void second.push(job.id), { concurrency: 1 });
      await eventually(async () => (second.length ? true : undefined), 5_000, 'the job for the new consumer');
      expect(second).toEqual(['after-close']);
      expect(first).toEqual(['running']);
    });

    it('close() past its timeout aborts the signal of a job that never finishes and leaves the job for redelivery', async () => {
      const { queue } = await setup();
      const started = deferred();
      const never = deferred();
      let signal: AbortSignal | undefined;
      const c1 = consume(queue, async (_job, s) => {
        signal = s;
        started.resolve();
        await never.promise; // ignores its signal on purpose
      }, { concurrency: 1 });
      await queue.enqueue({ n: 1 }, { jobId: 'stuck' });
      await started.promise;
      const t0 = performance.now();
      await c1.close(100);
      const elapsed = performance.now() - t0;
      never.resolve();
      expect(signal?.aborted).toBe(true);
      expect(elapsed).toBeGreaterThanOrEqual(95);
      expect(elapsed).toBeLessThan(2_000);

      const redelivered: QueueJob<Payload>[] = [];
      consume(queue, async (job) => void redelivered.push(job), { concurrency: 1 });
      const [job] = await eventually(async () => (redelivered.length ? redelivered : undefined), 10_000, 'the redelivery');
      // An interrupted delivery is not a failure: the attempt number does not move.
      expect(job).toMatchObject({ id: 'stuck', data: { n: 1 }, attempt: 1 });
    });

    it('rejects job ids that BullMQ cannot store (integers, ":", its own key names, empty)', async () => {
      const { queue } = await setup();
      for (const jobId of ['42', 'a:b', 'marker', 'wait', '']) {
        const error = await rejection(queue.enqueue({ n: 1 }, { jobId }));
        expect(error).toBeInstanceOf(InvalidJobIdError);
        expect(error).toMatchObject({ code: 'invalid_job_id', jobId });
      }
      expect(await queue.enqueue({ n: 1 }, { jobId: 'a-42' })).toBe('a-42');
    });

    it('answers ping while the store is up, and rejects enqueue and ping once closed', async () => {
      const { queue } = await setup();
      await expect(queue.ping()).resolves.toBeUndefined();
      await queue.close();
      expect(await rejection(queue.enqueue({ n: 1 }, { jobId: 'late' }))).toBeInstanceOf(QueueClosedError);
      expect(await rejection(queue.ping())).toBeInstanceOf(QueueClosedError);
    });
  });
}
