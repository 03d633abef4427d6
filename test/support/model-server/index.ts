// Public surface of the scripted model servers: one server, one dialect per model API.
export { anthropicMessages, underCwd, writeFileScript } from './anthropic-messages.js';
export { geminiGenerateContent } from './gemini-generate-content.js';
export { openaiChat } from './openai-chat.js';
export { openaiResponses } from './openai-responses.js';
export { startModelServer, startModelServerOnSocket } from './scripted-server.js';
export type { ModelServer, RecordedRequest, TcpModelServer } from './scripted-server.js';
export type { Dialect, ModelRequest, Reply, Script, ToolCall } from './dialect.js';
