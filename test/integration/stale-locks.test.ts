// A git the runner killed (lost lease, SIGKILLed worker) leaves lock files in the git directory;
// the fault suite saw the next owner's merge fail on "ORIG_HEAD.lock: File exists". Old locks are
// removed before the project's next git work; fresh ones (a git running now) are left alone.
import { utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitWork, createWorkBranch, gitDirOf, mergeIntoBase, removeStaleLocks } from '../../src/infra/repo/index.js';
import { cloneCheckout, createRemote } from '../support/git-remote.js';
import { tempDir } from '../support/services.js';

describe('stale git locks', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('devteam-locks');
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('removes old lock files a killed git left, keeps fresh ones, and the merge then succeeds', async () => {
    const remote = await createRemote(dir.path, 'locked');
    await remote.commit('a.txt');
    const repoDir = await cloneCheckout(remote.bare, join(dir.path, 'checkout'));
    const gitDir = gitDirOf(repoDir);
    await createWorkBranch(repoDir, 'devteam/1.1', 'main');
    await writeFile(join(repoDir, 'b.txt'), 'b\n');
    await commitWork(repoDir, { message: 'task', author: { name: 'T', email: 't@example.com' } });
    const old = new Date(Date.now() - 60_000);
    for (const lock of ['ORIG_HEAD.lock', 'index.lock', join('refs', 'heads', 'main.lock')]) {
      await writeFile(join(gitDir, lock), '');
      await utimes(join(gitDir, lock), old, old);
    }
    await writeFile(join(gitDir, 'config.lock'), '');
    const options = { branch: 'devteam/1.1', base: 'main', mode: 'ff' as const, message: 'm', author: { name: 'T', email: 't@example.com' } };
    await expect(mergeIntoBase(repoDir, options)).rejects.toThrow(/lock/);

    const removed = await removeStaleLocks(gitDir);
    expect(removed.map((p) => p.slice(gitDir.length + 1)).sort()).toEqual(['ORIG_HEAD.lock', 'index.lock', join('refs', 'heads', 'main.lock')].sort());
    expect(existsSync(join(gitDir, 'config.lock'))).toBe(true);
    await removeStaleLocks(gitDir, 0);
    expect((await mergeIntoBase(repoDir, options)).alreadyMerged).toBe(false);
  });
});
