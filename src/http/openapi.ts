// The OpenAPI 3.1 document of the REST API (and of the live stream, as far as OpenAPI can say it),
// generated from the zod schemas the routes validate with, so a rule is changed in one place only.
import { z } from 'zod';
import { PROJECT_COMMANDS } from '../app/apply-command.js';
import { ClientMessageSchema, FrameSchema } from '../client/index.js';
import { initializeBodySchema, projectIdSchema, TaskIdSchema } from '../project/index.js';
import { artifactsQuerySchema, executionIdSchema, EXECUTIONS_PATH } from './artifacts-route.js';
import { STATUS_PATH } from './automation-routes.js';
import { AUTOMATION_PATH } from './control-routes.js';
import { ApiError, type ErrorBody, type ErrorCode } from './errors.js';
import { correlationIdSchema, eventBodySchema, uuidSchema } from './schemas.js';
import { CLOSE, STREAM_PATH } from './ws-stream.js';
import { ASSETS_PATH } from './static-route.js';
import { executionsQuerySchema, PROJECTS_PATH, projectsQuerySchema } from './projects-routes.js';

export const OPENAPI_PATH = '/openapi.json';

type Json = Record<string, unknown>;

/** Every error code and what it means on any route (README's error table); the compiler keeps it complete. */
const ERROR_WHEN: Record<ErrorCode, string> = {
  invalid_json: 'malformed or empty JSON',
  invalid_id: 'a malformed id in the path or query',
  unauthorized: 'missing or unknown API key (only when DEVTEAM_API_KEYS is set)',
  not_found: 'unknown id, or another tenant\'s',
  payload_too_large: 'body over DEVTEAM_BODY_LIMIT',
  unsupported_media_type: 'Content-Type is not application/json (or +json)',
  validation_failed: 'schema violation, nesting over 32 levels, U+0000 or a lone surrogate, a value the database refuses; details: [{field, message}]',
  invalid_transition: 'the command is not allowed in the current state; details: {from, command}',
  conflict: 'the request conflicts with the stored state',
  internal_error: 'a bug (logged, never detailed)',
  store_unavailable: 'the database (or the kv store) did not answer within 1 s; recovers by itself',
  sandbox_unavailable: 'this service\'s worker cannot start a sandbox with the configured driver (DEVTEAM_SANDBOX); the message names what to install or start; details: {driver, problem, remedy}',
  agent_unavailable: 'the agent preset\'s CLI is not found inside the worker\'s sandbox, or its model key variable is not set; details: {preset, field, missing: [{kind, message, remedy}]}',
  no_capable_worker: 'no live worker can run the project (none is running, or each lacks the sandbox, the agent CLI or the key); details: {workers: [{workerId, host, driver, missing}]}',
};

const errorBodyOf = (codes: readonly [ErrorCode, ...ErrorCode[]]) =>
  z.object({ error: z.object({ code: z.enum(codes), message: z.string(), details: z.unknown().optional() }) });

// The error body as sent (errors.ts's ErrorBody): fails to compile if the two ever differ.
const errorBodySchema = errorBodyOf(Object.keys(ERROR_WHEN) as [ErrorCode, ...ErrorCode[]]);
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const errorBodyMatches: Same<z.infer<typeof errorBodySchema>, ErrorBody> = true;
void errorBodyMatches;

/** JSON Schema of what a client may send (defaults make fields optional), without the `$schema` key. */
function jsonSchema(schema: z.ZodType): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as Json;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** One response per status of `codes`, each with the error body narrowed to the codes it can carry. */
function errorResponses(codes: readonly ErrorCode[], notes: Partial<Record<ErrorCode, string>> = {}): Json {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = new ApiError(code, '').status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Json = {};
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: group.map((code) => `\`${code}\`: ${notes[code] ?? ERROR_WHEN[code]}`).join('; '),
      content: { 'application/json': { schema: jsonSchema(errorBodyOf(group as [ErrorCode, ...ErrorCode[]])) } },
    };
  }
  return responses;
}

const jsonReply = (description: string, headers?: Json): Json => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema: {} } },
});

const pathParam = (name: string, schema: z.ZodType, description: string): Json => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: jsonSchema(schema),
});

