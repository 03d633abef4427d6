// Section c of bench/scale.ts: the verify of a vite + TypeScript project (what create-vite's
// vanilla-ts template makes: vite, typescript, `tsc && vite build`), run by the real service for
// two chained tasks: the first verify is cold (an empty npm cache in the new checkout: every
// package from the registry), the second warm (the cache kept in the checkout, node_modules reused
// when nothing it comes from changed — src/steps/install-reuse.ts). The lockfile is made once with
// `npm install --package-lock-only` (the npm registry is reachable here and in CI).
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { runScenario } from './scale-run.js';

const GIT_ENV = { GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C', PATH: process.env.PATH! };
const FILES: Record<string, string> = {
  'package.json': JSON.stringify(
    { name: 'vite-ts', private: true, version: '0.0.0', type: 'module', scripts: { build: 'tsc && vite build' }, devDependencies: { typescript: '~5.9.3', vite: '^7.0.0' } },
    null,
    2,
  ),
  '.gitignore': 'node_modules\ndist\n',
  'index.html': '<!doctype html>\n<html><body><div id="app"></div><script type="module" src="/src/main.ts"></script></body></html>\n',
  'src/main.ts': "const app = document.querySelector<HTMLDivElement>('#app')!;\napp.textContent = 'hello';\n",
  'tsconfig.json': JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], strict: true, noEmit: true, skipLibCheck: true }, include: ['src'] }, null, 2),
  'ai_docs/tasks/task_list.md': [
    '# Vite task list',
    '',
    'Phase 1: Work (Dependencies: [])',
    '',
    '- 1.1 Append note 1 (Dependencies: [])',
    '  - 1.1.1 Append a line to NOTES.md',
    '',
    '- 1.2 Append note 2 (Dependencies: [1.1])',
    '  - 1.2.1 Append a line to NOTES.md',
    '',
  ].join('\n'),
  'NOTES.md': '# Notes\n',
};

let template: string | null = null;

async function viteRemote(root: string, i: number): Promise<string> {
  if (!template) {
    const work = join(root, 'vite-work');
    for (const [path, text] of Object.entries(FILES)) {
      await mkdir(join(work, path, '..'), { recursive: true });
      await writeFile(join(work, path), text);
    }
    await execa('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund'], { cwd: work });
    template = join(root, 'vite.git');
    const git = (cwd: string, ...args: string[]) => execa('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', ...args], { cwd, env: GIT_ENV, extendEnv: false });
    await execa('git', ['init', '--quiet', '--bare', '--initial-branch=main', template], { env: GIT_ENV });
    await git(work, 'init', '--quiet', '--initial-branch=main');
    await git(work, 'add', '-A');
    await git(work, 'commit', '--quiet', '-m', 'vite project');
    await git(work, 'push', '--quiet', template, 'main');
  }
  const bare = join(root, `vite-${i}.git`);
  await cp(template, bare, { recursive: true });
  return `file://${bare}`;
}

export async function verifyWarmCold(): Promise<{ ratio: number; describe(): string }> {
  template = null;
  const r = await runScenario({
    label: 'vite',
    mode: 'embedded',
    projects: 1,
    tasks: 2,
    agent: ['sh', '-c', 'echo x >> NOTES.md'],
    verify: [['npm', 'ci'], ['npm', 'run', 'build']],
    remote: viteRemote,
    timeoutMs: 600_000,
  });
  if (r.ends.completed !== 1) throw new Error(`the vite project did not complete: ${JSON.stringify(r.ends)}; ${r.firstError}`);
  const [cold, warm] = [...r.tasks].sort((a, b) => a.index - b.index);
  const ratio = warm!.buildMs / cold!.buildMs;
  return {
    ratio,
    describe: () =>
      `verify cold (task 1: empty npm cache) ${(cold!.buildMs / 1000).toFixed(2)} s, warm (task 2) ${(warm!.buildMs / 1000).toFixed(2)} s: warm = ${(ratio * 100).toFixed(0)} % of cold (target ≤ 40 %)`,
  };
}
