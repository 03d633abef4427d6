// Claude Code (the real CLI, from test/agents) run by runAgent in a local sandbox against the
// scripted model server: it edits the checkout, its key never shows, and a failed edit still exits 0.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, realpath, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInvocation, runAgent, type AgentInvocation } from '../../src/infra/agent/index.js';
import { BwrapSandbox, type OutputStream, type ProjectSandbox } from '../../src/infra/sandbox/index.js';
import { CONTROLLERS } from '../../src/infra/sandbox/cgroup-v1.js';
import { gitWork, initCheckout } from '../support/git-remote.js';
import { anthropicMessages, startModelServer, underCwd, writeFileScript, type ModelServer, type Script, type TcpModelServer } from '../support/model-server/index.js';
import { tempDir } from '../support/services.js';

const CLAUDE_BIN = join(import.meta.dirname, '../agents/node_modules/.bin/claude');
const SECRET = 'sk-test-secret-123';
const HOME = '/workspace/.git/devteam/home';
const README = 'Hello from the fixture.\n';

const prefix = `devteam-test-${randomBytes(4).toString('hex')}`;
// The agents' install is visible in the sandbox even when the checkout of this repo is under /tmp.
const AGENTS_DIR = join(import.meta.dirname, '../agents');
const sandboxes = new BwrapSandbox({ prefix, binds: [`${AGENTS_DIR}:${AGENTS_DIR}`] });
let sandbox: ProjectSandbox;
let checkout: { path: string; remove(): Promise<void> };
/** The work tree, in the runner's layout: its git directory beside it, outside the sandbox. */
let repoDir: string;
let claude: string;
const servers: ModelServer[] = [];

beforeAll(async () => {
  if (!existsSync(CLAUDE_BIN)) {
    throw new Error(`Claude Code is not installed for the tests (${CLAUDE_BIN} is missing): run npm install --prefix test/agents`);
  }
  // The sandbox sees the host read-only except /tmp, so the binary must not live under /tmp.
  claude = await realpath(CLAUDE_BIN);
  checkout = await tempDir('devteam-agent-claude');
  repoDir = await initCheckout(checkout.path);
  await writeFile(join(repoDir, 'README.md'), README);
  await gitWork(repoDir, 'add', 'README.md');
  await gitWork(repoDir, 'commit', '--quiet', '-m', 'initial');
  ({ sandbox } = await sandboxes.ensure({ tenant: 't', projectId: 'p', workspace: repoDir, limits: { cpus: 1, memoryMb: 2048 } }));
});

afterAll(async () => {
  for (const server of servers) await server.close();
  await sandboxes.remove('t', 'p');
  await sandboxes.close();
  for (const c of CONTROLLERS) {
    await rmdir(join('/sys/fs/cgroup', c, prefix)).catch(() => undefined);
  }
  await checkout?.remove();
});

async function scripted(script: Script): Promise<{ server: TcpModelServer; invocation: AgentInvocation }> {
  const server = await startModelServer(anthropicMessages, script);
  servers.push(server);
  const invocation = buildInvocation('claude-code', {
    promptFile: '/workspace/.git/devteam/prompt.md',
    prompt: 'Implement the task described in the repository.',
    args: [],
    home: HOME,
    env: { ANTHROPIC_BASE_URL: server.url, ANTHROPIC_API_KEY: SECRET },
  });
  invocation.argv[0] = claude;
  return { server, invocation };
}

async function run(invocation: AgentInvocation, signal?: AbortSignal) {
  const lines: Array<[OutputStream, string]> = [];
  await mkdir(join(repoDir, '.git/devteam'), { recursive: true });
  const result = await runAgent(sandbox, invocation, {
    timeoutMs: 60_000,
    homeOnHost: join(repoDir, '.git/devteam/home'),
    onLine: (stream, line) => lines.push([stream, line]),
    ...(signal ? { signal } : {}),
  });
  return { result, lines };
}

describe('Claude Code through runAgent', () => {
  it('writes the scripted file into the checkout without ever printing its key', async () => {
    const { server, invocation } = await scripted(writeFileScript([{ path: 'hello.txt', content: 'hello from the model\n' }]));
    const { result, lines } = await run(invocation);

    expect(result.outcome, result.stderr).toBe('completed');
    expect(result.exitCode, result.stderr).toBe(0);
    expect(await readFile(join(repoDir, 'hello.txt'), 'utf8')).toBe('hello from the model\n');
    expect(await gitWork(repoDir, 'status', '--porcelain')).toContain('?? hello.txt');

    const turns = server.turns();
    expect(turns.length).toBeGreaterThanOrEqual(2);
    expect(turns[0]!.cwd).toBe('/workspace');
    expect(turns[1]!.turn).toBe(1);
    const lastUser = turns[1]!.body.messages.at(-1);
    expect(JSON.stringify(lastUser)).toContain('tool_result');

    for (const text of [result.stdout, result.stderr, ...lines.map(([, l]) => l)]) expect(text).not.toContain(SECRET);
    expect(lines.some(([stream, line]) => stream === 'stdout' && line.includes('"type":"result"'))).toBe(true);
    console.info(`claude-code run took ${result.durationMs} ms`);
  });

  // Claude Code 2.1.x no longer refuses an Edit of a file never Read (agents.md measured an older
  // one), so the failing edit here is one whose old_string is not in the file.
  it('exits 0 when its Edit fails and git sees no change: the runner judges by git', async () => {
    await gitWork(repoDir, 'clean', '-fdq');
    const { server, invocation } = await scripted(({ turn, cwd }) =>
      turn === 0
        ? { toolCalls: [{ name: 'Edit', input: { file_path: underCwd(cwd, 'README.md'), old_string: 'Text that is not there', new_string: 'Goodbye' } }] }
        : { text: 'I have updated the README.' },
    );
    const { result } = await run(invocation);

    expect(result.outcome, result.stderr).toBe('completed');
    expect(result.exitCode).toBe(0);
    expect(await gitWork(repoDir, 'status', '--porcelain')).toBe('');
    expect(await readFile(join(repoDir, 'README.md'), 'utf8')).toBe(README);
    const toolResult = JSON.stringify(server.turns()[1]?.body.messages.at(-1));
    expect(toolResult).toContain('"is_error":true');
  });

  it('writes the config files into the home the sandbox sees and scrubs a key the command prints', async () => {
    const invocation: AgentInvocation = {
      argv: ['/bin/sh', '-c', 'cat "$HOME/.cfg/settings.json"; echo "key is $KEY"; echo "stderr $KEY" >&2', 'agent'],
      env: { HOME, KEY: SECRET },
      files: [{ path: '.cfg/settings.json', content: '{"ok":true}\n' }],
      secrets: [SECRET],
    };
    const { result, lines } = await run(invocation);

    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe('{"ok":true}\nkey is ***\n');
    expect(result.stderr).toBe('stderr ***\n');
    expect(lines).toEqual([['stdout', '{"ok":true}'], ['stdout', 'key is ***'], ['stderr', 'stderr ***']]);
  });

  it('returns cancelled without running when the signal is already aborted', async () => {
    const { server, invocation } = await scripted(writeFileScript([{ path: 'never.txt', content: 'no\n' }]));
    const { result } = await run(invocation, AbortSignal.abort());

    expect(result.outcome).toBe('cancelled');
    expect(result.exitCode).toBeNull();
    expect(server.requests).toHaveLength(0);
    expect(existsSync(join(repoDir, 'never.txt'))).toBe(false);
  });
});
