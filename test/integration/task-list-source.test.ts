// Reading the task list from real git checkouts: the configured or default path, the default
// template when the file is absent, paths that would leave the checkout, and no writes at all.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_TEMPLATE_PATH,
  MAX_TASK_LIST_BYTES,
  TaskListError,
  TaskListPathError,
  TaskListReadError,
  defaultTemplatePath,
  loadTaskList,
  type LoadedTaskList,
} from '../../src/infra/tasks/index.js';
import { gitDirOf } from '../../src/infra/repo/index.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SPEC = await readFile(fileURLToPath(new URL('../fixtures/spec-task-list.md', import.meta.url)));
const SMALL = ['Phase 1: Only (Dependencies: [])', '', '- 1.1 The task (Dependencies: [])', '  - 1.1.1 Do it', ''].join('\n');
// A clean environment: the developer's global git config (hooks, signing) must not leak in.
const GIT_ENV = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_OPTIONAL_LOCKS: '0' };

const tempDirs: string[] = [];
afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await realpath(await mkdtemp(join(tmpdir(), prefix)));
  tempDirs.push(dir);
  return dir;
}

/** git on a work tree in the runner's layout: its git directory beside it, named explicitly. */
async function git(repoDir: string, ...args: string[]): Promise<string> {
  return (await run('git', ['--git-dir', gitDirOf(repoDir), '--work-tree', repoDir, ...args], { cwd: repoDir, env: GIT_ENV })).stdout;
}

/** A committed checkout in the runner's layout (<parent>/repo, git dir <parent>/git) holding `files` (path → content). */
async function checkout(files: Record<string, string | Buffer>): Promise<string> {
  const parent = await tempDir('devteam-tasks-repo-');
  const dir = join(parent, 'repo');
  await run('git', ['init', '-q', '-b', 'main', `--separate-git-dir=${gitDirOf(dir)}`, dir], { cwd: parent, env: GIT_ENV });
  await rm(join(dir, '.git'), { force: true });
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  await git(dir, 'add', '-A');
  await git(dir, '-c', 'user.name=Test', '-c', 'user.email=test@example.com', 'commit', '-q', '--allow-empty', '-m', 'init');
  return dir;
}

/** Every entry under dir, with what a write would change (not atime: reads do). */
async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walkDir = async (sub: string): Promise<void> => {
    for (const name of (await readdir(join(dir, sub))).sort()) {
      const rel = sub ? `${sub}/${name}` : name;
      const info = await lstat(join(dir, rel));
      out.push(`${rel} ${info.mode} ${info.size} ${info.mtimeMs} ${info.ctimeMs}`);
      if (info.isDirectory()) await walkDir(rel);
    }
  };
  await walkDir('');
  return out;
}

/** The work tree and its git directory, entry by entry, and git's status. */
async function snapshot(dir: string): Promise<{ status: string; files: string[]; gitFiles: string[] }> {
  const files = await listing(dir);
  const gitFiles = await listing(gitDirOf(dir));
  const status = await git(dir, 'status', '--porcelain', '--untracked-files=all', '--ignored');
  return { status, files, gitFiles };
}

/** Loads and asserts that the checkout is exactly as before, byte for byte and stat for stat. */
async function loadWithoutWrites(repoDir: string, path?: string): Promise<LoadedTaskList> {
  const before = await snapshot(repoDir);
  const loaded = await loadTaskList(path === undefined ? { repoDir } : { repoDir, path });
  expect(await snapshot(repoDir)).toEqual(before);
  return loaded;
}

