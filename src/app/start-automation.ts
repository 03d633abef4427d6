// Start automating a project: the configuration (validated, and checked against the tenant's
// policy), a new execution holding the machine's initial snapshot, and the DEVTEAM_AUTOMATION
// event that starts it, stored in one transaction; then that event's job is enqueued — the one
// path by which a worker starts the project's actor (the reconcile poll is the safety net). Every
// front calls this: POST /initialize, POST /events with an initialize body as its payload.
import { createHash } from 'node:crypto';
import { DEVTEAM_AUTOMATION, type EventQueue } from './event-job.js';
import { ExecutionStoreError, type EventsStore, type ExecutionsStore } from '../infra/db/index.js';
import type { Kv } from '../infra/kv/index.js';
import type { Logger } from '../infra/log.js';
import { initialExecution, PROJECT_MACHINE_ID, PROJECT_MACHINE_VERSION } from '../machines/index.js';
import { initializeBodySchema, initializePolicyIssues, type FileRemotePolicy, type InitializeBody } from '../project/index.js';
import { ApiError, validationError, validationFailed } from './errors.js';
import { dispatchCommitted } from './dispatch-event.js';
import { storeCall } from './store-call.js';
import { admitProject, type AdmissionDeps } from './admit-project.js';

/** How long an Idempotency-Key is remembered (design.md: 6 h). */
export const IDEMPOTENCY_TTL_MS = 6 * 60 * 60 * 1000;
export const AUTOMATION_PATH = '/api/devteam/automation';
export const statusLocation = (projectId: string) => `${AUTOMATION_PATH}/status/${encodeURIComponent(projectId)}`;

export interface StartAutomationDeps {
  events: EventsStore;
  executions: ExecutionsStore;
  queue: EventQueue;
  kv: Kv;
  log: Logger;
  /** Where file:// remotes may live (DEVTEAM_FILE_REMOTE_ROOTS); absent → file remotes are refused. */
  fileRemotes?: FileRemotePolicy;
  /** DEVTEAM_WEBHOOK_ALLOW_PRIVATE: a project's notify.url may be on loopback or a private network. */
  webhookAllowPrivate?: boolean;
  enqueueTimeoutMs?: number;
  /** Called once the execution is stored (e.g. to drop a cached status). */
  onStarted?: (tenant: string, projectId: string) => void;
  /** The live workers' capabilities: a project none of them can run is refused before it is stored. */
  admission?: AdmissionDeps;
}

export interface StartAutomationRequest {
  tenant: string;
  /** The initialize body as received (validated here). */
  body: unknown;
  correlationId: string;
  idempotencyKey?: string;
  /** The event's id when a front chose it (POST /events answers with it). */
  eventId?: string;
}

export interface StartedAutomation {
  executionId: string;
  eventId: string;
  projectId: string;
  correlationId: string;
  status: 'running';
  location: string;
  enqueued: boolean;
}

/** Validates the body; throws ApiError 422 naming each refused field. */
export function parseInitializeBody(raw: unknown, tenant: string, fileRemotes: FileRemotePolicy | undefined, webhookAllowPrivate = false): InitializeBody {
  const parsed = initializeBodySchema.safeParse(raw);
  if (!parsed.success) throw validationError(parsed.error);
  const refused = initializePolicyIssues(parsed.data, { tenant, fileRemotes, webhookAllowPrivate });
  if (refused.length > 0) throw validationFailed(refused);
  return parsed.data;
}

