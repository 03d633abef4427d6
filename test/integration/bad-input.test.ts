// Input the store, git or the OS would refuse later, sent as an attacking tenant would, over real
// HTTP against the real runtime (embedded PGlite): each is a 422 `validation_failed` whose details
// name the field, nothing is stored, and the service goes on answering.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/infra/log.js';
import { startRuntime, type Runtime } from '../../src/runtime.js';
import { capableWorkers } from '../support/capable-workers.js';
import { apiClient, nestedJson, type ApiClient, type Reply } from '../support/api-client.js';
import { tempDir } from '../support/services.js';

const ACME = 'acme-key-0123456789abcdef';
const BETA = 'beta-key-0123456789abcdef';
const INIT = '/api/devteam/automation/initialize';

function expectRefused(reply: Reply, field: string): void {
  expect(reply.status, reply.text).toBe(422);
  expect(reply.body.error.code).toBe('validation_failed');
  const fields = (reply.body.error.details as Array<{ field: string }>).map((d) => d.field);
  expect(fields, reply.text).toContain(field);
  expect(reply.text).not.toMatch(/\n\s+at /);
}

describe('bad input at the edge', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let runtime: Runtime;
  let acme: ApiClient;
  let root: string;

  beforeAll(async () => {
    dir = await tempDir('devteam-bad-input');
    root = dir.path;
    runtime = await startRuntime(
      loadConfig({
        PORT: '0',
        DEVTEAM_DATA_DIR: join(root, 'data'),
        DEVTEAM_REPO_CACHE_DIR: join(root, 'cache'),
        DEVTEAM_API_KEYS: `acme:${ACME},beta:${BETA}`,
        // The root contains the data dir and the repo cache: those stay refused all the same.
        DEVTEAM_FILE_REMOTE_ROOTS: `${root},/nonexistent/other-root`,
      }),
      { api: true, worker: false },
      createLogger({ level: 'silent' }),
      // No worker of its own: one that can run every preset, with the keys the accepted bodies name.
      { workers: await capableWorkers(['DEVTEAM_SECRET_ACME__MODEL_KEY']) },
    );
    acme = apiClient(runtime.port!, ACME);
  });

  afterAll(async () => {
    await runtime?.stop();
    await dir?.remove();
  });

  const event = (payload: string) => `{"type":"X","projectId":"p","payload":${payload}}`;
  const project = (over: Record<string, unknown> = {}, repository: Record<string, unknown> = {}) => ({
    projectId: 'web',
    ...over,
    repository: { url: 'https://git.example.com/acme/web.git', ...repository },
  });

  describe('strings Postgres cannot hold', () => {
    it('refuses U+0000 in a payload value, naming the field', async () => {
      expectRefused(await acme.post('/events', event('{"note":"a\\u0000b"}')), 'payload.note');
    });

    it('refuses U+0000 in a payload key', async () => {
      const reply = await acme.post('/events', event('{"ok":{"k\\u0000ey":1}}'));
      expect(reply.status).toBe(422);
      expect(reply.body.error.details[0].field).toMatch(/^payload\.ok/);
    });

    it('refuses lone surrogates (high, low, reversed pair) in values, keys and arrays', async () => {
      expectRefused(await acme.post('/events', event('{"s":"\\ud800"}')), 'payload.s');
      expectRefused(await acme.post('/events', event('{"list":["fine","x\\udc00"]}')), 'payload.list.1');
      expectRefused(await acme.post('/events', event('{"r":"\\udc00\\ud800"}')), 'payload.r');
      expect((await acme.post('/events', event('{"\\ud800":1}'))).status).toBe(422);
    });

    it('refuses a number that parses as Infinity and a "__proto__" key instead of storing something else', async () => {
      expectRefused(await acme.post('/events', event('{"note":1e999}')), 'payload.note');
      expectRefused(await acme.post('/events', event('{"list":[1,-1e999]}')), 'payload.list.1');
      const proto = await acme.post('/events', event('{"__proto__":{"x":1}}'));
      expect(proto.status).toBe(422);
      expect(proto.body.error.details[0].message).toMatch(/__proto__/);
      // The largest double still goes through unchanged.
      const max = await acme.post('/events', event('{"n":1.7976931348623157e308}'));
      expect(max.status).toBe(202);
      expect((await acme.get(`/events/${max.body.eventId}`)).body.payload).toEqual({ n: Number.MAX_VALUE });
    });

    it('accepts a proper surrogate pair (an emoji)', async () => {
      const reply = await acme.post('/events', event('{"smile":"\\ud83d\\ude00"}'));
      expect(reply.status).toBe(202);
      expect((await acme.get(`/events/${reply.body.eventId}`)).body.payload).toEqual({ smile: '😀' });
    });

    it('refuses them in the initialize body too', async () => {
      expectRefused(await acme.post(INIT, project({ agent: { args: ['--x\u0000'] } })), 'agent.args.0');
      expectRefused(await acme.post(INIT, JSON.stringify(project()).replace('"web"', '"w\\ud800"')), 'projectId');
    });
  });

  describe('nesting depth', () => {
    it('refuses a 5,000-level payload quickly, without parsing it', async () => {
      const started = performance.now();
      const reply = await acme.post('/events', event(nestedJson(5_000)));
      expectRefused(reply, 'payload');
      expect(reply.body.error.message).toMatch(/32/);
      expect(performance.now() - started).toBeLessThan(1_000);
      expectRefused(await acme.post(INIT, `{"projectId":"p","repository":${nestedJson(5_000)}}`), 'repository');
      expect((await acme.post('/events', `[${'['.repeat(5_000)}${']'.repeat(5_000)}]`)).status).toBe(422);
    });

    it('accepts 32 levels, refuses 33, and does not count brackets inside strings', async () => {
      expect((await acme.post('/events', event(nestedJson(31)))).status).toBe(202);
      expectRefused(await acme.post('/events', event(nestedJson(32))), 'payload');
      expect((await acme.post('/events', event(`{"text":"${'{['.repeat(3_000)}\\"]}"}`))).status).toBe(202);
    });
  });

  describe('repository.url', () => {
    const refused = [
      'http://git.example.com/acme/web.git',
      'ftp://git.example.com/acme/web.git',
      'ext::sh -c touch% /tmp/pwned',
      'ext::sh',
      'fd::17',
      'https://git.example.com/acme/web.git --upload-pack=touch',
      'https://git.example.com/acme/web.git\n',
      'https://git.example.com/ac me.git',
      'https://git.example.com/acme/\u0007.git',
      'ssh://-oProxyCommand=touch%20pwned/acme/web.git',
      'ssh://git@-oProxyCommand=x/acme/web.git',
      '-oProxyCommand=touch:acme/web.git',
      'git@git.example.com:-u/web.git',
      'git@git.example.com:acme/--upload-pack=x',
      'https://git.example.com/acme/-web.git',
      'https://-git.example.com/acme/web.git',
      'https://token@git.example.com/acme/web.git',
      'https://user:pass@git.example.com/acme/web.git',
      'ssh://git:pass@git.example.com/acme/web.git',
      'file://../../etc',
      '../../etc',
      './relative',
      '',
    ];
    for (const url of refused) {
      it(`refuses ${JSON.stringify(url)}`, async () => {
        expectRefused(await acme.post(INIT, project({}, { url })), 'repository.url');
      });
    }

    const accepted = [
      'https://git.example.com/acme/web.git',
      'https://git.example.com:8443/acme/web',
      'ssh://git@git.example.com:2222/acme/web.git',
      'git://git.example.com/acme/web.git',
      'git@github.com:acme/web.git',
    ];
    for (const [i, url] of accepted.entries()) {
      it(`accepts ${url}`, async () => {
        const reply = await acme.post(INIT, project({ projectId: `ok-url-${i}` }, { url }));
        expect(reply.status, reply.text).toBe(202);
      });
    }
  });

  describe('file remotes (DEVTEAM_FILE_REMOTE_ROOTS)', () => {
    it('accepts a file:// URL or an absolute path strictly inside a root', async () => {
      expect((await acme.post(INIT, project({ projectId: 'file-1' }, { url: `file://${root}/remotes/web.git` }))).status).toBe(202);
      expect((await acme.post(INIT, project({ projectId: 'file-2' }, { url: `${root}/remotes/web.git` }))).status).toBe(202);
      expect((await acme.post(INIT, project({ projectId: 'file-3' }, { url: `file://${root}//remotes/./web.git/` }))).status).toBe(202);
    });

    const outside = () => [
      `file://${root}`,
      `file://${root}/`,
      `file://${root}/../escape.git`,
      `file://${root}/remotes/../../escape.git`,
      `${root}/remotes/../../escape.git`,
      `file://${root}/remotes/%2e%2e/%2e%2e/escape.git`,
      `file://${root}-sibling/web.git`,
      `file://${root}/data/pgdata`,
      `file://${root}/data`,
      `${root}/cache/acme/other/repo`,
      `file://${root}/remotes/-web.git`,
      'file:///etc/passwd',
      '/etc',
      `file://localhost${root}/remotes/web.git`,
    ];
    it('refuses anything that is not strictly inside a root, or is inside the data dir or the repository cache', async () => {
      for (const url of outside()) expectRefused(await acme.post(INIT, project({ projectId: 'file-bad' }, { url })), 'repository.url');
    });
  });

  describe('repository.branch', () => {
    const refused = ['x.lock', '.hidden', 'a/.b', 'a..b', '@', 'a@{b', 'a/', 'a.', 'a\u0001b', 'a~b', 'a^b', 'a:b', 'a?b', 'a*b', 'a[b', 'a\\b', 'a b', '-x', 'a//b', '/a', 'HEAD', ''];
    for (const branch of refused) {
      it(`refuses ${JSON.stringify(branch)}`, async () => {
        expectRefused(await acme.post(INIT, project({}, { branch })), 'repository.branch');
      });
    }
    it('accepts ordinary names', async () => {
      for (const [i, branch] of ['main', 'feature/x-1', 'release/2.0', 'a.lock.b', 'user@host'].entries()) {
        const reply = await acme.post(INIT, project({ projectId: `ok-branch-${i}` }, { branch }));
        expect(reply.status, `${branch}: ${reply.text}`).toBe(202);
      }
    });
  });

  describe('tasks.path', () => {
    for (const path of ['/etc/passwd', '../x.md', 'a/../../x.md', 'a/..', 'a\\b.md', 'a\u0000b.md', '-x.md', 'docs/-x.md', 'a\nb.md', '']) {
      it(`refuses ${JSON.stringify(path)}`, async () => {
        expectRefused(await acme.post(INIT, project({ tasks: { path } })), 'tasks.path');
      });
    }
    it('accepts a path inside the repository', async () => {
      expect((await acme.post(INIT, project({ projectId: 'ok-path', tasks: { path: 'ai_docs/tasks/task_list.md' } }))).status).toBe(202);
    });
  });

  describe('secret references', () => {
    it("refuses a tokenEnv or keyEnv outside the tenant's namespace, naming the field and the allowed prefix", async () => {
      for (const name of ['DEVTEAM_API_KEYS', 'DATABASE_URL', 'ANTHROPIC_API_KEY', 'ACME_GIT_TOKEN', 'DEVTEAM_SECRET_BETA__GIT_TOKEN', 'DEVTEAM_SECRET_ACME__', 'DEVTEAM_SECRET_ACME_GIT']) {
        const token = await acme.post(INIT, project({}, { credentials: { tokenEnv: name } }));
        expectRefused(token, 'repository.credentials.tokenEnv');
        expect(token.body.error.message).toContain('DEVTEAM_SECRET_ACME__');
        expectRefused(await acme.post(INIT, project({ agent: { preset: 'claude-code', keyEnv: name } })), 'agent.keyEnv');
      }
    });

    it('accepts names under DEVTEAM_SECRET_<TENANT>__', async () => {
      const reply = await acme.post(
        INIT,
        project({ projectId: 'ok-secrets', agent: { preset: 'claude-code', keyEnv: 'DEVTEAM_SECRET_ACME__MODEL_KEY' } }, { credentials: { tokenEnv: 'DEVTEAM_SECRET_ACME__GIT_TOKEN' } }),
      );
      expect(reply.status, reply.text).toBe(202);
      const beta = apiClient(runtime.port!, BETA);
      expect((await beta.post(INIT, project({ projectId: 'ok-secrets' }, { credentials: { tokenEnv: 'DEVTEAM_SECRET_BETA__GIT_TOKEN' } }))).status).toBe(202);
    });
  });

  it('still answers ordinary requests and is ready after all of it', async () => {
    expect((await acme.post('/events', event('{"n":1}'))).status).toBe(202);
    expect((await acme.get('/readyz')).status).toBe(200);
  });
});