async function pathError(repoDir: string, path?: string): Promise<TaskListPathError> {
  const before = await snapshot(repoDir);
  const error = await loadTaskList(path === undefined ? { repoDir } : { repoDir, path }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TaskListPathError);
  expect((error as TaskListPathError).code).toBe('invalid_task_list_path');
  expect(await snapshot(repoDir)).toEqual(before);
  return error as TaskListPathError;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

describe('loadTaskList', () => {
  it('reads the task list at the default path of the checkout and writes nothing', async () => {
    const repo = await checkout({ 'ai_docs/tasks/task_list.md': SPEC, 'README.md': '# repo\n' });
    const loaded = await loadWithoutWrites(repo);
    expect(loaded.origin).toBe('repository');
    expect(loaded.path).toBe('ai_docs/tasks/task_list.md');
    expect(loaded.sha256).toBe(sha256(SPEC));
    expect(loaded.list.tasks).toHaveLength(39);
    expect(loaded.list.phases).toHaveLength(9);
  });

  it('reads a task list from a custom path, normalising "./"', async () => {
    const repo = await checkout({ 'docs/plan.md': SMALL });
    const loaded = await loadWithoutWrites(repo, './docs//plan.md');
    expect(loaded).toMatchObject({ origin: 'repository', path: 'docs/plan.md', sha256: sha256(Buffer.from(SMALL)) });
    expect(loaded.list.tasks.map((t) => t.id)).toEqual(['1.1']);
  });

  it('falls back to the default template when the repository has no task list, creating no file', async () => {
    const repo = await checkout({ 'README.md': '# repo\n' });
    const loaded = await loadWithoutWrites(repo);
    const template = await readFile(join(ROOT, DEFAULT_TEMPLATE_PATH));
    expect(loaded.origin).toBe('default-template');
    expect(loaded.path).toBe(join(ROOT, DEFAULT_TEMPLATE_PATH));
    expect(loaded.sha256).toBe(sha256(template));
    expect(loaded.list.phases).toHaveLength(2);
    expect(loaded.list.tasks.length).toBeGreaterThanOrEqual(3);
    expect((await readdir(repo)).sort()).toEqual(['README.md']);
  });

  it('refuses a configured path that is absent instead of running the template (a typo must not go unnoticed)', async () => {
    const repo = await checkout({ 'docs/other.md': SMALL });
    await expect(loadTaskList({ repoDir: repo, path: 'docs/plan.md' })).rejects.toMatchObject({
      code: 'invalid_task_list_path',
      message: expect.stringContaining('does not exist'),
    });
    expect((await readdir(repo)).sort()).toEqual(['docs']);
  });

  it('follows a symbolic link that stays inside the checkout', async () => {
    const repo = await checkout({ 'plans/current.md': SMALL });
    await mkdir(join(repo, 'ai_docs/tasks'), { recursive: true });
    await symlink('../../plans/current.md', join(repo, 'ai_docs/tasks/task_list.md'));
    const loaded = await loadWithoutWrites(repo);
    expect(loaded).toMatchObject({ origin: 'repository', path: 'ai_docs/tasks/task_list.md' });
    expect(loaded.list.tasks).toHaveLength(1);
  });

  it('refuses a path going up with "..", even when it comes back in or the file exists outside', async () => {
    const outside = await tempDir('devteam-tasks-outside-');
    await writeFile(join(outside, 'task_list.md'), SMALL);
    const repo = await checkout({ 'ai_docs/tasks/task_list.md': SMALL });
    const relativeOutside = `../${outside.split('/').at(-1)}/task_list.md`;
    const error = await pathError(repo, relativeOutside);
    expect(error.path).toBe(relativeOutside);
    expect(error.repoDir).toBe(repo);
    expect(error.message).toMatch(/contains "\.\."/);
    await pathError(repo, 'ai_docs/../ai_docs/tasks/task_list.md');
    await pathError(repo, 'ai_docs\\..\\..\\task_list.md');
  });

  it('refuses an absolute path, even one inside the checkout', async () => {
    const repo = await checkout({ 'ai_docs/tasks/task_list.md': SMALL });
    expect((await pathError(repo, join(repo, 'ai_docs/tasks/task_list.md'))).message).toMatch(/is absolute/);
    await pathError(repo, '/etc/passwd');
  });

  it('refuses a task list that is a symbolic link to a file outside the checkout', async () => {
    const outside = await tempDir('devteam-tasks-outside-');
    await writeFile(join(outside, 'task_list.md'), SMALL);
    const repo = await checkout({ 'README.md': '# repo\n' });
    await mkdir(join(repo, 'ai_docs/tasks'), { recursive: true });
    await symlink(join(outside, 'task_list.md'), join(repo, 'ai_docs/tasks/task_list.md'));
    expect((await pathError(repo)).message).toMatch(/resolves outside the checkout/);
  });

  it('refuses a path through a symlinked folder that leaves the checkout, whether or not the file is there', async () => {
    const outside = await tempDir('devteam-tasks-outside-');
    await mkdir(join(outside, 'tasks'));
    await writeFile(join(outside, 'tasks/task_list.md'), SMALL);
    const repo = await checkout({ 'README.md': '# repo\n' });
    await symlink(outside, join(repo, 'ai_docs'));
    expect((await pathError(repo)).message).toMatch(/resolves outside the checkout/);
    expect((await pathError(repo, 'ai_docs/tasks/absent.md')).message).toMatch(/leads outside the checkout/);
  });

  it('refuses a dangling symbolic link and a directory at the task-list path', async () => {
    const repo = await checkout({ 'README.md': '# repo\n' });
    await mkdir(join(repo, 'ai_docs/tasks'), { recursive: true });
    await symlink('/nonexistent/devteam/task_list.md', join(repo, 'ai_docs/tasks/task_list.md'));
    expect((await pathError(repo)).message).toMatch(/symbolic link to nothing/);
    await mkdir(join(repo, 'plans/list.md'), { recursive: true });
    expect((await pathError(repo, 'plans/list.md')).message).toMatch(/not a regular file/);
    expect((await pathError(repo, '.')).message).toMatch(/names the repository itself/);
  });

  it('reports a malformed task list in the repository with its path and line', async () => {
    const repo = await checkout({ 'ai_docs/tasks/task_list.md': SMALL.replace('[])\n  -', '[1.9])\n  -') });
    const error = await loadTaskList({ repoDir: repo }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskListError);
    expect((error as TaskListError).message).toBe('ai_docs/tasks/task_list.md:3: task "1.1" depends on unknown task "1.9"');
  });

  it('refuses a file larger than the limit without reading it whole', async () => {
    const repo = await checkout({ 'ai_docs/tasks/task_list.md': SMALL + '\n'.repeat(MAX_TASK_LIST_BYTES) });
    const error = await loadTaskList({ repoDir: repo }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskListReadError);
    expect((error as TaskListReadError).code).toBe('task_list_unreadable');
  });

  it('reports a missing checkout as unreadable', async () => {
    const error = await loadTaskList({ repoDir: join(tmpdir(), 'devteam-no-such-checkout', 'x') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskListReadError);
  });
});

describe('defaultTemplatePath', () => {
  it('finds the template from the source tree and from the compiled tree alike', () => {
    const expected = join(ROOT, DEFAULT_TEMPLATE_PATH);
    expect(defaultTemplatePath()).toBe(expected);
    expect(defaultTemplatePath(new URL('../../dist/src/infra/tasks/task-list-source.js', import.meta.url))).toBe(expected);
  });
});
