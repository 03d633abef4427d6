// Control commands applied to a persisted project snapshot without running it: a pure XState
// transition, so the API can decide pause/resume/stop under a row lock and answer with the state
// that the owning worker will then follow (the worker reloads; an interrupted step re-runs).
import { createActor, transition } from 'xstate';
import { COMMAND_EVENT, lifecycleOf, projectionOf, projectMachine, type LifecycleStatus, type ProjectCommand } from './project-machine.js';

export type CommandOutcome =
  | { accepted: true; from: LifecycleStatus; status: LifecycleStatus; snapshot: unknown; projection: ReturnType<typeof projectionOf> }
  | { accepted: false; from: LifecycleStatus };

/** Restores a persisted snapshot as a machine snapshot (no actor started, no step run). */
function restore(persisted: unknown) {
  return createActor(projectMachine, { snapshot: persisted, input: undefined } as never).getSnapshot();
}

export function applyCommand(persisted: unknown, command: ProjectCommand): CommandOutcome {
  const snapshot = restore(persisted);
  const from = lifecycleOf(snapshot);
  const event = { type: COMMAND_EVENT[command] } as const;
  if (!snapshot.can(event)) return { accepted: false, from };
  const [next] = transition(projectMachine, snapshot, event);
  return {
    accepted: true,
    from,
    status: lifecycleOf(next),
    snapshot: projectMachine.getPersistedSnapshot(next),
    projection: projectionOf(next),
  };
}

/** The lifecycle status of a persisted snapshot. */
export function statusOf(persisted: unknown): LifecycleStatus {
  return lifecycleOf(restore(persisted));
}
