// The Anthropic Messages API (`POST /v1/messages`, SSE), as Claude Code speaks it: tool calls are
// `tool_use` blocks, a turn is counted by the `tool_result` blocks sent back.
import { nextId, sendEvent, sendJson, startEventStream, textOf, usageOf, type Dialect, type Reply, type Script } from './dialect.js';

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

function blocksOf(reply: Reply): Block[] {
  const text = textOf(reply);
  const blocks: Block[] = text === undefined ? [] : [{ type: 'text', text }];
  for (const call of reply.toolCalls ?? []) {
    const input = typeof call.input === 'string' ? { input: call.input } : call.input;
    blocks.push({ type: 'tool_use', id: nextId('toolu_'), name: call.name, input });
  }
  return blocks;
}

function message(body: any, blocks: Block[], stopReason: string | null, usage = { input: 10, output: 10 }) {
  return {
    id: nextId('msg_'),
    type: 'message',
    role: 'assistant',
    model: typeof body?.model === 'string' ? body.model : 'claude-scripted',
    content: blocks,
    stop_reason: stopReason,
    stop_sequence: null,
    usage: { input_tokens: usage.input, output_tokens: usage.output },
  };
}

function stream(res: Parameters<Dialect['respond']>[3], body: any, blocks: Block[], stopReason: string, usage: { input: number; output: number }): void {
  startEventStream(res);
  const send = (event: string, data: Record<string, unknown>) => sendEvent(res, { type: event, ...data }, event);
  send('message_start', { message: { ...message(body, [], null), usage: { input_tokens: usage.input, output_tokens: 1 } } });
  blocks.forEach((block, index) => {
    if (block.type === 'text') {
      send('content_block_start', { index, content_block: { type: 'text', text: '' } });
      send('content_block_delta', { index, delta: { type: 'text_delta', text: block.text } });
    } else {
      send('content_block_start', { index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
      send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
    }
    send('content_block_stop', { index });
  });
  send('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output } });
  send('message_stop', {});
  res.end();
}

export const anthropicMessages: Dialect = {
  name: 'anthropic-messages',
  answerDirectly(method, url, _body, res) {
    if (method !== 'POST' || url.pathname !== '/v1/messages/count_tokens') return false;
    sendJson(res, 200, { input_tokens: 10 });
    return true;
  },
  parse(url, body) {
    if (url.pathname !== '/v1/messages') return null;
    const tools: string[] = Array.isArray(body?.tools) ? body.tools.map((t: any) => String(t?.name)) : [];
    return { turn: toolResultCount(body), body, cwd: cwdOf(body), tools, sideCall: tools.length === 0 };
  },
  respond(_url, body, reply, res) {
    const blocks = blocksOf(reply);
    const stopReason = blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
    if (body?.stream === true) stream(res, body, blocks, stopReason, usageOf(reply));
    else sendJson(res, 200, message(body, blocks, stopReason, usageOf(reply)));
  },
};

/** Joins a checkout-relative path to the agent's working directory. */
export function underCwd(cwd: string | null, path: string): string {
  if (path.startsWith('/')) return path;
  return `${(cwd ?? '/workspace').replace(/\/+$/, '')}/${path}`;
}

/** A Claude Code script that writes `files` (relative to the checkout) with Write calls on turn 0, then ends. */
export function writeFileScript(files: Array<{ path: string; content: string }>): Script {
  return ({ turn, cwd }) =>
    turn === 0
      ? { text: 'Writing the files.', toolCalls: files.map((f) => ({ name: 'Write', input: { file_path: underCwd(cwd, f.path), content: f.content } })) }
      : { text: 'Done: the files are written.' };
}
