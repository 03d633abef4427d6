// The argv, environment and config files of each supported agent CLI, as measured offline against a
// scripted model server (see agents.md): credentials and base URLs come from the worker's env.
import { AGENT_CLIS } from '../../project/index.js';
import { AgentError, type AgentInvocation, type AgentPresetName } from './agent.js';

export interface AgentInput {
  /** Path of the prompt file inside the sandbox. */
  promptFile: string;
  prompt: string;
  model?: string;
  /** Extra user arguments, appended after the preset's own. */
  args: string[];
  /** For the `command` preset: the user's argv; every `{promptFile}` is replaced. */
  command?: string[];
  /** Writable directory inside the sandbox used as HOME (and CODEX_HOME etc.). */
  home: string;
  /** The worker's environment: credentials and base URLs are read from it. */
  env: Record<string, string | undefined>;
}

export const DEFAULT_CODEX_MODEL = 'gpt-5.5';
export const DEFAULT_GEMINI_MODEL = 'gemini-2.5-pro';
export const DEFAULT_OPENCODE_MODEL = 'gpt-5.5';
/** Name of the provider that points codex and opencode at OPENAI_BASE_URL. */
const PROVIDER = 'devteam';
/** Relative to home; OPENCODE_CONFIG points at it. */
const OPENCODE_CONFIG_FILE = '.devteam/opencode.json';
/**
 * Relative to home: opencode's global config directory. On every run opencode installs
 * @opencode-ai/plugin there from npm in the background unless the directory has a node_modules
 * folder and a lockfile naming that package (opencode 1.18, seen with strace); these files say so.
 */
const OPENCODE_GLOBAL_DIR = '.config/opencode';
const OPENCODE_PLUGIN_LOCK = { lockfileVersion: 3, packages: { '': { dependencies: { '@opencode-ai/plugin': '*' } } } };
/** A port nothing listens on: should a release install anything from npm anyway, it reaches nothing. */
const DEAD_REGISTRY = 'http://127.0.0.1:9';

type Env = Record<string, string>;

