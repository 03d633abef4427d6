// The README's "Try it" block, run as written by bash: a repository with a task list, `npm start`,
// `devteam doctor`, initialize with the claude-code preset, `devteam watch` until it ends, the
// commits on the remote. Only what a machine running tests must change is changed — where files go
// (a temp dir instead of /srv/git and /tmp/demo), the port, the data directory — each replacement
// checked to apply, so a README edit that this test no longer covers fails it. The agent is the
// real Claude Code CLI (test/agents) found on PATH, its model the scripted server behind
// ANTHROPIC_BASE_URL (the table's optional variable): no model API is reachable here.
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anthropicMessages, startModelServer, underCwd, type Script, type TcpModelServer } from '../support/model-server/index.js';
import { freePort, tempDir } from '../support/services.js';

const ROOT = join(import.meta.dirname, '../..');
const AGENTS_BIN = join(ROOT, 'test/agents/node_modules/.bin');

/** The first ```sh block after the "Try it" heading. */
async function tryItBlock(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const from = readme.indexOf('Try it — automate a repository');
  expect(from, 'README has a "Try it" section').toBeGreaterThan(0);
  const open = readme.indexOf('```sh\n', from);
  const close = readme.indexOf('\n```', open + 6);
  return readme.slice(open + 6, close + 1);
}

/** Replaces every occurrence, failing when there is none (the README no longer says it). */
function replaceAll(text: string, from: string, to: string): string {
  expect(text.includes(from), `the README's Try it block contains ${JSON.stringify(from)}`).toBe(true);
  return text.split(from).join(to);
}

/**
 * Runs the block in its own process group and, once bash exits, ends the group: the service the
 * block started in the background (`npm start &`) with it.
 */
function runBlock(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('bash', ['-c', script], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const killGroup = () => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // Already gone.
    }
  };
  const deadline = setTimeout(killGroup, 240_000);
  return new Promise((resolve) => {
    child.on('exit', (code) => {
      clearTimeout(deadline);
      killGroup();
      resolve({ code, stdout, stderr });
    });
  });
}


/** The files each task's prompt asks for, written by Claude Code's Write tool. */
const FILES: Record<string, { path: string; content: string }> = {
  '1.1': { path: 'greet.js', content: 'export function greet(name) {\n  return `Hello, ${name}!`;\n}\n' },
  '1.2': { path: 'hello.js', content: "import { greet } from './greet.js';\n\nconsole.log(greet('world'));\n" },
};

const script: Script = ({ turn, body, cwd }) => {
  const task = /# Task (\d+\.\d+):/.exec(JSON.stringify(body))?.[1];
  const file = task ? FILES[task] : undefined;
  if (turn > 0 || !file) return { text: 'Done.' };
  return { text: `Writing ${file.path}.`, toolCalls: [{ name: 'Write', input: { file_path: underCwd(cwd, file.path), content: file.content } }] };
};

describe("the README's Try it", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let model: TcpModelServer;

  beforeAll(async () => {
    dir = await tempDir('devteam-try-it');
    model = await startModelServer(anthropicMessages, script);
  });

  afterAll(async () => {
    await model?.close();
    await dir?.remove();
  });

  it('runs as written: the claude-code preset implements both tasks, watch ends on completed, two commits on the remote', async () => {
    const port = await freePort();
    let block = await tryItBlock();
    block = replaceAll(block, '/srv/git', join(dir.path, 'srv/git'));
    block = replaceAll(block, '/tmp/demo', join(dir.path, 'demo'));
    block = replaceAll(block, 'localhost:8080', `localhost:${port}`);
    const bash = `set -euo pipefail\n${block}`;
    const env = {
      ...process.env,
      PATH: `${AGENTS_BIN}:${process.env.PATH}`,
      PORT: String(port),
      DEVTEAM_DATA_DIR: join(dir.path, 'data'),
      ANTHROPIC_BASE_URL: model.url,
      LOG_LEVEL: 'warn',
      HOME: dir.path,
    };
    const run = await runBlock(bash, env);
    expect(run.code, `the Try it block failed:\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-3000)}`).toBe(0);
    // doctor found the CLI where the service does; initialize was accepted; watch saw the end.
    expect(run.stdout).toMatch(new RegExp(`ok\\s+claude\\s+.*at ${AGENTS_BIN.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/claude`));
    expect(run.stdout).toMatch(/"projectId":"demo".*"status":"running"/);
    expect(run.stdout).toMatch(/demo\s+completed/);
    // The remote: one commit per task on top of the task list's, with the agent's files.
    const log = run.stdout.trim().split('\n').slice(-3);
    expect(log[0]).toMatch(/1\.2/);
    expect(log[1]).toMatch(/1\.1/);
    expect(log[2]).toMatch(/demo: task list/);
    const remote = join(dir.path, 'srv/git/demo.git');
    const show = (path: string) => promisify(execFile)('git', ['--git-dir', remote, 'show', `main:${path}`]).then((r) => r.stdout);
    expect(await show('greet.js')).toBe(FILES['1.1']!.content);
    expect(await show('hello.js')).toBe(FILES['1.2']!.content);
    // And the result does what the task list asked for.
    const check = join(dir.path, 'check');
    await promisify(execFile)('git', ['clone', '-q', '-b', 'main', remote, check]);
    expect((await promisify(execFile)('node', ['hello.js'], { cwd: check })).stdout).toBe('Hello, world!\n');
  }, 300_000);
});
