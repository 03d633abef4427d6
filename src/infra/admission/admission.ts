// Admission control of one worker: how many builds (VERIFY) and sandbox cold starts run at once,
// each a FairSlots shared by every project this worker drives, so a burst of projects queues for
// the cores instead of thrashing them, and tenants take turns. A wait is logged on the step's
// logger, counted in /metrics, and told to the caller (for the live stream).
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/index.js';
import { FairSlots } from './fair-slots.js';

export const ADMISSION_KINDS = ['build', 'sandbox_start'] as const;
export type AdmissionKind = (typeof ADMISSION_KINDS)[number];

export interface AdmissionOptions {
  /** Builds (all verify commands of one attempt) running at once on this worker. */
  builds: number;
  /** Sandbox starts (docker container creation, bubblewrap set-up) at once on this worker. */
  sandboxStarts: number;
  metrics?: Metrics;
}

export interface AdmissionCall {
  tenant: string;
  signal?: AbortSignal;
  log?: Logger;
  /** Told when the call has to queue: how many are ahead of it (all tenants). */
  onQueued?: (ahead: number) => void;
}

export class Admission {
  private readonly slots: Record<AdmissionKind, FairSlots>;
  private readonly metrics: Metrics | undefined;

  constructor(options: AdmissionOptions) {
    this.metrics = options.metrics;
    this.slots = { build: new FairSlots({ capacity: options.builds }), sandbox_start: new FairSlots({ capacity: options.sandboxStarts }) };
  }

  /** The slots of one kind (for tests and status). */
  of(kind: AdmissionKind): FairSlots {
    return this.slots[kind];
  }

  /** Runs `work` holding a slot of `kind`; queued fairly when none is free. */
  async run<T>(kind: AdmissionKind, call: AdmissionCall, work: () => Promise<T>): Promise<T> {
    const slots = this.slots[kind];
    const queued = slots.full();
    const since = performance.now();
    if (queued) {
      const ahead = slots.waiting();
      call.log?.info({ kind, ahead, capacity: slots.capacity }, 'waiting for a slot');
      call.onQueued?.(ahead);
      this.metrics?.admissionWaiting.inc({ kind });
    }
    let release: () => void;
    try {
      release = await slots.acquire(call.tenant, call.signal);
    } finally {
      // Admitted, or aborted while queued (it never held a slot): either way it no longer waits.
      if (queued) this.metrics?.admissionWaiting.dec({ kind });
    }
    if (queued) {
      const waitedMs = performance.now() - since;
      this.metrics?.admissionWait.observe({ kind }, waitedMs / 1000);
      call.log?.info({ kind, waitedMs: Math.round(waitedMs) }, 'got a slot');
    }
    try {
      return await work();
    } finally {
      release();
    }
  }
}
