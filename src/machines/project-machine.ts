// The project machine: the product's behaviour for one automated project. A lifecycle (running,
// paused, stopping, stopped, completed, failed) around the pipeline select → prep → implement →
// verify → merge → push, looping while tasks are ready. A failed run can be resumed in place: back to
// SELECT, its failed task with a fresh budget of attempts (decision 0025). Pure: every step is a promise actor
// supplied with .provide() (stamped by the host, see stamped-step.ts); no timers, no clock, so a
// persisted snapshot resumes anywhere and transition(snapshot, event) is a function.
import { assign, fromPromise, setup } from 'xstate';
import { addUsage, type AgentUsage } from '../project/index.js';
import { failureReasonOf } from './failure-reasons.js';
import { initialContext, NO_TASK, type ProjectContext, type ProjectInput } from './project-context.js';
import { messageOf, stampOfFailure } from './stamped-step.js';
import type {
  ImplementOutput,
  MergeOutput,
  PipelinePhase,
  PrepOutput,
  PushOutput,
  SelectOutput,
  Stamp,
  Stamped,
  StepInput,
  StepName,
  StepOutputs,
  TaskResult,
  VerifyOutput,
} from './step-contracts.js';

export const PROJECT_MACHINE_ID = 'devteam-project';
/** Bump when a change makes older persisted snapshots unsafe to load (states renamed, context reshaped). */
export const PROJECT_MACHINE_VERSION = 1;
/** Implement + verify attempts per task: the first and two retries fed with the build errors. */
export const MAX_ATTEMPTS = 3;

export type ProjectEvent = { type: 'PAUSE' } | { type: 'RESUME' } | { type: 'STOP' };
export type ProjectCommand = 'pause' | 'resume' | 'stop';

export const COMMAND_EVENT: Record<ProjectCommand, ProjectEvent['type']> = { pause: 'PAUSE', resume: 'RESUME', stop: 'STOP' };

// Placeholders that fail loudly: production and tests always supply real steps via .provide().
function notProvided<TName extends StepName>(step: TName) {
  return fromPromise<Stamped<StepOutputs[TName]>, StepInput>(async () => {
    throw new Error(`step "${step}" was not provided to the project machine`);
  });
}

/** What every step is given: the task at hand, its attempt and feedback, and what is done so far. */
function stepInput({ context }: { context: ProjectContext }): StepInput {
  return {
    projectId: context.projectId,
    executionId: context.executionId,
    task: context.task,
    attempt: context.attempt,
    attemptsBefore: attemptsBefore(context),
    feedback: context.feedback,
    branch: context.branch,
    // A task found merged (skipped) is as done as one this execution merged.
    done: Object.entries(context.results)
      .filter(([, r]) => r.status !== 'failed')
      .map(([id]) => id),
    results: context.results,
  };
}

/** Attempts the current task spent before its budget was renewed by resuming the failed run (0 if never). */
function attemptsBefore(context: ProjectContext): number {
  const id = context.task?.id;
  return id ? (context.attemptsBefore?.[id] ?? 0) : 0;
}

/** Attempts the current task has spent of its budget of MAX_ATTEMPTS. */
const spent = (context: ProjectContext) => context.attempt - attemptsBefore(context);

/**
 * Resuming a failed run: each failed task's result is cleared and the attempts it spent are kept
 * aside, so its next attempt is numbered on (journal keys, artifacts and attempt refs stay unique)
 * with a whole budget. The results of the other tasks stay.
 */
function reopenedFailures(context: ProjectContext): Pick<ProjectContext, 'results' | 'attemptsBefore'> {
  const results: Record<string, TaskResult> = {};
  const before = { ...context.attemptsBefore };
  for (const [id, result] of Object.entries(context.results)) {
    if (result.status === 'failed') before[id] = result.attempts;
    else results[id] = result;
  }
  return { results, attemptsBefore: before };
}

const unchangedReason = (o: ImplementOutput) => o.failure ?? 'the agent changed nothing';

/** What the next attempt is told about the one that produced nothing usable. */
function unchangedFeedback(o: ImplementOutput): string {
  if (o.reason === 'stalled') return `The previous attempt was stopped as stalled (${o.failure ?? 'no output and no file change'}). Work without long silent pauses, and make the change the task asks for.`;
  return `The previous attempt did not change the repository (${o.failure ?? 'no file changed'}). Make the change the task asks for.`;
}

/** The task's usage in its result, when any attempt reported one (results of older builds have none). */
const usageOf = (u: AgentUsage | null | undefined) => (u ? { usage: u } : {});

/** The results of the tasks SELECT found already merged: skipped, at the time SELECT finished. */
export function skippedResults(o: Stamped<SelectOutput>): Record<string, TaskResult> {
  const skipped = (o.skipped ?? []).map((t) => [t.id, { status: 'skipped', reason: 'already_merged', attempts: 0, commit: t.commit, error: null, finishedAt: o.at }] as const);
  return Object.fromEntries(skipped);
}

