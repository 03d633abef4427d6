// The project machine for parallelism k > 1 (decision 0028): the same lifecycle as the flat machine
// (running, paused, stopping, stopped, completed, failed) around a parallel state of a scheduler
// and MAX_PARALLELISM lanes, of which the first k get tasks. The scheduler SELECTs every ready task
// not running and hands one to each free lane; a lane runs prep → implement → verify, waits in the
// merge queue, merges (rebased onto the latest base), is verified again when the base moved since
// its verification, and pushes. A conflict or a failing re-verify sends the task back to implement
// on the new base. A failed run resumes in place as the flat machine's does (decision 0025). Pure, like the flat machine: steps come through .provide(), times in outputs.
import { assign, setup } from 'xstate';
import { addUsage, MAX_PARALLELISM } from '../project/index.js';
import { initialParallelContext, type LanePhase, type ParallelContext, type ParallelInput } from './parallel-context.js';
import * as L from './parallel-lanes.js';
import { MAX_ATTEMPTS, PROJECT_MACHINE_ID, skippedResults, STEP_PLACEHOLDERS, type ProjectEvent } from './project-machine.js';
import { messageOf, stampOfFailure } from './stamped-step.js';
import { failureReasonOf } from './failure-reasons.js';
import type { ImplementOutput, MergeOutput, PrepOutput, PushOutput, SelectOutput, Stamp, Stamped, StepName, VerifyOutput } from './step-contracts.js';

type Ctx = { context: ParallelContext };
type Lane = { lane: number };
type Out<T> = Lane & { output: T };

