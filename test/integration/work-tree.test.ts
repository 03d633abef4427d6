// Local operations on a cached checkout, on real git: work branches, what changed (from git, not
// from an agent's words), and per-attempt change detection that ignores ignored build output.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changedBetween, changedFiles, createWorkBranch, deleteWorkBranches, RepoCache, snapshotTree } from '../../src/infra/repo/index.js';
import { createRemote, git, gitWork } from '../support/git-remote.js';
import { tempDir } from '../support/services.js';

describe('work tree', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let repoDir: string;

  beforeAll(async () => {
    dir = await tempDir('work-tree');
    const remote = await createRemote(dir.path, 'origin');
    await writeFile(join(remote.work, '.gitignore'), 'node_modules/\ndist/\n');
    await git(remote.work, 'add', '.gitignore');
    await git(remote.work, 'commit', '--quiet', '-m', 'ignore build output');
    await remote.commit('README.md');
    const repos = new RepoCache({ root: join(dir.path, 'cache') });
    ({ repoDir } = await repos.ensure({ tenant: 't', projectId: 'p', url: remote.bare }));
  });

  afterAll(async () => dir?.remove());

  it('creates the work branch from the base, replacing an earlier attempt', async () => {
    await createWorkBranch(repoDir, 'devteam/1.1', 'main');
    await writeFile(join(repoDir, 'leftover.txt'), 'from a crashed attempt\n');
    await createWorkBranch(repoDir, 'devteam/1.1', 'main');
    expect(await gitWork(repoDir, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('devteam/1.1');
    expect(await changedFiles(repoDir)).toEqual([]);
  });

  it('tells what one attempt changed, ignoring ignored build output and earlier attempts', async () => {
    await createWorkBranch(repoDir, 'devteam/1.2', 'main');
    await writeFile(join(repoDir, 'first.txt'), 'attempt 1\n');
    const before = await snapshotTree(repoDir);
    await mkdir(join(repoDir, 'node_modules', 'x'), { recursive: true });
    await writeFile(join(repoDir, 'node_modules', 'x', 'index.js'), 'installed by verify\n');
    expect(await changedBetween(repoDir, before, await snapshotTree(repoDir))).toEqual([]);
    await writeFile(join(repoDir, 'README.md'), 'edited by attempt 2\n');
    await mkdir(join(repoDir, 'src'));
    await writeFile(join(repoDir, 'src', 'new.ts'), 'export {};\n');
    expect(await changedBetween(repoDir, before, await snapshotTree(repoDir))).toEqual(['README.md', 'src/new.ts']);
    expect((await changedFiles(repoDir)).sort()).toEqual(['README.md', 'first.txt', 'src/new.ts']);
    // The real index is untouched: nothing is staged.
    expect(await gitWork(repoDir, 'diff', '--cached', '--name-only')).toBe('');
  });

  it('deletes the work branches and returns to the base', async () => {
    expect((await deleteWorkBranches(repoDir, 'devteam/', 'main')).sort()).toEqual(['devteam/1.1', 'devteam/1.2']);
    expect(await gitWork(repoDir, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
    expect(await changedFiles(repoDir)).toEqual([]);
  });
});
