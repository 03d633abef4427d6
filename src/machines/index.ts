// The project machine (pure XState v5): its definition, step contracts, projection and the
// schema its stored snapshots are checked against.
export {
  projectMachine,
  projectSetup,
  PROJECT_MACHINE_ID,
  PROJECT_MACHINE_VERSION,
  MAX_ATTEMPTS,
  COMMAND_EVENT,
  type ProjectEvent,
  type ProjectCommand,
} from './project-machine.js';
export {
  LIFECYCLE_STATUSES,
  initialContext,
  projectContextSchema,
  projectInputSchema,
  type LifecycleStatus,
  type ProjectContext,
  type ProjectInput,
} from './project-context.js';
export {
  PIPELINE_PHASES,
  STEP_NAMES,
  stepInputSchema,
  selectOutputSchema,
  prepOutputSchema,
  implementOutputSchema,
  verifyOutputSchema,
  mergeOutputSchema,
  pushOutputSchema,
  taskRefSchema,
  selectedTaskSchema,
  currentTaskSchema,
  taskResultSchema,
  skippedTaskSchema,
  TASK_RESULT_STATUSES,
  SKIP_REASONS,
  type PipelinePhase,
  type StepName,
  type StepOutputs,
  type Stamp,
  type Stamped,
  type Progress,
  type TaskRef,
  type SelectedTask,
  type CurrentTask,
  type TaskResult,
  type SkippedTask,
  type StepInput,
  type SelectOutput,
  type PrepOutput,
  type ImplementOutput,
  type VerifyOutput,
  type MergeOutput,
  type PushOutput,
  type CleanupOutput,
} from './step-contracts.js';
export { FAILURE_REASONS, failureReasonOf, type FailureReason } from './failure-reasons.js';
export { stampedStep, stampOfFailure, StepFailure, UNSTAMPED, type StepRun } from './stamped-step.js';
export { canTransition, lifecycleOf, projectionOf, type ProjectProjection, type ProjectSnapshot, type RunningTask } from './projection.js';
export {
  InvalidSnapshotError,
  isParallelSnapshot,
  machineOf,
  parsePersistedSnapshot,
  persistedParallelSnapshotSchema,
  persistedProjectSnapshotSchema,
  restoreOptions,
  restoreSnapshot,
  type PersistedProjectSnapshot,
} from './persisted-snapshot.js';
export { parallelProjectMachine, LANES } from './parallel-machine.js';
export { initialParallelContext, LANE_PHASES, laneSchema, parallelContextSchema, type Lane, type LanePhase, type ParallelContext, type ParallelInput } from './parallel-context.js';
export { applyCommand, initialExecution, statusOf, type CommandOutcome } from './project-commands.js';
export { transitionEvents, type TransitionEvent, type TransitionView } from './transition-events.js';
