// The forge clients against the far end of each forge's REST API (a scripted server speaking its
// real pull-request endpoints and checks), with a real bare repository holding the branches: one
// pull request per branch however often the step runs, concurrent tries included; the token only
// ever in the auth header; a forge's refusals as typed errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createForge, ForgeError, FORGE_TYPES, type Forge } from '../../src/infra/forge/index.js';
import { startScriptedForge, type ScriptedForge } from '../support/forge-server.js';
import { createRemote, git, type TestRemote } from '../support/git-remote.js';
import { tempDir } from '../support/services.js';

const TOKEN = 'forge-token-8c2e41f9d0b7a6';

describe.each(FORGE_TYPES)('pull requests on %s', (type) => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let remote: TestRemote;
  let forge: ScriptedForge;
  let client: Forge;

  beforeAll(async () => {
    dir = await tempDir(`devteam-forge-${type}`);
    remote = await createRemote(dir.path, 'web');
    await git(remote.work, 'commit', '--allow-empty', '-m', 'base');
    await git(remote.work, 'push', '--quiet', 'origin', 'HEAD:main');
    for (const b of ['devteam/1.1', 'devteam/1.2']) await git(remote.work, 'push', '--quiet', 'origin', `HEAD:refs/heads/${b}`);
    const branches = async () => new Set((await git(remote.bare, 'for-each-ref', '--format=%(refname:short)', 'refs/heads')).split('\n').filter(Boolean));
    forge = await startScriptedForge({ type, repoPath: 'acme/web', token: TOKEN, branches });
    client = createForge(type, { apiUrl: forge.apiUrl, repoPath: 'acme/web', token: TOKEN });
  });

  afterAll(async () => {
    await forge?.close();
    await dir?.remove();
  });

  const request = (head: string) => ({ head, base: 'main', title: `Task ${head.slice(8)}: do it`, body: 'Acceptance criteria:\n- it works' });

  it('opens one for a pushed branch, and a retried step finds it instead of opening a second', async () => {
    const first = await client.ensurePullRequest(request('devteam/1.1'));
    expect(first).toMatchObject({ number: 1, created: true });
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/acme\/web\//);
    const again = await client.ensurePullRequest(request('devteam/1.1'));
    expect(again).toEqual({ ...first, created: false });
    expect(forge.opened).toHaveLength(1);
    expect(forge.opened[0]).toMatchObject({ head: 'devteam/1.1', base: 'main', title: 'Task 1.1: do it', body: 'Acceptance criteria:\n- it works' });
  });

  it('two tries at once still make one: the loser meets the duplicate refusal and finds the winner', async () => {
    const [a, b] = await Promise.all([client.ensurePullRequest(request('devteam/1.2')), client.ensurePullRequest(request('devteam/1.2'))]);
    expect(a.number).toBe(b.number);
    expect(forge.opened.filter((p) => p.head === 'devteam/1.2')).toHaveLength(1);
  });

  it('a branch that was never pushed is refused by the forge: forge_refused', async () => {
    const error = await client.ensurePullRequest(request('devteam/9.9')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForgeError);
    expect(error).toMatchObject({ code: 'forge_refused', details: { forge: type, status: 422 } });
  });

  it('a wrong token: forge_auth_failed, and no token in any URL or message', async () => {
    const wrong = createForge(type, { apiUrl: forge.apiUrl, repoPath: 'acme/web', token: 'not-the-token-0000' });
    const error = (await wrong.ensurePullRequest(request('devteam/1.1')).catch((e: unknown) => e)) as ForgeError;
    expect(error).toMatchObject({ code: 'forge_auth_failed', details: { status: 401 } });
    expect(error.message).not.toContain('not-the-token-0000');
    for (const r of forge.requests) expect(r.path).not.toContain(TOKEN);
    expect(forge.requests.every((r) => r.headers.length === 1)).toBe(true);
  });
});
