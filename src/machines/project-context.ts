// What the project machine remembers between steps (its context), as one zod schema: the type the
// machine uses and the check a stored snapshot passes on load. Field names are stored in every
// persisted snapshot: renaming one needs a PROJECT_MACHINE_VERSION bump.
import { z } from 'zod';
import { agentUsageSchema } from '../project/index.js';
import { FAILURE_REASONS } from './failure-reasons.js';
import { currentTaskSchema, PIPELINE_PHASES, progressSchema, taskResultSchema } from './step-contracts.js';

export const LIFECYCLE_STATUSES = ['running', 'paused', 'stopping', 'stopped', 'completed', 'failed'] as const;
export type LifecycleStatus = (typeof LIFECYCLE_STATUSES)[number];

export const projectInputSchema = z.object({ projectId: z.string(), executionId: z.string() });
// (The parallel machine's input adds `parallelism`; see parallel-context.ts.)
export type ProjectInput = z.infer<typeof projectInputSchema>;

export const projectContextSchema = projectInputSchema.extend({
  phase: z.enum(PIPELINE_PHASES),
  /** The task being worked on, whole (see currentTaskSchema for snapshots of older builds). */
  task: currentTaskSchema.nullable(),
  attempt: z.number(),
  /** Why the last attempt did not pass (build output, "agent changed nothing"): fed to the next prompt. */
  feedback: z.string().nullable(),
  lastError: z.string().nullable(),
  /** The reason of the failure in lastError when it ended the task or the run; optional: absent in snapshots of older builds. */
  reason: z.enum(FAILURE_REASONS).nullable().optional(),
  /** The fingerprint of the last failed verification of the current task; optional like `reason`. */
  fingerprint: z.string().nullable().optional(),
  /** What the agents reported using in this execution, and in the current task; optional like `reason`. */
  usage: agentUsageSchema.nullable().optional(),
  taskUsage: agentUsageSchema.nullable().optional(),
  progress: progressSchema,
  results: z.record(z.string(), taskResultSchema),
  branch: z.string().nullable(),
  commit: z.string().nullable(),
  /** How often this failed run was resumed in place; optional: absent (0) in snapshots of older builds. */
  resumes: z.number().int().nonnegative().optional(),
  /** Per task, the attempts it spent before a resume renewed its budget (its next attempt is numbered on); optional like `resumes`. */
  attemptsBefore: z.record(z.string(), z.number().int().nonnegative()).optional(),
});
export type ProjectContext = z.infer<typeof projectContextSchema>;

/** No task at hand: a new run, and a failed run reopened by `resume` (decision 0025). */
export const NO_TASK = {
  task: null,
  attempt: 0,
  feedback: null,
  lastError: null,
  reason: null,
  fingerprint: null,
  branch: null,
  commit: null,
} as const satisfies Partial<ProjectContext>;

/** A new run: before the first SELECT. */
export function initialContext(input: ProjectInput): ProjectContext {
  return {
    ...input,
    ...NO_TASK,
    phase: 'select',
    usage: null,
    taskUsage: null,
    progress: { done: 0, total: 0 },
    results: {},
    resumes: 0,
    attemptsBefore: {},
  };
}
