// Independent tasks in parallel (decision 0028): one project of 8 independent tasks whose agent (a
// `command`) takes 1 s and whose build is trivial (`git --version`), run by the real service
// (`devteam serve`, embedded database, the local sandbox unless DEVTEAM_SANDBOX says otherwise) at
// parallelism k = 1, 2, 4. Prints each makespan (initialize → completed, read from the status) and
// the speed-up over k = 1, with the machine. The design's target: ≥ 1.8× at k = 2.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { start } from './service.js';
import { machine } from './stats.js';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '1' },
    k: { type: 'string', default: '1,2,4' },
    sandbox: { type: 'string', default: process.env.DEVTEAM_SANDBOX ?? 'local' },
  },
});
const TASKS = Number(values.tasks);
const KS = values.k.split(',').map(Number);

const GIT_ENV = { GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C', PATH: process.env.PATH! };
const git = (cwd: string, ...args: string[]) => execa('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', ...args], { cwd, env: GIT_ENV, extendEnv: false });

// The agent: the task's id from its prompt, a 1 s wait, then a file of its own (no two tasks touch one file).
const AGENT = `const fs = require('node:fs');
const id = /^# Task (\\S+):/m.exec(fs.readFileSync(process.argv[1], 'utf8'))[1];
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(process.env.BENCH_MS || ${Number(values.seconds) * 1000}));
fs.mkdirSync('notes', { recursive: true });
fs.writeFileSync('notes/' + id + '.md', 'note ' + id + '\\n');`;

async function remote(root: string, name: string): Promise<string> {
  const bare = join(root, `${name}.git`);
  const work = join(root, `${name}-work`);
  await mkdir(join(work, 'ai_docs', 'tasks'), { recursive: true });
  const lines = ['# Bench task list', '', 'Provenance: bench', '', 'Phase 1: Work (Dependencies: [])', ''];
  for (let i = 1; i <= TASKS; i++) lines.push(`- 1.${i} Write note ${i} (Dependencies: [])`, `  - 1.${i}.1 Write notes/1.${i}.md`, '');
  await writeFile(join(work, 'ai_docs', 'tasks', 'task_list.md'), `${lines.join('\n')}\n`);
  await writeFile(join(work, 'README.md'), '# Bench\n');
  await execa('git', ['init', '--quiet', '--bare', '--initial-branch=main', bare], { env: GIT_ENV });
  await git(work, 'init', '--quiet', '--initial-branch=main');
  await git(work, 'add', '-A');
  await git(work, 'commit', '--quiet', '-m', 'bench project');
  await git(work, 'push', '--quiet', bare, 'main');
  return `file://${bare}`;
}

interface Status {
  status: string;
  progress: { done: number; total: number };
  lastError: string | null;
}

async function makespan(base: string, root: string, k: number): Promise<number> {
  const projectId = `parallel-k${k}`;
  const url = await remote(root, projectId);
  const t0 = performance.now();
  const res = await fetch(`${base}/api/devteam/automation/initialize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      projectId,
      repository: { url, branch: 'main' },
      agent: { preset: 'command', command: ['node', '-e', AGENT, '{promptFile}'], timeoutSec: 120 },
      verify: { commands: [['git', '--version']], timeoutSec: 60 },
      limits: { cpus: 2, memoryMb: 2048 },
      parallelism: k,
    }),
  });
  if (res.status !== 202) throw new Error(`initialize answered ${res.status}: ${await res.text()}`);
  for (;;) {
    const reply = await fetch(`${base}/api/devteam/automation/status/${projectId}`);
    // A loaded machine may answer a read 503 (store deadline): read again.
    if (!reply.ok) {
      await reply.body?.cancel();
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    const s = (await reply.json()) as Status;
    if (s.status === 'completed') {
      if (s.progress.done !== TASKS) throw new Error(`k=${k}: completed with ${s.progress.done}/${TASKS} done`);
      return (performance.now() - t0) / 1000;
    }
    if (s.status !== 'running') throw new Error(`k=${k}: the run ended ${s.status}: ${s.lastError}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

console.log(machine());
console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} (1, 5, 15 min) at the start`);
const dir = await mkdtemp(join(tmpdir(), 'devteam-bench-parallel-'));
const service = await start(['serve'], { DEVTEAM_DATA_DIR: join(dir, 'data'), DEVTEAM_FILE_REMOTE_ROOTS: dir, DEVTEAM_SANDBOX: values.sandbox, LOG_LEVEL: 'info' });
try {
  const base = `http://127.0.0.1:${service.port}`;
  console.log(`\n== ${TASKS} independent tasks, agent ${values.seconds} s each, verify \`git --version\`, sandbox ${values.sandbox}, embedded database`);
  const results: Array<{ k: number; seconds: number }> = [];
  for (const k of KS) {
    const seconds = await makespan(base, dir, k);
    results.push({ k, seconds });
    const one = results.find((r) => r.k === 1)?.seconds;
    const ideal = Math.ceil(TASKS / k) * Number(values.seconds);
    console.log(
      `k = ${k}: load ${loadavg()[0]!.toFixed(2)}, makespan ${seconds.toFixed(2)} s  (agent time alone ≥ ${ideal} s; runner overhead ${((seconds - ideal) / TASKS).toFixed(2)} s/task)${one ? `  speed-up ${(one / seconds).toFixed(2)}×` : ''}`,
    );
  }
} finally {
  await service.stop();
  await rm(dir, { recursive: true, force: true });
}
