// Refusing early what cannot run, with real service processes: a worker whose sandbox driver cannot
// start makes initialize answer 503 sandbox_unavailable naming what to install (and serve says so
// at start-up); a preset whose CLI is not in the sandbox, or whose key variable is unset, is 422
// agent_unavailable; distributed, the API judges by what the live workers announced — none able
// to run it: 503 no_capable_worker naming each one's gaps.
import { execFile } from 'node:child_process';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type ApiClient } from '../support/api-client.js';
import { startService, type CliProcess } from '../support/cli-process.js';
import { createTestDatabase, dropRedisPrefix, eventually, REDIS_URL, tempDir, uniquePrefix, type TestDatabase } from '../support/services.js';

const INIT = '/api/devteam/automation/initialize';

const body = (projectId: string, agent: Record<string, unknown>) => ({
  projectId,
  repository: { url: 'https://git.example.com/acme/web.git' },
  agent,
  verify: { commands: [['true']] },
});
const commandAgent = { preset: 'command', command: ['true'] };

/**
 * A machine without bubblewrap: the service runs in its own mount namespace whose /usr/bin is a
 * copy (hard links) of this one's without `bwrap` — absent, as on a fresh machine, wherever looked up.
 */
async function withoutBwrap(dir: string): Promise<string[]> {
  const copy = join(dir, 'usr-bin-without-bwrap');
  await promisify(execFile)('cp', ['-al', '/usr/bin', copy]).catch(() => promisify(execFile)('cp', ['-a', '/usr/bin', copy]));
  await rm(join(copy, 'bwrap'));
  return ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$0" /usr/bin && exec "$@"', copy];
}

/** A fake `claude` under the OS temp dir, as `npm install -g --prefix` lays one out. */
async function fakeClaude(dir: string): Promise<string> {
  const bin = join(dir, 'prefix', 'bin');
  await mkdir(bin, { recursive: true });
  await writeFile(join(bin, 'claude'), '#!/bin/sh\necho "fake claude $*"\n');
  await chmod(join(bin, 'claude'), 0o755);
  return bin;
}

