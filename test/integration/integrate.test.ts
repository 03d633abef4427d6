import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  commitWork,
  createWorkBranch,
  gitDirOf,
  MergeConflictError,
  mergeIntoBase,
  pushBase,
  RepoCache,
  RepoError,
} from '../../src/infra/repo/index.js';
import { startGitHttpServer } from '../support/git-http-server.js';
import { cloneCheckout, createRemote, git, gitWork, type TestRemote } from '../support/git-remote.js';
import { caughtRepoError as caught, filesUnder } from '../support/repo-errors.js';
import { tempDir } from '../support/services.js';

const TOKEN = 'ghp_IntegrateToken_8d3e1f0a4c';
const AUTHOR = { name: 'DevTeam Bot', email: 'bot@devteam.example' };
const BRANCH = 'devteam/task-1';



/** `git --git-dir <bare> ...` on the remote. */
const onRemote = (remote: TestRemote, ...args: string[]) => git(remote.bare, '--git-dir', remote.bare, ...args);

/** Another clone changing `file` on the remote's main (appending, or replacing its content). */
async function pushElsewhere(remote: TestRemote, file: string, content: string): Promise<string> {
  await git(remote.work, 'pull', '--quiet', '--ff-only', 'origin', 'main');
  await writeFile(join(remote.work, file), content);
  await git(remote.work, 'add', file);
  await git(remote.work, 'commit', '--quiet', '-m', `elsewhere ${file}`);
  await git(remote.work, 'push', '--quiet', 'origin', 'main');
  return git(remote.work, 'rev-parse', 'HEAD');
}

async function expectClean(repoDir: string): Promise<void> {
  expect(await gitWork(repoDir, 'status', '--porcelain')).toBe('');
  for (const marker of ['rebase-merge', 'rebase-apply', 'MERGE_HEAD']) expect(existsSync(join(gitDirOf(repoDir), marker))).toBe(false);
}

