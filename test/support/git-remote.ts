// A real git remote for tests: a bare repository on disk plus a working clone that commits and
// pushes to it.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { gitDirOf } from '../../src/infra/repo/index.js';

export const GIT_ENV = { GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', LC_ALL: 'C' };

export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await execa('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], { cwd, env: GIT_ENV });
  return stdout.trim();
}

export interface TestRemote {
  bare: string;
  work: string;
  /** Writes `file` (random content) in the working clone, commits and pushes; returns the sha. */
  commit(file: string): Promise<string>;
}

export async function createRemote(dir: string, name: string): Promise<TestRemote> {
  const bare = join(dir, `${name}.git`);
  const work = join(dir, `${name}-work`);
  await execa('git', ['init', '--quiet', '--bare', '--initial-branch=main', bare], { env: GIT_ENV });
  await execa('git', ['init', '--quiet', '--initial-branch=main', work], { env: GIT_ENV });
  await git(work, 'remote', 'add', 'origin', bare);
  const commit = async (file: string) => {
    await writeFile(join(work, file), `${file} ${Date.now()} ${Math.random()}\n`);
    await git(work, 'add', file);
    await git(work, 'commit', '--quiet', '-m', `add ${file}`);
    await git(work, 'push', '--quiet', 'origin', 'main');
    return git(work, 'rev-parse', 'HEAD');
  };
  return { bare, work, commit };
}

/**
 * A clone in the runner's layout (decision 0013): `<parent>/repo` is the work tree, files only,
 * and `<parent>/git` its git directory. Returns the work tree, which is what the runner calls
 * repoDir.
 */
export async function cloneCheckout(url: string, parent: string): Promise<string> {
  const repoDir = join(parent, 'repo');
  await execa('git', ['clone', '--quiet', `--separate-git-dir=${join(parent, 'git')}`, '--', url, repoDir], { env: GIT_ENV });
  await rm(join(repoDir, '.git'), { force: true });
  return repoDir;
}

/** git on a work tree in the runner's layout: its git directory named explicitly, as the runner does. */
export async function gitWork(repoDir: string, ...args: string[]): Promise<string> {
  return git(repoDir, '--git-dir', gitDirOf(repoDir), '--work-tree', repoDir, ...args);
}

/**
 * A new, empty repository in the runner's layout: `<parent>/repo` the work tree (no `.git` in it),
 * `<parent>/git` its git directory. Returns the work tree.
 */
export async function initCheckout(parent: string): Promise<string> {
  const repoDir = join(parent, 'repo');
  await execa('git', ['init', '--quiet', '--initial-branch=main', `--separate-git-dir=${join(parent, 'git')}`, repoDir], { env: GIT_ENV });
  await rm(join(repoDir, '.git'), { force: true });
  return repoDir;
}