/** The steps both project machines invoke by name; production and tests provide them. */
export const STEP_PLACEHOLDERS = {
  select: notProvided('select'),
  prep: notProvided('prep'),
  implement: notProvided('implement'),
  verify: notProvided('verify'),
  merge: notProvided('merge'),
  push: notProvided('push'),
  cleanup: notProvided('cleanup'),
};

export const projectSetup = setup({
  types: {
    input: {} as ProjectInput,
    context: {} as ProjectContext,
    events: {} as ProjectEvent,
  },
  actors: STEP_PLACEHOLDERS,
  guards: {
    hasTask: (_, o: SelectOutput) => o.task !== null,
    allDone: (_, o: SelectOutput) => o.task === null && o.reason === 'all_done',
    changed: (_, o: ImplementOutput) => o.changed,
    // The run's or the task's budget is spent: no further attempt, whatever the attempt changed.
    overBudget: (_, o: ImplementOutput) => o.reason === 'budget_exceeded',
    verified: (_, o: VerifyOutput) => o.ok,
    // The agent's last change did not move the build at all: a next attempt would be paid for the same
    // error. Only asked while attempts are left: a last attempt that fails is verify_failed either way.
    sameErrorAgain: ({ context }, o: VerifyOutput) => spent(context) < MAX_ATTEMPTS && o.fingerprint !== undefined && o.fingerprint === context.fingerprint,
    attemptsLeft: ({ context }) => spent(context) < MAX_ATTEMPTS,
  },
  actions: {
    enterPhase: assign((_, params: { phase: PipelinePhase }) => ({ phase: params.phase })),
    startTask: assign(({ context }, o: SelectOutput) => ({
      task: o.task,
      attempt: (o.task ? (context.attemptsBefore?.[o.task.id] ?? 0) : 0) + 1,
      feedback: null,
      lastError: null,
      reason: null,
      fingerprint: null,
      taskUsage: null,
      branch: null,
      commit: null,
      progress: o.progress,
    })),
    recordSkipped: assign(({ context }, o: Stamped<SelectOutput>) => ({ results: { ...context.results, ...skippedResults(o) } })),
    recordAllDone: assign((_, o: SelectOutput) => ({ task: null, progress: o.progress })),
    failBlocked: assign((_, o: SelectOutput) => ({ lastError: o.task === null ? o.detail : 'no task selected', reason: null, progress: o.progress })),
    recordBranch: assign((_, o: PrepOutput) => ({ branch: o.branch })),
    retryUnchanged: assign(({ context }, o: ImplementOutput) => ({
      attempt: context.attempt + 1,
      feedback: unchangedFeedback(o),
      lastError: `attempt ${context.attempt}: ${unchangedReason(o)}`,
    })),
    failUnchanged: assign(({ context }, o: ImplementOutput) => ({
      lastError: `task ${context.task?.id}: no usable change in ${context.attempt} attempts (last: ${unchangedReason(o)})`,
      reason: o.reason ?? 'no_change',
    })),
    failOverBudget: assign(({ context }, o: ImplementOutput) => ({
      lastError: `task ${context.task?.id}: attempt ${context.attempt} stopped: ${o.failure ?? 'the budget is spent'}`,
      reason: 'budget_exceeded' as const,
    })),
    // Every attempt's usage counts, whatever its outcome: the execution's and the task's sums.
    recordUsage: assign(({ context }, o: ImplementOutput) =>
      o.usage ? { usage: addUsage(context.usage, o.usage), taskUsage: addUsage(context.taskUsage, o.usage) } : {},
    ),
    clearFeedback: assign({ feedback: null }),
    retryWithFeedback: assign(({ context }, o: VerifyOutput) => ({
      attempt: context.attempt + 1,
      feedback: o.output,
      lastError: `attempt ${context.attempt}: verification failed`,
      fingerprint: o.fingerprint ?? null,
    })),
    failVerification: assign(({ context }, o: VerifyOutput) => ({
      lastError: `task ${context.task?.id}: verification failed after ${context.attempt} attempts${o.stalled ? ' (the last build stalled)' : ''}`,
      reason: o.stalled ? ('stalled' as const) : ('verify_failed' as const),
    })),
    failRepeatedError: assign(({ context }) => ({
      lastError: `task ${context.task?.id}: attempt ${context.attempt} failed the build with the same error as the attempt before; not retried`,
      reason: 'same_error_repeated' as const,
    })),
    recordMerge: assign((_, o: MergeOutput) => ({ commit: o.commit })),
    recordTaskDone: assign(({ context }, o: Stamped<PushOutput>) => ({
      results: {
        ...context.results,
        [context.task!.id]: { status: 'done' as const, attempts: context.attempt, commit: o.commit, error: null, finishedAt: o.at, ...usageOf(context.taskUsage) },
      },
      progress: { done: context.progress.done + 1, total: context.progress.total },
      commit: o.commit,
    })),
    failRun: assign((_, error: unknown) => ({ lastError: messageOf(error), reason: failureReasonOf(error) })),
    recordTaskFailure: assign(({ context }, stamp: Stamp) => {
      const id = context.task?.id;
      if (!id) return {};
      return {
        results: {
          ...context.results,
          [id]: {
            status: 'failed' as const,
            ...(context.reason ? { reason: context.reason } : {}),
            attempts: context.attempt,
            commit: null,
            error: context.lastError,
            finishedAt: stamp.at,
            ...usageOf(context.taskUsage),
          },
        },
      };
    }),
    reopenFailedRun: assign(({ context }) => ({
      ...reopenedFailures(context),
      resumes: (context.resumes ?? 0) + 1,
      ...NO_TASK,
    })),
    recordCleanupFailure: assign((_, error: unknown) => ({ lastError: `cleanup failed: ${messageOf(error)}` })),
  },
});