const queryParam = (name: string, schema: z.ZodType, description: string): Json => ({ name, in: 'query', required: false, description, schema: jsonSchema(schema) });

const header = (name: string, schema: z.ZodType, description: string): Json => ({ name, in: 'header', required: false, description, schema: jsonSchema(schema) });

const correlationHeader = header('X-Correlation-Id', correlationIdSchema, 'Correlation id for logs; a new UUID when absent or malformed. Echoed in the reply.');
const locationHeader = { Location: { description: 'Where to read the result', schema: { type: 'string' } } };

const BODY_CODES: ErrorCode[] = ['invalid_json', 'payload_too_large', 'unsupported_media_type', 'validation_failed'];
/** Codes of every authenticated route that reads the store. */
const STORE_CODES: ErrorCode[] = ['unauthorized', 'internal_error', 'store_unavailable'];
/** What initialize (and an event starting a project) answers when no worker can run the project. */
const ADMISSION_CODES: ErrorCode[] = ['sandbox_unavailable', 'agent_unavailable', 'no_capable_worker'];
const authed = [{ bearer: [] }];
const open: Json[] = [];

const jsonBody = (schemaName: string): Json => ({ required: true, content: { 'application/json': { schema: ref(schemaName) } } });

/** What each control command does, by the state it applies to (the machine decides; 409 invalid_transition elsewhere). */
const COMMAND_SUMMARIES: Record<(typeof PROJECT_COMMANDS)[number], string> = {
  pause: "Pause the project's running execution (the step in progress is stopped; resume runs it again)",
  resume:
    "Resume the project's latest execution: a paused one at the step it was in, or a failed one in place (decision 0025) — back to SELECT, the failed task's result cleared and a fresh budget of attempts for it (numbered on), the other results kept; resumes counts it",
  stop: "Stop the project's running or paused execution (cleanup, then stopped, final)",
};

