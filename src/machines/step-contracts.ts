// The step contracts of the project machine: what each pipeline step receives and returns, as zod
// schemas with the types inferred from them. Expected failures (a build that fails, an agent that
// changed nothing) are outputs; a thrown error means the step itself broke.
import { z } from 'zod';
import { agentUsageSchema, TaskSchema } from '../project/index.js';
import { FAILURE_REASONS } from './failure-reasons.js';

export const PIPELINE_PHASES = ['select', 'prep', 'implement', 'verify', 'merge', 'push'] as const;
export type PipelinePhase = (typeof PIPELINE_PHASES)[number];

/** Every step the machine invokes: the pipeline, and cleanup while stopping. */
export const STEP_NAMES = [...PIPELINE_PHASES, 'cleanup'] as const;
export type StepName = (typeof STEP_NAMES)[number];

/** What the outside sees of a task: status, frames, commit messages. */
export const taskRefSchema = z.object({ id: z.string(), title: z.string() });
export type TaskRef = z.infer<typeof taskRefSchema>;

/**
 * The task as SELECT read it from the base branch: the whole task, its dependencies with their
 * titles (for the prompt). IMPLEMENT works from this and never re-reads the list from the work
 * tree, which the agent's previous attempt may have rewritten.
 */
export const selectedTaskSchema = TaskSchema.extend({ dependencies: z.array(taskRefSchema) });
export type SelectedTask = z.infer<typeof selectedTaskSchema>;

/**
 * The task as the machine keeps it (context, step input). Snapshots stored by builds before the
 * whole task was carried hold `{ id, title }` only (any id string), so everything else is optional
 * here; a run restored from one reads the rest from the task list (see implement.ts).
 */
export const currentTaskSchema = selectedTaskSchema.partial().extend(taskRefSchema.shape);
export type CurrentTask = z.infer<typeof currentTaskSchema>;

export const progressSchema = z.object({ done: z.number(), total: z.number() });
export type Progress = z.infer<typeof progressSchema>;

/** How a task ended in an execution; `skipped`: it was found already merged (see SKIP_REASONS). */
export const TASK_RESULT_STATUSES = ['done', 'failed', 'skipped'] as const;
/** already_merged: a commit carrying the task's DevTeam-Task trailer is on the base branch (decision 0023). */
export const SKIP_REASONS = ['already_merged'] as const;

export const taskResultSchema = z.object({
  status: z.enum(TASK_RESULT_STATUSES),
  /**
   * Why a skipped task was skipped or a failed one failed (FAILURE_REASONS); absent for done, and in
   * snapshots of builds before failures had reasons.
   */
  reason: z.enum([...SKIP_REASONS, ...FAILURE_REASONS]).optional(),
  /** 0 for a skipped task: this execution ran nothing for it. */
  attempts: z.number(),
  /** The commit on the base branch: the pushed tip (done) or the commit carrying the trailer (skipped). */
  commit: z.string().nullable(),
  error: z.string().nullable(),
  /** ISO time, taken from the `at` of the step result that finished the task. */
  finishedAt: z.string(),
  /** What the agent reported using over the task's attempts; absent for skipped tasks and from older builds. */
  usage: agentUsageSchema.optional(),
});
export type TaskResult = z.infer<typeof taskResultSchema>;

export const stepInputSchema = z.object({
  projectId: z.string(),
  executionId: z.string(),
  task: currentTaskSchema.nullable(),
  attempt: z.number(),
  /**
   * Attempts of this task spent before its budget was renewed (a resumed failed run, decision 0025):
   * attempt `attemptsBefore + 1` is a first attempt and starts from the base. Absent: 0.
   */
  attemptsBefore: z.number().optional(),
  feedback: z.string().nullable(),
  branch: z.string().nullable(),
  done: z.array(z.string()),
  /** Results of finished tasks (e.g. the commits of a task's dependencies, for the prompt). */
  results: z.record(z.string(), taskResultSchema),
  /** With parallelism > 1 (decision 0028): the lane (0-based) whose worktree and sandbox the step works in. */
  lane: z.number().int().nonnegative().optional(),
  /**
   * With parallelism > 1: how often this attempt went back through the merge queue (a re-verify or
   * a merge after the base moved); part of the journal key, so a second verify of an attempt runs.
   */
  round: z.number().int().nonnegative().optional(),
  /** SELECT with parallelism > 1: the tasks running in lanes (not to be picked again) and how many to pick at most. */
  busy: z.array(z.string()).optional(),
  slots: z.number().int().nonnegative().optional(),
});
export type StepInput = z.infer<typeof stepInputSchema>;

