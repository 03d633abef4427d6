// The skeleton workflow machine for an event: SELECT picks the plan, PREP builds and persists the
// initial task_context. Pure definition: the steps are promise actors supplied with .provide().
import { assign, fromPromise, setup } from 'xstate';

export const EVENT_MACHINE_ID = 'devteam-event';
export const EVENT_MACHINE_VERSION = 1;

export interface EventMachineInput {
  eventId: string;
  projectId: string;
  correlationId: string;
  payload: Record<string, unknown>;
}

/** What SELECT decides: the ordered pipeline and the first task to work on (null: none yet). */
export interface Plan {
  pipeline: string[];
  taskId: string | null;
}

export interface TaskContext {
  machine: { id: string; version: number };
  eventId: string;
  projectId: string;
  correlationId: string;
  plan: Plan;
  phase: 'prep';
  preparedAt: string;
}

interface Context extends EventMachineInput {
  plan: Plan | null;
  taskContext: TaskContext | null;
  error: string | null;
}

// Placeholders that fail loudly: production and tests always supply real steps via .provide().
function notProvided<TOutput, TInput>(step: string) {
  return fromPromise<TOutput, TInput>(async () => {
    throw new Error(`step "${step}" was not provided to the machine`);
  });
}

export const eventMachine = setup({
  types: {
    input: {} as EventMachineInput,
    context: {} as Context,
    output: {} as { taskContext: TaskContext | null; error: string | null },
  },
  actors: {
    select: notProvided<Plan, EventMachineInput>('select'),
    prep: notProvided<TaskContext, { input: EventMachineInput; plan: Plan }>('prep'),
  },
}).createMachine({
  id: EVENT_MACHINE_ID,
  context: ({ input }) => ({ ...input, plan: null, taskContext: null, error: null }),
  initial: 'select',
  states: {
    select: {
      invoke: {
        src: 'select',
        input: ({ context }) => ({
          eventId: context.eventId,
          projectId: context.projectId,
          correlationId: context.correlationId,
          payload: context.payload,
        }),
        onDone: { target: 'prep', actions: assign({ plan: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: assign({ error: ({ event }) => describe(event.error) }) },
      },
    },
    prep: {
      invoke: {
        src: 'prep',
        input: ({ context }) => ({
          input: {
            eventId: context.eventId,
            projectId: context.projectId,
            correlationId: context.correlationId,
            payload: context.payload,
          },
          plan: context.plan!,
        }),
        onDone: { target: 'prepared', actions: assign({ taskContext: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: assign({ error: ({ event }) => describe(event.error) }) },
      },
    },
    prepared: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }) => ({ taskContext: context.taskContext, error: context.error }),
});

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
