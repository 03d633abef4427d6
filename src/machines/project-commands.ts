// Control commands applied to a persisted project snapshot without running it: a pure XState
// transition, so the API can decide pause/resume/stop under a row lock and answer with the state
// that the owning worker will then follow (the worker reloads; an interrupted step re-runs).
import { initialTransition, transition, type Snapshot } from 'xstate';
import { parallelProjectMachine } from './parallel-machine.js';
import { projectMachine } from './project-machine.js';
import { machineOf, restoreSnapshot } from './persisted-snapshot.js';
import type { LifecycleStatus } from './project-context.js';
import { COMMAND_EVENT, type ProjectCommand } from './project-machine.js';
import { lifecycleOf, projectionOf, type ProjectProjection } from './projection.js';

export type CommandOutcome =
  | { accepted: true; from: LifecycleStatus; status: LifecycleStatus; snapshot: Snapshot<unknown>; projection: ProjectProjection }
  | { accepted: false; from: LifecycleStatus };

/** Throws InvalidSnapshotError when the stored snapshot cannot be restored. */
export function applyCommand(persisted: unknown, command: ProjectCommand): CommandOutcome {
  const snapshot = restoreSnapshot(persisted);
  const from = lifecycleOf(snapshot);
  const event = { type: COMMAND_EVENT[command] } as const;
  if (!snapshot.can(event)) return { accepted: false, from };
  const machine = machineOf(persisted);
  const [next] = transition(machine, snapshot, event);
  return {
    accepted: true,
    from,
    status: lifecycleOf(next),
    snapshot: machine.getPersistedSnapshot(next),
    projection: projectionOf(next),
  };
}

/** The lifecycle status of a persisted snapshot. */
export function statusOf(persisted: unknown): LifecycleStatus {
  return lifecycleOf(restoreSnapshot(persisted));
}

/**
 * A new execution's stored snapshot and status: the flat machine for parallelism 1 (exactly as
 * before decision 0028), the parallel machine for more.
 */
export function initialExecution(input: { projectId: string; executionId: string; parallelism?: number }): { snapshot: Snapshot<unknown>; projection: ProjectProjection } {
  const { projectId, executionId, parallelism = 1 } = input;
  if (parallelism > 1) {
    const [initial] = initialTransition(parallelProjectMachine, { projectId, executionId, parallelism });
    return { snapshot: parallelProjectMachine.getPersistedSnapshot(initial), projection: projectionOf(initial) };
  }
  const [initial] = initialTransition(projectMachine, { projectId, executionId });
  return { snapshot: projectMachine.getPersistedSnapshot(initial), projection: projectionOf(initial) };
}
