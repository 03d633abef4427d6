// Failure classes of the use cases, each with a stable code, and the one place where codes map to
// HTTP statuses and JSON error bodies (the fronts in src/http only call toErrorResponse).
import { ZodError } from 'zod';
import type { FieldIssue } from '../project/index.js';

export type ErrorCode =
  | 'unsupported_media_type'
  | 'invalid_json'
  | 'invalid_id'
  | 'validation_failed'
  | 'payload_too_large'
  | 'unauthorized'
  | 'not_found'
  | 'invalid_transition'
  | 'conflict'
  | 'store_unavailable'
  | 'sandbox_unavailable'
  | 'agent_unavailable'
  | 'no_capable_worker'
  | 'internal_error';

const STATUS: Record<ErrorCode, number> = {
  unsupported_media_type: 415,
  invalid_json: 400,
  invalid_id: 400,
  validation_failed: 422,
  payload_too_large: 413,
  unauthorized: 401,
  not_found: 404,
  invalid_transition: 409,
  conflict: 409,
  store_unavailable: 503,
  sandbox_unavailable: 503,
  agent_unavailable: 422,
  no_capable_worker: 503,
  internal_error: 500,
};

export class ApiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    options?: { cause?: unknown; headers?: Record<string, string> },
  ) {
    super(message, options);
    this.headers = options?.headers;
  }

  /** Response headers that belong with the error, e.g. the Location of an already-accepted request. */
  readonly headers: Record<string, string> | undefined;

  get status(): number {
    return STATUS[this.code];
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

export type { FieldIssue };

/**
 * A field as clients name it: keys and indices joined with ".", `(body)` for the whole body. A key
 * that is itself unprintable (U+0000, a lone surrogate) is shown as its JSON string literal.
 */
export function fieldName(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '(body)';
  return path
    .map((part) => {
      const text = String(part);
      return /^[\x20-\x7e]*$/.test(text) ? text : JSON.stringify(text);
    })
    .join('.');
}

/** 422 `validation_failed` listing each field: "repository.url: must not…; tasks.path: …". */
export function validationFailed(details: FieldIssue[]): ApiError {
  return new ApiError('validation_failed', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);
}

/** Field-level messages from a zod error: "projectId: Invalid input: expected string, received undefined". */
export function validationError(error: ZodError): ApiError {
  return validationFailed(error.issues.map((issue) => ({ field: fieldName(issue.path), message: issue.message })));
}

/** Anything thrown by a handler becomes an error body; unknown errors never leak their message or stack. */
export function toErrorResponse(error: unknown): { status: number; body: ErrorBody; headers?: Record<string, string> } {
  const api = error instanceof ApiError ? error : new ApiError('internal_error', 'internal error');
  const body: ErrorBody = { error: { code: api.code, message: api.message } };
  if (api.details !== undefined) body.error.details = api.details;
  return { status: api.status, body, headers: api.headers };
}
