// The acceptance test of the pipeline: a real npm project (create-vite's vanilla-ts template,
// installed from the registry), a bare repository on disk as its remote, a task list in the
// spec's format, the runner as a child process (`devteam serve`), and a real coding agent —
// Claude Code — pointed at a scripted model server that answers with real Write tool calls.
// Verify is the project's default: npm ci, then npm run build (tsc + vite), in the sandbox.
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskListOf, type FixtureTask } from '../support/agent-remote.js';
import { startService, type CliProcess } from '../support/cli-process.js';
import { createRemote, git } from '../support/git-remote.js';
import { anthropicMessages, startModelServer, underCwd, type ModelRequest, type Reply, type TcpModelServer } from '../support/model-server/index.js';
import { createTestDatabase, eventually, tempDir, type TestDatabase } from '../support/services.js';

const CLAUDE_BIN = join(import.meta.dirname, '../agents/node_modules/.bin/claude');
const MODEL_KEY = 'sk-ant-test-pipeline-0c2f9d71e5';

/** What the scripted model writes for a task: the file, given the attempt and whether it is a retry. */
type Edits = (attempt: number, retry: boolean) => Array<{ path: string; content: string }>;

const GREETING = "export function greet(name: string): string {\n  return `Hello, ${name}!`;\n}\n";
const SCENARIOS: Record<string, { tasks: FixtureTask[]; edits: Record<string, Edits> }> = {
  complete: {
    tasks: [
      { id: '1.1', title: 'Add a greeting module' },
      { id: '1.2', title: 'Build a banner from the greeting', dependencies: ['1.1'] },
      { id: '1.3', title: 'Add a farewell module', dependencies: ['1.2'] },
    ],
    edits: {
      '1.1': () => [{ path: 'src/greeting.ts', content: GREETING }],
      '1.2': () => [{ path: 'src/banner.ts', content: "import { greet } from './greeting';\n\nexport const banner: string = greet('DevTeam');\n" }],
      '1.3': () => [{ path: 'src/farewell.ts', content: 'export function farewell(name: string): string {\n  return `Goodbye, ${name}.`;\n}\n' }],
    },
  },
  retry: {
    tasks: [{ id: '1.1', title: 'Add a typed counter constant' }],
    edits: {
      '1.1': (_attempt, retry) => [{ path: 'src/count.ts', content: retry ? 'export const count: number = 3;\n' : "export const count: number = 'three';\n" }],
    },
  },
  never: {
    tasks: [{ id: '1.1', title: 'Add a limit constant' }],
    edits: {
      // A different wrong value each attempt: the build's error moves (another fingerprint), so all 3 attempts are made.
      '1.1': (attempt) => [{ path: 'src/limit.ts', content: `export const limit: number = ${["'one'", 'true', 'null'][attempt - 1] ?? "'more'"};\n` }],
    },
  },
};

function promptText(body: any): string {
  const first = Array.isArray(body?.messages) ? body.messages.find((m: any) => m?.role === 'user') : undefined;
  if (!first) return '';
  if (typeof first.content === 'string') return first.content;
  return (first.content as any[]).map((b) => (typeof b?.text === 'string' ? b.text : '')).join('\n');
}

/** Finds the task in the prompt and answers with its edits on the first turn, then ends. */
function script({ turn, body, cwd }: ModelRequest): Reply {
  const all = JSON.stringify(body?.messages ?? []);
  const prompt = promptText(body);
  const task = /# Task (\d+\.\d+): ([^\n]+)/.exec(prompt) ?? /# Task (\d+\.\d+): ([^\\]+)/.exec(all);
  if (!task) return { text: 'I could not find a task.' };
  const scenario = Object.values(SCENARIOS).find((s) => s.tasks.some((t) => t.id === task[1] && t.title === task[2]!.trim()));
  if (!scenario || turn > 0) return { text: 'Done.' };
  const attempt = Number(/This is attempt (\d+)/.exec(prompt)?.[1] ?? 1);
  const retry = /## Attempt \d+: attempt \d+ failed/.test(prompt);
  const files = scenario.edits[task[1]!]!(attempt, retry);
  return { text: 'Editing.', toolCalls: files.map((f) => ({ name: 'Write', input: { file_path: underCwd(cwd, f.path), content: f.content } })) };
}

