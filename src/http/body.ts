// Reads a JSON request body from uWebSockets.js with the size limit enforced while streaming:
// a body over the limit is refused as soon as it crosses it, never buffered whole. Before the
// route sees it, the body is refused when it nests too deep (counted on the raw text, before
// JSON.parse) or holds a string the store cannot keep (U+0000, a lone surrogate) in any key or value.
import { findUnstorableText, TEXT_PROBLEM_MESSAGES } from '../project/index.js';
import { ApiError, fieldName, validationFailed } from './errors.js';
import type { Exchange } from './exchange.js';
import { findDepthViolation, MAX_JSON_DEPTH } from './json-depth.js';

export interface BodyHeaders {
  contentType: string;
  contentLength: string;
}

const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;

/** Checks what can be checked from the headers alone (415, 413 on a declared length). */
export function checkBodyHeaders(headers: BodyHeaders, limit: number): void {
  if (!JSON_TYPE.test(headers.contentType)) {
    throw new ApiError('unsupported_media_type', `expected Content-Type application/json, got ${headers.contentType ? `"${headers.contentType.slice(0, 100)}"` : 'none'}`);
  }
  if (headers.contentLength !== '' && Number(headers.contentLength) > limit) {
    throw new ApiError('payload_too_large', `body of ${headers.contentLength} bytes is over the limit of ${limit} bytes`, { limit });
  }
}

/** Resolves with the parsed JSON; rejects with an ApiError (400, 413, 422). Call synchronously in the handler. */
export function readJsonBody(exchange: Exchange, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    // A client that goes away mid-body: settle, so nothing waits on a body that never completes.
    exchange.onAbort(() => {
      failed = true;
      reject(new ApiError('invalid_json', 'the request was aborted before its body was complete'));
    });
    exchange.res.onData((chunk, isLast) => {
      if (failed) return;
      size += chunk.byteLength;
      if (size > limit) {
        failed = true;
        reject(new ApiError('payload_too_large', `body is over the limit of ${limit} bytes`, { limit }));
        return;
      }
      // uWS neuters the ArrayBuffer after this callback returns: copy it.
      chunks.push(Buffer.from(new Uint8Array(chunk).slice()));
      if (!isLast) return;
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks, size).toString('utf8');
      if (text.trim() === '') {
        reject(new ApiError('invalid_json', 'request body is empty; expected a JSON object'));
        return;
      }
      try {
        resolve(parseJsonBody(text));
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** The body's JSON value, or an ApiError: 422 too deep, 400 malformed, 422 unstorable text. */
export function parseJsonBody(text: string): unknown {
  const tooDeep = findDepthViolation(text, MAX_JSON_DEPTH);
  if (tooDeep) {
    const field = tooDeep.field === '(body)' ? '(body)' : fieldName([tooDeep.field]);
    throw validationFailed([{ field, message: `nests deeper than ${MAX_JSON_DEPTH} levels of objects and arrays` }]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ApiError('invalid_json', `request body is not valid JSON: ${(error as Error).message}`);
  }
  const bad = findUnstorableText(value);
  if (bad) {
    const what = bad.inKey ? 'key' : 'value';
    throw validationFailed([{ field: fieldName(bad.path), message: `${what} ${TEXT_PROBLEM_MESSAGES[bad.problem]}` }]);
  }
  return value;
}
