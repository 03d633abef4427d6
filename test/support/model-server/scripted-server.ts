// A scripted model API for driving a real agent CLI offline: every model turn is answered by the
// test's script in the dialect's wire format, and every request is recorded. It listens on
// 127.0.0.1 or on a unix socket (which a forwarder can expose inside another network namespace).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendJson, type Dialect, type ParsedRequest, type Reply, type Script } from './dialect.js';

export interface RecordedRequest extends ParsedRequest {
  method: string;
  url: string;
  /** The key the client sent (x-api-key, x-goog-api-key, ?key= or a bearer token). */
  apiKey: string | null;
}

export interface ModelServer {
  /** Model calls (turns and side calls), in order. */
  requests: RecordedRequest[];
  /** Everything else the client asked for (probes, token counts, unknown paths): "METHOD /path". */
  others: string[];
  /** The scripted (non-side) requests, in order. */
  turns(): RecordedRequest[];
  close(): Promise<void>;
}

export interface TcpModelServer extends ModelServer {
  url: string;
  port: number;
}

const SIDE_CALL_TEXT = 'Scripted task';

async function readBody(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function apiKeyOf(req: IncomingMessage, url: URL): string | null {
  const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
  const header = (req.headers['x-api-key'] ?? req.headers['x-goog-api-key']) as string | undefined;
  return header ?? bearer ?? url.searchParams.get('key');
}

function listen(dialect: Dialect, script: Script, where: { port: number } | { path: string }) {
  const requests: RecordedRequest[] = [];
  const others: string[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    if (dialect.answerDirectly(method, url, body, res)) {
      others.push(`${method} ${url.pathname}`);
      return;
    }
    const parsed = method === 'POST' ? dialect.parse(url, body) : null;
    if (!parsed) {
      // Probes (Claude Code sends HEAD / first) and paths of other APIs: any answer will do.
      others.push(`${method} ${url.pathname}`);
      sendJson(res, 404, { error: { type: 'not_found_error', message: `${dialect.name}: no ${method} ${url.pathname}` } });
      return;
    }
    requests.push({ ...parsed, method, url: req.url ?? '', apiKey: apiKeyOf(req, url) });
    const { turn, cwd, tools } = parsed;
    const reply: Reply = parsed.sideCall ? { text: SIDE_CALL_TEXT } : script({ turn, body, cwd, tools });
    if (reply.delayMs) {
      // A slow model: nothing is sent meanwhile. Closing the server cuts the wait short.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, reply.delayMs);
        res.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (res.destroyed) return;
    }
    dialect.respond(url, body, reply, res);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { type: 'api_error', message: String(error) } });
      else res.end();
    });
  });
  const ready = new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if ('path' in where) server.listen(where.path, () => resolve());
    else server.listen(where.port, '127.0.0.1', () => resolve());
  });
  const modelServer: ModelServer = {
    requests,
    others,
    turns: () => requests.filter((r) => !r.sideCall),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
  return { server, ready, modelServer };
}

/** A scripted server of `dialect` on 127.0.0.1 (a free port). */
export async function startModelServer(dialect: Dialect, script: Script): Promise<TcpModelServer> {
  const { server, ready, modelServer } = listen(dialect, script, { port: 0 });
  await ready;
  const { port } = server.address() as AddressInfo;
  return { ...modelServer, url: `http://127.0.0.1:${port}`, port };
}

/** A scripted server of `dialect` on the unix socket `path` (which must not exist yet). */
export async function startModelServerOnSocket(dialect: Dialect, script: Script, path: string): Promise<ModelServer> {
  const { ready, modelServer } = listen(dialect, script, { path });
  await ready;
  return modelServer;
}
