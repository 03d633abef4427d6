// Calls into the database (and the kv store) from a request, bounded by a deadline, and the one
// place where their failures become HTTP errors: a value the store refuses (SQLSTATE class 22) is
// the request's fault, 422; an unreachable or timed-out store is 503 `store_unavailable`, which
// recovers by itself; a stored project snapshot that fails its schema is 409 `conflict`; anything
// else is a bug, 500. Causes are logged, never sent.
import { TimeoutError, withTimeout } from '../infra/deadline.js';
import { InvalidSnapshotError } from '../machines/index.js';
import { ApiError } from './errors.js';

/** A store that does not answer within this fails the request (design.md: fail fast, recover by itself). */
export const STORE_TIMEOUT_MS = 1_000;

export async function storeCall<T>(call: () => Promise<T>, timeoutMs = STORE_TIMEOUT_MS): Promise<T> {
  try {
    // Through a promise, so a call that throws synchronously is classified like one that rejects.
    return await withTimeout(Promise.resolve().then(call), timeoutMs, 'database');
  } catch (error) {
    throw storeError(error);
  }
}

export type StoreFailure = 'data' | 'unavailable' | 'bug';

// SQLSTATE classes: 08 connection exception, 28 authorization (a rotated password), 3D no such
// database, 40 rollback (serialization failure, deadlock: retry), 53 insufficient resources,
// 57 operator intervention (shutdown, cannot connect now), 58 system error (I/O).
const UNAVAILABLE_CLASSES = new Set(['08', '28', '3D', '40', '53', '57', '58']);
// postgres.js's own connection errors.
const DRIVER_CONNECTION_CODES = new Set(['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT']);
// Our adapters' typed errors for an unreachable store.
const ADAPTER_UNAVAILABLE_CODES = new Set(['database_unavailable', 'redis_unavailable', 'timeout']);
// ioredis rejects a command on a dropped connection with these (no code).
const REDIS_CONNECTION_MESSAGES = /^(Connection is closed\.|Command timed out|Stream isn't writeable)/;

export function classifyStoreFailure(error: unknown): StoreFailure {
  if (error instanceof TimeoutError) return 'unavailable';
  if (typeof error !== 'object' || error === null) return 'bug';
  const { code, name, message, severity } = error as { code?: unknown; name?: unknown; message?: unknown; severity?: unknown };
  if (code === 'invalid_json_value') return 'data';
  if (typeof code === 'string') {
    // A server error: five-character SQLSTATE with a severity.
    if (typeof severity === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
      // FATAL ends the session: the server refused or dropped the connection (e.g. 55000 "not
      // accepting connections", 3D000 "no such database"), whatever the class says.
      if (severity === 'FATAL' || severity === 'PANIC') return 'unavailable';
      const cls = code.slice(0, 2);
      if (cls === '22') return 'data';
      return UNAVAILABLE_CLASSES.has(cls) ? 'unavailable' : 'bug';
    }
    if (DRIVER_CONNECTION_CODES.has(code) || ADAPTER_UNAVAILABLE_CODES.has(code)) return 'unavailable';
    // Node socket errors: ECONNREFUSED, ECONNRESET, EPIPE, ETIMEDOUT, ENOTFOUND, EAI_AGAIN…
    if (/^E[A-Z_]+$/.test(code)) return 'unavailable';
  }
  if (name === 'MaxRetriesPerRequestError') return 'unavailable';
  if (typeof message === 'string' && REDIS_CONNECTION_MESSAGES.test(message)) return 'unavailable';
  return 'bug';
}

/** The HTTP error for a failed store call; an ApiError raised inside the call passes through. */
export function storeError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof InvalidSnapshotError) return invalidSnapshot(error);
  switch (classifyStoreFailure(error)) {
    case 'data': {
      const sqlState = (error as { code?: string }).code;
      return new ApiError(
        'validation_failed',
        'a value in the request cannot be stored',
        [{ field: '(body)', message: 'the database refused a value of this request', ...(sqlState && sqlState !== 'invalid_json_value' ? { sqlState } : {}) }],
        { cause: error },
      );
    }
    case 'unavailable':
      return new ApiError('store_unavailable', 'the database is unavailable; retry later', undefined, { cause: error });
    default:
      return new ApiError('internal_error', 'internal error', undefined, { cause: error });
  }
}

/**
 * A stored snapshot this build cannot restore (written by another build without a version bump,
 * edited by hand, cut short): nothing can be decided on it, and retrying will not change that, so
 * it is not 503; the request itself is sound and our code did what it should, so it is not 500. It
 * is the project's stored state that refuses the request — 409 `conflict`, like an execution saved
 * by another machine version. Which fields failed stays in the cause (logged by the worker that
 * cannot drive the project either), not in the reply.
 */
function invalidSnapshot(error: InvalidSnapshotError): ApiError {
  return new ApiError(
    'conflict',
    "the project's stored state is invalid and cannot be read by this build; it must be repaired before any command applies",
    { reason: error.code },
    { cause: error },
  );
}