// Params of the guards and actions above, taken from the event being handled.
const output = <T>({ event }: { event: { output: T } }): T => event.output;
const failure = ({ event }: { event: { error: unknown } }): unknown => event.error;
const failureStamp = ({ event }: { event: { error: unknown } }): Stamp => stampOfFailure(event.error);

/** A step that throws fails the run with its message, and the task it was working on. */
const stepBroke = {
  target: '#devteam-project.failed',
  actions: [
    { type: 'failRun', params: failure },
    { type: 'recordTaskFailure', params: failureStamp },
  ],
} as const;

/**
 * A pipeline state: record the phase, invoke the step of the same name with the step input, and
 * handle its result (`onDone`) or its throw (`onError`, by default `stepBroke`).
 */
function step<const TName extends PipelinePhase, const TDone, const TError = typeof stepBroke>(name: TName, on: { onDone: TDone; onError?: TError }) {
  return {
    entry: { type: 'enterPhase', params: { phase: name } },
    invoke: { id: name, src: name, input: stepInput, onDone: on.onDone, onError: (on.onError ?? stepBroke) as TError },
  } as const;
}

export const projectMachine = projectSetup.createMachine({
  id: PROJECT_MACHINE_ID,
  context: ({ input }) => initialContext(input),
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
        select: step('select', {
          onDone: [
            // Whatever comes next, the tasks found already merged are recorded first.
            {
              guard: { type: 'hasTask', params: output },
              target: 'prep',
              actions: [
                { type: 'recordSkipped', params: output },
                { type: 'startTask', params: output },
              ],
            },
            {
              guard: { type: 'allDone', params: output },
              target: '#devteam-project.completed',
              actions: [
                { type: 'recordSkipped', params: output },
                { type: 'recordAllDone', params: output },
              ],
            },
            {
              target: '#devteam-project.failed',
              actions: [
                { type: 'recordSkipped', params: output },
                { type: 'failBlocked', params: output },
              ],
            },
          ],
          // Nothing is being worked on yet: no task to fail.
          onError: { target: '#devteam-project.failed', actions: { type: 'failRun', params: failure } },
        }),
        prep: step('prep', {
          onDone: { target: 'implement', actions: { type: 'recordBranch', params: output } },
        }),
        implement: step('implement', {
          onDone: [
            {
              guard: { type: 'overBudget', params: output },
              target: '#devteam-project.failed',
              actions: [
                { type: 'recordUsage', params: output },
                { type: 'failOverBudget', params: output },
                { type: 'recordTaskFailure', params: output },
              ],
            },
            { guard: { type: 'changed', params: output }, target: 'verify', actions: { type: 'recordUsage', params: output } },
            {
              guard: 'attemptsLeft',
              target: 'implement',
              reenter: true,
              actions: [
                { type: 'recordUsage', params: output },
                { type: 'retryUnchanged', params: output },
              ],
            },
            {
              target: '#devteam-project.failed',
              actions: [
                { type: 'recordUsage', params: output },
                { type: 'failUnchanged', params: output },
                { type: 'recordTaskFailure', params: output },
              ],
            },
          ],
        }),
        verify: step('verify', {
          onDone: [
            { guard: { type: 'verified', params: output }, target: 'merge', actions: 'clearFeedback' },
            {
              guard: { type: 'sameErrorAgain', params: output },
              target: '#devteam-project.failed',
              actions: ['failRepeatedError', { type: 'recordTaskFailure', params: output }],
            },
            { guard: 'attemptsLeft', target: 'implement', actions: { type: 'retryWithFeedback', params: output } },
            {
              target: '#devteam-project.failed',
              actions: [
                { type: 'failVerification', params: output },
                { type: 'recordTaskFailure', params: output },
              ],
            },
          ],
        }),
        merge: step('merge', {
          onDone: { target: 'push', actions: { type: 'recordMerge', params: output } },
        }),
        push: step('push', {
          onDone: { target: 'select', actions: { type: 'recordTaskDone', params: output } },
        }),
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
        onError: { target: 'stopped', actions: { type: 'recordCleanupFailure', params: failure } },
      },
    },
    stopped: { type: 'final' },
    completed: { type: 'final' },
    // Not final: `resume` goes back to SELECT, which picks the failed task again (or what the fixed
    // task list now says) with a fresh budget of attempts; the other results stay.
    failed: {
      on: {
        RESUME: { target: '#devteam-project.running.select', actions: 'reopenFailedRun' },
      },
    },
  },
});
