// Why a task (or a run) failed, as a stable code: in the task's result, the execution-update frame and
// the README's "Failure reasons" table. Steps report expected failures in their outputs and throw
// errors with a `code` for the rest; this is the one place both become a reason.

export const FAILURE_REASONS = [
  /** Every attempt was spent and the build still fails. */
  'verify_failed',
  /** Two attempts in a row failed the build with the same fingerprint: a third would too. */
  'same_error_repeated',
  /** The agent exited 0 but changed no file, in every attempt. */
  'no_change',
  /** The agent exited non-zero, crashed or was killed at the memory limit, in the last attempt. */
  'agent_failed',
  /** The agent ran past agent.timeoutSec in the last attempt. */
  'timeout',
  /**
   * The agent (agent.stallSec) or a build command (verify.stallSec) printed nothing and changed no
   * file for that long and was stopped, in the last attempt.
   */
  'stalled',
  /** The run's budget or the task's agent.maxCostUsdPerTask was crossed: the agent was stopped, nothing merged. */
  'budget_exceeded',
  /** The change conflicts with the base branch. */
  'merge_conflict',
  /** The remote refused the push (protected branch, moved twice while integrating). */
  'push_rejected',
  /** The push did not reach the remote (network, authentication, timeout). */
  'push_failed',
  /** The change about to be merged adds a secret; nothing was merged or pushed. */
  'secret_in_diff',
  /** The task list on the base branch cannot be read or parsed. */
  'invalid_task_list',
  /** A step broke for another reason (the message says which). */
  'step_failed',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** The `code` of an error a step throws → the reason it fails the task or the run with. */
const REASON_OF_CODE: Readonly<Record<string, FailureReason>> = {
  merge_conflict: 'merge_conflict',
  push_rejected: 'push_rejected',
  push_failed: 'push_failed',
  secret_in_diff: 'secret_in_diff',
  invalid_task_list: 'invalid_task_list',
  invalid_task_list_path: 'invalid_task_list',
  task_list_unreadable: 'invalid_task_list',
};

/** The reason of whatever a step threw (a StepFailure wraps it as `cause`). */
export function failureReasonOf(error: unknown): FailureReason {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code in REASON_OF_CODE) return REASON_OF_CODE[code]!;
  }
  return 'step_failed';
}