export const parallelSetup = setup({
  types: {
    input: {} as ParallelInput,
    context: {} as ParallelContext,
    events: {} as ProjectEvent,
  },
  // The same step names (and placeholders) as the flat machine: production provides both alike.
  actors: STEP_PLACEHOLDERS,
  guards: {
    // The scheduler
    halted: ({ context }: Ctx) => context.halted,
    quiet: ({ context }: Ctx) => L.quiet(context),
    haltedAndQuiet: ({ context }: Ctx) => context.halted && L.quiet(context),
    selectWanted: ({ context }: Ctx) => !context.halted && context.selectDue && L.freeLanes(context).length > 0,
    hasReady: (_, o: SelectOutput) => L.readyTasks(o).length > 0,
    stale: ({ context }: Ctx) => context.finished !== context.selectFor,
    allDoneAndQuiet: ({ context }: Ctx, o: SelectOutput) => o.task === null && o.reason === 'all_done' && L.quiet(context),
    // A lane
    laneAssigned: ({ context }: Ctx, p: Lane) => context.lanes[p.lane] != null,
    mergeTurn: ({ context }: Ctx, p: Lane) => context.mergeQueue[0] === p.lane,
    changed: (_, p: Out<ImplementOutput>) => p.output.changed,
    // A budget crossed: another attempt would only be refused again (decision 0026).
    overBudget: (_, p: Out<ImplementOutput>) => p.output.reason === 'budget_exceeded',
    attemptsLeft: ({ context }: Ctx, p: Lane) => L.attemptsLeft(context, p.lane),
    verified: (_, p: Out<VerifyOutput>) => p.output.ok,
    sameErrorAgain: ({ context }: Ctx, p: Out<VerifyOutput>) => L.sameErrorAgain(context, p.lane, p.output),
    conflictWithAttemptsLeft: ({ context }: Ctx, p: Out<MergeOutput>) => p.output.conflict !== undefined && L.attemptsLeft(context, p.lane),
    conflicted: (_, p: Out<MergeOutput>) => p.output.conflict !== undefined,
    baseMovedSinceVerified: ({ context }: Ctx, p: Out<MergeOutput>) => p.output.base !== undefined && p.output.base !== L.laneOf(context, p.lane).verifiedBase,
    baseMovedSincePushStarted: (_, p: Out<PushOutput>) => p.output.moved === true,
  },
  actions: {
    // The scheduler
    beginSelect: assign(({ context }: Ctx) => ({ selectFor: context.finished })),
    recordSkipped: assign(({ context }: Ctx, o: Stamped<SelectOutput>) => ({ results: { ...context.results, ...skippedResults(o) } })),
    assignTasks: assign(({ context }: Ctx, o: SelectOutput) => L.assignTasks(context, o)),
    recordAllDone: assign((_, o: SelectOutput) => ({ progress: o.progress })),
    failBlocked: assign((_, o: SelectOutput) => ({ lastError: o.task === null ? o.detail : 'no task selected', progress: o.progress })),
    waitForLanes: assign({ selectDue: false }),
    failSelect: assign(({ context }: Ctx, error: unknown) => (context.halted ? {} : { lastError: messageOf(error), reason: failureReasonOf(error), halted: true })),
    // A lane
    enterLanePhase: assign(({ context }: Ctx, p: Lane & { phase: LanePhase }) => L.enterPhase(context, p.lane, p.phase)),
    recordBranch: assign(({ context }: Ctx, p: Out<PrepOutput>) => ({ lanes: L.patchLane(context, p.lane, { branch: p.output.branch }) })),
    recordUsage: assign(({ context }: Ctx, p: Out<ImplementOutput>) => (p.output.usage ? { usage: addUsage(context.usage ?? null, p.output.usage) } : {})),
    retryUnchanged: assign(({ context }: Ctx, p: Out<ImplementOutput>) => L.retryUnchanged(context, p.lane, p.output)),
    failUnchanged: assign(({ context }: Ctx, p: Out<ImplementOutput>) => L.unchangedFailure(context, p.lane, p.output)),
    retryWithFeedback: assign(({ context }: Ctx, p: Out<VerifyOutput>) => L.retryWithFeedback(context, p.lane, p.output)),
    failRepeatedError: assign(({ context }: Ctx, p: Lane) => {
      const l = L.laneOf(context, p.lane);
      return L.laneFailure(context, p.lane, `task ${l.task.id}: attempt ${l.attempt} failed the build with the same error as the attempt before; not retried`, 'same_error_repeated');
    }),
    failVerification: assign(({ context }: Ctx, p: Lane) => {
      const l = L.laneOf(context, p.lane);
      return L.laneFailure(context, p.lane, `task ${l.task.id}: verification failed after ${l.attempt} attempts`, 'verify_failed');
    }),
    recordVerified: assign(({ context }: Ctx, p: Out<VerifyOutput>) => ({ lanes: L.patchLane(context, p.lane, { verifiedBase: p.output.base ?? null, feedback: null }) })),
    joinMergeQueue: assign(({ context }: Ctx, p: Lane) => ({ mergeQueue: [...context.mergeQueue.filter((n) => n !== p.lane), p.lane] })),
    retryConflict: assign(({ context }: Ctx, p: Out<MergeOutput>) => L.retryConflict(context, p.lane, p.output)),
    failConflict: assign(({ context }: Ctx, p: Out<MergeOutput>) => {
      const l = L.laneOf(context, p.lane);
      return L.laneFailure(context, p.lane, `task ${l.task.id}: the change conflicts with the base in ${(p.output.conflict ?? []).join(', ')} after ${l.attempt} attempts`, 'merge_conflict');
    }),
    recordMerge: assign(({ context }: Ctx, p: Out<MergeOutput>) => ({ lanes: L.patchLane(context, p.lane, { commit: p.output.commit }) })),
    nextRound: assign(({ context }: Ctx, p: Lane) => ({ lanes: L.patchLane(context, p.lane, { round: L.laneOf(context, p.lane).round + 1 }) })),
    finishTask: assign(({ context }: Ctx, p: Out<Stamped<PushOutput>>) => L.finishTask(context, p.lane, p.output)),
    laneBroke: assign(({ context }: Ctx, p: Lane & { error: unknown }) => L.brokenFailure(context, p.lane, p.error)),
    failTask: assign(({ context }: Ctx, p: Lane & Stamp) => L.failTask(context, p.lane, p.at)),
    reopenFailedRun: assign(({ context }: Ctx) => L.reopenFailedRun(context)),
  },
});