export async function startAutomation(deps: StartAutomationDeps, req: StartAutomationRequest): Promise<StartedAutomation> {
  const { tenant, correlationId } = req;
  const body = parseInitializeBody(req.body, tenant, deps.fileRemotes, deps.webhookAllowPrivate);
  if (deps.admission) await admitProject(deps.admission, body);
  const executionId = crypto.randomUUID();
  const eventId = req.eventId ?? crypto.randomUUID();
  const log = deps.log.child({ correlationId, projectId: body.projectId, executionId, tenant });

  // Remember the key before creating anything, so two concurrent retries cannot both create.
  const idempotency = req.idempotencyKey ? await claimKey(deps.kv, tenant, req.idempotencyKey, body, executionId) : null;
  try {
    await storeExecution(deps, { tenant, body, executionId, eventId, correlationId });
  } catch (error) {
    // Nothing was created: the key must not point at an execution that does not exist.
    if (idempotency) await deps.kv.delete(idempotency).catch((err) => log.warn({ err }, 'could not forget the idempotency key'));
    throw error;
  }
  deps.onStarted?.(tenant, body.projectId);
  const enqueued = await dispatchCommitted(deps.queue, { eventId, type: DEVTEAM_AUTOMATION, projectId: body.projectId, correlationId }, log, deps.enqueueTimeoutMs);
  log.info({ enqueued, agent: body.agent.preset }, 'automation initialized');
  return { executionId, eventId, projectId: body.projectId, correlationId, status: 'running', location: statusLocation(body.projectId), enqueued };
}

async function storeExecution(
  deps: StartAutomationDeps,
  row: { tenant: string; body: InitializeBody; executionId: string; eventId: string; correlationId: string },
): Promise<void> {
  const { tenant, body, executionId, eventId, correlationId } = row;
  const initial = initialExecution({ projectId: body.projectId, executionId, parallelism: body.parallelism });
  await storeCall(() =>
    deps.executions
      .create(
        {
          id: executionId,
          tenant,
          projectId: body.projectId,
          eventId,
          config: body as unknown as Record<string, unknown>,
          machine: { id: PROJECT_MACHINE_ID, version: PROJECT_MACHINE_VERSION },
          snapshot: initial.snapshot,
          projection: initial.projection,
        },
        (tx) => deps.events.insert({ id: eventId, tenant, type: DEVTEAM_AUTOMATION, projectId: body.projectId, correlationId, payload: { executionId, tenant } }, tx),
      )
      .catch((error: unknown) => {
        // An answer, not an outage: mapped before storeCall would call it store_unavailable.
        if (error instanceof ExecutionStoreError && error.code === 'project_running') {
          throw new ApiError('conflict', `project ${body.projectId} already has a live execution; stop it first`, { projectId: body.projectId }, { cause: error });
        }
        throw error;
      }),
  );
}

interface Remembered {
  bodyHash: string;
  executionId: string;
  projectId: string;
}

function hash(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Canonical JSON (sorted keys), so the same body in any key order hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
/** Stores the key (hashed, with the body's hash) or answers 409 for a key seen in the last 6 h. */
async function claimKey(kv: Kv, tenant: string, key: string, body: InitializeBody, executionId: string): Promise<string> {
  const kvKey = `idempotency:initialize:${hash(`${tenant}\0${key}`)}`;
  const mine: Remembered = { bodyHash: hash(canonical(body)), executionId, projectId: body.projectId };
  const stored = await storeCall(() => kv.setIfAbsent(kvKey, JSON.stringify(mine), IDEMPOTENCY_TTL_MS));
  if (stored) return kvKey;
  const seen = JSON.parse((await storeCall(() => kv.get(kvKey))) ?? 'null') as Remembered | null;
  if (!seen) return claimKey(kv, tenant, key, body, executionId); // expired in between
  if (seen.bodyHash !== mine.bodyHash) {
    throw new ApiError('conflict', 'Idempotency-Key was already used with a different body; use a new key for a different request', {
      executionId: seen.executionId,
      location: statusLocation(seen.projectId),
    }, { headers: { location: statusLocation(seen.projectId) } });
  }
  throw new ApiError('conflict', 'this request was already accepted (same Idempotency-Key and body)', {
    executionId: seen.executionId,
    location: statusLocation(seen.projectId),
  }, { headers: { location: statusLocation(seen.projectId) } });
}