describe('integrate: commit, merge into base, push', () => {
  let tmp: { path: string; remove(): Promise<void> };
  let remotes: string;
  let n = 0;

  beforeAll(async () => {
    tmp = await tempDir('integrate');
    remotes = join(tmp.path, 'remotes');
    await mkdir(remotes, { recursive: true });
  });
  afterAll(async () => tmp.remove());

  /** A remote with main holding shared.txt, and a local clone on a fresh work branch. */
  async function setup(): Promise<{ remote: TestRemote; repoDir: string; url: string }> {
    const name = `r${++n}`;
    const remote = await createRemote(remotes, name);
    await writeFile(join(remote.work, 'shared.txt'), 'one\ntwo\nthree\n');
    await git(remote.work, 'add', 'shared.txt');
    await git(remote.work, 'commit', '--quiet', '-m', 'base');
    await git(remote.work, 'push', '--quiet', 'origin', 'main');
    const repoDir = await cloneCheckout(remote.bare, join(tmp.path, `${name}-local`));
    await createWorkBranch(repoDir, BRANCH, 'main');
    return { remote, repoDir, url: remote.bare };
  }

  const opts = (url: string, mode: 'ff' | 'merge') => ({ url, base: 'main', branch: BRANCH, mode, message: `Merge ${BRANCH}`, author: AUTHOR });

  it('commits, fast-forwards and pushes; a second run of all three is a no-op', async () => {
    const { remote, repoDir, url } = await setup();
    await writeFile(join(repoDir, 'work.txt'), 'the change\n');
    const commit = await commitWork(repoDir, { message: 'task 1: add work.txt', author: AUTHOR });
    expect(commit.created).toBe(true);
    const merged = await mergeIntoBase(repoDir, opts(url, 'ff'));
    expect(merged).toEqual({ sha: commit.sha, alreadyMerged: false });
    const pushed = await pushBase(repoDir, opts(url, 'ff'));
    expect(pushed).toEqual({ sha: commit.sha, pushed: true, retried: false });

    expect(await onRemote(remote, 'rev-parse', 'main')).toBe(commit.sha);
    expect(await onRemote(remote, 'log', '-1', '--format=%an <%ae>|%cn <%ce>|%s', 'main')).toBe(
      'DevTeam Bot <bot@devteam.example>|DevTeam Bot <bot@devteam.example>|task 1: add work.txt',
    );
    const count = await onRemote(remote, 'rev-list', '--count', 'main');

    expect(await commitWork(repoDir, { message: 'task 1: add work.txt', author: AUTHOR })).toEqual({ sha: commit.sha, created: false });
    expect(await mergeIntoBase(repoDir, opts(url, 'ff'))).toEqual({ sha: commit.sha, alreadyMerged: true });
    expect(await pushBase(repoDir, opts(url, 'ff'))).toEqual({ sha: commit.sha, pushed: false, retried: false });
    expect(await onRemote(remote, 'rev-list', '--count', 'main')).toBe(count);
    // No identity was written to config.
    expect(await readFile(join(gitDirOf(repoDir), 'config'), 'utf8')).not.toContain('bot@devteam.example');
  });

  it("mode 'merge' creates a merge commit with the message on the remote", async () => {
    const { remote, repoDir, url } = await setup();
    await writeFile(join(repoDir, 'work.txt'), 'the change\n');
    const commit = await commitWork(repoDir, { message: 'task 1', author: AUTHOR });
    const merged = await mergeIntoBase(repoDir, opts(url, 'merge'));
    expect(merged.alreadyMerged).toBe(false);
    expect(merged.sha).not.toBe(commit.sha);
    expect(await pushBase(repoDir, opts(url, 'merge'))).toEqual({ sha: merged.sha, pushed: true, retried: false });

    expect(await onRemote(remote, 'rev-parse', 'main')).toBe(merged.sha);
    expect(await onRemote(remote, 'log', '-1', '--format=%P|%an|%s', 'main')).toMatch(new RegExp(`^[0-9a-f]{40} ${commit.sha}\\|DevTeam Bot\\|Merge ${BRANCH}$`));
    // Idempotent after the push too.
    expect(await mergeIntoBase(repoDir, opts(url, 'merge'))).toEqual({ sha: merged.sha, alreadyMerged: true });
    expect(await pushBase(repoDir, opts(url, 'merge'))).toMatchObject({ pushed: false });
  });

  it('a crash between merge and push: merging again reports alreadyMerged and the push still goes out', async () => {
    const { remote, repoDir, url } = await setup();
    await writeFile(join(repoDir, 'work.txt'), 'the change\n');
    await commitWork(repoDir, { message: 'task 1', author: AUTHOR });
    const merged = await mergeIntoBase(repoDir, opts(url, 'merge'));
    expect(await mergeIntoBase(repoDir, opts(url, 'merge'))).toEqual({ sha: merged.sha, alreadyMerged: true });
    expect(await pushBase(repoDir, opts(url, 'merge'))).toEqual({ sha: merged.sha, pushed: true, retried: false });
    expect(await onRemote(remote, 'rev-list', '--count', 'main')).toBe('3'); // base, work, merge
  });

  for (const mode of ['ff', 'merge'] as const) {
    it(`remote moved (${mode}): pushBase re-integrates once and both commits land on main`, async () => {
      const { remote, repoDir, url } = await setup();
      await writeFile(join(repoDir, 'work.txt'), 'the change\n');
      await commitWork(repoDir, { message: 'task 1', author: AUTHOR });
      await mergeIntoBase(repoDir, opts(url, mode));
      const other = await pushElsewhere(remote, 'other.txt', 'elsewhere\n');

      const pushed = await pushBase(repoDir, opts(url, mode));
      expect(pushed).toMatchObject({ pushed: true, retried: true });
      expect(await onRemote(remote, 'rev-parse', 'main')).toBe(pushed.sha);
      expect(await onRemote(remote, 'merge-base', '--is-ancestor', other, 'main').then(() => true)).toBe(true);
      expect(await onRemote(remote, 'show', 'main:work.txt')).toBe('the change');
      expect(await onRemote(remote, 'show', 'main:other.txt')).toBe('elsewhere');
      if (mode === 'ff') {
        expect(await onRemote(remote, 'log', '-1', '--format=%P|%s', 'main')).toBe(`${other}|task 1`);
      } else {
        expect(await onRemote(remote, 'log', '-1', '--format=%s', 'main')).toBe(`Merge ${BRANCH}`);
      }
      await expectClean(repoDir);
    });

    it(`conflict (${mode}): the remote changed the same lines → merge_conflict, clean checkout, nothing pushed`, async () => {
      const { remote, repoDir, url } = await setup();
      await writeFile(join(repoDir, 'shared.txt'), 'one\nTWO (local)\nthree\n');
      await commitWork(repoDir, { message: 'task 1', author: AUTHOR });
      await mergeIntoBase(repoDir, opts(url, mode));
      const theirs = await pushElsewhere(remote, 'shared.txt', 'one\nTWO (remote)\nthree\n');

      const error = await caught(pushBase(repoDir, opts(url, mode)));
      expect(error).toBeInstanceOf(MergeConflictError);
      expect(error.code).toBe('merge_conflict');
      expect((error as MergeConflictError).paths).toEqual(['shared.txt']);
      expect(error.message).toContain(url);
      expect(error.message).toContain(BRANCH);
      expect(JSON.parse(JSON.stringify(error))).toMatchObject({ code: 'merge_conflict', paths: ['shared.txt'] });
      expect(await onRemote(remote, 'rev-parse', 'main')).toBe(theirs);
      await expectClean(repoDir);
    });
  }

  it('mergeIntoBase itself reports a conflict against a fetched base and leaves the checkout clean', async () => {
    const { remote, repoDir, url } = await setup();
    await writeFile(join(repoDir, 'shared.txt'), 'one\nTWO (local)\nthree\n');
    const commit = await commitWork(repoDir, { message: 'task 1', author: AUTHOR });
    await pushElsewhere(remote, 'shared.txt', 'one\nTWO (remote)\nthree\n');
    await gitWork(repoDir, 'fetch', '--quiet', 'origin');
    const error = await caught(mergeIntoBase(repoDir, opts(url, 'ff')));
    expect(error).toMatchObject({ code: 'merge_conflict', paths: ['shared.txt'] });
    await expectClean(repoDir);
    // The work branch is untouched by the aborted rebase.
    expect(await gitWork(repoDir, 'rev-parse', BRANCH)).toBe(commit.sha);
  });

  it('a push the remote refuses (hook) → push_rejected without a retry', async () => {
    const { remote, repoDir, url } = await setup();
    const hook = join(remote.bare, 'hooks', 'pre-receive');
    await writeFile(hook, '#!/bin/sh\necho "protected branch" >&2\nexit 1\n', { mode: 0o755 });
    await writeFile(join(repoDir, 'work.txt'), 'the change\n');
    await commitWork(repoDir, { message: 'task 1', author: AUTHOR });
    await mergeIntoBase(repoDir, opts(url, 'ff'));
    const error = await caught(pushBase(repoDir, opts(url, 'ff')));
    expect(error).toMatchObject({ code: 'push_rejected', remote: url });
    expect(error.attempts).toBeUndefined();
  });

  it('nothing to commit → created:false at HEAD', async () => {
    const { repoDir } = await setup();
    const headSha = await gitWork(repoDir, 'rev-parse', 'HEAD');
    expect(await commitWork(repoDir, { message: 'empty', author: AUTHOR })).toEqual({ sha: headSha, created: false });
    expect(await gitWork(repoDir, 'rev-list', '--count', 'HEAD')).toBe('1');
  });

  it('pushes over HTTP with a token; a wrong token fails as auth and no token leaks', async () => {
    const name = `http${++n}`;
    const remote = await createRemote(remotes, name);
    await remote.commit('a.txt');
    const server = await startGitHttpServer({ projectRoot: remotes, token: TOKEN, push: true });
    try {
      const url = `${server.url}/${name}.git`;
      const cache = new RepoCache({ root: join(tmp.path, 'cache') });
      const credentials = { token: TOKEN };
      const { repoDir } = await cache.ensure({ tenant: 'acme', projectId: name, url, credentials });
      await createWorkBranch(repoDir, BRANCH, 'main');
      await writeFile(join(repoDir, 'work.txt'), 'over http\n');
      const commit = await commitWork(repoDir, { message: 'task over http', author: AUTHOR });
      await mergeIntoBase(repoDir, opts(url, 'ff'));

      const wrong = await caught(pushBase(repoDir, { ...opts(url, 'ff'), credentials: { token: 'wrong-token-123456' } }));
      expect(wrong).toMatchObject({ code: 'push_failed', failure: 'auth' });
      expect(await onRemote(remote, 'rev-parse', 'main')).not.toBe(commit.sha);

      const noCreds = await caught(pushBase(repoDir, opts(url, 'ff')));
      expect(noCreds.failure).toBe('auth');

      expect(await pushBase(repoDir, { ...opts(url, 'ff'), credentials })).toEqual({ sha: commit.sha, pushed: true, retried: false });
      expect(await onRemote(remote, 'rev-parse', 'main')).toBe(commit.sha);
      expect(await pushBase(repoDir, { ...opts(url, 'ff'), credentials })).toMatchObject({ pushed: false });

      const basic = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
      for (const error of [wrong, noCreds]) {
        for (const text of [error.message, JSON.stringify(error), String(error.stack)]) {
          expect(text).not.toContain(TOKEN);
          expect(text).not.toContain('wrong-token-123456');
          expect(text).not.toContain(basic);
        }
      }
      for (const file of [...(await filesUnder(gitDirOf(repoDir))), ...(await filesUnder(repoDir))]) {
        const content = await readFile(file, 'latin1');
        expect(content, file).not.toContain(TOKEN);
        expect(content, file).not.toContain(basic);
      }
    } finally {
      await server.close();
    }
  });
});
