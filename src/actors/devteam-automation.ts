// The DEVTEAM_AUTOMATION workflow as of the skeleton: runs the event machine with SELECT returning
// the fixed pipeline plan and PREP persisting the initial task_context on the event row.
import { createActor, fromPromise, toPromise } from 'xstate';
import { z } from 'zod';
import {
  eventMachine,
  EVENT_MACHINE_ID,
  EVENT_MACHINE_VERSION,
  type EventMachineInput,
  type Plan,
  type TaskContext,
} from '../machines/index.js';
import type { Workflow, WorkflowResult, WorkflowRun } from './workflow-registry.js';

export const DEVTEAM_AUTOMATION = 'DEVTEAM_AUTOMATION';

/** The pipeline every task goes through (design.md). */
export const PIPELINE = ['select', 'prep', 'implement', 'verify', 'merge', 'push'] as const;

const payloadSchema = z.looseObject({
  taskId: z
    .string()
    .regex(/^\d+(\.\d+)*$/, 'a task id like "1.2"')
    .optional(),
});

export type DevteamAutomationPayload = z.infer<typeof payloadSchema>;

export const devteamAutomation: Workflow<DevteamAutomationPayload> = {
  name: DEVTEAM_AUTOMATION,
  payloadSchema,
  async run(run: WorkflowRun<DevteamAutomationPayload>): Promise<WorkflowResult> {
    const { event, events, log, signal, payload } = run;
    const machine = eventMachine.provide({
      actors: {
        select: fromPromise<Plan, EventMachineInput>(async () => ({
          pipeline: [...PIPELINE],
          taskId: payload.taskId ?? null,
        })),
        prep: fromPromise<TaskContext, { input: EventMachineInput; plan: Plan }>(async ({ input }) => {
          const taskContext: TaskContext = {
            machine: { id: EVENT_MACHINE_ID, version: EVENT_MACHINE_VERSION },
            eventId: input.input.eventId,
            projectId: input.input.projectId,
            correlationId: input.input.correlationId,
            plan: input.plan,
            phase: 'prep',
            preparedAt: new Date().toISOString(),
          };
          if (!(await events.saveTaskContext(event, taskContext as unknown as Record<string, unknown>))) {
            throw new Error('the claim on the event was lost before task_context could be saved');
          }
          return taskContext;
        }),
      },
    });
    const actor = createActor(machine, {
      input: { eventId: event.id, projectId: event.projectId, correlationId: event.correlationId, payload },
    });
    actor.subscribe((snapshot) => log.debug({ state: snapshot.value }, 'event machine transition'));
    // Abort (shutdown, lost claim) stops the actor and its running step.
    let onAbort: () => void = () => {};
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        actor.stop();
        reject(new Error('aborted'));
      };
    });
    aborted.catch(() => {});
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      actor.start();
      const output = await Promise.race([toPromise(actor), aborted]);
      return output.error ? { status: 'failed', reason: output.error } : { status: 'processed' };
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  },
};