/** Reads a variable, treating empty as unset. */
function read(input: AgentInput, name: string): string | undefined {
  const value = input.env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** A credential the preset cannot run without; the error names the variable, never a value. */
function requireVar(preset: AgentPresetName, input: AgentInput, name: string): string {
  const value = read(input, name);
  if (value === undefined) {
    throw new AgentError('agent_misconfigured', `the ${preset} agent needs ${name} in the worker's environment`, { preset, variable: name });
  }
  return value;
}

/** Copies the variables that are set, so an unset one stays unset rather than becoming "". */
function pick(input: AgentInput, names: readonly string[]): Env {
  const env: Env = {};
  for (const name of names) {
    const value = read(input, name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

function secretsOf(env: Env, names: readonly string[]): string[] {
  return names.map((n) => env[n]).filter((v): v is string => v !== undefined);
}

function modelArgs(flag: string, model: string | undefined): string[] {
  return model ? [flag, model] : [];
}

function aider(input: AgentInput): AgentInvocation {
  const keys = ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY'] as const;
  const env: Env = { ...pick(input, [...keys, 'OPENAI_API_BASE']), HOME: input.home };
  if (!keys.some((k) => env[k] !== undefined)) {
    throw new AgentError('agent_misconfigured', "the aider agent needs OPENAI_API_KEY or ANTHROPIC_API_KEY in the worker's environment", {
      preset: 'aider',
      variable: 'OPENAI_API_KEY',
    });
  }
  return {
    argv: [
      AGENT_CLIS.aider,
      '--yes-always',
      '--no-auto-commits',
      '--no-check-update',
      '--no-analytics',
      '--message-file',
      input.promptFile,
      ...modelArgs('--model', input.model),
      ...input.args,
    ],
    env,
    files: [],
    secrets: secretsOf(env, keys),
  };
}

function claudeCode(input: AgentInput): AgentInvocation {
  const key = requireVar('claude-code', input, 'ANTHROPIC_API_KEY');
  const env: Env = {
    ...pick(input, ['ANTHROPIC_BASE_URL']),
    ANTHROPIC_API_KEY: key,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    // As root, --dangerously-skip-permissions refuses to start unless told it is sandboxed.
    IS_SANDBOX: '1',
    HOME: input.home,
  };
  return {
    argv: [
      AGENT_CLIS['claude-code'],
      '-p',
      input.prompt,
      '--dangerously-skip-permissions',
      '--output-format',
      'stream-json',
      '--verbose',
      ...modelArgs('--model', input.model),
      ...input.args,
    ],
    env,
    files: [],
    secrets: [key],
  };
}

/** A TOML basic string; JSON's escapes are a subset of TOML's. */
function tomlString(value: string): string {
  return JSON.stringify(value);
}

function codex(input: AgentInput): AgentInvocation {
  const key = requireVar('codex', input, 'OPENAI_API_KEY');
  const baseUrl = read(input, 'OPENAI_BASE_URL');
  const provider = baseUrl
    ? [
        '-c',
        `model_providers.${PROVIDER}={name=${tomlString(PROVIDER)},base_url=${tomlString(baseUrl)},env_key="OPENAI_API_KEY",wire_api="responses"}`,
        '-c',
        `model_provider=${PROVIDER}`,
      ]
    : [];
  return {
    argv: [
      AGENT_CLIS.codex,
      'exec',
      '-m',
      input.model ?? DEFAULT_CODEX_MODEL,
      '--json',
      '--dangerously-bypass-approvals-and-sandbox',
      // The sandbox shows the agent files only: the checkout's git directory stays with the runner.
      '--skip-git-repo-check',
      '-c',
      'check_for_update_on_startup=false',
      '-c',
      'analytics.enabled=false',
      // Otherwise every run tries to clone a plugins repository and resolve a public API host.
      '--disable',
      'plugins',
      ...provider,
      ...input.args,
      input.prompt,
    ],
    env: { OPENAI_API_KEY: key, CODEX_HOME: `${input.home}/.codex`, HOME: input.home },
    // Codex refuses a CODEX_HOME that does not exist; its settings are all in -c flags above.
    files: [{ path: '.codex/config.toml', content: '# Written by devteam-runner: settings are passed as -c flags.\n' }],
    secrets: [key],
  };
}

function gemini(input: AgentInput): AgentInvocation {
  const key = requireVar('gemini', input, 'GEMINI_API_KEY');
  // Without a selected auth type it exits 41; both the current and the older update-setting names
  // are set because releases renamed them.
  const settings = {
    security: { auth: { selectedType: 'gemini-api-key' } },
    privacy: { usageStatisticsEnabled: false },
    telemetry: { enabled: false },
    general: { enableAutoUpdate: false, enableAutoUpdateNotification: false, disableAutoUpdate: true, disableUpdateNag: true },
  };
  return {
    // -m always: without it gemini first makes a routing call to pick a model.
    argv: [AGENT_CLIS.gemini, '-m', input.model ?? DEFAULT_GEMINI_MODEL, '-p', input.prompt, '--yolo', '--skip-trust', '-o', 'stream-json', ...input.args],
    env: { ...pick(input, ['GOOGLE_GEMINI_BASE_URL']), GEMINI_API_KEY: key, HOME: input.home },
    files: [{ path: '.gemini/settings.json', content: `${JSON.stringify(settings, null, 2)}\n` }],
    secrets: [key],
  };
}

function opencode(input: AgentInput): AgentInvocation {
  const key = requireVar('opencode', input, 'OPENAI_API_KEY');
  const baseUrl = read(input, 'OPENAI_BASE_URL') ?? 'https://api.openai.com/v1';
  // "provider/model" selects any provider opencode knows; a bare name is one of OPENAI_BASE_URL's.
  const qualified = input.model?.includes('/') ? input.model : `${PROVIDER}/${input.model ?? DEFAULT_OPENCODE_MODEL}`;
  const modelId = qualified.startsWith(`${PROVIDER}/`) ? qualified.slice(PROVIDER.length + 1) : (input.model ?? DEFAULT_OPENCODE_MODEL);
  const config = {
    $schema: 'https://opencode.ai/config.json',
    provider: {
      [PROVIDER]: {
        npm: '@ai-sdk/openai-compatible',
        name: PROVIDER,
        // opencode substitutes {env:…} itself, so the key is never written to disk.
        options: { baseURL: baseUrl, apiKey: '{env:OPENAI_API_KEY}' },
        models: { [modelId]: { name: modelId, tool_call: true } },
      },
    },
    model: qualified,
    permission: { edit: 'allow', bash: 'allow' },
    autoupdate: false,
    share: 'disabled',
  };
  return {
    argv: [AGENT_CLIS.opencode, 'run', '--pure', '--format', 'json', ...modelArgs('-m', input.model ? qualified : undefined), ...input.args, input.prompt],
    env: {
      OPENAI_API_KEY: key,
      OPENCODE_CONFIG: `${input.home}/${OPENCODE_CONFIG_FILE}`,
      OPENCODE_DISABLE_MODELS_FETCH: '1',
      OPENCODE_DISABLE_AUTOUPDATE: '1',
      npm_config_registry: DEAD_REGISTRY,
      HOME: input.home,
    },
    files: [
      { path: OPENCODE_CONFIG_FILE, content: `${JSON.stringify(config, null, 2)}\n` },
      { path: `${OPENCODE_GLOBAL_DIR}/package-lock.json`, content: `${JSON.stringify(OPENCODE_PLUGIN_LOCK)}\n` },
      { path: `${OPENCODE_GLOBAL_DIR}/node_modules/.devteam`, content: 'Written by devteam-runner: opencode installs nothing here.\n' },
    ],
    secrets: [key],
  };
}

function command(input: AgentInput): AgentInvocation {
  const argv = input.command ?? [];
  if (argv.length === 0 || argv[0] === '') {
    throw new AgentError('agent_misconfigured', 'the command agent needs a command to run', { preset: 'command' });
  }
  return {
    argv: [...argv.map((arg) => arg.replaceAll('{promptFile}', input.promptFile)), ...input.args],
    // A user's own command gets no credential it did not ask for.
    env: { HOME: input.home },
    files: [],
    secrets: [],
  };
}

const BUILDERS: Record<AgentPresetName, (input: AgentInput) => AgentInvocation> = {
  aider,
  'claude-code': claudeCode,
  codex,
  gemini,
  opencode,
  command,
};

/** The invocation of `preset`; throws AgentError('agent_misconfigured') when a credential is missing. */
export function buildInvocation(preset: AgentPresetName, input: AgentInput): AgentInvocation {
  const builder = BUILDERS[preset] as ((input: AgentInput) => AgentInvocation) | undefined;
  if (!builder) throw new AgentError('agent_misconfigured', 'unknown agent preset', { preset });
  return builder(input);
}
