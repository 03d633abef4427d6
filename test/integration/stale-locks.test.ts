// A git the runner killed (lost lease, SIGKILLed worker) leaves lock files in the git directory;
// the fault suite saw the next owner's merge fail on "ORIG_HEAD.lock: File exists". Old locks are
// removed before the project's next git work; fresh ones (a git running now) are left alone.
import { utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { commitWork, createWorkBranch, gitDirOf, mergeIntoBase, removeStaleLocks } from '../../src/infra/repo/index.js';
import { gitProcessEnv } from '../../src/infra/repo/git-credentials.js';
import { runGit } from '../../src/infra/repo/git-run.js';
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

describe('a git the runner kills itself', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let hanging: Server;
  beforeAll(async () => {
    dir = await tempDir('devteam-own-locks');
    // Accepts the connection and never answers: a fetch from it runs until it is killed.
    hanging = createServer(() => {});
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    hanging?.close();
    await dir?.remove();
  });

  it('leaves no lock made while it ran (the restart fault test saw a retried merge fail on one), and keeps older ones', async () => {
    const remote = await createRemote(dir.path, 'own');
    await remote.commit('a.txt');
    const repoDir = await cloneCheckout(remote.bare, join(dir.path, 'checkout'));
    const gitDir = gitDirOf(repoDir);
    await writeFile(join(gitDir, 'packed-refs.lock'), '');
    const before = new Date(Date.now() - 5_000);
    await utimes(join(gitDir, 'packed-refs.lock'), before, before);
    const controller = new AbortController();
    const { port } = hanging.address() as AddressInfo;
    const fetching = runGit(['fetch', `http://127.0.0.1:${port}/never.git`], { workTree: repoDir, env: gitProcessEnv(), timeoutMs: 30_000, signal: controller.signal });
    // What a git killed mid-merge leaves: a lock made while the command runs.
    await writeFile(join(gitDir, 'ORIG_HEAD.lock'), '');
    await writeFile(join(gitDir, 'refs', 'heads', 'main.lock'), '');
    controller.abort();
    const run = await fetching;
    expect(run.aborted).toBe(true);
    expect(existsSync(join(gitDir, 'ORIG_HEAD.lock'))).toBe(false);
    expect(existsSync(join(gitDir, 'refs', 'heads', 'main.lock'))).toBe(false);
    // Older than the command: not its own, left to the age rule.
    expect(existsSync(join(gitDir, 'packed-refs.lock'))).toBe(true);
  }, 30_000);
});
