// The OpenAI Chat Completions API (`POST /v1/chat/completions`, SSE), as OpenCode speaks it through
// @ai-sdk/openai-compatible: tool calls are `tool_calls` deltas, a turn is counted by the `tool`
// messages sent back.
import { nextId, sendEvent, sendJson, startEventStream, textOf, usageOf, type Dialect, type Reply } from './dialect.js';

function messages(body: any): any[] {
  return Array.isArray(body?.messages) ? body.messages : [];
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p: any) => (typeof p?.text === 'string' ? p.text : '')).join('\n');
  return '';
}

/** OpenCode names its working directory in the system prompt's environment section. */
function cwdOf(body: any): string | null {
  const system = messages(body)
    .filter((m) => m?.role === 'system')
    .map((m) => contentText(m.content))
    .join('\n');
  return /Working directory:\s*(\S+)/.exec(system)?.[1] ?? null;
}

function toolCallsOf(reply: Reply) {
  return (reply.toolCalls ?? []).map((call, index) => ({
    index,
    id: nextId('call_'),
    type: 'function',
    function: { name: call.name, arguments: typeof call.input === 'string' ? call.input : JSON.stringify(call.input) },
  }));
}

function chunk(body: any, id: string, delta: Record<string, unknown>, finishReason: string | null) {
  return {
    id,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model: typeof body?.model === 'string' ? body.model : 'gpt-scripted',
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  };
}

function usageFields(reply: Reply) {
  const u = usageOf(reply);
  return { prompt_tokens: u.input, completion_tokens: u.output, total_tokens: u.input + u.output };
}

export const openaiChat: Dialect = {
  name: 'openai-chat',
  answerDirectly: () => false,
  parse(url, body) {
    if (!url.pathname.endsWith('/chat/completions')) return null;
    const tools: string[] = Array.isArray(body?.tools) ? body.tools.map((t: any) => String(t?.function?.name ?? t?.name)) : [];
    const turn = messages(body).filter((m) => m?.role === 'tool').length;
    return { turn, body, cwd: cwdOf(body), tools, sideCall: tools.length === 0 };
  },
  respond(_url, body, reply, res) {
    const text = textOf(reply);
    const toolCalls = toolCallsOf(reply);
    const finishReason = toolCalls.length > 0 ? 'tool_calls' : 'stop';
    const id = nextId('chatcmpl_');
    if (body?.stream !== true) {
      const message = { role: 'assistant', content: text ?? null, ...(toolCalls.length ? { tool_calls: toolCalls.map(({ index: _, ...c }) => c) } : {}) };
      sendJson(res, 200, { id, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: body?.model, choices: [{ index: 0, message, finish_reason: finishReason }], usage: usageFields(reply) });
      return;
    }
    startEventStream(res);
    sendEvent(res, chunk(body, id, { role: 'assistant', content: '' }, null));
    if (text !== undefined) sendEvent(res, chunk(body, id, { content: text }, null));
    if (toolCalls.length > 0) sendEvent(res, chunk(body, id, { tool_calls: toolCalls }, null));
    sendEvent(res, chunk(body, id, {}, finishReason));
    sendEvent(res, { ...chunk(body, id, {}, null), choices: [], usage: usageFields(reply) });
    sendEvent(res, '[DONE]');
    res.end();
  },
};
