// A stored project snapshot checked before XState sees it: a row written by another build, edited
// by hand or cut short fails here with a typed error naming the fields, not deep inside XState.
import { createActor, type Snapshot } from 'xstate';
import { z } from 'zod';
import { LIFECYCLE_STATUSES, projectContextSchema, type ProjectInput } from './project-context.js';
import { projectMachine } from './project-machine.js';
import type { ProjectSnapshot } from './projection.js';
import { PIPELINE_PHASES, STEP_NAMES } from './step-contracts.js';

const settled = LIFECYCLE_STATUSES.filter((s) => s !== 'running');

/** The state value: `{ running: <phase> }` or another lifecycle state. */
const stateValueSchema = z.union([z.strictObject({ running: z.enum(PIPELINE_PHASES) }), z.enum(settled)]);

export const persistedProjectSnapshotSchema = z.looseObject({
  status: z.enum(['active', 'done', 'error', 'stopped']),
  value: stateValueSchema,
  historyValue: z.record(z.string(), z.array(z.looseObject({ id: z.string() }))),
  context: projectContextSchema,
  // The invoked step, if any: restored and started again (steps are idempotent).
  children: z.record(z.string(), z.looseObject({ src: z.enum(STEP_NAMES), snapshot: z.unknown() })),
});

/** One error for every way a stored snapshot can be unusable; `issues` says where. */
export class InvalidSnapshotError extends Error {
  override readonly name = 'InvalidSnapshotError';
  readonly code = 'invalid_snapshot';
  constructor(readonly issues: Array<{ path: string; message: string }>) {
    super(`stored project snapshot is invalid: ${issues.map((i) => `${i.path || '(snapshot)'}: ${i.message}`).join('; ')}`);
  }
}

/** A checked stored snapshot: what createActor(projectMachine, { snapshot }) may restore. */
export type PersistedProjectSnapshot = Snapshot<unknown> & Pick<z.infer<typeof persistedProjectSnapshotSchema>, 'value' | 'context'>;

/** A stored snapshot, checked; throws InvalidSnapshotError. */
export function parsePersistedSnapshot(stored: unknown): PersistedProjectSnapshot {
  const parsed = persistedProjectSnapshotSchema.safeParse(stored);
  if (!parsed.success) {
    throw new InvalidSnapshotError(parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })));
  }
  // Builds before decision 0025 had `failed` final: XState stored such a run as `done`, a status that
  // takes no event. `failed` now takes RESUME, so it is an active state like `paused`.
  const data = parsed.data.value === 'failed' && parsed.data.status === 'done' ? { ...parsed.data, status: 'active' as const, output: undefined } : parsed.data;
  // XState's Snapshot type is a union over `status` that the schema leaves loose (output, error).
  return data as unknown as PersistedProjectSnapshot;
}

/**
 * The createActor options that restore a stored snapshot (checked first). The input is ignored
 * when a snapshot is given; it is passed because the machine declares one.
 */
export function restoreOptions(stored: unknown): { snapshot: PersistedProjectSnapshot; input: ProjectInput } {
  const snapshot = parsePersistedSnapshot(stored);
  const { projectId, executionId } = snapshot.context;
  return { snapshot, input: { projectId, executionId } };
}

/** Restores a stored snapshot as a machine snapshot (no actor started, no step run). */
export function restoreSnapshot(stored: unknown): ProjectSnapshot {
  return createActor(projectMachine, restoreOptions(stored)).getSnapshot();
}
