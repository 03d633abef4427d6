// What the outside sees of a project snapshot: its lifecycle status, the status projection that
// GET /status shows (stored beside each snapshot write), and which control commands it accepts.
import type { SnapshotFrom } from 'xstate';
import type { LifecycleStatus } from './project-context.js';
import { COMMAND_EVENT, projectMachine, type ProjectCommand } from './project-machine.js';
import type { FailureReason } from './failure-reasons.js';
import type { AgentUsage } from '../project/index.js';
import type { PipelinePhase, Progress, TaskRef, TaskResult } from './step-contracts.js';
import type { LanePhase, ParallelContext } from './parallel-context.js';

export type ProjectSnapshot = SnapshotFrom<typeof projectMachine>;

/** A task in flight (parallelism > 1): which, where in its lane, which attempt. */
export interface RunningTask extends TaskRef {
  phase: LanePhase;
  attempt: number;
}

export interface ProjectProjection {
  status: LifecycleStatus;
  /** With parallelism > 1: the oldest running task's (also `queued`, `reverify`), `select` when none runs. */
  phase: PipelinePhase | LanePhase | null;
  currentTask: TaskRef | null;
  progress: Progress;
  attempt: number;
  lastError: string | null;
  /** Why the task or the run failed, when lastError is such a failure (not kept in the stored status row). */
  reason: FailureReason | null;
  results: Record<string, TaskResult>;
  /** What the agents reported using in this execution, over every attempt; null before any attempt (and in older rows). */
  usage: AgentUsage | null;
  /**
   * With parallelism > 1 only (absent otherwise): every task in flight, oldest first; currentTask,
   * phase and attempt are the first one's.
   */
  running?: RunningTask[];
  /** How often the run was resumed after failing (decision 0025); 0 for a run never resumed. */
  resumes: number;
}

/** The lifecycle status of a snapshot (the top-level state). */
export function lifecycleOf(snapshot: Pick<ProjectSnapshot, 'value'> | { value: unknown }): LifecycleStatus {
  const value = snapshot.value as string | Record<string, unknown>;
  return (typeof value === 'string' ? value : Object.keys(value)[0]) as LifecycleStatus;
}

/**
 * Whether a control command is accepted in this snapshot — asked of the machine itself, so the
 * HTTP layer's 409s can never drift from the behaviour.
 */
export function canTransition(snapshot: ProjectSnapshot, command: ProjectCommand): boolean {
  return snapshot.can({ type: COMMAND_EVENT[command] });
}

/** The status projection of a snapshot: phase and current task only while the run is live. */
export function projectionOf(snapshot: Pick<ProjectSnapshot, 'value' | 'context'> | { value: unknown; context: ParallelContext }): ProjectProjection {
  if ('lanes' in snapshot.context) return parallelProjection(lifecycleOf(snapshot), snapshot.context);
  // (The flat machine's snapshot from here on.)
  const status = lifecycleOf(snapshot);
  const c = snapshot.context;
  const live = status === 'running' || status === 'paused';
  return {
    status,
    phase: live ? c.phase : null,
    // Id and title only: the task's steps and criteria are for the agent, not every status read and frame.
    currentTask: live && c.task ? { id: c.task.id, title: c.task.title } : null,
    progress: c.progress,
    attempt: c.attempt,
    lastError: c.lastError,
    reason: c.reason ?? null,
    results: c.results,
    usage: c.usage ?? null,
    resumes: c.resumes ?? 0,
  };
}

function parallelProjection(status: LifecycleStatus, c: ParallelContext): ProjectProjection {
  const live = status === 'running' || status === 'paused';
  const running: RunningTask[] = live
    ? c.lanes
        .flatMap((l) => (l ? [l] : []))
        .sort((a, b) => a.order - b.order)
        .map((l) => ({ id: l.task.id, title: l.task.title, phase: l.phase, attempt: l.attempt }))
    : [];
  const first = running[0];
  return {
    status,
    phase: live ? (first?.phase ?? 'select') : null,
    currentTask: first ? { id: first.id, title: first.title } : null,
    progress: c.progress,
    attempt: first?.attempt ?? 0,
    lastError: c.lastError,
    reason: c.reason ?? null,
    results: c.results,
    usage: c.usage ?? null,
    resumes: c.resumes ?? 0,
    running,
  };
}
