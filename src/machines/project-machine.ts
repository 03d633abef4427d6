// The project machine: the product's behaviour for one automated project. A lifecycle (running,
// paused, stopping, stopped, completed, failed) around the pipeline select → prep → implement →
// verify → merge → push, looping while tasks are ready. Pure: every step is a promise actor
// supplied with .provide(); no timers, so a persisted snapshot resumes anywhere.
import { assign, fromPromise, setup, type SnapshotFrom } from 'xstate';

export const PROJECT_MACHINE_ID = 'devteam-project';
/** Bump when a change makes older persisted snapshots unsafe to load (states renamed, context reshaped). */
export const PROJECT_MACHINE_VERSION = 1;
/** Implement + verify attempts per task: the first and two retries fed with the build errors. */
export const MAX_ATTEMPTS = 3;

export type PipelinePhase = 'select' | 'prep' | 'implement' | 'verify' | 'merge' | 'push';
export type LifecycleStatus = 'running' | 'paused' | 'stopping' | 'stopped' | 'completed' | 'failed';

export interface TaskRef {
  id: string;
  title: string;
}

export interface TaskResult {
  status: 'done' | 'failed';
  attempts: number;
  commit: string | null;
  error: string | null;
  finishedAt: string;
}

export interface ProjectInput {
  projectId: string;
  executionId: string;
}

export interface ProjectContext extends ProjectInput {
  phase: PipelinePhase;
  task: TaskRef | null;
  attempt: number;
  /** Why the last attempt did not pass (build output, "agent changed nothing"): fed to the next prompt. */
  feedback: string | null;
  lastError: string | null;
  progress: { done: number; total: number };
  results: Record<string, TaskResult>;
  branch: string | null;
  commit: string | null;
}

// Step contracts: what each step receives and returns. Expected failures are outputs; a thrown
// error means the step itself broke (and fails the run with its message).
export interface StepInput {
  projectId: string;
  executionId: string;
  task: TaskRef | null;
  attempt: number;
  feedback: string | null;
  branch: string | null;
  done: string[];
  /** Results of finished tasks (e.g. the commits of a task's dependencies, for the prompt). */
  results: Record<string, TaskResult>;
}
export type SelectOutput =
  | { task: TaskRef; progress: { done: number; total: number } }
  | { task: null; reason: 'all_done' | 'blocked'; detail: string; progress: { done: number; total: number } };
export interface PrepOutput {
  branch: string;
}
export interface ImplementOutput {
  changed: boolean;
  files: string[];
  /** Why the attempt produced nothing usable (agent exited non-zero, timed out, changed nothing). */
  failure?: string;
}
export interface VerifyOutput {
  ok: boolean;
  /** The failing command's output (already trimmed by the step) when not ok. */
  output: string;
}
export interface MergeOutput {
  commit: string;
}
export interface PushOutput {
  commit: string;
}

export type ProjectEvent = { type: 'PAUSE' } | { type: 'RESUME' } | { type: 'STOP' };
export type ProjectCommand = 'pause' | 'resume' | 'stop';

export const COMMAND_EVENT: Record<ProjectCommand, ProjectEvent['type']> = { pause: 'PAUSE', resume: 'RESUME', stop: 'STOP' };

