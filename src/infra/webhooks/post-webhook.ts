// One webhook try: a signed JSON POST, no redirects followed, bounded in time, and — unless the
// operator allowed private destinations — refused when the host name resolves to this machine or a
// private network (checked on the addresses actually connected to, so DNS cannot be used to
// rebind an accepted name to an internal service after initialize checked it).
import { createHmac } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { webhookAddressProblem, webhookUrlProblem } from '../../project/index.js';

export const SIGNATURE_HEADER = 'x-devteam-signature';
export const EVENT_HEADER = 'x-devteam-event';
export const DELIVERY_HEADER = 'x-devteam-delivery';
/** Response bytes read before the connection is dropped: a receiver's answer is not ours to keep. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface WebhookPost {
  url: string;
  body: string;
  event: string;
  deliveryId: string;
  /** The HMAC key. */
  secret: string;
  timeoutMs: number;
  allowPrivate: boolean;
}

/** How the try went: a status code (any), or why no response came. */
export interface WebhookTryResult {
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

/** `sha256=<hex HMAC-SHA256 of the body>`, what X-DevTeam-Signature carries. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

class RefusedAddressError extends Error {
  readonly code = 'EWEBHOOKREFUSED';
}

/** dns.lookup, answering only addresses a webhook may reach. */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 4);
    const refused = addresses.map((a) => webhookAddressProblem(a.address)).find((p) => p !== null);
    if (refused || addresses.length === 0) return callback(new RefusedAddressError(`${hostname} resolves to ${refused ?? 'no address'}`), '', 4);
    if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    return callback(null, addresses[0]!.address, addresses[0]!.family);
  });
};

export function postWebhook(post: WebhookPost): Promise<WebhookTryResult> {
  const started = performance.now();
  const done = (statusCode: number | null, error: string | null): WebhookTryResult => ({ statusCode, error, durationMs: performance.now() - started });
  const problem = webhookUrlProblem(post.url, { allowPrivate: post.allowPrivate });
  if (problem) return Promise.resolve(done(null, `refused: ${problem}`));
  const url = new URL(post.url);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(post.body),
          'user-agent': 'devteam-runner-webhook',
          [EVENT_HEADER]: post.event,
          [DELIVERY_HEADER]: post.deliveryId,
          [SIGNATURE_HEADER]: webhookSignature(post.secret, post.body),
        },
        ...(post.allowPrivate ? {} : { lookup: guardedLookup }),
        signal: AbortSignal.timeout(post.timeoutMs),
      },
      (res: IncomingMessage) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_RESPONSE_BYTES) res.destroy();
        });
        res.on('close', () => resolve(done(res.statusCode ?? null, null)));
        res.on('error', () => undefined);
      },
    );
    req.on('error', (error: Error & { code?: string }) => {
      const why = error.name === 'AbortError' || error.name === 'TimeoutError' ? `no response within ${post.timeoutMs} ms` : error instanceof RefusedAddressError ? `refused: ${error.message}` : `${error.code ?? error.name}: ${error.message}`;
      resolve(done(null, why.slice(0, 500)));
    });
    req.end(post.body);
  });
}