const output = <T>({ event }: { event: { output: T } }): T => event.output;
const failure = ({ event }: { event: { error: unknown } }): unknown => event.error;

/** One lane: a task's pipeline, with the merge queue between verify and merge. */
function lane(i: number) {
  const p = { lane: i };
  const out = ({ event }: { event: { output: unknown } }) => ({ lane: i, output: event.output }) as never;
  const at = ({ event }: { event: { output: Stamp } }) => ({ lane: i, at: event.output.at });
  const failedWith = (reasonAction: { type: string; params: unknown }) => ({ target: 'idle', actions: [reasonAction, { type: 'failTask', params: at }] }) as const;
  // A step that throws fails this lane's task; the other lanes go on.
  const broke = {
    target: 'idle',
    actions: [
      { type: 'laneBroke', params: ({ event }: { event: { error: unknown } }) => ({ lane: i, error: event.error }) },
      { type: 'failTask', params: ({ event }: { event: { error: unknown } }) => ({ lane: i, ...stampOfFailure(event.error) }) },
    ],
  } as const;
  const laneStep = <const TDone>(phase: LanePhase, src: StepName, onDone: TDone) => ({
    entry: { type: 'enterLanePhase', params: { lane: i, phase } },
    invoke: { id: `lane${i}.${phase}`, src, input: ({ context }: Ctx) => L.laneStepInput(context, i), onDone, onError: broke },
  });
  return {
    initial: 'idle',
    states: {
      idle: { always: { guard: { type: 'laneAssigned', params: p }, target: 'prep' } },
      prep: laneStep('prep', 'prep', { target: 'implement', actions: { type: 'recordBranch', params: out } }),
      implement: laneStep('implement', 'implement', [
        { guard: { type: 'overBudget', params: out }, target: 'idle', actions: [{ type: 'recordUsage', params: out }, { type: 'failUnchanged', params: out }, { type: 'failTask', params: at }] },
        { guard: { type: 'changed', params: out }, target: 'verify', actions: { type: 'recordUsage', params: out } },
        { guard: { type: 'attemptsLeft', params: p }, target: 'implement', reenter: true, actions: [{ type: 'recordUsage', params: out }, { type: 'retryUnchanged', params: out }] },
        { target: 'idle', actions: [{ type: 'recordUsage', params: out }, { type: 'failUnchanged', params: out }, { type: 'failTask', params: at }] },
      ]),
      verify: laneStep('verify', 'verify', [
        { guard: { type: 'verified', params: out }, target: 'queued', actions: [{ type: 'recordVerified', params: out }, { type: 'joinMergeQueue', params: p }] },
        { guard: { type: 'sameErrorAgain', params: out }, ...failedWith({ type: 'failRepeatedError', params: p }) },
        { guard: { type: 'attemptsLeft', params: p }, target: 'implement', actions: { type: 'retryWithFeedback', params: out } },
        failedWith({ type: 'failVerification', params: p }),
      ]),
      // Verified; merges when first in the queue: one change at a time goes onto the base.
      queued: {
        entry: { type: 'enterLanePhase', params: { lane: i, phase: 'queued' } },
        always: { guard: { type: 'mergeTurn', params: p }, target: 'merge' },
      },
      merge: laneStep('merge', 'merge', [
        { guard: { type: 'conflictWithAttemptsLeft', params: out }, target: 'implement', actions: { type: 'retryConflict', params: out } },
        { guard: { type: 'conflicted', params: out }, ...failedWith({ type: 'failConflict', params: out }) },
        { guard: { type: 'baseMovedSinceVerified', params: out }, target: 'reverify', actions: [{ type: 'recordMerge', params: out }, { type: 'nextRound', params: p }] },
        { target: 'push', actions: { type: 'recordMerge', params: out } },
      ]),
      // The change rebased onto a base it was not verified on: built again before it is pushed.
      reverify: laneStep('reverify', 'verify', [
        { guard: { type: 'verified', params: out }, target: 'push', actions: { type: 'recordVerified', params: out } },
        { guard: { type: 'sameErrorAgain', params: out }, ...failedWith({ type: 'failRepeatedError', params: p }) },
        { guard: { type: 'attemptsLeft', params: p }, target: 'implement', actions: { type: 'retryWithFeedback', params: out } },
        failedWith({ type: 'failVerification', params: p }),
      ]),
      push: laneStep('push', 'push', [
        // Someone outside the run pushed to the base meanwhile: rebase (and re-verify) again.
        { guard: { type: 'baseMovedSincePushStarted', params: out }, target: 'merge', actions: { type: 'nextRound', params: p } },
        { target: 'idle', actions: { type: 'finishTask', params: out } },
      ]),
    },
  };
}

