// The parsed shape of a repository's task list (phases → tasks → sub-steps and acceptance
// criteria); one zod definition, so a list stored in a snapshot is validated the same way on load.
import { z } from 'zod';

/** `1`: phases are numbered. */
export const PhaseIdSchema = z.string().regex(/^\d+$/, 'a phase id is a number, e.g. "1"');
/** `1.2`: phase number, then the task's number within the phase. */
export const TaskIdSchema = z.string().regex(/^\d+\.\d+$/, 'a task id is "<phase>.<n>", e.g. "1.2"');
/** `1.2.3`: the task id, then one or more step numbers. */
export const StepIdSchema = z.string().regex(/^\d+\.\d+(?:\.\d+)+$/, 'a step id is "<task>.<n>", e.g. "1.2.3"');

/** 1-based line of the item in the task-list file, for error messages and for showing the source. */
const LineSchema = z.number().int().positive();

export const StepSchema = z.object({
  id: StepIdSchema,
  /** As written, markdown links included: the prompt shows it to the agent verbatim. */
  text: z.string(),
  line: LineSchema,
});
export type Step = z.infer<typeof StepSchema>;

export const CriterionSchema = z.object({
  /** The number written in `<criterion N: …>`, or the bullet's position when none is written. */
  index: z.number().int().positive(),
  text: z.string(),
  /** What the criterion comes from, from `[source: PRD/ADD]`: `PRD/ADD`. */
  source: z.string().optional(),
  line: LineSchema,
});
export type Criterion = z.infer<typeof CriterionSchema>;

export const PhaseSchema = z.object({
  id: PhaseIdSchema,
  title: z.string(),
  /** Phases that must be complete (every task done) before any task of this one is ready. */
  dependencies: z.array(PhaseIdSchema),
  line: LineSchema,
});
export type Phase = z.infer<typeof PhaseSchema>;

export const TaskSchema = z.object({
  id: TaskIdSchema,
  phaseId: PhaseIdSchema,
  title: z.string(),
  /**
   * Task ids, in the order written, without repeats. The format lets a task name a whole phase
   * (`(Dependencies: [1])`); the parser resolves that into every task of the phase, so consumers
   * only ever deal with task ids.
   */
  dependencies: z.array(TaskIdSchema),
  steps: z.array(StepSchema),
  /** Acceptance criteria, usually under the "Verify correctness" step; some tasks have none. */
  criteria: z.array(CriterionSchema),
  line: LineSchema,
});
export type Task = z.infer<typeof TaskSchema>;

export const TaskListSchema = z.object({
  /** The `Provenance:` line, as written (where the list was derived from). */
  source: z.string().optional(),
  phases: z.array(PhaseSchema),
  /** Every task of every phase, flat, in document order: the order the runner prefers. */
  tasks: z.array(TaskSchema),
});
export type TaskList = z.infer<typeof TaskListSchema>;