function paths(): Json {
  const projectId = pathParam('projectId', projectIdSchema, 'letters, digits, ".", "_", "-" (not first), at most 128; percent-decoded');
  const control = Object.fromEntries(
    PROJECT_COMMANDS.map((command) => [
      `${AUTOMATION_PATH}/${command}/{projectId}`,
      {
        post: {
          operationId: `${command}Automation`,
          summary: COMMAND_SUMMARIES[command],
          security: authed,
          parameters: [projectId, correlationHeader],
          responses: {
            '202': jsonReply('{projectId, executionId, command, from, status, version}: the state the command left'),
            ...errorResponses(['invalid_id', 'not_found', 'invalid_transition', 'conflict', ...STORE_CODES], {
              conflict: 'the execution was saved by another version of the project machine, or its stored snapshot is invalid',
            }),
          },
        },
      },
    ]),
  );
  const artifactsQuery = artifactsQuerySchema.shape;
  const projectsQuery = projectsQuerySchema.shape;
  const executionsQuery = executionsQuerySchema.shape;
  return {
    '/events': {
      post: {
        operationId: 'postEvent',
        summary: 'Record an event and enqueue its job',
        security: authed,
        parameters: [correlationHeader],
        requestBody: jsonBody('EventBody'),
        responses: {
          '202': jsonReply('{taskId, eventId, correlationId}: the event row is committed', locationHeader),
          ...errorResponses([...BODY_CODES, ...ADMISSION_CODES, ...STORE_CODES], {
            agent_unavailable: 'a DEVTEAM_AUTOMATION event whose payload is an initialize body names an agent no worker has (see initialize)',
          }),
        },
      },
    },
    '/events/{eventId}': {
      get: {
        operationId: 'getEvent',
        summary: 'Read an event row',
        security: authed,
        parameters: [pathParam('eventId', uuidSchema, 'the eventId of POST /events')],
        responses: {
          '200': jsonReply('the event row: status, taskContext, error, attempts, timestamps, queueLatencyMs'),
          ...errorResponses(['invalid_id', 'not_found', ...STORE_CODES]),
        },
      },
    },
    [`${AUTOMATION_PATH}/initialize`]: {
      post: {
        operationId: 'initializeAutomation',
        summary: 'Start automating a project',
        security: authed,
        parameters: [
          correlationHeader,
          { name: 'Idempotency-Key', in: 'header', required: false, description: '1-255 printable ASCII characters; a key seen in the last 6 h answers 409 with the original Location', schema: { type: 'string' } },
        ],
        requestBody: jsonBody('InitializeBody'),
        responses: {
          '202': jsonReply('{executionId, eventId, projectId, correlationId, status}', locationHeader),
          ...errorResponses([...BODY_CODES, 'conflict', ...ADMISSION_CODES, ...STORE_CODES], {
            conflict: 'the project already has a live execution, or the Idempotency-Key was seen in the last 6 h (then with Location and details.executionId)',
            validation_failed: 'the body or the Idempotency-Key header is invalid, a secret reference is outside the tenant\'s namespace, a file remote is not allowed; details: [{field, message}]',
          }),
        },
      },
    },
    [`${STATUS_PATH}/{projectId}`]: {
      get: {
        operationId: 'getAutomationStatus',
        summary: "The projection of the project's latest execution",
        security: authed,
        parameters: [projectId],
        responses: {
          '200': jsonReply('status, phase, currentTask, progress {done,total}, attempt, lastError, results, resumes (how often the failed run was resumed in place), running (parallelism > 1: the tasks in flight), timestamps'),
          ...errorResponses(['invalid_id', 'not_found', ...STORE_CODES]),
        },
      },
    },
    ...control,
    [`${EXECUTIONS_PATH}/{executionId}/artifacts`]: {
      get: {
        operationId: 'listArtifacts',
        summary: 'What each task attempt left (prompt, diff, files, outputs)',
        security: authed,
        parameters: [
          pathParam('executionId', executionIdSchema, 'the executionId of initialize'),
          { name: 'taskId', in: 'query', required: false, description: 'only this task\'s artifacts', schema: jsonSchema(TaskIdSchema) },
          { name: 'content', in: 'query', required: false, description: 'include the contents (capped at 256 KiB each)', schema: jsonSchema(artifactsQuery.content) },
        ],
        responses: {
          '200': jsonReply('{executionId, projectId, artifacts}'),
          ...errorResponses(['invalid_id', 'validation_failed', 'not_found', ...STORE_CODES]),
        },
      },
    },
    [`${EXECUTIONS_PATH}/{executionId}/deliveries`]: {
      get: {
        operationId: 'listWebhookDeliveries',
        summary: "The execution's webhook deliveries (notify) and every try of each: status code or error, time, duration",
        security: authed,
        parameters: [pathParam('executionId', executionIdSchema, 'the executionId of initialize')],
        responses: {
          '200': jsonReply('{executionId, projectId, deliveries: [{id, event, url, status: pending|delivered|failed, attempts, createdAt, nextAttemptAt, finishedAt, tries: [{attempt, at, statusCode, error, durationMs}]}]}'),
          ...errorResponses(['invalid_id', 'not_found', ...STORE_CODES]),
        },
      },
    },
    [PROJECTS_PATH]: {
      get: {
        operationId: 'listProjects',
        summary: "The tenant's projects, each with the status projection of its latest execution, in project id order",
        security: authed,
        parameters: [
          queryParam('status', projectsQuery.status, "only projects whose latest execution has this status"),
          queryParam('cursor', projectsQuery.cursor, 'the nextCursor of the previous page'),
          queryParam('limit', projectsQuery.limit, 'projects per page, 1-200, default 50'),
        ],
        responses: {
          '200': jsonReply('{projects: [status body as GET /status], nextCursor: string | null}'),
          ...errorResponses(['validation_failed', ...STORE_CODES]),
        },
      },
    },
    [`${PROJECTS_PATH}/{projectId}/executions`]: {
      get: {
        operationId: 'listExecutions',
        summary: "The project's executions (runs), newest first",
        security: authed,
        parameters: [
          projectId,
          queryParam('cursor', executionsQuery.cursor, 'the nextCursor of the previous page (an execution id)'),
          queryParam('limit', executionsQuery.limit, 'executions per page, 1-200, default 50'),
        ],
        responses: {
          '200': jsonReply('{projectId, executions: [status body as GET /status], nextCursor: string | null}'),
          ...errorResponses(['invalid_id', 'validation_failed', 'not_found', ...STORE_CODES]),
        },
      },
    },
    '/healthz': {
      get: { operationId: 'healthz', summary: 'Liveness', security: open, responses: { '200': jsonReply('{"status":"ok"} while the process runs') } },
    },
    '/readyz': {
      get: {
        operationId: 'readyz',
        summary: 'Readiness: the database and the queue, each within 1 s',
        security: open,
        responses: {
          '200': jsonReply('{"status":"ready","checks":{…}}'),
          // Not the error body: the same shape as 200, naming what is down.
          '503': jsonReply('{"status":"unavailable","checks":{name: "down: …"}}'),
        },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        security: open,
        responses: {
          '200': { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } },
          ...errorResponses(['internal_error']),
        },
      },
    },
    '/': {
      get: {
        operationId: 'dashboard',
        summary: 'The dashboard (HTML page; it asks for an API key itself when DEVTEAM_API_KEYS is set)',
        security: open,
        responses: { '200': { description: 'the page', content: { 'text/html': { schema: { type: 'string' } } } }, ...errorResponses(['not_found'], { not_found: 'the dashboard was not built (npm run build)' }) },
      },
    },
    [`${ASSETS_PATH}/{file}`]: {
      get: {
        operationId: 'dashboardAsset',
        summary: "The dashboard's bundles, named by content hash (cached for a year, immutable)",
        security: open,
        parameters: [{ name: 'file', in: 'path', required: true, description: 'a file name of the built dashboard', schema: { type: 'string' } }],
        responses: { '200': { description: 'the file, with its content type' }, ...errorResponses(['not_found']) },
      },
    },
    [OPENAPI_PATH]: {
      get: { operationId: 'openapi', summary: 'This document', security: open, responses: { '200': jsonReply('OpenAPI 3.1') } },
    },
    [STREAM_PATH]: { get: streamOperation() },
  };
}

