// Reads a JSON request body from uWebSockets.js with the size limit enforced while streaming:
// a body over the limit is refused as soon as it crosses it, never buffered whole.
import { ApiError } from './errors.js';
import type { Exchange } from './exchange.js';

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

/** Resolves with the parsed JSON; rejects with an ApiError (400, 413). Call synchronously in the handler. */
export function readJsonBody(exchange: Exchange, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
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
        resolve(JSON.parse(text));
      } catch (error) {
        reject(new ApiError('invalid_json', `request body is not valid JSON: ${(error as Error).message}`));
      }
    });
  });
}
