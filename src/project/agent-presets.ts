// The coding agents a project can name, and the variables each reads its model key from: the one
// list the configuration schema, the presets, the key override (agent.keyEnv) and the log
// redaction derive from.

export const AGENT_PRESETS = ['aider', 'claude-code', 'codex', 'gemini', 'opencode', 'command'] as const;
export type AgentPresetName = (typeof AGENT_PRESETS)[number];

/** Model key variables per preset (a `command` agent gets none unless the project names one). */
export const MODEL_KEY_VARS: Readonly<Record<AgentPresetName, readonly string[]>> = {
  aider: ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY'],
  'claude-code': ['ANTHROPIC_API_KEY'],
  codex: ['OPENAI_API_KEY'],
  gemini: ['GEMINI_API_KEY'],
  opencode: ['OPENAI_API_KEY'],
  command: [],
};

/** Every model key variable of every preset, plus Google's alternative name: scrubbed from every log line. */
export const ALL_MODEL_KEY_VARS: readonly string[] = [...new Set([...Object.values(MODEL_KEY_VARS).flat(), 'GOOGLE_API_KEY'])];
