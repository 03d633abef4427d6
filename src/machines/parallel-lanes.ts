// The pure bookkeeping of the parallel project machine (decision 0028): what its guards ask and its
// actions write about lanes, the merge queue and the scheduler, as plain functions over the context.
// parallel-machine.ts names them; nothing here has I/O or a clock.
import { MAX_ATTEMPTS } from './project-machine.js';
import { failureReasonOf } from './failure-reasons.js';
import type { Lane, LanePhase, ParallelContext } from './parallel-context.js';
import { messageOf } from './stamped-step.js';
import type { ImplementOutput, MergeOutput, SelectedTask, SelectOutput, Stamped, StepInput, TaskResult, VerifyOutput } from './step-contracts.js';

export function laneOf(context: ParallelContext, lane: number): Lane {
  const l = context.lanes[lane];
  if (!l) throw new Error(`lane ${lane} has no task`);
  return l;
}

/** The lanes with `lane` patched (or emptied with null). */
export function patchLane(context: ParallelContext, lane: number, patch: Partial<Lane> | null): Array<Lane | null> {
  return context.lanes.map((l, i) => (i !== lane ? l : patch === null ? null : { ...laneOf(context, lane), ...patch }));
}

/** Tasks the run counts as done: merged by it, or found merged (skipped). */
export function doneIds(context: Pick<ParallelContext, 'results'>): string[] {
  return Object.entries(context.results)
    .filter(([, r]) => r.status !== 'failed')
    .map(([id]) => id);
}

export const busyLanes = (context: ParallelContext): Lane[] => context.lanes.filter((l): l is Lane => l !== null);
export const freeLanes = (context: ParallelContext): number[] => context.lanes.flatMap((l, i) => (l === null ? [i] : []));
export const quiet = (context: ParallelContext): boolean => busyLanes(context).length === 0;

/** What a lane's step is given: its task, attempt and feedback, its lane and merge round. */
export function laneStepInput(context: ParallelContext, lane: number): StepInput {
  const l = laneOf(context, lane);
  return {
    projectId: context.projectId,
    executionId: context.executionId,
    task: l.task,
    attempt: l.attempt,
    feedback: l.feedback,
    branch: l.branch,
    done: doneIds(context),
    results: context.results,
    lane,
    round: l.round,
    attemptsBefore: attemptsBefore(context, l.task.id),
  };
}

/** Attempts a task spent before resuming the failed run renewed its budget (decision 0025). */
export const attemptsBefore = (context: ParallelContext, taskId: string): number => context.attemptsBefore?.[taskId] ?? 0;

/** Attempts the lane's task has spent of its budget of MAX_ATTEMPTS. */
const spent = (context: ParallelContext, l: Lane): number => l.attempt - attemptsBefore(context, l.task.id);

/** What SELECT is given: what is done, what runs, and how many lanes are free. */
export function schedulerInput(context: ParallelContext): StepInput {
  return {
    projectId: context.projectId,
    executionId: context.executionId,
    task: null,
    attempt: 0,
    feedback: null,
    branch: null,
    done: doneIds(context),
    results: context.results,
    busy: busyLanes(context).map((l) => l.task.id),
    slots: freeLanes(context).length,
  };
}

export function readyTasks(o: SelectOutput): SelectedTask[] {
  return o.task === null ? [] : (o.ready ?? [o.task]);
}

/** The ready tasks SELECT found, one per free lane, in list order. */
export function assignTasks(context: ParallelContext, o: SelectOutput): Partial<ParallelContext> {
  const free = freeLanes(context);
  const lanes = [...context.lanes];
  let started = context.started;
  for (const [n, task] of readyTasks(o).slice(0, free.length).entries()) lanes[free[n]!] = newLane(task, started++, attemptsBefore(context, task.id));
  // A task that finished while SELECT ran may have made more tasks ready: select again.
  return { lanes, started, progress: o.progress, selectDue: context.finished !== context.selectFor };
}

function newLane(task: SelectedTask, order: number, before: number): Lane {
  return { task, phase: 'prep', attempt: before + 1, feedback: null, lastError: null, reason: null, fingerprint: null, branch: null, commit: null, round: 0, verifiedBase: null, order };
}

export const enterPhase = (context: ParallelContext, lane: number, phase: LanePhase) => ({ lanes: patchLane(context, lane, { phase }) });

export function sameErrorAgain(context: ParallelContext, lane: number, o: VerifyOutput): boolean {
  const l = laneOf(context, lane);
  return spent(context, l) < MAX_ATTEMPTS && o.fingerprint !== undefined && o.fingerprint === l.fingerprint;
}

export const attemptsLeft = (context: ParallelContext, lane: number): boolean => spent(context, laneOf(context, lane)) < MAX_ATTEMPTS;

/**
 * Resuming a failed run (decision 0025): each failed task's result is cleared and its attempts kept
 * aside (its next attempt is numbered on, with a whole budget); the other results stay, and the
 * scheduler starts again with every lane free.
 */
