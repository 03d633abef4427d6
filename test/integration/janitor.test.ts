// The worker host's cleanup: idle project sandboxes are removed and repository caches unused for
// too long are deleted, while busy and fresh ones stay — with the real local driver and real git.
import { existsSync } from 'node:fs';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Janitor } from '../../src/actors/index.js';
import { createLogger } from '../../src/infra/log.js';
import { RepoCache } from '../../src/infra/repo/index.js';
import { BwrapSandbox } from '../../src/infra/sandbox/index.js';
import { createRemote } from '../support/git-remote.js';
import { tempDir } from '../support/services.js';

describe('Janitor', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('removes idle sandboxes and unused repository caches, keeping busy and fresh ones', async () => {
    const dir = await tempDir('janitor');
    cleanups.push(dir.remove);
    const remote = await createRemote(dir.path, 'origin');
    await remote.commit('README.md');
    const repos = new RepoCache({ root: join(dir.path, 'cache') });
    const sandbox = new BwrapSandbox({ prefix: `devteam-jan-${crypto.randomUUID().slice(0, 6)}` });
    cleanups.push(async () => {
      for (const name of ['old', 'fresh']) await sandbox.remove('acme', name);
    });
    const log = createLogger({ level: 'silent' });
    const janitor = new Janitor({ sandbox, repos, sandboxIdleMs: 300, repoUnusedMs: 60_000, log, intervalMs: 60_000 });

    const old = await repos.ensure({ tenant: 'acme', projectId: 'old', url: remote.bare });
    const fresh = await repos.ensure({ tenant: 'acme', projectId: 'fresh', url: remote.bare });
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(join(old.repoDir, '..', '.last-used'), hourAgo, hourAgo);

    const idle = await sandbox.ensure({ tenant: 'acme', projectId: 'old', workspace: old.repoDir, limits: { cpus: 1, memoryMb: 256 } });
    const busy = await sandbox.ensure({ tenant: 'acme', projectId: 'fresh', workspace: fresh.repoDir, limits: { cpus: 1, memoryMb: 256 } });
    await idle.sandbox.exec(['true'], { timeoutMs: 10_000 });
    const running = busy.sandbox.exec(['sleep', '1.5'], { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 500));

    const swept = await janitor.sweep();
    expect(swept.sandboxes).toEqual([idle.sandbox.name]);
    expect(swept.repos).toEqual([{ tenant: 'acme', projectId: 'old' }]);
    expect(existsSync(old.repoDir)).toBe(false);
    expect(existsSync(fresh.repoDir)).toBe(true);
    expect((await running).exitCode).toBe(0);
    expect(await sandbox.list()).toEqual([busy.sandbox.name]);
    await janitor.stop();
  }, 30_000);
});
