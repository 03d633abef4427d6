// POST /api/devteam/automation/{pause,resume,stop}/{projectId}: the command is decided by the
// project machine itself on the stored snapshot, under a row lock (so concurrent commands
// serialize), and the answer is the state it left; the owning worker then follows it.
import type { TemplatedApp } from 'uWebSockets.js';
import type { ExecutionsStore } from '../infra/db/index.js';
import type { Logger } from '../infra/log.js';
import { applyCommand, PROJECT_MACHINE_ID, PROJECT_MACHINE_VERSION, type CommandOutcome, type ProjectCommand } from '../machines/index.js';
import { executionUpdate } from '../client/index.js';
import { authenticate } from './auth.js';
import { ApiError } from './errors.js';
import { Exchange, type InFlight } from './exchange.js';
import { projectIdFromPath } from './project-id.js';
import { replyError } from './reply-error.js';
import { correlationIdSchema } from './schemas.js';
import { storeCall } from '../app/store-call.js';
import { afterCommit } from './after-commit.js';
import type { StatusCache } from './status-cache.js';
import type { FrameLog } from '../infra/frames/index.js';

export const AUTOMATION_PATH = '/api/devteam/automation';
const COMMANDS: ProjectCommand[] = ['pause', 'resume', 'stop'];

export interface AppliedCommand {
  tenant: string;
  projectId: string;
  executionId: string;
  command: ProjectCommand;
  status: string;
  version: number;
}

export interface ControlRoutesDeps {
  executions: ExecutionsStore;
  log: Logger;
  apiKeys: ReadonlyMap<string, string>;
  /** Watchers see the new status at once (the owning worker publishes what follows). */
  frames: FrameLog;
  statusCache: StatusCache;
  /** Tells the owning worker (or wakes one) that an execution changed; failures are logged, not fatal. */
  notifyExecution?: (notice: { executionId: string; status: string }) => Promise<void>;
}

export function registerControlRoutes(app: TemplatedApp, deps: ControlRoutesDeps, inFlight: InFlight): void {
  for (const command of COMMANDS) {
    app.post(`${AUTOMATION_PATH}/${command}/:projectId`, (res, req) => {
      const exchange = new Exchange(res, inFlight, `POST /api/devteam/automation/${command}/:projectId`);
      const authorization = req.getHeader('authorization');
      const rawId = req.getParameter(0) ?? '';
      const header = correlationIdSchema.safeParse(req.getHeader('x-correlation-id'));
      const correlationId = header.success ? header.data : crypto.randomUUID();
      void control(exchange, command, authorization, rawId, correlationId, deps).catch((error) => replyError(exchange, error, deps.log));
    });
  }
}

async function control(
  exchange: Exchange,
  command: ProjectCommand,
  authorization: string,
  rawId: string,
  correlationId: string,
  deps: ControlRoutesDeps,
): Promise<void> {
  const tenant = authenticate(authorization, deps.apiKeys);
  const projectId = projectIdFromPath(rawId);
  let outcome: CommandOutcome | null = null;
  const result = await storeCall(() =>
    deps.executions.applyCommand(tenant, projectId, (current) => {
      if (current.machineId !== PROJECT_MACHINE_ID || current.machineVersion !== PROJECT_MACHINE_VERSION) {
        throw new ApiError('conflict', `execution ${current.id} was saved by ${current.machineId} v${current.machineVersion}; this build runs v${PROJECT_MACHINE_VERSION}`);
      }
      outcome = applyCommand(current.snapshot, command);
      return outcome.accepted ? { snapshot: outcome.snapshot, projection: outcome.projection } : null;
    }),
  );
  // Another tenant's project is indistinguishable from an unknown one: 404, not 403.
  if (!result) throw new ApiError('not_found', `no automation for project ${projectId}`);
  const decided = outcome as CommandOutcome | null;
  if (!decided || !decided.accepted) {
    const from = decided?.from ?? result.record.projection.status;
    throw new ApiError('invalid_transition', `cannot ${command} a project that is ${from}`, { from, command });
  }
  const applied: AppliedCommand = {
    tenant,
    projectId,
    executionId: result.record.id,
    command,
    status: result.record.projection.status,
    version: result.record.version,
  };
  deps.statusCache.invalidate(tenant, projectId);
  const log = deps.log.child({ correlationId, projectId, executionId: applied.executionId, tenant });
  log.info({ command, from: decided.from, status: applied.status }, 'control command applied');
  // The command is committed: the stream and the owning worker are told, each within a deadline.
  await afterCommit(() => deps.frames.append({ tenant, projectId }, 'execution-update', executionUpdate(result.record.id, result.record.projection)), 'publish the new status to the stream', log);
  const notify = deps.notifyExecution;
  if (notify) await afterCommit(() => notify({ executionId: applied.executionId, status: applied.status }), 'notify the owning worker (it sees the change on its next write)', log);
  exchange.json(
    202,
    { projectId, executionId: applied.executionId, command, from: decided.from, status: applied.status, version: applied.version },
    { 'x-correlation-id': correlationId },
  );
}
