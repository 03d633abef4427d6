// POST /api/devteam/automation/initialize: validates the project's configuration, then in one
// transaction stores it with a new execution (the machine's initial snapshot) and the event that
// starts it; a worker drives it from there. Idempotency-Key makes a retried request safe.
import { createHash } from 'node:crypto';
import type { TemplatedApp } from 'uWebSockets.js';
import { initialTransition } from 'xstate';
import { DEVTEAM_AUTOMATION, type EventQueue } from '../actors/index.js';
import { ExecutionStoreError, type EventsStore, type ExecutionsStore } from '../infra/db/index.js';
import type { Kv } from '../infra/kv/index.js';
import type { Logger } from '../infra/log.js';
import { initializeBodySchema, initializePolicyIssues, type FileRemotePolicy, type InitializeBody } from '../project/index.js';
import { PROJECT_MACHINE_ID, PROJECT_MACHINE_VERSION, projectionOf, projectMachine } from '../machines/index.js';
import { authenticate } from './auth.js';
import { checkBodyHeaders, readJsonBody } from './body.js';
import { AUTOMATION_PATH } from './control-routes.js';
import { afterCommit } from './after-commit.js';
import { dispatchCommitted } from './dispatch-event.js';
import { ApiError, validationError, validationFailed } from './errors.js';
import { Exchange, type InFlight } from './exchange.js';
import { replyError } from './reply-error.js';
import { correlationIdSchema } from './schemas.js';
import { storeCall } from './store-call.js';
import type { StatusCache } from './status-cache.js';

/** How long an Idempotency-Key is remembered (design.md: 6 h). */
export const IDEMPOTENCY_TTL_MS = 6 * 60 * 60 * 1000;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export interface InitializeRouteDeps {
  events: EventsStore;
  executions: ExecutionsStore;
  queue: EventQueue;
  kv: Kv;
  log: Logger;
  bodyLimit: number;
  apiKeys: ReadonlyMap<string, string>;
  enqueueTimeoutMs?: number;
  statusCache: StatusCache;
  /** Where file:// remotes may live (DEVTEAM_FILE_REMOTE_ROOTS); absent → file remotes are refused. */
  fileRemotes?: FileRemotePolicy;
  /** Wakes a worker to drive the new execution at once (otherwise its next poll finds it). */
  notifyExecution?: (notice: { executionId: string; status: string }) => Promise<void>;
}

interface Remembered {
  bodyHash: string;
  executionId: string;
  projectId: string;
}

export const statusLocation = (projectId: string) => `${AUTOMATION_PATH}/status/${encodeURIComponent(projectId)}`;

export function registerInitializeRoute(app: TemplatedApp, deps: InitializeRouteDeps, inFlight: InFlight): void {
  app.post(`${AUTOMATION_PATH}/initialize`, (res, req) => {
    const exchange = new Exchange(res, inFlight, 'POST /api/devteam/automation/initialize');
    const headers = {
      authorization: req.getHeader('authorization'),
      contentType: req.getHeader('content-type'),
      contentLength: req.getHeader('content-length'),
      correlationId: req.getHeader('x-correlation-id'),
      idempotencyKey: req.getHeader('idempotency-key'),
    };
    void initialize(exchange, headers, deps).catch((error) => replyError(exchange, error, deps.log));
  });
}

async function initialize(
  exchange: Exchange,
  headers: { authorization: string; contentType: string; contentLength: string; correlationId: string; idempotencyKey: string },
  deps: InitializeRouteDeps,
): Promise<void> {
  const tenant = authenticate(headers.authorization, deps.apiKeys);
  checkBodyHeaders(headers, deps.bodyLimit);
  if (headers.idempotencyKey !== '' && !IDEMPOTENCY_KEY.test(headers.idempotencyKey)) {
    throw new ApiError('validation_failed', 'Idempotency-Key must be 1-255 printable ASCII characters', [{ field: 'Idempotency-Key', message: 'invalid' }]);
  }
  const raw = await readJsonBody(exchange, deps.bodyLimit);
  const parsed = initializeBodySchema.safeParse(raw);
  if (!parsed.success) throw validationError(parsed.error);
  const body = parsed.data;
  const refused = initializePolicyIssues(body, { tenant, fileRemotes: deps.fileRemotes });
  if (refused.length > 0) throw validationFailed(refused);

  const executionId = crypto.randomUUID();
  const eventId = crypto.randomUUID();
  const header = correlationIdSchema.safeParse(headers.correlationId);
  const correlationId = header.success ? header.data : crypto.randomUUID();
  const log = deps.log.child({ correlationId, projectId: body.projectId, executionId, tenant });

  // Remember the key before creating anything, so two concurrent retries cannot both create.
  const idempotency = headers.idempotencyKey ? await claimKey(deps.kv, tenant, headers.idempotencyKey, body, executionId) : null;
  try {
    const [initial] = initialTransition(projectMachine, { projectId: body.projectId, executionId });
    await storeCall(() =>
      deps.executions.create(
        {
          id: executionId,
          tenant,
          projectId: body.projectId,
          eventId,
          config: body as unknown as Record<string, unknown>,
          machine: { id: PROJECT_MACHINE_ID, version: PROJECT_MACHINE_VERSION },
          snapshot: projectMachine.getPersistedSnapshot(initial),
          projection: projectionOf(initial),
        },
        (tx) => deps.events.insert({ id: eventId, tenant, type: DEVTEAM_AUTOMATION, projectId: body.projectId, correlationId, payload: { executionId, tenant } }, tx),
      ).catch((error: unknown) => {
        // An answer, not an outage: mapped before storeCall would call it store_unavailable.
        if (error instanceof ExecutionStoreError && error.code === 'project_running') {
          throw new ApiError('conflict', `project ${body.projectId} already has a live execution; stop it first`, { projectId: body.projectId }, { cause: error });
        }
        throw error;
      }),
    );
  } catch (error) {
    // Nothing was created: the key must not point at an execution that does not exist.
    if (idempotency) await deps.kv.delete(idempotency).catch((err) => log.warn({ err }, 'could not forget the idempotency key'));
    throw error;
  }
  deps.statusCache.invalidate(tenant, body.projectId);
  const enqueued = await dispatchCommitted(deps.queue, { eventId, type: DEVTEAM_AUTOMATION, projectId: body.projectId, correlationId }, log, deps.enqueueTimeoutMs);
  const notify = deps.notifyExecution;
  if (notify) await afterCommit(() => notify({ executionId, status: 'running' }), 'wake a worker (its next poll finds the execution)', log);
  log.info({ enqueued, agent: body.agent.preset }, 'automation initialized');
  const location = statusLocation(body.projectId);
  exchange.json(202, { executionId, eventId, projectId: body.projectId, correlationId, status: 'running' }, { location, 'x-correlation-id': correlationId });
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
