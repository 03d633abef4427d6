// The far end of a forge's REST API for tests (no forge runs here): the pull-request endpoints of
// GitHub, GitLab and Gitea on 127.0.0.1, checking what each checks — its auth header and token,
// the required fields, the head branch existing on the repository, a second open pull request for
// the same head and base refused with that forge's status (GitHub 422, GitLab 409, Gitea 409).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ForgeType } from '../../src/infra/forge/index.js';

export interface OpenedPr {
  number: number;
  head: string;
  base: string;
  title: string;
  body: string;
}

export interface ScriptedForge {
  type: ForgeType;
  /** The API root to configure (`merge.forge.apiUrl`). */
  apiUrl: string;
  /** Every pull request opened, in order. */
  opened: OpenedPr[];
  /** Every request: method, path and query, and its auth header names (never values). */
  requests: Array<{ method: string; path: string; headers: string[] }>;
  close(): Promise<void>;
}

export interface ScriptedForgeOptions {
  type: ForgeType;
  /** `owner/name` (GitLab: any group path). */
  repoPath: string;
  token: string;
  /** The branches the repository has now (e.g. read from a bare repository). */
  branches: () => Promise<Set<string>>;
  /** Answer every request with this status first (e.g. 502 to test failures). */
  failWith?: number;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | null> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : null);

export async function startScriptedForge(opts: ScriptedForgeOptions): Promise<ScriptedForge> {
  const opened: OpenedPr[] = [];
  const requests: ScriptedForge['requests'] = [];
  let port = 0;
  const prefix = opts.type === 'gitlab' ? '/api/v4' : opts.type === 'gitea' ? '/api/v1' : '';
  const web = (n: number) => `http://127.0.0.1:${port}/${opts.repoPath}/${opts.type === 'gitlab' ? '-/merge_requests' : 'pull'}/${n}`;

  const authorized = (req: IncomingMessage): boolean => {
    const h = req.headers;
    if (opts.type === 'github') return h.authorization === `Bearer ${opts.token}` || h.authorization === `token ${opts.token}`;
    if (opts.type === 'gitlab') return h['private-token'] === opts.token || h.authorization === `Bearer ${opts.token}`;
    return h.authorization === `token ${opts.token}` || h.authorization === `Bearer ${opts.token}`;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({ method: req.method ?? '', path: `${url.pathname}${url.search}`, headers: Object.keys(req.headers).filter((k) => ['authorization', 'private-token'].includes(k)) });
    if (opts.failWith) return reply(res, opts.failWith, { message: 'scripted failure' });
    if (opts.type === 'github' && !req.headers['user-agent']) return reply(res, 403, { message: 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header' });
    if (!authorized(req)) return reply(res, 401, opts.type === 'gitlab' ? { message: '401 Unauthorized' } : { message: 'Bad credentials' });

    const repoBase = opts.type === 'gitlab' ? `${prefix}/projects/${encodeURIComponent(opts.repoPath)}` : `${prefix}/repos/${opts.repoPath}`;
    const collection = opts.type === 'gitlab' ? `${repoBase}/merge_requests` : `${repoBase}/pulls`;
    // GitLab takes the project path URL-encoded: the raw path arrives with %2F.
    const path = req.url?.split('?')[0] ?? '';
    if (path !== collection) return reply(res, 404, { message: 'Not Found' });

    const owner = opts.repoPath.split('/')[0];
    if (req.method === 'GET') {
      const q = url.searchParams;
      let list = opened;
      if (opts.type === 'github') {
        const head = q.get('head');
        if (head) list = list.filter((p) => `${owner}:${p.head}` === head);
        if (q.get('base')) list = list.filter((p) => p.base === q.get('base'));
        return reply(res, 200, list.map((p) => ({ number: p.number, html_url: web(p.number), head: { ref: p.head }, base: { ref: p.base }, state: 'open' })));
      }
      if (opts.type === 'gitlab') {
        if (q.get('source_branch')) list = list.filter((p) => p.head === q.get('source_branch'));
        if (q.get('target_branch')) list = list.filter((p) => p.base === q.get('target_branch'));
        return reply(res, 200, list.map((p) => ({ iid: p.number, web_url: web(p.number), source_branch: p.head, target_branch: p.base, state: 'opened' })));
      }
      const limit = Number(q.get('limit') ?? 30);
      const page = Number(q.get('page') ?? 1);
      return reply(res, 200, list.slice((page - 1) * limit, page * limit).map((p) => ({ number: p.number, html_url: web(p.number), head: { ref: p.head }, base: { ref: p.base }, state: 'open' })));
    }
    if (req.method !== 'POST') return reply(res, 405, { message: 'Method Not Allowed' });

    const body = await readJson(req);
    if (!body) return reply(res, 400, { message: 'Problems parsing JSON' });
    const head = str(opts.type === 'gitlab' ? body.source_branch : body.head);
    const base = str(opts.type === 'gitlab' ? body.target_branch : body.base);
    const title = str(body.title);
    const text = String((opts.type === 'gitlab' ? body.description : body.body) ?? '');
    if (!head || !base || !title) {
      const missing = !head ? (opts.type === 'gitlab' ? 'source_branch' : 'head') : !base ? (opts.type === 'gitlab' ? 'target_branch' : 'base') : 'title';
      if (opts.type === 'gitlab') return reply(res, 400, { error: `${missing} is missing` });
      return reply(res, 422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'missing_field', field: missing }] });
    }
    const branches = await opts.branches();
    if (!branches.has(head) || !branches.has(base) || head === base) {
      if (opts.type === 'gitlab') return reply(res, 422, { message: ['Source branch does not exist'] });
      return reply(res, 422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', field: 'head', code: 'invalid' }] });
    }
    const duplicate = opened.find((p) => p.head === head && p.base === base);
    if (duplicate) {
      if (opts.type === 'github') return reply(res, 422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${owner}:${head}.` }] });
      if (opts.type === 'gitlab') return reply(res, 409, { message: [`Another open merge request already exists for this source branch: !${duplicate.number}`] });
      return reply(res, 409, { message: `pull request already exists for these targets [id: ${duplicate.number}, head_branch: ${head}, base_branch: ${base}]` });
    }
    const pr = { number: opened.length + 1, head, base, title, body: text };
    opened.push(pr);
    if (opts.type === 'gitlab') return reply(res, 201, { iid: pr.number, web_url: web(pr.number), source_branch: head, target_branch: base, title });
    return reply(res, 201, { number: pr.number, html_url: web(pr.number), head: { ref: head }, base: { ref: base }, title });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => reply(res, 500, { message: error.message }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
  return {
    type: opts.type,
    apiUrl: `http://127.0.0.1:${port}${prefix}`,
    opened,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
