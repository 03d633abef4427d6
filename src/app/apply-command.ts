// Pause, resume or stop a project: the project machine itself decides the command on the stored
// snapshot, under a row lock (so concurrent commands serialize and each sees the state the one
// before it left), and the answer is the state it left. Once that is committed the stream and the
// owning worker are told; the worker follows on its next write (decision 0006).
import { executionUpdate } from '../client/index.js';
import type { ExecutionsStore } from '../infra/db/index.js';
import type { FrameLog } from '../infra/frames/index.js';
import type { Logger } from '../infra/log.js';
import {
  applyCommand as decideCommand,
  PROJECT_MACHINE_ID,
  PROJECT_MACHINE_VERSION,
  type CommandOutcome,
  type LifecycleStatus,
  type ProjectCommand,
} from '../machines/index.js';
import { afterCommit } from './after-commit.js';
import { ApiError } from './errors.js';
import { storeCall } from './store-call.js';

export const PROJECT_COMMANDS: readonly ProjectCommand[] = ['pause', 'resume', 'stop'];

export interface ApplyCommandDeps {
  executions: ExecutionsStore;
  log: Logger;
  /** Watchers see the new status at once (the owning worker publishes what follows). */
  frames: FrameLog;
  /** Tells the owning worker (or wakes one) that an execution changed; failures are logged, not fatal. */
  notifyExecution?: (notice: { executionId: string; status: string }) => Promise<void>;
  /** Called once the command is committed (e.g. to drop a cached status). */
  onApplied?: (tenant: string, projectId: string) => void;
}

export interface CommandRequest {
  tenant: string;
  projectId: string;
  command: ProjectCommand;
  /** Bound to the log lines of this command. */
  correlationId?: string;
}

/** The state the command left (the body of the 202). */
export interface AppliedCommand {
  projectId: string;
  executionId: string;
  command: ProjectCommand;
  from: LifecycleStatus;
  status: string;
  version: number;
}

/**
 * Applies the command to the project's latest execution. Throws ApiError: `not_found` (no such
 * project in the tenant), `invalid_transition` (not allowed in the current state; details
 * {from, command}), `conflict` (the execution was saved by another machine version, or its stored
 * snapshot is invalid — see store-call.ts), and the store failures of storeCall.
 */
export async function applyCommand(deps: ApplyCommandDeps, req: CommandRequest): Promise<AppliedCommand> {
  const { tenant, projectId, command } = req;
  const decision: { outcome?: CommandOutcome } = {};
  const result = await storeCall(() =>
    deps.executions.applyCommand(tenant, projectId, (current) => {
      if (current.machineId !== PROJECT_MACHINE_ID || current.machineVersion !== PROJECT_MACHINE_VERSION) {
        throw new ApiError('conflict', `execution ${current.id} was saved by ${current.machineId} v${current.machineVersion}; this build runs v${PROJECT_MACHINE_VERSION}`);
      }
      const outcome = (decision.outcome = decideCommand(current.snapshot, command));
      return outcome.accepted ? { snapshot: outcome.snapshot, projection: outcome.projection } : null;
    }),
  );
  // Another tenant's project is indistinguishable from an unknown one: 404, not 403.
  if (!result) throw new ApiError('not_found', `no automation for project ${projectId}`);
  const { outcome } = decision;
  if (!outcome || !outcome.accepted) {
    const from = outcome?.from ?? result.record.projection.status;
    throw new ApiError('invalid_transition', `cannot ${command} a project that is ${from}`, { from, command });
  }
  const { record } = result;
  const applied: AppliedCommand = { projectId, executionId: record.id, command, from: outcome.from, status: record.projection.status, version: record.version };
  deps.onApplied?.(tenant, projectId);
  const log = deps.log.child({ correlationId: req.correlationId, projectId, executionId: record.id, tenant });
  log.info({ command, from: applied.from, status: applied.status }, 'control command applied');
  // The command is committed: the stream and the owning worker are told, each within a deadline.
  await afterCommit(() => deps.frames.append({ tenant, projectId }, 'execution-update', record.id, executionUpdate(record.id, record.projection)), 'publish the new status to the stream', log);
  const notify = deps.notifyExecution;
  if (notify) await afterCommit(() => notify({ executionId: applied.executionId, status: applied.status }), 'notify the owning worker (it sees the change on its next write)', log);
  return applied;
}
