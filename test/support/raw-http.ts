// A raw HTTP/1.1 client over a TCP socket for fuzzing: sends exactly the bytes it is given (NUL
// in paths, duplicate or malformed headers, lying Content-Length, bad chunking), which fetch and
// node:http refuse to produce, and reads one response under a hard deadline.
import { connect } from 'node:net';

export interface RawRequest {
  method: string;
  /** The request target, sent as is (no encoding). */
  target: string;
  /** Header lines in order; duplicates allowed. Host and Content-Length are added unless present or `raw`. */
  headers?: Array<[string, string]>;
  body?: Buffer | string;
  /** Send these bytes instead of building a request. */
  raw?: Buffer;
  /** Half-close the socket after sending (a client that stops mid-body). */
  endAfterSend?: boolean;
}

export interface RawResponse {
  /** 0 when the server closed or reset the connection without a complete response. */
  status: number;
  headers: Record<string, string[]>;
  body: Buffer;
  ms: number;
  /** No complete response and no close before the deadline. */
  hung: boolean;
  /** The connection ended (FIN or RST) before a complete response. */
  closedEarly: boolean;
  error?: string;
}

export function buildRequest(req: RawRequest): Buffer {
  if (req.raw) return req.raw;
  const body = req.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
  const headers = [...(req.headers ?? [])];
  const has = (name: string) => headers.some(([n]) => n.toLowerCase() === name);
  if (!has('host')) headers.unshift(['Host', '127.0.0.1']);
  if (!has('content-length') && !has('transfer-encoding') && (body.length > 0 || req.method === 'POST')) headers.push(['Content-Length', String(body.length)]);
  if (!has('connection')) headers.push(['Connection', 'close']);
  const head = `${req.method} ${req.target} HTTP/1.1\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** Parses a complete response from `buf`, or returns null when more bytes are needed. */
function parseResponse(buf: Buffer, method: string): { status: number; headers: Record<string, string[]>; body: Buffer } | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!m) return { status: -1, headers: {}, body: buf };
  const status = Number(m[1]);
  const headers: Record<string, string[]> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    (headers[name] ??= []).push(line.slice(i + 1).trim());
  }
  const rest = buf.subarray(end + 4);
  if (method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200)) {
    if (status === 100) return parseResponse(rest, method);
    return { status, headers, body: Buffer.alloc(0) };
  }
  const te = headers['transfer-encoding']?.join(',').toLowerCase() ?? '';
  if (te.includes('chunked')) {
    const chunks: Buffer[] = [];
    let at = 0;
    for (;;) {
      const nl = rest.indexOf('\r\n', at);
      if (nl < 0) return null;
      const size = parseInt(rest.subarray(at, nl).toString('latin1'), 16);
      if (Number.isNaN(size)) return { status, headers, body: rest };
      if (size === 0) return { status, headers, body: Buffer.concat(chunks) };
      if (rest.length < nl + 2 + size + 2) return null;
      chunks.push(rest.subarray(nl + 2, nl + 2 + size));
      at = nl + 2 + size + 2;
    }
  }
  const length = headers['content-length'] ? Number(headers['content-length'][0]) : undefined;
  if (length === undefined) return null; // read until close
  if (rest.length < length) return null;
  return { status, headers, body: rest.subarray(0, length) };
}

/** Sends one request and reads one response; never takes longer than `deadlineMs`. */
export function rawHttp(port: number, req: RawRequest, deadlineMs = 2_000): Promise<RawResponse> {
  const started = performance.now();
  const bytes = buildRequest(req);
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buf: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = (r: Omit<RawResponse, 'ms'>) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...r, ms: performance.now() - started });
    };
    const timer = setTimeout(() => {
      const parsed = parseResponse(buf, req.method);
      finish(parsed ? { ...parsed, hung: false, closedEarly: false } : { status: 0, headers: {}, body: buf, hung: true, closedEarly: false });
    }, deadlineMs);
    socket.on('connect', () => {
      socket.write(bytes);
      if (req.endAfterSend) socket.end();
    });
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const parsed = parseResponse(buf, req.method);
      if (parsed) finish({ ...parsed, hung: false, closedEarly: false });
    });
    const closed = (error?: Error) => {
      const parsed = parseResponse(buf, req.method);
      if (parsed) return finish({ ...parsed, hung: false, closedEarly: false });
      // A response without a length (and not chunked) ends at close.
      const end = buf.indexOf('\r\n\r\n');
      const head = end >= 0 ? buf.subarray(0, end).toString('latin1') : '';
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (m && !/\r\n(content-length|transfer-encoding):/i.test(head)) {
        return finish({ status: Number(m[1]), headers: {}, body: buf.subarray(end + 4), hung: false, closedEarly: false });
      }
      finish({ status: 0, headers: {}, body: buf, hung: false, closedEarly: true, error: error?.message });
    };
    socket.on('end', () => closed());
    socket.on('error', (e) => closed(e));
    socket.on('close', () => closed());
  });
}
