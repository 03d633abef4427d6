// A real smart-HTTP git server for tests: Node http in front of `git http-backend` (CGI) with Basic
// auth on a known token, plus a server that accepts connections and never answers.
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface GitHttpServerOptions {
  /** Directory holding bare repositories, served as /<name>.git. */
  projectRoot: string;
  /** When set, every request must carry `Authorization: Basic base64(username:token)`. */
  token?: string;
  username?: string;
  /** Accept pushes (receive-pack) even without auth; with a token, authenticated pushes are always accepted. */
  push?: boolean;
}

export interface TestServer {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** Every Authorization header received (to check what the client sent). */
  authorizations: string[];
  requests: number;
  close(): Promise<void>;
}

export async function startGitHttpServer(opts: GitHttpServerOptions): Promise<TestServer> {
  const expected = opts.token ? `Basic ${Buffer.from(`${opts.username ?? 'x-access-token'}:${opts.token}`).toString('base64')}` : null;
  const state = { authorizations: [] as string[], requests: 0 };
  const server = createServer((req, res) => {
    state.requests++;
    const auth = req.headers.authorization;
    if (auth) state.authorizations.push(auth);
    if (expected && auth !== expected) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"', 'Content-Type': 'text/plain' });
      res.end('unauthorized\n');
      return;
    }
    serveCgi(req, res, opts.projectRoot, auth ? 'user' : '', opts.push === true);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get authorizations() {
      return state.authorizations;
    },
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function serveCgi(req: IncomingMessage, res: ServerResponse, projectRoot: string, remoteUser: string, push = false): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GIT_PROJECT_ROOT: projectRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ''),
    REQUEST_METHOD: req.method ?? 'GET',
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_USER: remoteUser,
    REMOTE_ADDR: '127.0.0.1',
  };
  // http-backend serves receive-pack only to an authenticated REMOTE_USER unless http.receivepack is set.
  if (push) Object.assign(env, { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.receivepack', GIT_CONFIG_VALUE_0: 'true' });
  if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
  const encoding = req.headers['content-encoding'];
  if (typeof encoding === 'string') env.HTTP_CONTENT_ENCODING = encoding;
  const protocol = req.headers['git-protocol'];
  if (typeof protocol === 'string') env.GIT_PROTOCOL = protocol;

  const cgi = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'ignore'] });
  req.pipe(cgi.stdin);
  cgi.stdin.on('error', () => {});
  let head = Buffer.alloc(0);
  let headerDone = false;
  cgi.stdout.on('data', (chunk: Buffer) => {
    if (headerDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const text = head.toString('latin1');
    const match = /\r?\n\r?\n/.exec(text);
    if (!match) return;
    headerDone = true;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of text.slice(0, match.index).split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 200;
      else headers[name] = value;
    }
    res.writeHead(status, headers);
    const body = head.subarray(Buffer.byteLength(text.slice(0, match.index + match[0].length), 'latin1'));
    if (body.length) res.write(body);
  });
  cgi.on('close', () => {
    if (!headerDone) res.writeHead(502);
    res.end();
  });
  cgi.on('error', () => {
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
}

/** Accepts TCP connections and never writes a byte: a remote that hangs. */
export async function startHangingServer(): Promise<TestServer> {
  const sockets = new Set<Socket>();
  let requests = 0;
  const server = createNetServer((socket) => {
    requests++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    authorizations: [],
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
