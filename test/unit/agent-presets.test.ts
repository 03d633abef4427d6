// The argv, env and files of every agent preset, the credential checks, and runAgent's file
// writing and secret scrubbing against a fake sandbox.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentError, buildInvocation, runAgent, type AgentInput, type AgentPresetName } from '../../src/infra/agent/index.js';
import type { ExecOptions, ProjectSandbox } from '../../src/infra/sandbox/index.js';

const HOME = '/workspace/.git/devteam/home';
const PROMPT_FILE = '/workspace/.git/devteam/prompt.md';
const PROMPT = 'Implement task 1.2; then say "done" & exit $HOME `x`';

function input(overrides: Partial<AgentInput> = {}): AgentInput {
  return { promptFile: PROMPT_FILE, prompt: PROMPT, args: [], home: HOME, env: {}, ...overrides };
}

function misconfigured(fn: () => unknown): AgentError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AgentError);
    expect((error as AgentError).code).toBe('agent_misconfigured');
    return error as AgentError;
  }
  throw new Error('expected an AgentError');
}

describe('buildInvocation', () => {
  it('aider: reads the prompt file, passes only the keys that are set, appends extra args', () => {
    const inv = buildInvocation('aider', input({ model: 'gpt-4o', args: ['--map-tokens', '0'], env: { OPENAI_API_KEY: 'sk-openai-1', PATH: '/secret/path', ANTHROPIC_API_KEY: '' } }));
    expect(inv.argv).toEqual([
      'aider', '--yes-always', '--no-auto-commits', '--no-check-update', '--no-analytics',
      '--message-file', PROMPT_FILE, '--model', 'gpt-4o', '--map-tokens', '0',
    ]);
    expect(inv.env).toEqual({ OPENAI_API_KEY: 'sk-openai-1', HOME });
    expect(inv.secrets).toEqual(['sk-openai-1']);
    expect(inv.files).toEqual([]);
    const withBase = buildInvocation('aider', input({ env: { ANTHROPIC_API_KEY: 'sk-ant-1', OPENAI_API_BASE: 'http://127.0.0.1:1/v1' } }));
    expect(withBase.argv).not.toContain('--model');
    expect(withBase.env).toEqual({ ANTHROPIC_API_KEY: 'sk-ant-1', OPENAI_API_BASE: 'http://127.0.0.1:1/v1', HOME });
  });

  it('claude-code: prompt as one argument, stream-json output, its key and base URL in env', () => {
    const inv = buildInvocation('claude-code', input({ model: 'claude-sonnet-4-5', args: ['--max-turns', '30'], env: { ANTHROPIC_API_KEY: 'sk-ant-2', ANTHROPIC_BASE_URL: 'http://127.0.0.1:4000', OPENAI_API_KEY: 'other' } }));
    expect(inv.argv).toEqual([
      'claude', '-p', PROMPT, '--dangerously-skip-permissions', '--output-format', 'stream-json', '--verbose',
      '--model', 'claude-sonnet-4-5', '--max-turns', '30',
    ]);
    expect(inv.env).toEqual({
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:4000',
      ANTHROPIC_API_KEY: 'sk-ant-2',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_TELEMETRY: '1',
      IS_SANDBOX: '1',
      HOME,
    });
    expect(inv.secrets).toEqual(['sk-ant-2']);
    expect(buildInvocation('claude-code', input({ env: { ANTHROPIC_API_KEY: 'k' } })).env).not.toHaveProperty('ANTHROPIC_BASE_URL');
  });

  it('codex: default model, a provider for OPENAI_BASE_URL, the prompt last, CODEX_HOME under home', () => {
    const inv = buildInvocation('codex', input({ args: ['--skip-git-repo-check'], env: { OPENAI_API_KEY: 'sk-openai-3', OPENAI_BASE_URL: 'http://127.0.0.1:5000/v1' } }));
    expect(inv.argv).toEqual([
      'codex', 'exec', '-m', 'gpt-5.5', '--json', '--dangerously-bypass-approvals-and-sandbox', '--skip-git-repo-check',
      '-c', 'check_for_update_on_startup=false', '-c', 'analytics.enabled=false', '--disable', 'plugins',
      '-c', 'model_providers.devteam={name="devteam",base_url="http://127.0.0.1:5000/v1",env_key="OPENAI_API_KEY",wire_api="responses"}',
      '-c', 'model_provider=devteam',
      '--skip-git-repo-check', PROMPT,
    ]);
    expect(inv.env).toEqual({ OPENAI_API_KEY: 'sk-openai-3', CODEX_HOME: `${HOME}/.codex`, HOME });
    expect(inv.files.map((f) => f.path)).toEqual(['.codex/config.toml']);
    expect(inv.secrets).toEqual(['sk-openai-3']);

    const plain = buildInvocation('codex', input({ model: 'o3', env: { OPENAI_API_KEY: 'k' } }));
    expect(plain.argv.slice(0, 4)).toEqual(['codex', 'exec', '-m', 'o3']);
    expect(plain.argv.join(' ')).not.toContain('model_provider');
  });

  it('gemini: always -m, yolo and skip-trust, settings.json selecting API-key auth with telemetry off', () => {
    const inv = buildInvocation('gemini', input({ args: ['--debug'], env: { GEMINI_API_KEY: 'gm-key-4', GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:6000' } }));
    expect(inv.argv).toEqual(['gemini', '-m', 'gemini-2.5-pro', '-p', PROMPT, '--yolo', '--skip-trust', '-o', 'stream-json', '--debug']);
    expect(inv.env).toEqual({ GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:6000', GEMINI_API_KEY: 'gm-key-4', HOME });
    expect(inv.files).toHaveLength(1);
    expect(inv.files[0]!.path).toBe('.gemini/settings.json');
    const settings = JSON.parse(inv.files[0]!.content);
    expect(settings.security.auth.selectedType).toBe('gemini-api-key');
    expect(settings.privacy.usageStatisticsEnabled).toBe(false);
    expect(settings.telemetry.enabled).toBe(false);
    expect(settings.general.enableAutoUpdate).toBe(false);
    expect(inv.files[0]!.content).not.toContain('gm-key-4');
    expect(buildInvocation('gemini', input({ model: 'gemini-2.5-flash', env: { GEMINI_API_KEY: 'k' } })).argv.slice(0, 3)).toEqual(['gemini', '-m', 'gemini-2.5-flash']);
  });

  it('opencode: a config file for an openai-compatible provider at OPENAI_BASE_URL, no key on disk', () => {
    const env = { OPENAI_API_KEY: 'sk-openai-5', OPENAI_BASE_URL: 'http://127.0.0.1:7000/v1' };
    const inv = buildInvocation('opencode', input({ model: 'qwen-coder', args: ['--print-logs'], env }));
    expect(inv.argv).toEqual(['opencode', 'run', '--pure', '--format', 'json', '-m', 'devteam/qwen-coder', '--print-logs', PROMPT]);
    expect(inv.env).toEqual({
      OPENAI_API_KEY: 'sk-openai-5',
      OPENCODE_CONFIG: `${HOME}/.devteam/opencode.json`,
      OPENCODE_DISABLE_MODELS_FETCH: '1',
      OPENCODE_DISABLE_AUTOUPDATE: '1',
      npm_config_registry: 'http://127.0.0.1:9',
      HOME,
    });
    expect(inv.files.map((f) => f.path)).toEqual(['.devteam/opencode.json', '.config/opencode/package-lock.json', '.config/opencode/node_modules/.devteam']);
    // What opencode checks before it installs @opencode-ai/plugin from npm: a node_modules folder and this lockfile entry.
    expect(JSON.parse(inv.files[1]!.content).packages[''].dependencies).toHaveProperty('@opencode-ai/plugin');
    const config = JSON.parse(inv.files[0]!.content);
    const provider = config.provider.devteam;
    expect(provider.npm).toBe('@ai-sdk/openai-compatible');
    expect(provider.options.baseURL).toBe('http://127.0.0.1:7000/v1');
    expect(provider.options.apiKey).toBe('{env:OPENAI_API_KEY}');
    expect(provider.models['qwen-coder'].tool_call).toBe(true);
    expect(config.model).toBe('devteam/qwen-coder');
    expect(config.permission).toEqual({ edit: 'allow', bash: 'allow' });
    expect(inv.files[0]!.content).not.toContain('sk-openai-5');
    expect(inv.secrets).toEqual(['sk-openai-5']);

    const byDefault = buildInvocation('opencode', input({ env }));
    expect(byDefault.argv).toEqual(['opencode', 'run', '--pure', '--format', 'json', PROMPT]);
    expect(JSON.parse(byDefault.files[0]!.content).model).toBe('devteam/gpt-5.5');
    expect(buildInvocation('opencode', input({ model: 'anthropic/claude-sonnet-4-5', env })).argv).toContain('anthropic/claude-sonnet-4-5');
  });

  it('command: every {promptFile} replaced, extra args appended, no credential passed on', () => {
    const inv = buildInvocation('command', input({
      command: ['node', 'agent.js', '--prompt={promptFile}', '{promptFile}'],
      args: ['--fast'],
      env: { OPENAI_API_KEY: 'sk-should-not-pass', ANTHROPIC_API_KEY: 'sk-nor-this' },
    }));
    expect(inv.argv).toEqual(['node', 'agent.js', `--prompt=${PROMPT_FILE}`, PROMPT_FILE, '--fast']);
    expect(inv.env).toEqual({ HOME });
    expect(inv.secrets).toEqual([]);
    misconfigured(() => buildInvocation('command', input()));
    misconfigured(() => buildInvocation('command', input({ command: [] })));
  });

  it.each([
    ['claude-code', 'ANTHROPIC_API_KEY', { ANTHROPIC_BASE_URL: 'http://127.0.0.1:1', OPENAI_API_KEY: 'sk-wrong-key-value' }],
    ['codex', 'OPENAI_API_KEY', { ANTHROPIC_API_KEY: 'sk-wrong-key-value', OPENAI_BASE_URL: 'http://127.0.0.1:1' }],
    ['gemini', 'GEMINI_API_KEY', { GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:1', OPENAI_API_KEY: 'sk-wrong-key-value' }],
    ['opencode', 'OPENAI_API_KEY', { OPENAI_API_KEY: '', GEMINI_API_KEY: 'sk-wrong-key-value' }],
    ['aider', 'OPENAI_API_KEY', { GEMINI_API_KEY: 'sk-wrong-key-value' }],
  ] as Array<[AgentPresetName, string, Record<string, string>]>)('%s without its credential names %s, never a value', (preset, variable, env) => {
    const error = misconfigured(() => buildInvocation(preset, input({ env })));
    expect(error.message).toContain(variable);
    expect(error.details).toMatchObject({ preset, variable });
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain('sk-wrong-key-value');
  });

  it('never builds a shell command: the prompt is one argument, untouched', () => {
    const env = { ANTHROPIC_API_KEY: 'a', OPENAI_API_KEY: 'o', GEMINI_API_KEY: 'g' };
    for (const preset of ['claude-code', 'codex', 'gemini', 'opencode'] as const) {
      const { argv } = buildInvocation(preset, input({ env }));
      expect(argv).toContain(PROMPT);
      expect(argv.filter((a) => a === PROMPT)).toHaveLength(1);
      expect(['sh', 'bash', '/bin/sh', '/bin/bash']).not.toContain(argv[0]);
    }
    expect(buildInvocation('aider', input({ env })).argv).not.toContain(PROMPT);
  });
});

describe('runAgent', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  /** A sandbox whose command prints the secret on both streams, line by line and in the result. */
  function echoingSandbox(secret: string, seen: { argv?: readonly string[]; options?: ExecOptions }): ProjectSandbox {
    return {
      driver: 'none',
      name: 'fake',
      tenant: 't',
      projectId: 'p',
      workspacePath: '/workspace',
      health: () => Promise.reject(new Error('not used')),
      exec: async (argv, options) => {
        seen.argv = argv;
        seen.options = options;
        options.onLine?.('stdout', `key=${secret} twice ${secret}`);
        options.onLine?.('stderr', `401 for ${secret}`);
        return { exitCode: 0, outcome: 'completed', stdout: `key=${secret}\n`, stderr: `401 for ${secret}\n`, truncated: false, durationMs: 5 };
      },
    };
  }

  it('writes the files under the home, runs argv with the env only, and scrubs every secret', async () => {
    const home = await mkdtemp(join(tmpdir(), 'agent-home-'));
    dirs.push(home);
    const seen: { argv?: readonly string[]; options?: ExecOptions } = {};
    const lines: string[] = [];
    const controller = new AbortController();
    const run = await runAgent(
      echoingSandbox('sk-live-abcdef', seen),
      { argv: ['claude', '-p', 'x'], env: { K: 'sk-live-abcdef' }, files: [{ path: '.gemini/settings.json', content: '{}\n' }], secrets: ['sk-live-abcdef'] },
      { timeoutMs: 1000, homeOnHost: join(home, 'nested/home'), signal: controller.signal, onLine: (_s, line) => lines.push(line), maxOutputBytes: 4096 },
    );
    expect(await readFile(join(home, 'nested/home/.gemini/settings.json'), 'utf8')).toBe('{}\n');
    expect((await stat(join(home, 'nested/home/.gemini/settings.json'))).mode & 0o777).toBe(0o600);
    expect(seen.argv).toEqual(['claude', '-p', 'x']);
    expect(seen.options).toMatchObject({ env: { K: 'sk-live-abcdef' }, timeoutMs: 1000, signal: controller.signal, maxOutputBytes: 4096 });
    expect(run).toEqual({ outcome: 'completed', exitCode: 0, stdout: 'key=***\n', stderr: '401 for ***\n', truncated: false, durationMs: 5 });
    expect(lines).toEqual(['key=*** twice ***', '401 for ***']);
  });

  it('refuses a file path that leaves the home directory', async () => {
    const home = await mkdtemp(join(tmpdir(), 'agent-home-'));
    dirs.push(home);
    for (const path of ['../escape', '/etc/passwd', 'a/../../b']) {
      await expect(
        runAgent(echoingSandbox('x', {}), { argv: ['x'], env: {}, files: [{ path, content: '' }], secrets: [] }, { timeoutMs: 1000, homeOnHost: home }),
      ).rejects.toMatchObject({ code: 'agent_misconfigured' });
    }
  });
});
