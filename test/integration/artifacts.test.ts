// Attempt artifacts on real Postgres and on embedded PGlite: store, caps, listing; the diff taken
// from a real git checkout without touching its index; and the read route over real HTTP.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import uWS from 'uWebSockets.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerArtifactsRoute } from '../../src/http/artifacts-route.js';
import { InFlight } from '../../src/http/exchange.js';
import { migrate, openDatabase, PostgresArtifactsStore, PostgresExecutionsStore, type ArtifactsStore, type Database, type ExecutionsStore } from '../../src/infra/db/index.js';
import { createLogger } from '../../src/infra/log.js';
import { diffOf, gitDirOf } from '../../src/infra/repo/index.js';
import { initCheckout } from '../support/git-remote.js';
import { createTestDatabase, tempDir } from '../support/services.js';

const ACME = 'acme-key-0123456789abcdef';
const BETA = 'beta-key-0123456789abcdef';

const backends: Array<{ name: string; open: () => Promise<{ db: Database; cleanup: () => Promise<void> }> }> = [
  {
    name: 'postgres',
    open: async () => {
      const t = await createTestDatabase('artifacts');
      const db = await openDatabase({ url: t.url, dataDir: '/nonexistent' });
      return { db, cleanup: async () => (await db.close(), await t.drop()) };
    },
  },
  {
    name: 'embedded',
    open: async () => {
      const dir = await tempDir('devteam-artifacts');
      const db = await openDatabase({ dataDir: dir.path });
      return { db, cleanup: async () => (await db.close(), await dir.remove()) };
    },
  },
];

async function newExecution(executions: ExecutionsStore, tenant: string, projectId: string): Promise<string> {
  const id = crypto.randomUUID();
  await executions.create({
    id,
    tenant,
    projectId,
    eventId: null,
    config: {},
    machine: { id: 'devteam-project', version: 1 },
    snapshot: {},
    projection: { status: 'running', phase: 'implement', currentTask: null, progress: { done: 0, total: 1 }, attempt: 1, lastError: null, results: {} },
  });
  return id;
}

for (const backend of backends) {
  describe(`artifacts on ${backend.name}`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    let artifacts: ArtifactsStore;
    let executions: ExecutionsStore;
    let executionId: string;
    let socket: uWS.us_listen_socket | null = null;
    let base: string;

    beforeAll(async () => {
      ({ db, cleanup } = await backend.open());
      await migrate(db.sql);
      executions = new PostgresExecutionsStore(db.sql, { 'devteam-project': [1] });
      artifacts = new PostgresArtifactsStore(db.sql, { maxBytes: 1024 });
      executionId = await newExecution(executions, 'acme', 'web');

      const app = uWS.App();
      registerArtifactsRoute(app, { artifacts, executions, log: createLogger({ level: 'silent' }), apiKeys: new Map([[ACME, 'acme'], [BETA, 'beta']]) }, new InFlight());
      socket = await new Promise<uWS.us_listen_socket>((resolve, reject) => app.listen('127.0.0.1', 0, (s) => (s ? resolve(s) : reject(new Error('cannot listen')))));
      base = `http://127.0.0.1:${uWS.us_socket_local_port(socket)}/api/devteam/automation/executions`;
    });

    afterAll(async () => {
      if (socket) uWS.us_listen_socket_close(socket);
      await cleanup?.();
    });

    it('puts, lists (optionally per task, optionally with content) and gets artifacts', async () => {
      const diff = await artifacts.put({ executionId, taskId: '1.1', attempt: 1, kind: 'diff', content: 'diff --git a/x b/x\n', meta: { files: ['x'] } });
      expect(diff).toMatchObject({ executionId, taskId: '1.1', attempt: 1, kind: 'diff', bytes: 19, bytesTotal: 19, truncated: false, meta: { files: ['x'] } });
      expect(diff.content).toBeUndefined();
      await artifacts.put({ executionId, taskId: '1.1', attempt: 1, kind: 'verify-output', content: 'ok\n', meta: { exitCode: 0, durationMs: 1234 } });
      await artifacts.put({ executionId, taskId: '1.2', attempt: 2, kind: 'prompt', content: '# Task 1.2\n' });

      const all = await artifacts.list(executionId);
      expect(all.map((a) => [a.taskId, a.attempt, a.kind])).toEqual([
        ['1.1', 1, 'diff'],
        ['1.1', 1, 'verify-output'],
        ['1.2', 2, 'prompt'],
      ]);
      expect(all.every((a) => a.content === undefined)).toBe(true);
      const one = await artifacts.list(executionId, { taskId: '1.1', withContent: true });
      expect(one.map((a) => a.content)).toEqual(['diff --git a/x b/x\n', 'ok\n']);
      expect(one[1]!.meta).toEqual({ exitCode: 0, durationMs: 1234 });
      expect(one[0]!.createdAt).toBeInstanceOf(Date);

      expect(await artifacts.get(diff.id)).toMatchObject({ id: diff.id, content: 'diff --git a/x b/x\n' });
      expect(await artifacts.get(crypto.randomUUID())).toBeNull();
      expect(await artifacts.get('not-a-uuid')).toBeNull();
      await expect(artifacts.put({ executionId, taskId: '1.1', attempt: 1, kind: 'nope' as never, content: '' })).rejects.toMatchObject({ code: 'invalid_artifact' });
    });

    it('caps content: the end of outputs, the start of diffs, with the original size', async () => {
      const lines = Array.from({ length: 200 }, (_, i) => `line ${i} ✓`).join('\n') + '\n';
      const total = Buffer.byteLength(lines);
      const output = await artifacts.put({ executionId, taskId: '2.1', attempt: 1, kind: 'agent-output', content: lines });
      const diff = await artifacts.put({ executionId, taskId: '2.1', attempt: 1, kind: 'diff', content: lines });
      const nul = await artifacts.put({ executionId, taskId: '2.1', attempt: 1, kind: 'verify-output', content: 'a\0b' });

      expect(output).toMatchObject({ truncated: true, bytesTotal: total });
      expect(output.bytes).toBeLessThanOrEqual(1024);
      const outText = (await artifacts.get(output.id))!.content!;
      expect(outText.endsWith('line 199 ✓\n')).toBe(true);
      expect(outText.startsWith('line ')).toBe(true);

      expect(diff).toMatchObject({ truncated: true, bytesTotal: total });
      const diffText = (await artifacts.get(diff.id))!.content!;
      expect(diffText.startsWith('line 0 ✓\n')).toBe(true);
      expect(diffText.endsWith('✓\n')).toBe(true);
      expect(Buffer.byteLength(diffText)).toBeLessThanOrEqual(1024);

      // Postgres text cannot hold NUL; it is replaced, not refused.
      expect((await artifacts.get(nul.id))!.content).toBe('a\uFFFDb');
    });

    it('serves the list over HTTP: content only on request, 404 for another tenant, 400 for a bad id', async () => {
      const get = (path: string, key = ACME) => fetch(`${base}/${path}`, { headers: { authorization: `Bearer ${key}` } });
      const ok = await get(`${executionId}/artifacts`);
      expect(ok.status).toBe(200);
      const body = (await ok.json()) as { executionId: string; projectId: string; artifacts: Array<Record<string, unknown>> };
      expect(body).toMatchObject({ executionId, projectId: 'web' });
      expect(body.artifacts.length).toBeGreaterThanOrEqual(3);
      expect(body.artifacts.every((a) => !('content' in a))).toBe(true);
      expect(body.artifacts[0]).toMatchObject({ taskId: '1.1', attempt: 1, kind: 'diff', truncated: false, bytesTotal: 19 });

      const withContent = (await (await get(`${executionId}/artifacts?taskId=1.1&content=1`)).json()) as typeof body;
      expect(withContent.artifacts.map((a) => [a.kind, a.content])).toEqual([
        ['diff', 'diff --git a/x b/x\n'],
        ['verify-output', 'ok\n'],
      ]);

      const other = await get(`${executionId}/artifacts`, BETA);
      expect(other.status).toBe(404);
      expect(((await other.json()) as { error: { code: string } }).error.code).toBe('not_found');
      expect((await get(`${crypto.randomUUID()}/artifacts`)).status).toBe(404);

      const bad = await get('not-a-uuid/artifacts');
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_id');
      expect((await get(`${executionId}/artifacts?taskId=abc`)).status).toBe(400);
      expect((await fetch(`${base}/${executionId}/artifacts`)).status).toBe(401);
    });
  });
}