describe('secret references in local single-user mode', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let runtime: Runtime;

  beforeAll(async () => {
    dir = await tempDir('devteam-local-secrets');
    runtime = await startRuntime(loadConfig({ PORT: '0', DEVTEAM_DATA_DIR: dir.path }), { api: true, worker: false }, createLogger({ level: 'silent' }), {
      workers: await capableWorkers(),
    });
  });

  afterAll(async () => {
    await runtime?.stop();
    await dir?.remove();
  });

  it('applies the rule to the tenant "local": DEVTEAM_SECRET_LOCAL__…', async () => {
    const local = apiClient(runtime.port!);
    const body = (tokenEnv: string) => ({ projectId: `l-${tokenEnv.length}`, repository: { url: 'https://git.example.com/x.git', credentials: { tokenEnv } } });
    const refused = await local.post(INIT, body('DEVTEAM_API_KEYS'));
    expectRefused(refused, 'repository.credentials.tokenEnv');
    expect(refused.body.error.message).toContain('DEVTEAM_SECRET_LOCAL__');
    expect((await local.post(INIT, body('DEVTEAM_SECRET_LOCAL__GIT_TOKEN'))).status).toBe(202);
  });

  it('refuses file remotes when no root is configured', async () => {
    expectRefused(await apiClient(runtime.port!).post(INIT, { projectId: 'f', repository: { url: `file://${dir.path}/x.git` } }), 'repository.url');
  });
});
