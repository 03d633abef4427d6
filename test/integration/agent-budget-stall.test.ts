// Budgets and the stall watchdog with real agent CLIs (Claude Code, OpenCode from test/agents)
// against the scripted model server, through the embedded runtime: the usage each CLI reports in
// its own stream is read while it runs, so a budget of a few hundred tokens stops an agent that
// would never stop by itself; an agent waiting on a silent model is stopped as stalled and the
// next attempt is told so.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgentRemote } from '../support/agent-remote.js';
import { startEmbeddedRuntime, type EmbeddedRuntime } from '../support/embedded-runtime.js';
import { git } from '../support/git-remote.js';
import { anthropicMessages, openaiChat, startModelServer, underCwd, type ModelRequest, type Reply, type TcpModelServer } from '../support/model-server/index.js';

const AGENT_BIN = join(import.meta.dirname, '../agents/node_modules/.bin');
/** The model key the worker holds (ANTHROPIC_API_KEY here): an agent that writes it must not get it pushed. */
const CLAUDE_KEY = 'sk-ant-api03-budgettest-Zx81Qm4RtY7uW2eP5sD9fG3hJ6kL0';
/** A GitHub token shape secretlint's recommended preset flags (not a real token). */
const GITHUB_TOKEN = ['ghp', 'wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUx'].join('_');
const ENV = ['ANTHROPIC_BASE_URL', 'ANTHROPIC_API_KEY', 'OPENAI_BASE_URL', 'OPENAI_API_KEY'] as const;

function promptOf(body: any): string {
  return JSON.stringify(body?.messages ?? body?.input ?? '');
}

/** Which scenario a request belongs to: the task title is in the prompt. */
function scenarioOf(body: any): string {
  return /Task 1\.1: ([a-z-]+)/.exec(promptOf(body))?.[1] ?? '';
}

/** Claude Code: `endless` asks for one more Bash call every turn; `stall` writes a file, then waits unless told it stalled. */
function claudeScript({ turn, body, cwd }: ModelRequest): Reply {
  const scenario = scenarioOf(body);
  if (scenario === 'endless') return { text: `Step ${turn}.`, toolCalls: [{ name: 'Bash', input: { command: `echo step ${turn} >> steps.txt` } }], usage: { input: 100, output: 10 } };
  const attempt = /This is attempt (\d+)/.exec(promptOf(body))?.[1] ?? '1';
  // `same-error`: a real change each attempt that never fixes the build; `leaky`: writes a token secretlint
  // knows; `own-key`: writes the worker's own model key. Each then ends its turn.
  const writes: Record<string, { path: string; content: string }> = {
    'same-error': { path: `note-${attempt}.txt`, content: `try ${attempt}\n` },
    leaky: { path: 'config.js', content: `module.exports = {\n  token: "${GITHUB_TOKEN}",\n};\n` },
    'own-key': { path: 'settings.ts', content: `export const key = "${CLAUDE_KEY}";\n` },
  };
  const write = writes[scenario];
  if (write) return turn === 0 ? { text: 'Writing.', toolCalls: [{ name: 'Write', input: { file_path: underCwd(cwd, write.path), content: write.content } }] } : { text: 'Done.' };
  if (turn === 0) {
    return { text: 'Writing.', toolCalls: [{ name: 'Write', input: { file_path: underCwd(cwd, 'a.txt'), content: `attempt ${attempt}\n` } }] };
  }
  return /stalled/.test(promptOf(body)) ? { text: 'Done.' } : { text: 'Done.', delayMs: 600_000 };
}

/** OpenCode: one more bash call every step. */
function opencodeScript({ turn, tools }: ModelRequest): Reply {
  const bash = tools.includes('bash') ? 'bash' : tools[0]!;
  return { text: `Step ${turn}.`, toolCalls: [{ name: bash, input: { command: `echo step ${turn} >> steps.txt`, description: 'append a step' } }], usage: { input: 30, output: 10 } };
}