describe('diffOf', () => {
  it('diffs the work tree against the base, untracked files included, without touching the index', async () => {
    const dir = await tempDir('devteam-diff-repo');
    try {
      const repo = await initCheckout(dir.path);
      const git = (args: string[]) => execa('git', ['--git-dir', gitDirOf(repo), '--work-tree', repo, ...args], { cwd: repo });
      await git(['config', 'user.email', 'test@example.com']);
      await git(['config', 'user.name', 'Test']);
      await writeFile(join(repo, 'a.txt'), 'one\n');
      await writeFile(join(repo, 'gone.txt'), 'bye\n');
      await writeFile(join(repo, '.gitignore'), 'ignored.log\n');
      await git(['add', '-A']);
      await git(['commit', '--quiet', '-m', 'base']);

      await writeFile(join(repo, 'a.txt'), 'one\ntwo\n');
      await git(['rm', '--quiet', 'gone.txt']);
      await mkdir(join(repo, 'src'));
      await writeFile(join(repo, 'src', 'new file.ts'), 'export const x = 1;\n');
      await writeFile(join(repo, 'ignored.log'), 'noise\n');
      const indexBefore = await readFile(join(gitDirOf(repo), 'index'));
      const statusBefore = (await git(['status', '--porcelain=v1'])).stdout;

      const result = await diffOf(repo, 'main');

      expect(result.base).toMatch(/^[0-9a-f]{40}$/);
      expect(result.files).toEqual([
        { path: 'a.txt', status: 'modified' },
        { path: 'gone.txt', status: 'deleted' },
        { path: 'src/new file.ts', status: 'added' },
      ]);
      expect(result.truncated).toBe(false);
      expect(result.diff).toContain('diff --git a/a.txt b/a.txt');
      expect(result.diff).toContain('+two');
      expect(result.diff).toContain('diff --git a/src/new file.ts b/src/new file.ts');
      expect(result.diff).toContain('+export const x = 1;');
      expect(result.diff).toContain('-bye');
      expect(result.diff).not.toContain('ignored.log');
      // The real index and status are exactly as before.
      expect(await readFile(join(gitDirOf(repo), 'index'))).toEqual(indexBefore);
      expect((await git(['status', '--porcelain=v1'])).stdout).toBe(statusBefore);

      await expect(diffOf(repo, '--output=/tmp/x')).rejects.toMatchObject({ code: 'diff_failed' });
      await expect(diffOf(repo, 'no-such-branch')).rejects.toMatchObject({ code: 'diff_failed' });
    } finally {
      await dir.remove();
    }
  });
});