/** A task SELECT found merged on the base branch (by its trailer) that the execution did not know done. */
export const skippedTaskSchema = z.object({ id: z.string(), commit: z.string() });
export type SkippedTask = z.infer<typeof skippedTaskSchema>;

/** `progress` counts the skipped tasks as done; `skipped` lists each of them once, the first time it is found. */
export const selectOutputSchema = z.union([
  z.object({
    task: selectedTaskSchema,
    progress: progressSchema,
    skipped: z.array(skippedTaskSchema).optional(),
    /** With parallelism > 1: every ready task not done nor running, in list order, at most `slots` (`task` is the first). */
    ready: z.array(selectedTaskSchema).optional(),
  }),
  z.object({
    task: z.null(),
    reason: z.enum(['all_done', 'blocked']),
    detail: z.string(),
    progress: progressSchema,
    skipped: z.array(skippedTaskSchema).optional(),
  }),
]);
export type SelectOutput = z.infer<typeof selectOutputSchema>;

export const prepOutputSchema = z.object({ branch: z.string() });
export type PrepOutput = z.infer<typeof prepOutputSchema>;

export const implementOutputSchema = z.object({
  changed: z.boolean(),
  files: z.array(z.string()),
  /** Why the attempt produced nothing usable (agent exited non-zero, timed out, changed nothing). */
  failure: z.string().optional(),
  /**
   * The failure as a reason; absent when changed (and from older builds: no_change is assumed).
   * budget_exceeded may come with a change (the partial work): it is never verified or merged.
   */
  reason: z.enum(['no_change', 'agent_failed', 'timeout', 'stalled', 'budget_exceeded']).optional(),
  /** What the agent reported using in this attempt (every run of it, on any worker); absent from older builds. */
  usage: agentUsageSchema.optional(),
});
export type ImplementOutput = z.infer<typeof implementOutputSchema>;

export const verifyOutputSchema = z.object({
  ok: z.boolean(),
  /** The failing command's output (already trimmed by the step) when not ok. */
  output: z.string(),
  /** When not ok: the failure's fingerprint (verify-fingerprint.ts), equal for the same error in another attempt. */
  fingerprint: z.string().optional(),
  /** When not ok because a command printed nothing and changed no file for verify.stallSec (no fingerprint then). */
  stalled: z.boolean().optional(),
  /** In a lane: the base commit the verified tree is built on (the merge queue re-verifies when the base moved past it). */
  base: z.string().optional(),
});
export type VerifyOutput = z.infer<typeof verifyOutputSchema>;

export const mergeOutputSchema = z.object({
  commit: z.string(),
  /** In a lane: the base commit the change was rebased onto (the remote's tip when its turn came). */
  base: z.string().optional(),
  /** In a lane: the change conflicts with the base at these paths; nothing was merged and the lane is back on the base. */
  conflict: z.array(z.string()).optional(),
});
export type MergeOutput = z.infer<typeof mergeOutputSchema>;

export const pushOutputSchema = z.object({
  commit: z.string(),
  /** In a lane: the remote's base moved since MERGE (someone else pushed): nothing was pushed, merge again. */
  moved: z.boolean().optional(),
});
export type PushOutput = z.infer<typeof pushOutputSchema>;

export type CleanupOutput = void;

/** What each step returns, by name. */
export interface StepOutputs {
  select: SelectOutput;
  prep: PrepOutput;
  implement: ImplementOutput;
  verify: VerifyOutput;
  merge: MergeOutput;
  push: PushOutput;
  cleanup: CleanupOutput;
}

/**
 * When a step finished (ISO time). The machine takes every time it records from here, never from
 * a clock, so a transition is a pure function of (snapshot, event).
 */
export interface Stamp {
  at: string;
}

/** A step's output as the machine receives it: stamped by the host that runs the step. */
export type Stamped<T> = (T extends void ? unknown : T) & Stamp;