describe('budgets and stalls with real agent CLIs', () => {
  let service: EmbeddedRuntime;
  let claude: TcpModelServer;
  let opencode: TcpModelServer;
  const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));

  beforeAll(async () => {
    if (!existsSync(join(AGENT_BIN, 'claude')) || !existsSync(join(AGENT_BIN, 'opencode'))) throw new Error(`the agent CLIs are not installed for the tests (${AGENT_BIN}): run npm install --prefix test/agents`);
    claude = await startModelServer(anthropicMessages, claudeScript);
    opencode = await startModelServer(openaiChat, opencodeScript);
    // The worker gives agents its own environment's model settings.
    Object.assign(process.env, { ANTHROPIC_BASE_URL: claude.url, ANTHROPIC_API_KEY: CLAUDE_KEY, OPENAI_BASE_URL: `${opencode.url}/v1`, OPENAI_API_KEY: 'sk-openai-budget-test' });
    service = await startEmbeddedRuntime('devteam-agent-budget', { DEVTEAM_AGENT_PATH: AGENT_BIN });
  }, 60_000);

  afterAll(async () => {
    await service?.stop();
    await claude?.close();
    await opencode?.close();
    for (const k of ENV) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }, 60_000);

  const status = async (projectId: string) => (await (await fetch(service.url(`/api/devteam/automation/status/${projectId}`))).json()) as Record<string, any>;
  const artifacts = async (executionId: string) =>
    ((await (await fetch(service.url(`/api/devteam/automation/executions/${executionId}/artifacts?content=1`))).json()) as { artifacts: Array<Record<string, any>> }).artifacts;

  async function run(projectId: string, title: string, body: Record<string, unknown>) {
    const remote = await createAgentRemote(service.dir, projectId, [{ id: '1.1', title }]);
    const before = await git(remote.bare, 'rev-parse', 'refs/heads/main');
    const t0 = Date.now();
    const reply = await service.initialize({ projectId, repository: { url: `file://${remote.bare}` }, verify: { commands: [['git', '--version']], timeoutSec: 60 }, ...body });
    expect(reply.status, reply.text).toBe(202);
    await service.settled(projectId, 150_000);
    return { remote, before, final: await status(projectId), artifacts: await artifacts(reply.body.executionId), elapsedMs: Date.now() - t0 };
  }

  /** Model turns of a server that were about `scenario`. */
  const turnsOf = (server: TcpModelServer, scenario: string) => server.turns().filter((r) => scenarioOf(r.body) === scenario).length;

  it('Claude Code: a budget of 250 tokens stops the agent mid-stream, while it still asks the model for more', async () => {
    const { remote, before, final, artifacts: list, elapsedMs } = await run('claude-budget', 'endless', {
      agent: { preset: 'claude-code', timeoutSec: 120 },
      budget: { maxTokens: 250 },
    });
    expect(final.results['1.1'], final.lastError).toMatchObject({ status: 'failed', reason: 'budget_exceeded', attempts: 1 });
    expect(final.lastError).toMatch(/over its budget of 250/);
    // It was still running: it had asked for a third turn and never printed its closing result line.
    expect(turnsOf(claude, 'endless')).toBeGreaterThanOrEqual(3);
    const output = list.find((a) => a.kind === 'agent-output')!.content as string;
    expect(output).toContain('"type":"assistant"');
    expect(output).not.toContain('"type":"result"');
    expect(elapsedMs).toBeLessThan(90_000);
    // Its usage as read from the stream, not a guess: 3 messages of 100 input tokens at least.
    expect(final.usage.inputTokens).toBeGreaterThanOrEqual(300);
    expect(final.usage.costUsd).toBeNull();
    // Dead, not still asking: no new turn after the task failed.
    const turns = turnsOf(claude, 'endless');
    await new Promise((r) => setTimeout(r, 1500));
    expect(turnsOf(claude, 'endless')).toBe(turns);
    expect(await git(remote.bare, 'rev-parse', 'refs/heads/main')).toBe(before);
  }, 180_000);

  it('OpenCode: a budget of 100 tokens stops the agent mid-stream from its step_finish usage', async () => {
    const { final, artifacts: list } = await run('opencode-budget', 'endless', {
      agent: { preset: 'opencode', timeoutSec: 120 },
      budget: { maxTokens: 100 },
    });
    expect(final.results['1.1'], final.lastError).toMatchObject({ status: 'failed', reason: 'budget_exceeded', attempts: 1 });
    expect(turnsOf(opencode, 'endless')).toBeGreaterThanOrEqual(3);
    expect(final.usage.inputTokens).toBeGreaterThanOrEqual(90);
    expect(final.usage.outputTokens).toBeGreaterThanOrEqual(30);
    expect(list.find((a) => a.kind === 'agent-output')!.content).toContain('"type":"step_finish"');
  }, 180_000);

  it('Claude Code waiting on a silent model is stopped after agent.stallSec; the next attempt is told and succeeds', async () => {
    const { final, artifacts: list, elapsedMs } = await run('claude-stall', 'stall', { agent: { preset: 'claude-code', timeoutSec: 600, stallSec: 5 } });
    expect(final.status, final.lastError).toBe('completed');
    expect(final.results['1.1']).toMatchObject({ status: 'done', attempts: 2 });
    // Stopped by the watchdog, long before the model's 600 s or the 600 s timeout.
    expect(elapsedMs).toBeLessThan(150_000);
    expect(list.filter((a) => a.kind === 'usage').map((a) => a.meta.stopped)).toEqual(['stalled', null]);
    expect(list.filter((a) => a.kind === 'prompt')[1]!.content).toMatch(/stopped as stalled/);
    // Claude Code reported its usage and cost for the attempt that finished.
    expect(final.results['1.1'].usage.costUsd).toBeGreaterThan(0);
  }, 240_000);
  it('Claude Code whose change leaves the build failing the same way twice: same_error_repeated after attempt 2', async () => {
    const verify = { commands: [['sh', '-c', 'echo "src/math.ts(4,7): error TS2322: Type string is not assignable to type number."; exit 2']], timeoutSec: 60 };
    const { final, artifacts: list } = await run('claude-same-error', 'same-error', { agent: { preset: 'claude-code', timeoutSec: 120 }, verify });
    expect(final.results['1.1'], final.lastError).toMatchObject({ status: 'failed', reason: 'same_error_repeated', attempts: 2 });
    // Each attempt really changed something (a new file), and the third was never paid for.
    expect(list.filter((a) => a.kind === 'files').map((a) => a.content)).toEqual([expect.stringContaining('note-1.txt'), expect.stringContaining('note-2.txt')]);
    expect(list.filter((a) => a.kind === 'prompt')).toHaveLength(2);
  }, 240_000);

  it.each([
    ['a token secretlint knows', 'leaky', GITHUB_TOKEN, /config\.js:2/],
    ["the worker's own model key", 'own-key', CLAUDE_KEY, /settings\.ts:1/],
  ])('Claude Code writing %s into a file: secret_in_diff, the remote untouched, the value nowhere', async (_what, scenario, value, where) => {
    const { remote, before, final, artifacts: list } = await run(`claude-${scenario}`, scenario, { agent: { preset: 'claude-code', timeoutSec: 120 } });
    expect(final.results['1.1'], final.lastError).toMatchObject({ status: 'failed', reason: 'secret_in_diff' });
    expect(final.lastError).toMatch(where);
    expect(await git(remote.bare, 'rev-parse', 'refs/heads/main')).toBe(before);
    expect(await git(remote.bare, 'for-each-ref', 'refs/devteam')).toBe('');
    for (const [what, text] of [['status', JSON.stringify(final)], ['artifacts', JSON.stringify(list)]] as const) expect(text.includes(value), `${what} holds the value`).toBe(false);
  }, 240_000);
});
