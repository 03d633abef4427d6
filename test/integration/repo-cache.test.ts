import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { execa } from 'execa';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitDirOf, RepoCache, RepoError } from '../../src/infra/repo/index.js';
import { startGitHttpServer, startHangingServer, type TestServer } from '../support/git-http-server.js';
import { createRemote, GIT_ENV, gitWork } from '../support/git-remote.js';
import { caughtRepoError as caught, filesUnder } from '../support/repo-errors.js';
import { tempDir } from '../support/services.js';

const TOKEN = 'ghp_TestToken_5f1c2b9a7e';
function capturedLog(): { log: pino.Logger; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), text: () => chunks.join('') };
}



describe('RepoCache', () => {
  let tmp: { path: string; remove(): Promise<void> };
  let remotes: string;
  let root: string;

  beforeAll(async () => {
    tmp = await tempDir('repo-cache');
    remotes = join(tmp.path, 'remotes');
    root = join(tmp.path, 'cache');
    await mkdir(remotes, { recursive: true });
  });
  afterAll(async () => tmp.remove());

  it('clones when absent, fetches when present, reporting origin tip', async () => {
    const remote = await createRemote(remotes, 'basic');
    const first = await remote.commit('a.txt');
    const cache = new RepoCache({ root });
    const cloned = await cache.ensure({ tenant: 'acme', projectId: 'basic', url: remote.bare });
    expect(cloned).toMatchObject({ repoDir: join(root, 'acme', 'basic', 'repo'), action: 'cloned', headSha: first, branch: 'main' });
    expect(cloned.durationMs).toBeGreaterThanOrEqual(0);

    const second = await remote.commit('b.txt');
    const fetched = await cache.ensure({ tenant: 'acme', projectId: 'basic', url: remote.bare });
    expect(fetched).toMatchObject({ action: 'fetched', headSha: second });
    expect(await cache.ensure({ tenant: 'acme', projectId: 'basic', url: remote.bare, branch: 'main' })).toMatchObject({ headSha: second });

    expect(await cache.checkoutBranch(cloned.repoDir, 'main')).toBe(second);
    expect(await readFile(join(cloned.repoDir, 'b.txt'), 'utf8')).toContain('b.txt');

    const missing = await caught(cache.ensure({ tenant: 'acme', projectId: 'basic', url: remote.bare, branch: 'nope' }));
    expect(missing).toMatchObject({ code: 'checkout_failed', failure: 'not_found' });
  });

  it('handles an empty remote, then picks up its first push', async () => {
    const remote = await createRemote(remotes, 'empty');
    const cache = new RepoCache({ root });
    const cloned = await cache.ensure({ tenant: 'acme', projectId: 'empty', url: remote.bare });
    expect(cloned).toMatchObject({ action: 'cloned', headSha: null });
    const again = await cache.ensure({ tenant: 'acme', projectId: 'empty', url: remote.bare });
    expect(again).toMatchObject({ action: 'fetched', headSha: null });
    const sha = await remote.commit('first.txt');
    expect(await cache.ensure({ tenant: 'acme', projectId: 'empty', url: remote.bare })).toMatchObject({ action: 'fetched', headSha: sha, branch: 'main' });
  });

  it('reports a missing remote as not_found, naming it', async () => {
    const url = join(remotes, 'does-not-exist.git');
    const cache = new RepoCache({ root, backoffMs: 10 });
    const error = await caught(cache.ensure({ tenant: 'acme', projectId: 'missing', url }));
    expect(error).toMatchObject({ code: 'clone_failed', failure: 'not_found', remote: url, attempts: 1 });
    expect(error.message).toContain(`clone of ${url} failed (not_found)`);
    expect(await readdir(join(root, 'acme', 'missing'))).toEqual(['.last-used']);
  });

  it('redoes a half-finished clone and re-clones when origin changes', async () => {
    const remote = await createRemote(remotes, 'broken');
    const sha = await remote.commit('a.txt');
    const cache = new RepoCache({ root });
    const { repoDir } = await cache.ensure({ tenant: 'acme', projectId: 'broken', url: remote.bare });
    const projectDir = join(root, 'acme', 'broken');

    // A crash mid-clone leaves a tmp dir; damage leaves a git dir git cannot use.
    await mkdir(join(projectDir, '.repo-tmp-x', 'git'), { recursive: true });
    await writeFile(join(gitDirOf(repoDir), 'HEAD'), 'garbage\n');
    const redone = await cache.ensure({ tenant: 'acme', projectId: 'broken', url: remote.bare });
    expect(redone).toMatchObject({ action: 'cloned', headSha: sha });
    expect((await readdir(projectDir)).sort()).toEqual(['.last-used', 'git', 'repo']);

    await rm(join(gitDirOf(repoDir), 'objects'), { recursive: true });
    expect(await cache.ensure({ tenant: 'acme', projectId: 'broken', url: remote.bare })).toMatchObject({ action: 'cloned', headSha: sha });

    const moved = await createRemote(remotes, 'moved');
    const movedSha = await moved.commit('m.txt');
    const recloned = await cache.ensure({ tenant: 'acme', projectId: 'broken', url: moved.bare });
    expect(recloned).toMatchObject({ action: 'cloned', headSha: movedSha });
    expect(await gitWork(repoDir, 'config', '--get', 'remote.origin.url')).toBe(moved.bare);
  });

  it('serializes concurrent ensures of one project: one clone', async () => {
    const remote = await createRemote(remotes, 'concurrent');
    const sha = await remote.commit('a.txt');
    const cache = new RepoCache({ root });
    const results = await Promise.all(
      Array.from({ length: 4 }, () => cache.ensure({ tenant: 'acme', projectId: 'concurrent', url: remote.bare })),
    );
    expect(results.map((r) => r.action).sort()).toEqual(['cloned', 'fetched', 'fetched', 'fetched']);
    expect(results.every((r) => r.headSha === sha)).toBe(true);
  });

  it('keeps tenants apart, reports size per tenant and removes unused projects', async () => {
    const croot = join(tmp.path, 'cache-cleanup');
    const remote = await createRemote(remotes, 'shared');
    await remote.commit('a.txt');
    const cache = new RepoCache({ root: croot });
    const a = await cache.ensure({ tenant: 'tenant-a', projectId: 'web', url: remote.bare });
    const b = await cache.ensure({ tenant: 'tenant-b', projectId: 'web', url: remote.bare });
    await cache.ensure({ tenant: 'tenant-b', projectId: 'api', url: remote.bare });
    expect(a.repoDir).not.toBe(b.repoDir);
    expect(a.repoDir).toBe(join(croot, 'tenant-a', 'web', 'repo'));

    const report = await cache.sizeReport();
    expect(report.map(({ tenant, projects }) => ({ tenant, projects }))).toEqual([
      { tenant: 'tenant-a', projects: 1 },
      { tenant: 'tenant-b', projects: 2 },
    ]);
    expect(report[0]!.bytes).toBeGreaterThan(1000);
    expect(report[1]!.bytes).toBeGreaterThan(report[0]!.bytes);

    const old = new Date(Date.now() - 10 * 24 * 3600_000);
    await utimes(join(croot, 'tenant-b', 'web', '.last-used'), old, old);
    expect(await cache.cleanupUnused(24 * 3600_000)).toEqual([{ tenant: 'tenant-b', projectId: 'web' }]);
    await expect(stat(join(croot, 'tenant-b', 'web'))).rejects.toThrow();
    expect((await stat(join(croot, 'tenant-a', 'web', 'repo'))).isDirectory()).toBe(true);
    expect((await stat(join(croot, 'tenant-a', 'web', 'git'))).isDirectory()).toBe(true);
    expect((await cache.sizeReport()).map((r) => r.projects)).toEqual([1, 1]);
  });

  describe('over HTTP with credentials', () => {
    let server: TestServer;
    let remoteUrl: string;
    let sha: string;

    beforeAll(async () => {
      const served = join(tmp.path, 'served');
      await mkdir(served);
      const remote = await createRemote(served, 'web');
      sha = await remote.commit('a.txt');
      server = await startGitHttpServer({ projectRoot: served, token: TOKEN });
      remoteUrl = `${server.url}/web.git`;
    });
    afterAll(async () => server.close());

    it('clones and fetches with the right token, leaving no trace of it on disk or in logs', async () => {
      const { log, text } = capturedLog();
      const cache = new RepoCache({ root, log });
      const cloned = await cache.ensure({ tenant: 'acme', projectId: 'http', url: remoteUrl, credentials: { token: TOKEN } });
      expect(cloned).toMatchObject({ action: 'cloned', headSha: sha });
      expect(await cache.ensure({ tenant: 'acme', projectId: 'http', url: remoteUrl, credentials: { token: TOKEN } })).toMatchObject({ action: 'fetched', headSha: sha });

      const basic = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
      expect(server.authorizations).toContain(`Basic ${basic}`);
      expect(await readFile(join(gitDirOf(cloned.repoDir), 'config'), 'utf8')).toContain(remoteUrl);
      for (const file of await filesUnder(join(root, 'acme', 'http'))) {
        const content = await readFile(file);
        expect(content.includes(TOKEN), file).toBe(false);
        expect(content.includes(basic), file).toBe(false);
      }
      expect(text()).toContain('repository ready');
      expect(text()).not.toContain(TOKEN);
      expect(text()).not.toContain(basic);
    });

    it('fails with auth on a wrong token without leaking it', async () => {
      const wrong = 'ghp_WrongToken_0123456789';
      const { log, text } = capturedLog();
      const cache = new RepoCache({ root, log, backoffMs: 10 });
      const error = await caught(cache.ensure({ tenant: 'acme', projectId: 'http-wrong', url: remoteUrl, credentials: { token: wrong } }));
      expect(error).toMatchObject({ code: 'clone_failed', failure: 'auth', remote: remoteUrl, attempts: 1 });
      expect(error.message).toContain(`clone of ${remoteUrl} failed (auth)`);
      const everything = [error.message, String(error.stack), JSON.stringify(error), JSON.stringify(Object.entries(error)), String(error.cause), text()].join('\n');
      for (const secret of [wrong, TOKEN, Buffer.from(`x-access-token:${wrong}`).toString('base64')]) expect(everything).not.toContain(secret);
      expect(await readdir(join(root, 'acme', 'http-wrong'))).toEqual(['.last-used']);
    });

    it('fails with auth when no credentials are given', async () => {
      const cache = new RepoCache({ root });
      const error = await caught(cache.ensure({ tenant: 'acme', projectId: 'http-none', url: remoteUrl }));
      expect(error.failure).toBe('auth');
    });

    it('reports a missing repository on the server as not_found', async () => {
      const cache = new RepoCache({ root, backoffMs: 10 });
      const url = `${server.url}/nope.git`;
      const error = await caught(cache.ensure({ tenant: 'acme', projectId: 'http-nope', url, credentials: { token: TOKEN } }));
      expect(error).toMatchObject({ failure: 'not_found', remote: url });
    });
  });

  it('retries network failures with backoff, then reports them with the attempt count', async () => {
    const { log, text } = capturedLog();
    const cache = new RepoCache({ root, retries: 2, backoffMs: 10, log });
    const started = Date.now();
    const error = await caught(cache.ensure({ tenant: 'acme', projectId: 'closed-port', url: 'http://127.0.0.1:1/x.git' }));
    expect(error).toMatchObject({ code: 'clone_failed', failure: 'network', attempts: 3 });
    expect(Date.now() - started).toBeLessThan(10_000);
    const retries = text()
      .split('\n')
      .filter((l) => l.includes('retrying'))
      .map((l) => JSON.parse(l) as { attempt: number; delayMs: number });
    expect(retries.map((r) => [r.attempt, r.delayMs])).toEqual([
      [1, 10],
      [2, 20],
    ]);
  });

  it('kills git and reports timeout when the remote never answers', async () => {
    const hanging = await startHangingServer();
    try {
      const cache = new RepoCache({ root, timeoutMs: 500, backoffMs: 10 });
      const started = Date.now();
      const error = await caught(cache.ensure({ tenant: 'acme', projectId: 'hang', url: `${hanging.url}/x.git` }));
      expect(error).toMatchObject({ code: 'clone_failed', failure: 'timeout', attempts: 1 });
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(hanging.requests).toBeGreaterThan(0);
    } finally {
      await hanging.close();
    }
  });

  it('honours an AbortSignal', async () => {
    const hanging = await startHangingServer();
    try {
      const cache = new RepoCache({ root });
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('stop')), 200);
      const started = Date.now();
      await expect(cache.ensure({ tenant: 'acme', projectId: 'abort', url: `${hanging.url}/x.git`, signal: controller.signal })).rejects.toThrow('stop');
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(await readdir(join(root, 'acme', 'abort'))).toEqual(['.last-used']);
    } finally {
      await hanging.close();
    }
  });
});
