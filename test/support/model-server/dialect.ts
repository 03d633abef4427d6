// What a scripted model server needs from one model API ("dialect"): how to read a request of that
// API into a turn the test's script answers, and how to write the script's reply in that API's
// stream format. The server itself (scripted-server.ts) is the same for every dialect.
import type { ServerResponse } from 'node:http';

/** One model request, as the test's script sees it. */
export interface ModelRequest {
  /** Number of tool results in the conversation so far: 0 on the first turn. */
  turn: number;
  body: any;
  /** The agent's working directory when the dialect's prompt names it, else null. */
  cwd: string | null;
  /** Names of the tools the request offers (the script must answer with one of these). */
  tools: string[];
}

/** A tool call of a reply: an object for function tools, a string for free-form (custom) tools. */
export interface ToolCall {
  name: string;
  input: Record<string, unknown> | string;
}

export interface Reply {
  text?: string;
  toolCalls?: ToolCall[];
  /** Tokens the reply reports (each dialect in its own usage fields); default 10 in, 10 out. */
  usage?: { input: number; output: number };
  /** Holds the answer this long first (an agent waiting on a slow model prints nothing meanwhile). */
  delayMs?: number;
}

export type Script = (req: ModelRequest) => Reply;

/** What a dialect reads from a request it answers. */
export interface ParsedRequest extends ModelRequest {
  /** A request without tools (titles, summaries, routing): answered with plain text, not by the script. */
  sideCall: boolean;
}

export interface Dialect {
  /** For messages: "anthropic-messages", "openai-responses", … */
  readonly name: string;
  /**
   * Answers what is not a model turn (token counts, probes) and returns true, or returns false to
   * let `parse` read the request as a model turn.
   */
  answerDirectly(method: string, url: URL, body: any, res: ServerResponse): boolean;
  /** The model turn in a POST to this API, or null when the path is not one of its model calls. */
  parse(url: URL, body: any): ParsedRequest | null;
  /** Writes `reply` as this API's response to `body` (streamed when the request asked for it). */
  respond(url: URL, body: any, reply: Reply, res: ServerResponse): void;
}

let ids = 0;

/** A process-wide unique id with a prefix ("toolu_", "call_"): tool results are matched by it. */
export function nextId(prefix: string): string {
  return `${prefix}scripted_${++ids}`;
}

/** Starts a server-sent-events response. */
export function startEventStream(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
}

/** One SSE event: `event:` is written only when named (Anthropic, Responses); Chat and Gemini send data only. */
export function sendEvent(res: ServerResponse, data: unknown, event?: string): void {
  res.write(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

export function sendJson(res: ServerResponse, status: number, data: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(data));
}

/** The tokens a reply reports: the script's, or 10 in and 10 out. */
export function usageOf(reply: Reply): { input: number; output: number } {
  return reply.usage ?? { input: 10, output: 10 };
}

/** The reply's text, or "Done." when it has neither text nor tool calls (an empty turn confuses every CLI). */
export function textOf(reply: Reply): string | undefined {
  return reply.text ?? (reply.toolCalls?.length ? undefined : 'Done.');
}
