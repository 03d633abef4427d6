// The OpenAI Responses API (`POST /v1/responses`, SSE), as Codex speaks it: tool calls are output
// items (`custom_tool_call` for free-form tools such as `apply_patch`, else `function_call`), and a
// turn is counted by the `*_output` items sent back.
import { nextId, sendEvent, sendJson, startEventStream, textOf, usageOf, type Dialect, type Reply } from './dialect.js';

function inputItems(body: any): any[] {
  return Array.isArray(body?.input) ? body.input : [];
}

function toolOutputCount(body: any): number {
  return inputItems(body).filter((item) => typeof item?.type === 'string' && item.type.endsWith('_call_output')).length;
}

/** Codex names its working directory in an `<environment_context>` message. */
function cwdOf(body: any): string | null {
  return /<cwd>([^<]+)<\/cwd>/.exec(JSON.stringify(inputItems(body)))?.[1] ?? null;
}

function offeredTools(body: any): any[] {
  return Array.isArray(body?.tools) ? body.tools : [];
}

function itemsOf(body: any, reply: Reply): any[] {
  const items: any[] = [];
  const text = textOf(reply);
  if (text !== undefined) {
    items.push({ type: 'message', id: nextId('msg_'), role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] });
  }
  for (const call of reply.toolCalls ?? []) {
    const offered = offeredTools(body).find((t) => t?.name === call.name);
    const callId = nextId('call_');
    if (offered?.type === 'custom' || typeof call.input === 'string') {
      items.push({ type: 'custom_tool_call', id: nextId('ctc_'), call_id: callId, name: call.name, input: String(typeof call.input === 'string' ? call.input : JSON.stringify(call.input)), status: 'completed' });
    } else {
      items.push({ type: 'function_call', id: nextId('fc_'), call_id: callId, name: call.name, arguments: JSON.stringify(call.input), status: 'completed' });
    }
  }
  return items;
}

function response(body: any, id: string, status: string, output: any[], u = { input: 10, output: 10 }) {
  return {
    id,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status,
    model: typeof body?.model === 'string' ? body.model : 'gpt-scripted',
    output,
    usage: { input_tokens: u.input, input_tokens_details: { cached_tokens: 0 }, output_tokens: u.output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: u.input + u.output },
  };
}

function stream(res: Parameters<Dialect['respond']>[3], body: any, items: any[], u: { input: number; output: number }): void {
  startEventStream(res);
  const send = (type: string, data: Record<string, unknown>) => sendEvent(res, { type, ...data }, type);
  const id = nextId('resp_');
  send('response.created', { response: response(body, id, 'in_progress', []) });
  items.forEach((item, index) => {
    const started = item.type === 'message' ? { ...item, status: 'in_progress', content: [] } : { ...item, status: 'in_progress' };
    send('response.output_item.added', { output_index: index, item: started });
    if (item.type === 'message') {
      send('response.output_text.delta', { item_id: item.id, output_index: index, content_index: 0, delta: item.content[0].text });
    }
    send('response.output_item.done', { output_index: index, item });
  });
  send('response.completed', { response: response(body, id, 'completed', items, u) });
  res.end();
}

export const openaiResponses: Dialect = {
  name: 'openai-responses',
  answerDirectly: () => false,
  parse(url, body) {
    if (!url.pathname.endsWith('/responses')) return null;
    const tools = offeredTools(body).map((t) => String(t?.name ?? t?.type));
    return { turn: toolOutputCount(body), body, cwd: cwdOf(body), tools, sideCall: tools.length === 0 };
  },
  respond(_url, body, reply, res) {
    const items = itemsOf(body, reply);
    if (body?.stream === true) stream(res, body, items, usageOf(reply));
    else sendJson(res, 200, response(body, nextId('resp_'), 'completed', items, usageOf(reply)));
  },
};
