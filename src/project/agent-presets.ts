// The coding agents a project can name, the CLI each runs and the variables each reads its model
// key from: the one list the configuration schema, the presets, the key override (agent.keyEnv),
// the admission check, `devteam doctor` and the log redaction derive from.

export const AGENT_PRESETS = ['aider', 'claude-code', 'codex', 'gemini', 'opencode', 'command'] as const;
export type AgentPresetName = (typeof AGENT_PRESETS)[number];

/** The program each preset runs (`command` runs the project's own argv). */
export const AGENT_CLIS = {
  aider: 'aider',
  'claude-code': 'claude',
  codex: 'codex',
  gemini: 'gemini',
  opencode: 'opencode',
  command: null,
} as const satisfies Record<AgentPresetName, string | null>;

/** Every agent CLI, as a sandbox's PATH must find it. */
export const AGENT_CLI_NAMES: readonly string[] = Object.values(AGENT_CLIS).filter((cli): cli is NonNullable<typeof cli> => cli !== null);

/** Model key variables per preset; any one of them set is enough (a `command` agent is given none). */
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

/**
 * The variables a project's agent needs its key from, any one set being enough: the project's own
 * `agent.keyEnv` (in its tenant's namespace) when it names one, else the preset's defaults; none
 * for a `command` agent, which is handed no key.
 */
export function agentKeyVars(agent: { preset: AgentPresetName; keyEnv?: string | undefined }): readonly string[] {
  if (MODEL_KEY_VARS[agent.preset].length === 0) return [];
  return agent.keyEnv ? [agent.keyEnv] : MODEL_KEY_VARS[agent.preset];
}
