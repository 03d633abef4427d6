// What the parallel project machine (parallelism k > 1, decision 0028) remembers: the run's
// results and progress as in the flat machine, the tasks in flight one lane each, the merge queue
// and the scheduler's bookkeeping — one zod schema, the machine's type and the check of a stored
// snapshot on load. Field names are stored in every persisted snapshot (see project-context.ts).
import { z } from 'zod';
import { agentUsageSchema } from '../project/index.js';
import { FAILURE_REASONS } from './failure-reasons.js';
import { projectInputSchema } from './project-context.js';
import { currentTaskSchema, progressSchema, taskResultSchema } from './step-contracts.js';

/**
 * Where a task in a lane is: the pipeline's steps, `queued` (verified, waiting for its turn to
 * merge) and `reverify` (the base moved since it was verified: the rebased change is built again).
 */
export const LANE_PHASES = ['prep', 'implement', 'verify', 'queued', 'merge', 'reverify', 'push'] as const;
export type LanePhase = (typeof LANE_PHASES)[number];

export const laneSchema = z.object({
  task: currentTaskSchema,
  phase: z.enum(LANE_PHASES),
  attempt: z.number(),
  feedback: z.string().nullable(),
  lastError: z.string().nullable(),
  reason: z.enum(FAILURE_REASONS).nullable(),
  fingerprint: z.string().nullable(),
  branch: z.string().nullable(),
  commit: z.string().nullable(),
  /** How often this attempt went through the merge queue again (journal key, see StepInput.round). */
  round: z.number(),
  /** The base commit the last passing verification was built on (null: not verified yet). */
  verifiedBase: z.string().nullable(),
  /** The order the task started in (the oldest running task is the status's currentTask). */
  order: z.number(),
});
export type Lane = z.infer<typeof laneSchema>;

export const parallelContextSchema = projectInputSchema.extend({
  /** How many lanes run tasks (2…MAX_PARALLELISM). */
  parallelism: z.number().int().min(2),
  progress: progressSchema,
  results: z.record(z.string(), taskResultSchema),
  /** The first failure of the run (a task's, or SELECT's); the run ends failed once no lane runs. */
  lastError: z.string().nullable(),
  reason: z.enum(FAILURE_REASONS).nullable(),
  /** One entry per lane: the task it runs, or null when idle. */
  lanes: z.array(laneSchema.nullable()),
  /** Lanes whose verified change waits to merge, first in line first; only the first merges. */
  mergeQueue: z.array(z.number()),
  /** A task finished since the last SELECT (or none ran yet): tasks may have become ready. */
  selectDue: z.boolean(),
  /** A task failed or SELECT broke: no new task starts, the lanes in flight finish, the run fails. */
  halted: z.boolean(),
  /** Tasks finished (done) so far, and the value it had when the SELECT in flight started. */
  finished: z.number(),
  selectFor: z.number(),
  /** Tasks started so far (each lane's `order`). */
  started: z.number(),
  /** How often this failed run was resumed in place (decision 0025). */
  resumes: z.number().int().nonnegative().optional(),
  /** What the agents reported using over every lane's attempts (decision 0026); absent before the first. */
  usage: agentUsageSchema.nullable().optional(),
  /** Per task, the attempts it spent before a resume renewed its budget (its next attempt is numbered on). */
  attemptsBefore: z.record(z.string(), z.number().int().nonnegative()).optional(),
});
export type ParallelContext = z.infer<typeof parallelContextSchema>;

export const parallelInputSchema = projectInputSchema.extend({ parallelism: z.number().int().min(2) });
export type ParallelInput = z.infer<typeof parallelInputSchema>;

export function initialParallelContext(input: ParallelInput): ParallelContext {
  return {
    projectId: input.projectId,
    executionId: input.executionId,
    parallelism: input.parallelism,
    progress: { done: 0, total: 0 },
    results: {},
    lastError: null,
    reason: null,
    lanes: Array.from({ length: input.parallelism }, () => null),
    mergeQueue: [],
    selectDue: true,
    halted: false,
    finished: 0,
    selectFor: 0,
    started: 0,
    resumes: 0,
    attemptsBefore: {},
  };
}