describe('the pipeline, end to end with Claude Code and a real npm project', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let db: TestDatabase;
  let sql: postgres.Sql;
  let model: TcpModelServer;
  let service: { proc: CliProcess; port: number | null };
  const remotes = new Map<string, { bare: string; work: string; initial: string }>();

  beforeAll(async () => {
    if (!existsSync(CLAUDE_BIN)) throw new Error(`Claude Code is not installed for the tests (${CLAUDE_BIN}): run npm install --prefix test/agents`);
    dir = await tempDir('devteam-pipeline');
    db = await createTestDatabase('pipeline');
    sql = postgres(db.url, { max: 1, onnotice: () => {} });
    // The npm project: create-vite's vanilla-ts template from the registry, with its lockfile.
    const template = join(dir.path, 'template');
    await execa('npm', ['create', '--yes', 'vite@9.3.0', 'template', '--', '--template', 'vanilla-ts', '--no-interactive'], { cwd: dir.path });
    await execa('npm', ['install', '--no-audit', '--no-fund', '--package-lock-only'], { cwd: template });
    for (const [name, scenario] of Object.entries(SCENARIOS)) {
      const remote = await createRemote(dir.path, name);
      await cp(template, remote.work, { recursive: true });
      await mkdir(join(remote.work, 'ai_docs', 'tasks'), { recursive: true });
      await writeFile(join(remote.work, 'ai_docs', 'tasks', 'task_list.md'), taskListOf(scenario.tasks));
      await git(remote.work, 'add', '-A');
      await git(remote.work, 'commit', '--quiet', '-m', 'vanilla-ts template');
      await git(remote.work, 'push', '--quiet', 'origin', 'main');
      remotes.set(name, { ...remote, initial: await git(remote.work, 'rev-parse', 'HEAD') });
    }
    model = await startModelServer(anthropicMessages, script);
    service = await startService(['serve'], {
      DATABASE_URL: db.url,
      DEVTEAM_DATA_DIR: join(dir.path, 'data'),
      DEVTEAM_FILE_REMOTE_ROOTS: dir.path,
      DEVTEAM_RECONCILE_MS: '200',
      DEVTEAM_AGENT_PATH: dirname(CLAUDE_BIN),
      ANTHROPIC_BASE_URL: model.url,
      // The project names its key (agent.keyEnv): a per-project secret reference, not the default variable.
      DEVTEAM_SECRET_LOCAL__PIPELINE_MODEL_KEY: MODEL_KEY,
    });
  }, 180_000);

  afterAll(async () => {
    await service?.proc.stop();
    await model?.close();
    await sql?.end();
    await db?.drop();
    await dir?.remove();
  }, 60_000);

  async function run(name: string, want: string): Promise<{ executionId: string; status: any }> {
    const remote = remotes.get(name)!;
    const res = await fetch(`http://127.0.0.1:${service.port}/api/devteam/automation/initialize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        projectId: name,
        repository: { url: `file://${remote.bare}`, branch: 'main' },
        agent: { preset: 'claude-code', timeoutSec: 120, keyEnv: 'DEVTEAM_SECRET_LOCAL__PIPELINE_MODEL_KEY' },
        verify: { timeoutSec: 300 },
        limits: { cpus: 1, memoryMb: 2048 },
      }),
    });
    expect(res.status).toBe(202);
    const { executionId } = (await res.json()) as { executionId: string };
    const status = await eventually(
      async () => {
        const s = (await (await fetch(`http://127.0.0.1:${service.port}/api/devteam/automation/status/${name}`)).json()) as any;
        return ['completed', 'failed', 'stopped'].includes(s.status) ? s : undefined;
      },
      240_000,
      `the ${name} run to end`,
    );
    expect(status.status, JSON.stringify(status)).toBe(want);
    return { executionId, status };
  }

  it('completes three tasks: every task commit on the remote main, and the build passes there', async () => {
    const { executionId, status } = await run('complete', 'completed');
    expect(status.progress).toEqual({ done: 3, total: 3 });
    const remote = remotes.get('complete')!;
    await git(remote.work, 'fetch', '--quiet', 'origin');
    const subjects = (await git(remote.work, 'log', '--format=%s', `${remote.initial}..origin/main`)).split('\n');
    expect(subjects).toEqual(['Task 1.3: Add a farewell module', 'Task 1.2: Build a banner from the greeting', 'Task 1.1: Add a greeting module']);
    expect(status.results['1.3'].commit).toBe(await git(remote.work, 'rev-parse', 'origin/main'));
    // A fresh clone of the remote builds.
    const clone = join(dir.path, 'complete-clone');
    await execa('git', ['clone', '--quiet', remote.bare, clone]);
    expect(await readFile(join(clone, 'src', 'greeting.ts'), 'utf8')).toBe(GREETING);
    await execa('npm', ['ci', '--no-audit', '--no-fund'], { cwd: clone });
    const build = await execa('npm', ['run', 'build'], { cwd: clone, reject: false });
    expect(build.exitCode, build.stdout + build.stderr).toBe(0);

    // Where the time went: everything but the agent and the build is the runner's overhead.
    const overhead = await runnerOverhead(sql, executionId);
    console.log(`runner overhead per task (agent and build excluded): ${overhead.map((o) => `${o.taskId} ${o.overheadMs} ms`).join(', ')}`);
    // The agent was given the project's key, which never reached a log line.
    expect(model.requests.filter((r) => !r.sideCall).every((r) => r.apiKey === MODEL_KEY)).toBe(true);
    expect(JSON.stringify(service.proc.lines) + service.proc.stderr.join('')).not.toContain(MODEL_KEY);
  }, 300_000);

  it('retries when the first edit breaks the build, and merges the fix', async () => {
    const { status } = await run('retry', 'completed');
    expect(status.results['1.1']).toMatchObject({ status: 'done', attempts: 2 });
    const remote = remotes.get('retry')!;
    await git(remote.work, 'fetch', '--quiet', 'origin');
    expect(await git(remote.work, 'show', 'origin/main:src/count.ts')).toBe('export const count: number = 3;');
  }, 300_000);

  it('fails after 3 attempts that never build, with nothing merged', async () => {
    const { status } = await run('never', 'failed');
    expect(status.lastError).toBe('task 1.1: verification failed after 3 attempts');
    expect(status.results['1.1']).toMatchObject({ status: 'failed', reason: 'verify_failed', attempts: 3 });
    const remote = remotes.get('never')!;
    await git(remote.work, 'fetch', '--quiet', 'origin');
    expect(await git(remote.work, 'rev-parse', 'origin/main')).toBe(remote.initial);
  }, 300_000);
});

