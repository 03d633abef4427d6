// One JSON call to a forge's REST API: bounded in time, the token in a header only (never in a
// URL, a log line or an error message), failures mapped to ForgeError codes.
import { ForgeError, type ForgeType } from './forge.js';

const TIMEOUT_MS = 30_000;
/** Bytes of an error reply kept for the message: enough to say why, never a whole page. */
const ERROR_EXCERPT = 300;

export interface ForgeCall {
  forge: ForgeType;
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
}

/** The reply's status and JSON body; 2xx and the statuses in `accept` are returned, others thrown. */
export async function forgeCall(call: ForgeCall, accept: readonly number[] = []): Promise<{ status: number; json: unknown }> {
  const signal = call.signal ? AbortSignal.any([call.signal, AbortSignal.timeout(TIMEOUT_MS)]) : AbortSignal.timeout(TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(call.url, {
      method: call.method,
      headers: { accept: 'application/json', 'user-agent': 'devteam-runner', ...(call.body === undefined ? {} : { 'content-type': 'application/json' }), ...call.headers },
      body: call.body === undefined ? undefined : JSON.stringify(call.body),
      redirect: 'error',
      signal,
    });
  } catch (error) {
    if (call.signal?.aborted) throw call.signal.reason ?? error;
    throw new ForgeError('forge_unavailable', `${call.forge} API did not answer ${call.method} ${pathOf(call.url)}: ${(error as Error).message}`, { forge: call.forge });
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (res.ok || accept.includes(res.status)) return { status: res.status, json };
  const why = `${call.forge} API answered ${res.status} to ${call.method} ${pathOf(call.url)}: ${text.slice(0, ERROR_EXCERPT)}`;
  const code = res.status === 401 || res.status === 403 ? 'forge_auth_failed' : res.status === 404 ? 'forge_not_found' : res.status >= 500 ? 'forge_unavailable' : 'forge_refused';
  throw new ForgeError(code, why, { forge: call.forge, status: res.status });
}

/** The path of a URL without its query (the query may carry a branch name; never a token). */
function pathOf(url: string): string {
  return new URL(url).pathname;
}