describe('initialize refuses what no worker can run', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const procs: CliProcess[] = [];
  let noBwrap: { proc: CliProcess; api: ApiClient };
  let withClaude: { proc: CliProcess; api: ApiClient };

  async function serve(name: string, env: Record<string, string>, wrapper: string[] = []): Promise<{ proc: CliProcess; api: ApiClient }> {
    const { proc, port } = await startService(['serve'], { DEVTEAM_DATA_DIR: join(dir.path, name), ...env }, wrapper);
    procs.push(proc);
    return { proc, api: apiClient(port!) };
  }

  beforeAll(async () => {
    dir = await tempDir('devteam-admission');
    const claudeBin = await fakeClaude(dir.path);
    [noBwrap, withClaude] = await Promise.all([
      serve('no-bwrap', {}, await withoutBwrap(dir.path)),
      serve('with-claude', { PATH: `${claudeBin}:${process.env.PATH}`, DEVTEAM_SECRET_LOCAL__MODEL_KEY: 'sk-test-model-key-0123456789' }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await dir?.remove();
  }, 30_000);

  it('a local sandbox without bubblewrap: serve says so at start-up, initialize is 503 sandbox_unavailable naming the package', async () => {
    const said = noBwrap.proc.lines.find((l) => l.level === 'error' && String(l.msg).startsWith('projects cannot run here'));
    expect(said?.msg).toContain('apt-get install bubblewrap');
    const reply = await noBwrap.api.post(INIT, body('demo', commandAgent));
    expect(reply.status).toBe(503);
    expect(reply.body.error.code).toBe('sandbox_unavailable');
    expect(reply.body.error.message).toContain('apt-get install bubblewrap');
    expect(reply.body.error.details).toMatchObject({ driver: 'local', remedy: expect.stringContaining('DEVTEAM_SANDBOX=docker') });
    // Nothing was stored: the project is unknown.
    expect((await noBwrap.api.get('/api/devteam/automation/status/demo')).status).toBe(404);
  });

  it('a preset whose CLI is not in the sandbox is 422 agent_unavailable naming the CLI', async () => {
    const reply = await withClaude.api.post(INIT, body('codex-project', { preset: 'codex' }));
    expect(reply.status).toBe(422);
    expect(reply.body.error).toMatchObject({ code: 'agent_unavailable', details: { preset: 'codex', field: 'agent.preset' } });
    expect(reply.body.error.message).toContain('"codex" is not found inside the local sandbox');
    expect(reply.body.error.message).toContain('OPENAI_API_KEY');
  });

  it('a CLI found on the service PATH but no key variable: 422 naming the variable; the project\'s own key: 202', async () => {
    const started = withClaude.proc.lines.find((l) => String(l.msg).startsWith('agent CLIs inside the sandbox'));
    expect(started?.msg).toContain(`claude (${join(dir.path, 'prefix', 'bin', 'claude')})`);
    const noKey = await withClaude.api.post(INIT, body('claude-project', { preset: 'claude-code' }));
    expect(noKey.status).toBe(422);
    expect(noKey.body.error.code).toBe('agent_unavailable');
    expect(noKey.body.error.message).toContain('needs ANTHROPIC_API_KEY');
    expect(noKey.body.error.message).not.toContain('not found');
    const ownKey = await withClaude.api.post(INIT, body('claude-project', { preset: 'claude-code', keyEnv: 'DEVTEAM_SECRET_LOCAL__MODEL_KEY' }));
    expect(ownKey.status).toBe(202);
  });

  it('the command preset needs no CLI or key', async () => {
    expect((await withClaude.api.post(INIT, body('command-project', commandAgent))).status).toBe(202);
  });
});

describe('distributed: the API judges by the live workers', () => {
  let db: TestDatabase;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const prefix = uniquePrefix('admission');
  const procs: CliProcess[] = [];
  let api: ApiClient;

  const env = (name: string, extra: Record<string, string> = {}) => ({
    DATABASE_URL: db.url,
    REDIS_URL,
    DEVTEAM_REDIS_PREFIX: prefix,
    DEVTEAM_DATA_DIR: join(dir.path, name),
    ...extra,
  });

  async function start(role: 'api' | 'worker', name: string, extra: Record<string, string> = {}): Promise<CliProcess> {
    const { proc, port } = await startService([role], env(name, extra));
    procs.push(proc);
    if (role === 'api') api = apiClient(port!);
    return proc;
  }

  beforeAll(async () => {
    db = await createTestDatabase('admission');
    dir = await tempDir('devteam-admission-d');
    await start('api', 'api');
  }, 60_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL')));
    await db?.drop();
    await dir?.remove();
    await dropRedisPrefix(prefix);
  }, 30_000);

  it('no worker running: 503 no_capable_worker; a worker without the CLI: 503 naming its gaps; one with it: 202; it leaves: 503 again', async () => {
    const claude = body('remote-project', { preset: 'claude-code' });
    const none = await api.post(INIT, claude);
    expect(none.status).toBe(503);
    expect(none.body.error).toMatchObject({ code: 'no_capable_worker', details: { workers: [] } });
    expect(none.body.error.message).toContain('no worker is running');

    await start('worker', 'bare', { ANTHROPIC_API_KEY: 'sk-test-model-key-0123456789' });
    const bare = await eventually(async () => {
      const r = await api.post(INIT, claude);
      return r.body?.error?.details?.workers?.length === 1 ? r : undefined;
    }, 15_000, 'the bare worker to announce itself');
    expect(bare.status).toBe(503);
    expect(bare.body.error.code).toBe('no_capable_worker');
    expect(bare.body.error.details.workers[0].missing).toEqual([expect.objectContaining({ kind: 'agent_cli', message: expect.stringContaining('"claude" is not found') })]);
    // The key's value never leaves the worker: only its name is announced.
    expect(bare.text).not.toContain('sk-test-model-key');

    const able = await start('worker', 'able', { PATH: `${await fakeClaude(dir.path)}:${process.env.PATH}`, ANTHROPIC_API_KEY: 'sk-test-model-key-0123456789' });
    const accepted = await eventually(async () => {
      const r = await api.post(INIT, claude);
      return r.status === 202 ? r : undefined;
    }, 15_000, 'the able worker to be admitted');
    expect(accepted.body.projectId).toBe('remote-project');

    // A worker that shuts down withdraws at once: the other project is refused again.
    await able.stop('SIGTERM');
    const after = await api.post(INIT, body('second-project', { preset: 'claude-code' }));
    expect(after.status).toBe(503);
    expect(after.body.error.details.workers).toHaveLength(1);
  }, 90_000);
});
