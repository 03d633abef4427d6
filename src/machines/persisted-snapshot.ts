// A stored project snapshot checked before XState sees it: a row written by another build, edited
// by hand or cut short fails here with a typed error naming the fields, not deep inside XState.
import { createActor, type Snapshot } from 'xstate';
import { z } from 'zod';
import { LANE_PHASES, parallelContextSchema, type ParallelInput } from './parallel-context.js';
import { parallelProjectMachine } from './parallel-machine.js';
import { LIFECYCLE_STATUSES, projectContextSchema, type ProjectInput } from './project-context.js';
import { projectMachine } from './project-machine.js';
import type { ProjectSnapshot } from './projection.js';
import { PIPELINE_PHASES, STEP_NAMES } from './step-contracts.js';

const settled = LIFECYCLE_STATUSES.filter((s) => s !== 'running');

/** The state value: `{ running: <phase> }` or another lifecycle state. */
const stateValueSchema = z.union([z.strictObject({ running: z.enum(PIPELINE_PHASES) }), z.enum(settled)]);

const snapshotShape = {
  status: z.enum(['active', 'done', 'error', 'stopped']),
  historyValue: z.record(z.string(), z.array(z.looseObject({ id: z.string() }))),
  // The invoked steps, if any: restored and started again (steps are idempotent).
  children: z.record(z.string(), z.looseObject({ src: z.enum(STEP_NAMES), snapshot: z.unknown() })),
};

/** The flat machine's (parallelism 1): every snapshot stored before decision 0028 is one. */
export const persistedProjectSnapshotSchema = z.looseObject({ ...snapshotShape, value: stateValueSchema, context: projectContextSchema });

/** The parallel machine's: `{ running: { lanes: { scheduler, lane0, … } } }` while running. */
const parallelValueSchema = z.union([
  z.strictObject({ running: z.strictObject({ lanes: z.record(z.string(), z.enum(['idle', 'select', ...LANE_PHASES])) }) }),
  z.enum(settled),
]);
export const persistedParallelSnapshotSchema = z.looseObject({ ...snapshotShape, value: parallelValueSchema, context: parallelContextSchema });

/** Which machine a stored snapshot belongs to: the parallel one keeps lanes in its context. */
export function isParallelSnapshot(stored: unknown): boolean {
  const context = (stored as { context?: unknown } | null)?.context;
  return typeof context === 'object' && context !== null && 'lanes' in context;
}

/** The machine that restores a stored snapshot (see isParallelSnapshot). */
export function machineOf(stored: unknown): typeof projectMachine {
  // One lifecycle and one event set: callers use both machines through the flat one's type.
  return (isParallelSnapshot(stored) ? parallelProjectMachine : projectMachine) as unknown as typeof projectMachine;
}

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
// (A parallel snapshot passes as one: the callers read its lifecycle and context through projection.ts.)

/** A stored snapshot, checked; throws InvalidSnapshotError. */
export function parsePersistedSnapshot(stored: unknown): PersistedProjectSnapshot {
  const parsed = (isParallelSnapshot(stored) ? persistedParallelSnapshotSchema : persistedProjectSnapshotSchema).safeParse(stored);
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
  const parallelism = (snapshot.context as Partial<ParallelInput>).parallelism;
  return { snapshot, input: { projectId, executionId, ...(parallelism ? { parallelism } : {}) } };
}

/** Restores a stored snapshot as a machine snapshot (no actor started, no step run). */
export function restoreSnapshot(stored: unknown): ProjectSnapshot {
  return createActor(machineOf(stored), restoreOptions(stored)).getSnapshot();
}
