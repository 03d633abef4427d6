// Real projects for the benches that need workers to drive something: bare git remotes on disk
// (file://, under a root the service is told to allow with DEVTEAM_FILE_REMOTE_ROOTS) holding a
// task list in the spec's format, and the initialize body that runs them with a trivial `command`
// agent (appends a line to NOTES.md) and a trivial verify (`git --version`), so the time a task
// takes is the runner's own: git, persisted transitions, frames.
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

const GIT_ENV = { GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C', PATH: process.env.PATH! };

async function git(cwd: string, ...args: string[]): Promise<void> {
  await execa('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', ...args], { cwd, env: GIT_ENV, extendEnv: false });
}

function taskList(tasks: number, chained: boolean): string {
  const lines = ['# Bench task list', '', 'Provenance: bench', '', 'Phase 1: Work (Dependencies: [])', ''];
  for (let i = 1; i <= tasks; i++) {
    const deps = chained && i > 1 ? `1.${i - 1}` : '';
    lines.push(`- 1.${i} Append note ${i} (Dependencies: [${deps}])`, `  - 1.${i}.1 Append a line to NOTES.md`, '');
  }
  return `${lines.join('\n')}\n`;
}

/** Builds remotes by copying one template bare repository (a copy costs no git process). */
export class Remotes {
  private template: string | null = null;
  private n = 0;

  constructor(
    /** The directory to set as DEVTEAM_FILE_REMOTE_ROOTS. */
    readonly root: string,
    private readonly tasks: number,
    /** Each task depends on the one before (a chain), as most real lists do. */
    private readonly chained = false,
  ) {}

  /** A new bare remote with the task list on main; returns its file:// URL. */
  async create(): Promise<string> {
    if (!this.template) this.template = await this.build();
    const bare = join(this.root, `remote-${this.n++}.git`);
    await cp(this.template, bare, { recursive: true });
    return `file://${bare}`;
  }

  private async build(): Promise<string> {
    const bare = join(this.root, 'template.git');
    const work = join(this.root, 'template-work');
    await mkdir(join(work, 'ai_docs', 'tasks'), { recursive: true });
    await execa('git', ['init', '--quiet', '--bare', '--initial-branch=main', bare], { env: GIT_ENV });
    await git(work, 'init', '--quiet', '--initial-branch=main');
    await writeFile(join(work, 'ai_docs', 'tasks', 'task_list.md'), taskList(this.tasks, this.chained));
    await writeFile(join(work, 'NOTES.md'), '# Notes\n');
    await git(work, 'add', '-A');
    await git(work, 'commit', '--quiet', '-m', 'bench project');
    await git(work, 'push', '--quiet', bare, 'main');
    return bare;
  }
}

/** The initialize body: a `command` agent that appends to NOTES.md, verify `git --version`. */
export function projectBody(projectId: string, url: string): Record<string, unknown> {
  return {
    projectId,
    repository: { url, branch: 'main' },
    agent: { preset: 'command', command: ['sh', '-c', 'echo x >> NOTES.md'], timeoutSec: 60 },
    verify: { commands: [['git', '--version']], timeoutSec: 60 },
  };
}
