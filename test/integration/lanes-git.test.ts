// The git side of lanes with real git (decision 0028): two worktrees of one clone, each on its own
// work branch (their git directories outside the work trees), a change rebased onto a base another
// lane pushed, a conflict reported with its paths and the lane left fresh on the new base, and a
// push refused as "moved" when someone else pushed meanwhile.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureLaneWorkTree, integrateLane, lanePaths, pushLane, RepoCache, startLaneBranch } from '../../src/infra/repo/index.js';
import { createRemote, git, type TestRemote } from '../support/git-remote.js';
import { tempDir } from '../support/services.js';

const author = { name: 'DevTeam Runner', email: 'runner@example.com' };

describe('lanes in git', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let remote: TestRemote;
  let root: string;
  const url = () => `file://${remote.bare}`;

  beforeAll(async () => {
    dir = await tempDir('devteam-lanes-git');
    remote = await createRemote(dir.path, 'lanes');
    await writeFile(join(remote.work, 'shared.txt'), 'original\n');
    await git(remote.work, 'add', '-A');
    await git(remote.work, 'commit', '--quiet', '-m', 'initial');
    await git(remote.work, 'push', '--quiet', 'origin', 'main');
    root = join(dir.path, 'cache');
    await new RepoCache({ root }).ensure({ tenant: 't', projectId: 'p', url: url(), branch: 'main' });
  });

  afterAll(async () => {
    await dir?.remove();
  });

  const lane = async (n: number, branch: string) => {
    const paths = lanePaths(root, 't', 'p', n);
    expect(await ensureLaneWorkTree(paths, 'main')).toBe(true);
    // The work tree has no .git of the runner's; its git directory lives in the project's.
    expect(existsSync(join(paths.repoDir, '.git'))).toBe(false);
    expect(existsSync(join(paths.gitDir, 'HEAD'))).toBe(true);
    await startLaneBranch(paths.repoDir, branch, 'main');
    return paths.repoDir;
  };
  const merge = (repoDir: string, branch: string, id: string) =>
    integrateLane(repoDir, { branch, base: 'main', mode: 'ff', commitMessage: `Task ${id}\n\nDevTeam-Task: ${id}\n`, mergeMessage: `Merge ${branch}`, author });

  it('rebases a lane’s change onto the base another lane pushed, and reports a conflict with its paths', async () => {
    const a = await lane(0, 'devteam/1.1');
    const b = await lane(1, 'devteam/1.2');
    await writeFile(join(a, 'a.txt'), 'a\n');
    await writeFile(join(a, 'shared.txt'), 'from 1.1\n');
    await writeFile(join(b, 'b.txt'), 'b\n');
    await writeFile(join(b, 'shared.txt'), 'from 1.2\n');

    const first = await merge(a, 'devteam/1.1', '1.1');
    expect('commit' in first).toBe(true);
    expect(await pushLane(a, { branch: 'devteam/1.1', base: 'main', url: url() })).toMatchObject({ moved: false });
    await git(remote.work, 'fetch', '--quiet', 'origin');
    expect(await git(remote.work, 'show', 'origin/main:shared.txt')).toBe('from 1.1');

    // Lane 1 sees the push through the shared refs, and its change conflicts with it.
    const second = await merge(b, 'devteam/1.2', '1.2');
    expect(second).toMatchObject({ conflict: ['shared.txt'], base: await git(remote.work, 'rev-parse', 'origin/main') });
    // Left fresh on the new base, on its work branch, nothing in progress.
    expect(await readFile(join(b, 'shared.txt'), 'utf8')).toBe('from 1.1\n');
    expect(existsSync(join(b, 'b.txt'))).toBe(false);
    expect(await git(remote.work, 'rev-parse', 'origin/main')).toBe(await git(dir.path, '--git-dir', lanePaths(root, 't', 'p', 1).gitDir, 'rev-parse', 'HEAD'));
  });

  it('refuses to push over a base someone else moved, as "moved"', async () => {
    const c = await lane(2, 'devteam/1.3');
    await writeFile(join(c, 'c.txt'), 'c\n');
    const merged = await merge(c, 'devteam/1.3', '1.3');
    expect('commit' in merged).toBe(true);
    await git(remote.work, 'pull', '--quiet', 'origin', 'main');
    await remote.commit('outside.txt');
    expect(await pushLane(c, { branch: 'devteam/1.3', base: 'main', url: url() })).toMatchObject({ moved: true });
  });
});