/** OpenAPI has no WebSocket: the upgrade is described as a GET, the messages in `x-websocket`. */
function streamOperation(): Json {
  const [subscribe] = ClientMessageSchema.options;
  return {
    operationId: 'stream',
    summary: 'The live stream (WebSocket upgrade)',
    description:
      'Auth as REST (Authorization header), or the subprotocols `devteam, bearer.<key>`, or `?token=`. ' +
      'Client messages: ClientMessage; server frames: Frame. A bad key closes the socket after the upgrade; a project the tenant has not ' +
      'initialized (another tenant\'s included) is subscribed like any other: its resync has executionId null, its frames come from its first run.',
    security: authed,
    parameters: [
      { name: 'projectId', in: 'query', required: false, style: 'form', explode: true, schema: { type: 'array', items: jsonSchema(projectIdSchema) } },
      { name: 'lastSeq', in: 'query', required: false, description: 'with one projectId: resume after this seq', schema: jsonSchema(subscribe.shape.lastSeq) },
      { name: 'token', in: 'query', required: false, description: 'the API key, for browsers', schema: { type: 'string' } },
    ],
    responses: { '101': { description: 'Switching Protocols: the connection is a WebSocket from here on' } },
    'x-websocket': {
      clientMessage: ref('ClientMessage'),
      frame: ref('Frame'),
      closeCodes: {
        [CLOSE.policy]: 'missing or unknown key',
        [CLOSE.tooBig]: 'a message over 16 KiB',
        1001: 'server shutting down',
        1006: 'a message over 1 MiB (dropped without a close frame)',
      },
    },
  };
}

/** The document served at GET /openapi.json. */
export function openApiDocument(): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'DevTeam Runner',
      version: '0.1.0',
      description: 'Errors are {"error": {"code", "message", "details"?}}. Authorization: Bearer <key> when DEVTEAM_API_KEYS is set; local single-user mode otherwise.',
    },
    paths: paths(),
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API key of DEVTEAM_API_KEYS (tenant:key,…)' } },
      schemas: {
        EventBody: jsonSchema(eventBodySchema),
        InitializeBody: jsonSchema(initializeBodySchema),
        ErrorBody: jsonSchema(errorBodySchema),
        ClientMessage: jsonSchema(ClientMessageSchema),
        Frame: jsonSchema(FrameSchema),
      },
    },
  };
}
