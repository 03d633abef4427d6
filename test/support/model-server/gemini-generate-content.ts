// The Gemini API (`POST /v1beta/models/M:streamGenerateContent?alt=sse`), as Gemini CLI speaks it:
// tool calls are `functionCall` parts, a turn is counted by the `functionResponse` parts sent back.
import { sendEvent, sendJson, startEventStream, textOf, usageOf, type Dialect, type Reply } from './dialect.js';

function parts(body: any): any[] {
  const contents: any[] = Array.isArray(body?.contents) ? body.contents : [];
  return contents.flatMap((c) => (Array.isArray(c?.parts) ? c.parts : []));
}

/** Gemini CLI names its working directory in the first user message. */
function cwdOf(body: any): string | null {
  const text = parts(body)
    .map((p) => (typeof p?.text === 'string' ? p.text : ''))
    .join('\n');
  return /working in the directory:?\s*`?([^\s`]+?)`?\s*$/m.exec(text)?.[1] ?? null;
}

function toolNames(body: any): string[] {
  const tools: any[] = Array.isArray(body?.tools) ? body.tools : [];
  return tools.flatMap((t) => (Array.isArray(t?.functionDeclarations) ? t.functionDeclarations.map((d: any) => String(d?.name)) : []));
}

function responseOf(url: URL, reply: Reply) {
  const text = textOf(reply);
  const replyParts: any[] = text === undefined ? [] : [{ text }];
  for (const call of reply.toolCalls ?? []) {
    replyParts.push({ functionCall: { name: call.name, args: typeof call.input === 'string' ? { input: call.input } : call.input } });
  }
  const model = /models\/([^:]+):/.exec(url.pathname)?.[1] ?? 'gemini-scripted';
  return {
    candidates: [{ content: { role: 'model', parts: replyParts }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: usageOf(reply).input, candidatesTokenCount: usageOf(reply).output, totalTokenCount: usageOf(reply).input + usageOf(reply).output },
    modelVersion: model,
  };
}

export const geminiGenerateContent: Dialect = {
  name: 'gemini-generate-content',
  answerDirectly(method, url, _body, res) {
    if (method !== 'POST' || !url.pathname.endsWith(':countTokens')) return false;
    sendJson(res, 200, { totalTokens: 10 });
    return true;
  },
  parse(url, body) {
    if (!/:(stream)?generateContent$/i.test(url.pathname)) return null;
    const tools = toolNames(body);
    const turn = parts(body).filter((p) => p?.functionResponse !== undefined).length;
    return { turn, body, cwd: cwdOf(body), tools, sideCall: tools.length === 0 };
  },
  respond(url, _body, reply, res) {
    const answer = responseOf(url, reply);
    if (!url.pathname.endsWith(':streamGenerateContent')) {
      sendJson(res, 200, answer);
      return;
    }
    startEventStream(res);
    sendEvent(res, answer);
    res.end();
  },
};
