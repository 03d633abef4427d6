// file:// remotes at the worker: the edge checks the URL's text, the cache checks the real path
// (symlinks resolved) right before it clones, so a link inside an allowed root can never lead a
// project to the data directory or another tenant's checkout.
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RepoCache, RepoError } from '../../src/infra/repo/index.js';
import { createRemote } from '../support/git-remote.js';
import { tempDir } from '../support/services.js';

describe('file remotes in the repository cache', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cache: RepoCache;
  let roots: string;

  beforeAll(async () => {
    dir = await tempDir('devteam-fileremotes');
    roots = join(dir.path, 'roots');
    await mkdir(roots);
    cache = new RepoCache({ root: join(dir.path, 'cache'), fileRemotes: { roots: [roots], forbidden: [join(dir.path, 'cache')] } });
  });

  afterAll(async () => {
    await dir?.remove();
  });

  it('clones a remote that really lies inside an allowed root', async () => {
    const remote = await createRemote(roots, 'ok');
    await remote.commit('a.txt');
    const result = await cache.ensure({ tenant: 'a', projectId: 'ok', url: `file://${remote.bare}` });
    expect(result.action).toBe('cloned');
  });

  it("refuses a link inside an allowed root that leads to another tenant's checkout", async () => {
    const victim = await createRemote(roots, 'victim');
    await victim.commit('secret.txt');
    await cache.ensure({ tenant: 'b', projectId: 'victim', url: `file://${victim.bare}` });
    await symlink(join(dir.path, 'cache', 'b', 'victim', 'git'), join(roots, 'sneaky.git'));
    const attempt = cache.ensure({ tenant: 'a', projectId: 'thief', url: `file://${join(roots, 'sneaky.git')}` });
    await expect(attempt).rejects.toBeInstanceOf(RepoError);
    await expect(attempt).rejects.toMatchObject({ code: 'invalid_url' });
  });

  it('refuses a path outside every root', async () => {
    const outside = await createRemote(dir.path, 'outside');
    await expect(cache.ensure({ tenant: 'a', projectId: 'out', url: outside.bare })).rejects.toMatchObject({ code: 'invalid_url' });
  });
});
