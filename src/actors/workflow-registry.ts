// Workflows resolved by the event `type` they handle (e.g. DEVTEAM_AUTOMATION). Unknown types are
// not an exception: the worker records the event as failed with the reason.
import type { z } from 'zod';
import type { Logger } from '../infra/log.js';
import type { ClaimedEvent, EventsStore } from '../infra/db/index.js';

export interface WorkflowRun<P> {
  event: ClaimedEvent;
  payload: P;
  log: Logger;
  signal: AbortSignal;
  events: EventsStore;
  /**
   * The work the event asked for has begun (for DEVTEAM_AUTOMATION: the project's actor is started):
   * the queue latency (enqueue → here) is measured at this moment, or at the end if never called.
   */
  started(): void;
}

/** Expected outcomes are results; exceptions are for the unexpected (and get retried). */
export type WorkflowResult = { status: 'processed' } | { status: 'failed'; reason: string };

export interface Workflow<P = unknown> {
  readonly name: string;
  readonly payloadSchema: z.ZodType<P>;
  run(run: WorkflowRun<P>): Promise<WorkflowResult>;
}

export class WorkflowRegistry {
  private readonly workflows = new Map<string, Workflow<unknown>>();

  register<P>(workflow: Workflow<P>): this {
    if (this.workflows.has(workflow.name)) throw new Error(`workflow ${workflow.name} is already registered`);
    this.workflows.set(workflow.name, workflow as Workflow<unknown>);
    return this;
  }

  resolve(name: string): Workflow<unknown> | undefined {
    return this.workflows.get(name);
  }

  names(): string[] {
    return [...this.workflows.keys()].sort();
  }
}