function notProvided<TOutput>(step: string) {
  return fromPromise<TOutput, StepInput>(async () => {
    throw new Error(`step "${step}" was not provided to the project machine`);
  });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const stepInput = ({ context }: { context: ProjectContext }): StepInput => ({
  projectId: context.projectId,
  executionId: context.executionId,
  task: context.task,
  attempt: context.attempt,
  feedback: context.feedback,
  branch: context.branch,
  done: Object.entries(context.results)
    .filter(([, r]) => r.status === 'done')
    .map(([id]) => id),
  results: context.results,
});

export const projectMachine = setup({
  types: {
    input: {} as ProjectInput,
    context: {} as ProjectContext,
    events: {} as ProjectEvent,
  },
  actors: {
    select: notProvided<SelectOutput>('select'),
    prep: notProvided<PrepOutput>('prep'),
    implement: notProvided<ImplementOutput>('implement'),
    verify: notProvided<VerifyOutput>('verify'),
    merge: notProvided<MergeOutput>('merge'),
    push: notProvided<PushOutput>('push'),
    cleanup: notProvided<void>('cleanup'),
  },
  guards: {
    attemptsLeft: ({ context }) => context.attempt < MAX_ATTEMPTS,
  },
  actions: {
    enterPhase: assign((_, params: { phase: PipelinePhase }) => ({ phase: params.phase })),
    // Used only on onError transitions, whose event carries the step's error.
    failRun: assign({ lastError: ({ event }) => message((event as unknown as { error: unknown }).error) }),
    recordTaskFailure: assign(({ context }) => {
      const id = context.task?.id;
      if (!id) return {};
      return {
        results: {
          ...context.results,
          [id]: { status: 'failed' as const, attempts: context.attempt, commit: null, error: context.lastError, finishedAt: new Date().toISOString() },
        },
      };
    }),
  },
}).createMachine({
  id: PROJECT_MACHINE_ID,
  context: ({ input }) => ({
    ...input,
    phase: 'select',
    task: null,
    attempt: 0,
    feedback: null,
    lastError: null,
    progress: { done: 0, total: 0 },
    results: {},
    branch: null,
    commit: null,
  }),
  initial: 'running',
  states: {
    running: {
      initial: 'select',
      on: {
        // Leaving `running` stops the invoked step: its AbortSignal fires and its processes die.
        PAUSE: { target: 'paused' },
        STOP: { target: 'stopping' },
      },
      states: {
        // Re-entering through history re-runs the interrupted step from its start (steps are idempotent).
        resume: { type: 'history' },
        select: {
          entry: { type: 'enterPhase', params: { phase: 'select' } },
          invoke: {
            id: 'select',
            src: 'select',
            input: stepInput,
            onDone: [
              {
                guard: ({ event }) => event.output.task !== null,
                target: 'prep',
                actions: assign(({ event }) => ({
                  task: event.output.task,
                  attempt: 1,
                  feedback: null,
                  lastError: null,
                  branch: null,
                  commit: null,
                  progress: event.output.progress,
                })),
              },
              {
                guard: ({ event }) => event.output.task === null && event.output.reason === 'all_done',
                target: '#devteam-project.completed',
                actions: assign(({ event }) => ({ task: null, progress: event.output.progress })),
              },
              {
                target: '#devteam-project.failed',
                actions: assign(({ event }) => ({
                  lastError: event.output.task === null ? event.output.detail : 'no task selected',
                  progress: event.output.progress,
                })),
              },
            ],
            onError: { target: '#devteam-project.failed', actions: 'failRun' },
          },
        },
        prep: {
          entry: { type: 'enterPhase', params: { phase: 'prep' } },
          invoke: {
            id: 'prep',
            src: 'prep',
            input: stepInput,
            onDone: { target: 'implement', actions: assign({ branch: ({ event }) => event.output.branch }) },
            onError: { target: '#devteam-project.failed', actions: ['failRun', 'recordTaskFailure'] },
          },
        },
        implement: {
          entry: { type: 'enterPhase', params: { phase: 'implement' } },
          invoke: {
            id: 'implement',
            src: 'implement',
            input: stepInput,
            onDone: [
              { guard: ({ event }) => event.output.changed, target: 'verify' },
              {
                guard: 'attemptsLeft',
                target: 'implement',
                reenter: true,
                actions: assign(({ context, event }) => ({
                  attempt: context.attempt + 1,
                  feedback: `The previous attempt did not change the repository (${event.output.failure ?? 'no file changed'}). Make the change the task asks for.`,
                  lastError: `attempt ${context.attempt}: ${event.output.failure ?? 'the agent changed nothing'}`,
                })),
              },
              {
                target: '#devteam-project.failed',
                actions: [
                  assign(({ context, event }) => ({
                    lastError: `task ${context.task?.id}: no usable change in ${context.attempt} attempts (last: ${event.output.failure ?? 'the agent changed nothing'})`,
                  })),
                  'recordTaskFailure',
                ],
              },
            ],
            onError: { target: '#devteam-project.failed', actions: ['failRun', 'recordTaskFailure'] },
          },
        },
        verify: {
          entry: { type: 'enterPhase', params: { phase: 'verify' } },
          invoke: {
            id: 'verify',
            src: 'verify',
            input: stepInput,
            onDone: [
              { guard: ({ event }) => event.output.ok, target: 'merge', actions: assign({ feedback: null }) },
              {
                guard: 'attemptsLeft',
                target: 'implement',
                actions: assign(({ context, event }) => ({
                  attempt: context.attempt + 1,
                  feedback: event.output.output,
                  lastError: `attempt ${context.attempt}: verification failed`,
                })),
              },
              {
                target: '#devteam-project.failed',
                actions: [
                  assign(({ context }) => ({ lastError: `task ${context.task?.id}: verification failed after ${context.attempt} attempts` })),
                  'recordTaskFailure',
                ],
              },
            ],
            onError: { target: '#devteam-project.failed', actions: ['failRun', 'recordTaskFailure'] },
          },
        },
        merge: {
          entry: { type: 'enterPhase', params: { phase: 'merge' } },
          invoke: {
            id: 'merge',
            src: 'merge',
            input: stepInput,
            onDone: { target: 'push', actions: assign({ commit: ({ event }) => event.output.commit }) },
            onError: { target: '#devteam-project.failed', actions: ['failRun', 'recordTaskFailure'] },
          },
        },
        push: {
          entry: { type: 'enterPhase', params: { phase: 'push' } },
          invoke: {
            id: 'push',
            src: 'push',
            input: stepInput,
            onDone: {
              target: 'select',
              actions: assign(({ context, event }) => {
                const id = context.task!.id;
                return {
                  results: {
                    ...context.results,
                    [id]: { status: 'done' as const, attempts: context.attempt, commit: event.output.commit, error: null, finishedAt: new Date().toISOString() },
                  },
                  progress: { done: context.progress.done + 1, total: context.progress.total },
                  commit: event.output.commit,
                };
              }),
            },
            onError: { target: '#devteam-project.failed', actions: ['failRun', 'recordTaskFailure'] },
          },
        },
      },
    },
    paused: {
      on: {
        RESUME: { target: '#devteam-project.running.resume' },
        STOP: { target: 'stopping' },
      },
    },
    stopping: {
      invoke: {
        id: 'cleanup',
        src: 'cleanup',
        input: stepInput,
        onDone: { target: 'stopped' },
        // Cleanup that fails still ends the run: stopped is what the user asked for; the reason is kept.
        onError: { target: 'stopped', actions: assign({ lastError: ({ event }) => `cleanup failed: ${message(event.error)}` }) },
      },
    },
    stopped: { type: 'final' },
    completed: { type: 'final' },
    failed: { type: 'final' },
  },
});

export type ProjectSnapshot = SnapshotFrom<typeof projectMachine>;

/** The lifecycle status of a snapshot (the top-level state). */
export function lifecycleOf(snapshot: Pick<ProjectSnapshot, 'value'>): LifecycleStatus {
  const value = snapshot.value;
  return (typeof value === 'string' ? value : Object.keys(value)[0]) as LifecycleStatus;
}

/**
 * Whether a control command is accepted in this snapshot — asked of the machine itself, so the
 * HTTP layer's 409s can never drift from the behaviour.
 */
export function canTransition(snapshot: ProjectSnapshot, command: ProjectCommand): boolean {
  return snapshot.can({ type: COMMAND_EVENT[command] });
}

/** The status projection of a snapshot: what GET /status shows, stored beside each snapshot write. */
export function projectionOf(snapshot: Pick<ProjectSnapshot, 'value' | 'context'>): {
  status: LifecycleStatus;
  phase: PipelinePhase | null;
  currentTask: TaskRef | null;
  progress: { done: number; total: number };
  attempt: number;
  lastError: string | null;
  results: Record<string, TaskResult>;
} {
  const status = lifecycleOf(snapshot);
  const c = snapshot.context;
  const live = status === 'running' || status === 'paused';
  return {
    status,
    phase: live ? c.phase : null,
    currentTask: live ? c.task : null,
    progress: c.progress,
    attempt: c.attempt,
    lastError: c.lastError,
    results: c.results,
  };
}