/**
 * Per task: the time from the previous task's push (or the execution's start) to this task's
 * push, minus the agent's and the verify commands' own durations (from the artifacts).
 */
async function runnerOverhead(sql: postgres.Sql, executionId: string): Promise<Array<{ taskId: string; overheadMs: number }>> {
  const [execution] = await sql`SELECT created_at FROM executions WHERE id = ${executionId}`;
  const pushes = await sql`SELECT task_id, finished_at FROM execution_steps WHERE execution_id = ${executionId} AND step = 'push' ORDER BY finished_at`;
  const artifacts = await sql`SELECT task_id, kind, meta FROM artifacts WHERE execution_id = ${executionId} AND kind IN ('agent-output', 'verify-output')`;
  let from = (execution!.created_at as Date).getTime();
  return pushes.map((p) => {
    const to = (p.finished_at as Date).getTime();
    const excluded = artifacts
      .filter((a) => a.task_id === p.task_id)
      .reduce((sum, a) => sum + (a.kind === 'agent-output' ? Number(a.meta.durationMs) : (a.meta.commands as Array<{ durationMs: number }>).reduce((s, c) => s + c.durationMs, 0)), 0);
    const overheadMs = to - from - excluded;
    from = to;
    return { taskId: String(p.task_id), overheadMs };
  });
}