export function reopenFailedRun(context: ParallelContext): Partial<ParallelContext> {
  const results: ParallelContext['results'] = {};
  const before = { ...context.attemptsBefore };
  for (const [id, result] of Object.entries(context.results)) {
    if (result.status === 'failed') before[id] = result.attempts;
    else results[id] = result;
  }
  return {
    results,
    attemptsBefore: before,
    resumes: (context.resumes ?? 0) + 1,
    lastError: null,
    reason: null,
    halted: false,
    selectDue: true,
    lanes: context.lanes.map(() => null),
    mergeQueue: [],
  };
}

/** A next attempt: its steps are journaled afresh (round 0) and it is verified again before it merges. */
function nextAttempt(l: Lane, patch: Pick<Lane, 'feedback' | 'lastError'> & Partial<Lane>): Partial<Lane> {
  return { attempt: l.attempt + 1, round: 0, verifiedBase: null, ...patch };
}

export function retryUnchanged(context: ParallelContext, lane: number, o: ImplementOutput) {
  const l = laneOf(context, lane);
  const why = o.failure ?? 'no file changed';
  return {
    lanes: patchLane(context, lane, nextAttempt(l, {
      feedback: `The previous attempt did not change the repository (${why}). Make the change the task asks for.`,
      lastError: `attempt ${l.attempt}: ${o.failure ?? 'the agent changed nothing'}`,
    })),
  };
}

export function retryWithFeedback(context: ParallelContext, lane: number, o: VerifyOutput) {
  const l = laneOf(context, lane);
  return {
    lanes: patchLane(context, lane, nextAttempt(l, { feedback: o.output, lastError: `attempt ${l.attempt}: verification failed`, fingerprint: o.fingerprint ?? null })),
    mergeQueue: context.mergeQueue.filter((n) => n !== lane),
  };
}

/** The change conflicts with the base: implement again on the new base, told which paths conflict. */
export function retryConflict(context: ParallelContext, lane: number, o: MergeOutput) {
  const l = laneOf(context, lane);
  const paths = (o.conflict ?? []).join(', ');
  return {
    lanes: patchLane(context, lane, nextAttempt(l, {
      feedback: `Other tasks were merged into the base branch meanwhile, and this task's change conflicts with them in: ${paths}. The work starts again from the new base: make the task's change on top of it, keeping what those tasks did in these files.`,
      lastError: `attempt ${l.attempt}: the change conflicts with the base in ${paths}`,
    })),
    mergeQueue: context.mergeQueue.filter((n) => n !== lane),
  };
}

/** Why the task ends failed, kept in its lane until failTask records it. */
export function laneFailure(context: ParallelContext, lane: number, lastError: string, reason: Lane['reason']) {
  return { lanes: patchLane(context, lane, { lastError, reason }) };
}

export function unchangedFailure(context: ParallelContext, lane: number, o: ImplementOutput) {
  const l = laneOf(context, lane);
  return laneFailure(context, lane, `task ${l.task.id}: no usable change in ${l.attempt} attempts (last: ${o.failure ?? 'the agent changed nothing'})`, o.reason ?? 'no_change');
}

export function brokenFailure(context: ParallelContext, lane: number, error: unknown) {
  return laneFailure(context, lane, messageOf(error), failureReasonOf(error));
}

/** The task merged and pushed: recorded done, its lane free, and SELECT is due (tasks may have become ready). */
export function finishTask(context: ParallelContext, lane: number, o: Stamped<{ commit: string }>): Partial<ParallelContext> {
  const l = laneOf(context, lane);
  const result: TaskResult = { status: 'done', attempts: l.attempt, commit: o.commit, error: null, finishedAt: o.at };
  return {
    results: { ...context.results, [l.task.id]: result },
    progress: { done: context.progress.done + 1, total: context.progress.total },
    lanes: patchLane(context, lane, null),
    mergeQueue: context.mergeQueue.filter((n) => n !== lane),
    finished: context.finished + 1,
    selectDue: true,
  };
}

/**
 * The task failed with its lane's reason: recorded failed, its lane free, and the run halted — the
 * other lanes finish their tasks, nothing new starts, and the run ends failed with the first failure.
 */
export function failTask(context: ParallelContext, lane: number, at: string): Partial<ParallelContext> {
  const l = laneOf(context, lane);
  const result: TaskResult = { status: 'failed', ...(l.reason ? { reason: l.reason } : {}), attempts: l.attempt, commit: null, error: l.lastError, finishedAt: at };
  return {
    results: { ...context.results, [l.task.id]: result },
    lanes: patchLane(context, lane, null),
    mergeQueue: context.mergeQueue.filter((n) => n !== lane),
    halted: true,
    ...(context.halted ? {} : { lastError: l.lastError, reason: l.reason }),
  };
}
