// A small HTTP client for tests of the API: raw bodies (so a test can send what JSON.stringify
// never produces: a lone surrogate escape, 5,000 levels of nesting), a deadline on every call, and
// replies decoded whatever their content type.

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  body: any;
}

export interface ApiClient {
  request(method: string, path: string, opts?: { body?: string; headers?: Record<string, string>; key?: string | null; timeoutMs?: number }): Promise<Reply>;
  post(path: string, body: unknown, opts?: { key?: string | null; headers?: Record<string, string> }): Promise<Reply>;
  get(path: string, opts?: { key?: string | null }): Promise<Reply>;
}

export function apiClient(port: number, defaultKey: string | null = null): ApiClient {
  const base = `http://127.0.0.1:${port}`;
  const request: ApiClient['request'] = async (method, path, opts = {}) => {
    const key = opts.key === undefined ? defaultKey : opts.key;
    const headers: Record<string, string> = { ...(key ? { authorization: `Bearer ${key}` } : {}), ...opts.headers };
    if (opts.body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, { method, headers, body: opts.body, signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, headers: res.headers, text, body };
  };
  return {
    request,
    post: (path, body, opts = {}) => request('POST', path, { body: typeof body === 'string' ? body : JSON.stringify(body), ...opts }),
    get: (path, opts = {}) => request('GET', path, opts),
  };
}

/** `{"a":{"a":…1…}}` nested `depth` levels, built as text (JSON.stringify would overflow first). */
export function nestedJson(depth: number, key = 'a'): string {
  return `${`{"${key}":`.repeat(depth)}1${'}'.repeat(depth)}`;
}
