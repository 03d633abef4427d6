// A scripted Anthropic Messages API on 127.0.0.1 for driving Claude Code offline: each streamed
// turn is answered by the test's script (text and/or tool calls), and every request is recorded.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ModelRequest {
  /** Number of tool_result blocks in the conversation so far: 0 on the first turn. */
  turn: number;
  body: any;
  /** The checkout, from "Primary working directory: PATH" in the system prompt. */
  cwd: string | null;
}

export interface Reply {
  text?: string;
  toolUses?: Array<{ name: string; input: Record<string, unknown> }>;
}

export interface RecordedRequest extends ModelRequest {
  method: string;
  url: string;
  /** A request without tools (titles, summaries): answered with plain text, not by the script. */
  sideCall: boolean;
  /** The key the client sent (x-api-key, or a bearer token). */
  apiKey: string | null;
}

export interface ModelServer {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** The scripted (non-side) requests, in order. */
  turns(): RecordedRequest[];
  close(): Promise<void>;
}

export type Script = (req: ModelRequest) => Reply;

const SIDE_CALL_TEXT = 'Scripted task';

function toolResultCount(body: any): number {
  let count = 0;
  for (const message of Array.isArray(body?.messages) ? body.messages : []) {
    if (!Array.isArray(message?.content)) continue;
    for (const block of message.content) if (block?.type === 'tool_result') count++;
  }
  return count;
}

function systemText(body: any): string {
  const system = body?.system;
  if (typeof system === 'string') return system;
  if (Array.isArray(system)) return system.map((b: any) => (typeof b?.text === 'string' ? b.text : '')).join('\n');
  return '';
}

/** Every text of the request: newer Claude Code versions put the environment in a message, not in `system`. */
function allText(body: any): string {
  const parts = [systemText(body)];
  for (const message of Array.isArray(body?.messages) ? body.messages : []) {
    if (typeof message?.content === 'string') parts.push(message.content);
    else if (Array.isArray(message?.content)) for (const block of message.content) if (typeof block?.text === 'string') parts.push(block.text);
  }
  return parts.join('\n');
}

function cwdOf(body: any): string | null {
  return /Primary working directory:\s*(\S+)/.exec(allText(body))?.[1] ?? null;
}

type Block = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

let ids = 0;

function blocksOf(reply: Reply): Block[] {
  const blocks: Block[] = [];
  if (reply.text !== undefined) blocks.push({ type: 'text', text: reply.text });
  for (const use of reply.toolUses ?? []) blocks.push({ type: 'tool_use', id: `toolu_scripted_${++ids}`, name: use.name, input: use.input });
  if (blocks.length === 0) blocks.push({ type: 'text', text: 'Done.' });
  return blocks;
}

function message(body: any, blocks: Block[], stopReason: string) {
  return {
    id: `msg_scripted_${++ids}`,
    type: 'message',
    role: 'assistant',
    model: typeof body?.model === 'string' ? body.model : 'claude-scripted',
    content: blocks,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: { input_tokens: 10, output_tokens: 10 },
  };
}

function stream(res: ServerResponse, body: any, blocks: Block[], stopReason: string): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  send('message_start', { type: 'message_start', message: { ...message(body, [], stopReason), stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } } });
  blocks.forEach((block, index) => {
    if (block.type === 'text') {
      send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: block.text } });
    } else {
      send('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
    }
    send('content_block_stop', { type: 'content_block_stop', index });
  });
  send('message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: 10 } });
  send('message_stop', { type: 'message_stop' });
  res.end();
}

async function readBody(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : null;
}

export async function startModelServer(script: Script): Promise<ModelServer> {
  const requests: RecordedRequest[] = [];
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'POST') {
      // Claude Code probes with HEAD / first; any answer will do.
      res.writeHead(404).end();
      return;
    }
    const body = await readBody(req);
    if (url.pathname === '/v1/messages/count_tokens') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ input_tokens: 10 }));
      return;
    }
    if (url.pathname !== '/v1/messages') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'not found' } }));
      return;
    }
    const sideCall = !Array.isArray(body?.tools) || body.tools.length === 0;
    const bearer = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const apiKey = (req.headers['x-api-key'] as string | undefined) ?? bearer ?? null;
    const request: RecordedRequest = { method: req.method, url: req.url ?? '', body, turn: toolResultCount(body), cwd: cwdOf(body), sideCall, apiKey };
    requests.push(request);
    const reply: Reply = sideCall ? { text: SIDE_CALL_TEXT } : script({ turn: request.turn, body, cwd: request.cwd });
    const blocks = blocksOf(reply);
    const stopReason = blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
    if (body?.stream === true) stream(res, body, blocks, stopReason);
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(message(body, blocks, stopReason)));
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: String(error) } }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    turns: () => requests.filter((r) => !r.sideCall),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Joins a checkout-relative path to the agent's working directory. */
export function underCwd(cwd: string | null, path: string): string {
  if (path.startsWith('/')) return path;
  return `${(cwd ?? '/workspace').replace(/\/+$/, '')}/${path}`;
}

/** A script that writes `files` (relative to the checkout) with Write calls on turn 0, then ends. */
export function writeFileScript(files: Array<{ path: string; content: string }>): Script {
  return ({ turn, cwd }) =>
    turn === 0
      ? { text: 'Writing the files.', toolUses: files.map((f) => ({ name: 'Write', input: { file_path: underCwd(cwd, f.path), content: f.content } })) }
      : { text: 'Done: the files are written.' };
}