/** Picks ready tasks for free lanes; ends the run when nothing is left to do or to wait for. */
const scheduler = {
  initial: 'idle',
  states: {
    idle: {
      always: [
        { guard: 'haltedAndQuiet', target: '#devteam-project.failed' },
        { guard: 'selectWanted', target: 'select' },
      ],
    },
    select: {
      entry: 'beginSelect',
      invoke: {
        id: 'select',
        src: 'select',
        input: ({ context }: Ctx) => L.schedulerInput(context),
        onDone: [
          // Whatever comes next, the tasks found already merged are recorded first.
          { guard: 'halted', target: 'idle', actions: { type: 'recordSkipped', params: output } },
          { guard: { type: 'hasReady', params: output }, target: 'idle', actions: [{ type: 'recordSkipped', params: output }, { type: 'assignTasks', params: output }] },
          // A task finished while SELECT ran: its answer may be out of date, ask again.
          { guard: 'stale', target: 'idle', actions: { type: 'recordSkipped', params: output } },
          { guard: { type: 'allDoneAndQuiet', params: output }, target: '#devteam-project.completed', actions: [{ type: 'recordSkipped', params: output }, { type: 'recordAllDone', params: output }] },
          { guard: 'quiet', target: '#devteam-project.failed', actions: [{ type: 'recordSkipped', params: output }, { type: 'failBlocked', params: output }] },
          // Nothing ready yet: the tasks in flight may unblock some when they finish.
          { target: 'idle', actions: [{ type: 'recordSkipped', params: output }, 'waitForLanes'] },
        ],
        onError: { target: 'idle', actions: { type: 'failSelect', params: failure } },
      },
    },
  },
} as const;

export const LANES = Array.from({ length: MAX_PARALLELISM }, (_, i) => i);

export const parallelProjectMachine = parallelSetup.createMachine({
  id: PROJECT_MACHINE_ID,
  context: ({ input }) => initialParallelContext(input),
  initial: 'running',
  states: {
    running: {
      initial: 'lanes',
      on: {
        // Leaving `running` stops every lane's step: their signals fire and their processes die.
        PAUSE: { target: 'paused' },
        STOP: { target: 'stopping' },
      },
      states: {
        // Deep: every lane resumes at its interrupted step (run again from its start), the queue as it was.
        resume: { type: 'history', history: 'deep' },
        lanes: {
          type: 'parallel',
          states: { scheduler, ...Object.fromEntries(LANES.map((i) => [`lane${i}`, lane(i)])) },
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
        input: ({ context }: Ctx) => L.schedulerInput(context),
        onDone: { target: 'stopped' },
        onError: { target: 'stopped', actions: assign(({ event }) => ({ lastError: `cleanup failed: ${messageOf(event.error)}` })) },
      },
    },
    stopped: { type: 'final' },
    completed: { type: 'final' },
    // Not final, as in the flat machine (decision 0025): resume starts scheduling again, the failed
    // tasks with a fresh budget of attempts, the other results kept.
    failed: {
      on: {
        RESUME: { target: '#devteam-project.running.lanes', actions: 'reopenFailedRun' },
      },
    },
  },
});

export { MAX_ATTEMPTS };
