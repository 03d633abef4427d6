// Public surface of the agent runner: building a preset's invocation and running it in a sandbox.
export { AGENT_PRESETS, AgentError, REDACTED_SECRET, runAgent, scrubSecrets } from './agent.js';
export type { AgentInvocation, AgentPresetName, AgentRun, AgentRunOptions } from './agent.js';
export { DEFAULT_CODEX_MODEL, DEFAULT_GEMINI_MODEL, DEFAULT_OPENCODE_MODEL, buildInvocation } from './presets.js';
export type { AgentInput } from './presets.js';
export { realDirectory, writeNewFile } from './workspace-files.js';
export { MAX_USAGE_LINE_CHARS, usageMeter } from './usage-meter.js';
export type { UsageMeter } from './usage-meter.js';
