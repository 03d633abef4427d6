// What the runner serves for the dashboard: the built page and its hashed bundles (content types,
// cache headers, nothing outside the table of built files), and the REST listing it reads
// (GET …/projects with its status filter and cursor, GET …/projects/{id}/executions).
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WEB_DIR } from '../../src/http/static-route.js';
import { createAgentRemote } from '../support/agent-remote.js';
import { startEmbeddedRuntime, type EmbeddedRuntime } from '../support/embedded-runtime.js';
import { rawHttp } from '../support/raw-http.js';

describe('the dashboard routes', () => {
  let rt: EmbeddedRuntime;

  beforeAll(async () => {
    rt = await startEmbeddedRuntime('devteam-dashboard-routes', { DEVTEAM_SANDBOX: 'none' });
  }, 60_000);

  afterAll(async () => {
    await rt?.stop();
  }, 60_000);

  it('serves the page uncached and its hashed bundles immutable, each with its content type', async () => {
    const page = await fetch(rt.url('/'));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await page.text();
    const js = /src="(\/assets\/main-[\w-]+\.js)"/.exec(html)?.[1];
    const css = /href="(\/assets\/main-[\w-]+\.css)"/.exec(html)?.[1];
    expect(js && css, html).toBeTruthy();
    for (const [path, type] of [
      [js!, 'text/javascript; charset=utf-8'],
      [css!, 'text/css; charset=utf-8'],
    ] as const) {
      const res = await fetch(rt.url(path));
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe(type);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    }
    // Nothing is fetched from elsewhere: every script and stylesheet is one of ours.
    expect([...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((u) => !u!.startsWith('/assets/') && u !== 'data:,')).toEqual([]);
  });

  it('serves only the built files: traversal, encoded or not, and unknown names are 404', async () => {
    const built = await readdir(join(DEFAULT_WEB_DIR, 'assets'));
    expect(built.length).toBeGreaterThan(1);
    for (const target of [
      '/assets/../../package.json',
      '/assets/..%2f..%2fpackage.json',
      '/assets/%2e%2e/%2e%2e/package.json',
      '/assets/..%5c..%5cpackage.json',
      '/assets/',
      '/assets/main.js',
      '/index.html',
      '/../package.json',
      `/assets/${built[0]}/..`,
      '/assets/%00',
    ]) {
      const res = await rawHttp(rt.runtime.port!, { method: 'GET', target });
      expect(res.status, target).toBe(404);
      expect(res.body.toString()).not.toContain('"devDependencies"');
    }
  });

  it("lists the tenant's projects with their status, by status and a page at a time, and a project's runs", async () => {
    // One remote each: a task merged by one project would be skipped by the next on the same remote.
    const remotes = new Map<string, string>();
    for (const id of ['list-a', 'list-b', 'list-c']) remotes.set(id, (await createAgentRemote(rt.dir, id, [{ id: '1.1', title: 'write a file' }])).bare);
    const body = (projectId: string, script: string) => ({
      projectId,
      repository: { url: `file://${remotes.get(projectId)}`, branch: 'main' },
      agent: { preset: 'command', command: ['sh', '-c', script], timeoutSec: 60 },
      verify: { commands: [['git', '--version']], timeoutSec: 60 },
    });
    for (const [id, script] of [
      ['list-a', 'echo a > a.txt'],
      ['list-b', 'exit 3'],
      ['list-c', 'echo c > c.txt'],
    ] as const) {
      expect((await rt.initialize(body(id, script))).status).toBe(202);
      await rt.settled(id);
    }
    expect((await rt.initialize(body('list-b', 'echo b > b.txt'))).status).toBe(202);
    await rt.settled('list-b');

    const get = async (path: string) => {
      const res = await fetch(rt.url(`/api/devteam/automation${path}`));
      return { status: res.status, body: (await res.json()) as any };
    };
    const first = await get('/projects?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.projects.map((p: any) => [p.projectId, p.status])).toEqual([
      ['list-a', 'completed'],
      ['list-b', 'completed'],
    ]);
    expect(first.body.projects[0]).toMatchObject({ executionId: expect.any(String), progress: { done: 1, total: 1 }, results: { '1.1': { status: 'done' } } });
    const second = await get(`/projects?limit=2&cursor=${first.body.nextCursor}`);
    expect(second.body).toEqual({ projects: [expect.objectContaining({ projectId: 'list-c' })], nextCursor: null });
    // b failed once, but its latest run completed: the filter looks at the latest run.
    expect((await get('/projects?status=failed')).body.projects).toEqual([]);
    expect((await get('/projects?status=completed')).body.projects.map((p: any) => p.projectId)).toEqual(['list-a', 'list-b', 'list-c']);

    const runs = await get('/projects/list-b/executions');
    expect(runs.body.executions.map((e: any) => e.status)).toEqual(['completed', 'failed']);
    const older = await get(`/projects/list-b/executions?limit=1&cursor=${runs.body.executions[0].executionId}`);
    expect(older.body.executions.map((e: any) => e.status)).toEqual(['failed']);

    expect((await get('/projects?status=sleeping')).status).toBe(422);
    expect((await get('/projects?limit=0')).status).toBe(422);
    expect((await get('/projects?cursor=%25%25')).body).toMatchObject({ error: { code: 'validation_failed', details: [{ field: 'cursor' }] } });
    expect((await get('/projects/nope/executions')).status).toBe(404);
    expect((await get('/projects/bad%20id/executions')).status).toBe(400);
    expect((await get('/projects/list-b/executions?cursor=not-a-uuid')).status).toBe(422);
  }, 120_000);
});
