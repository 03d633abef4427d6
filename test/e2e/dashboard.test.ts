// The dashboard in real Chromium (Debian's `chromium`, driven by playwright-core) against the real
// service as a child process on the embedded default, with the scripted `command` agent on file://
// bare remotes. Screenshots of the key states go to test-results/dashboard/ on every run.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createAgentRemote, type FixtureTask } from '../support/agent-remote.js';
import { startService, type CliProcess } from '../support/cli-process.js';
import { eventually, tempDir } from '../support/services.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const CHROMIUM = process.env.DEVTEAM_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(import.meta.dirname, '../../test-results/dashboard');
const KEY = 'acme-dashboard-key-0123456789';

describe('the dashboard in Chromium', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let service: { proc: CliProcess; port: number | null };
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: scripts/test-prerequisites.sh installs Debian's chromium`);
    await mkdir(SHOTS, { recursive: true });
    dir = await tempDir('devteam-dashboard');
    service = await startService(['serve'], {
      DEVTEAM_DATA_DIR: join(dir.path, 'data'),
      DEVTEAM_FILE_REMOTE_ROOTS: dir.path,
      DEVTEAM_RECONCILE_MS: '200',
      // The scripted agent needs no isolation; the sandboxes have their own tests.
      DEVTEAM_SANDBOX: 'none',
      DEVTEAM_API_KEYS: `acme:${KEY}`,
    });
    base = `http://127.0.0.1:${service.port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await service?.proc.stop();
    await dir?.remove();
  }, 60_000);

  /** A page with the API key already given (the prompt itself is tested once, below). */
  async function openPage(url = base): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.addInitScript((key) => sessionStorage.setItem('devteam.apiKey', key), KEY);
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(url);
    return page;
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  async function remote(name: string, tasks: FixtureTask[]): Promise<string> {
    return `file://${(await createAgentRemote(dir.path, `${name}-${crypto.randomUUID().slice(0, 6)}`, tasks)).bare}`;
  }

  async function fill(page: Page, values: Record<string, string>) {
    await page.goto(`${base}/#/new`);
    for (const [name, value] of Object.entries(values)) {
      const input = page.locator(`[name="${name}"]`);
      if ((await input.evaluate((e) => e.tagName)) === 'SELECT') await input.selectOption(value);
      else await input.fill(value);
    }
    await page.click('button[type=submit]');
  }

  const agentForm = (projectId: string, url: string) => ({
    projectId,
    'repository.url': url,
    'agent.preset': 'command',
    'agent.command': 'node agent.js {promptFile}',
    'agent.timeoutSec': '60',
    'verify.commands': 'node check.js',
    'verify.timeoutSec': '60',
  });

  const api = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...init.headers } });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('asks for the API key, shows a wrong one plainly, and shows a validation error next to its field', async () => {
    const page = await browser.newPage();
    await page.goto(base);
    await page.fill('[name="api-key"]', 'wrong-key');
    await page.click('form.auth button[type=submit]');
    await expect.poll(() => page.locator('[data-testid=auth-error]').textContent()).toMatch(/401 unauthorized/);
    await shot(page, '1-wrong-key');
    await page.fill('[name="api-key"]', KEY);
    await page.click('form.auth button[type=submit]');
    await page.waitForSelector('[data-connection=live]');
    await expect.poll(() => page.locator('form.auth').count()).toBe(0);

    await fill(page, { ...agentForm('bad id!', 'ftp://nowhere/x.git') });
    const projectError = page.locator('[data-field="projectId"] .field-error');
    await expect.poll(() => projectError.textContent()).toMatch(/letters, digits/);
    await expect.poll(() => page.locator('[data-field="repository.url"] .field-error').count()).toBe(1);
    expect(await page.locator('[data-field="repository.branch"] .field-error').count()).toBe(0);
    await shot(page, '2-validation-error');
    await page.close();
  }, 60_000);

  it('initializes through the form, streams the agent and build lines while they run, ends completed with every commit, and opens the diff and verify output', async () => {
    const url = await remote('form', [
      { id: '1.1', title: 'slow 2' },
      { id: '1.2', title: 'write a file', dependencies: ['1.1'] },
    ]);
    const page = await openPage();
    await page.waitForSelector('[data-connection=live]');
    await fill(page, agentForm('formrun', url));
    await page.waitForURL(/#\/p\/formrun$/);
    // While the run is live the log pane fills with the agent's ticks, then the build's lines.
    await eventually(async () => ((await page.locator('[data-testid=log] .line.agent').count()) > 5 ? true : undefined), 60_000, 'agent lines in the log pane');
    expect(await page.locator('.summary [data-status]').getAttribute('data-status')).toBe('running');
    await shot(page, '3-running-with-log');
    await eventually(async () => ((await page.locator('[data-testid=log] .line.verify').count()) > 0 ? true : undefined), 60_000, 'build lines in the log pane');
    await eventually(async () => ((await page.locator('.summary [data-status]').getAttribute('data-status')) === 'completed' ? true : undefined), 90_000, 'completed');
    const status = (await api('/api/devteam/automation/status/formrun')).body;
    const commits = Object.values(status.results as Record<string, { commit: string }>).map((r) => r.commit.slice(0, 8));
    await expect.poll(() => page.locator('table.tasks code.commit').allTextContents()).toEqual(expect.arrayContaining(commits));
    expect(commits).toHaveLength(2);
    await page.goto(base);
    await expect.poll(() => page.locator('tr[data-project=formrun]').getAttribute('data-status')).toBe('completed');
    await shot(page, '4-projects-completed');

    await page.goto(`${base}/#/p/formrun`);
    await page.click('tr[data-task="1.2"] button.link');
    await page.waitForSelector('.artifacts .d2h-wrapper');
    expect(await page.locator('.artifacts .d2h-file-name').first().textContent()).toContain('work/1.2.txt');
    await shot(page, '5-diff');
    await page.click('.artifacts [data-tab=verify-output]');
    await expect.poll(() => page.locator('.verify tr[data-exit-code]').first().getAttribute('data-exit-code')).toBe('0');
    expect(await page.locator('.verify pre.output').textContent()).toContain('check passed');
    await shot(page, '6-verify-output');
    await page.close();
  }, 180_000);

  it('pauses from the page (the agent really stops), resumes to the end, and stops a second project', async () => {
    const body = (id: string, url: string) => ({
      projectId: id,
      repository: { url, branch: 'main' },
      agent: { preset: 'command', command: ['node', 'agent.js', '{promptFile}'], timeoutSec: 120 },
      verify: { commands: [['node', 'check.js']], timeoutSec: 60 },
    });
    expect((await api('/api/devteam/automation/initialize', { method: 'POST', body: JSON.stringify(body('pausing', await remote('pausing', [{ id: '1.1', title: 'slow 6' }]))) })).status).toBe(202);
    const page = await openPage(`${base}/#/p/pausing`);
    await eventually(async () => ((await page.locator('[data-testid=log] .line.agent').count()) > 3 ? true : undefined), 60_000, 'the agent ticking');
    await page.click('button[data-command=pause]');
    await expect.poll(() => page.locator('.summary [data-status]').getAttribute('data-status'), { timeout: 30_000 }).toBe('paused');
    expect(await page.locator('button[data-command=pause]').isDisabled()).toBe(true);
    expect(await page.locator('button[data-command=resume]').isEnabled()).toBe(true);
    // The worker stopped the agent (ticking every 50 ms): once the batch in flight at the pause has
    // arrived, no new line for 2 s. Asserting an absence takes a window of time.
    const lines = page.locator('[data-testid=log] .line');
    let settled = await lines.count();
    for (let i = 0; i < 20; i++) {
      await page.waitForTimeout(500);
      const n = await lines.count();
      if (n === settled) break;
      settled = n;
    }
    await page.waitForTimeout(2000);
    expect(await lines.count(), (await lines.last().textContent()) ?? '').toBe(settled);
    await shot(page, '7-paused');
    await page.click('button[data-command=resume]');
    await expect.poll(() => page.locator('.summary [data-status]').getAttribute('data-status'), { timeout: 90_000 }).toBe('completed');
    expect(await page.locator('button[data-command=stop]').isDisabled()).toBe(true);

    expect((await api('/api/devteam/automation/initialize', { method: 'POST', body: JSON.stringify(body('stopping', await remote('stopping', [{ id: '1.1', title: 'slow 20' }]))) })).status).toBe(202);
    await page.goto(`${base}/#/p/stopping`);
    await expect.poll(() => page.locator('button[data-command=stop]').isEnabled(), { timeout: 30_000 }).toBe(true);
    await page.click('button[data-command=stop]');
    await expect.poll(() => page.locator('.summary [data-status]').getAttribute('data-status'), { timeout: 60_000 }).toBe('stopped');
    await shot(page, '8-stopped');
    await page.close();
  }, 240_000);

  it('says reconnecting when its connection is cut mid-run, then resumes with exactly the frames a never-disconnected client saw', async () => {
    const proxy: TcpProxy = await startTcpProxy(service.port!);
    const reference: Array<{ seq: number; type: string }> = [];
    const ws = new WebSocket(`ws://127.0.0.1:${service.port}/ws/devteam?projectId=cut`, { headers: { authorization: `Bearer ${KEY}` } });
    ws.on('message', (data) => {
      const f = JSON.parse(String(data));
      if (f.projectId === 'cut' && f.type !== 'hello') reference.push({ seq: f.seq, type: f.type });
    });
    await new Promise((resolve) => ws.once('open', resolve));
    try {
      const page = await openPage(`http://127.0.0.1:${proxy.port}/#/p/cut`);
      await page.waitForSelector('[data-connection=live]');
      await eventually(async () => (reference.length > 0 ? true : undefined), 10_000, 'the reference resync');
      const url = await remote('cut', [{ id: '1.1', title: 'slow 4' }]);
      const started = await api('/api/devteam/automation/initialize', {
        method: 'POST',
        body: JSON.stringify({ projectId: 'cut', repository: { url, branch: 'main' }, agent: { preset: 'command', command: ['node', 'agent.js', '{promptFile}'], timeoutSec: 60 }, verify: { commands: [['node', 'check.js']], timeoutSec: 60 } }),
      });
      expect(started.status).toBe(202);
      await eventually(async () => ((await page.locator('[data-testid=log] .line.agent').count()) > 3 ? true : undefined), 60_000, 'the agent ticking');
      proxy.cut();
      await expect.poll(() => page.locator('[data-connection]').getAttribute('data-connection')).toBe('reconnecting');
      expect(await page.locator('[data-connection]').textContent()).toMatch(/reconnecting/);
      await shot(page, '9-reconnecting');
      // Frames go on meanwhile; the page gets them on its resume.
      const seenAtCut = reference.length;
      await eventually(async () => (reference.length > seenAtCut + 3 ? true : undefined), 30_000, 'frames while the page is cut off');
      proxy.restore();
      await expect.poll(() => page.locator('[data-connection]').getAttribute('data-connection'), { timeout: 30_000 }).toBe('live');
      await expect.poll(() => page.locator('.summary [data-status]').getAttribute('data-status'), { timeout: 90_000 }).toBe('completed');
      await eventually(async () => (reference.some((f) => f.type === 'execution-update') && reference.at(-1) ? true : undefined), 10_000, 'the reference end');
      const seen = (await page.evaluate(() =>
        (globalThis as any).devteamDashboard.live.seen.filter((f: { projectId: string }) => f.projectId === 'cut').map((f: { seq: number; type: string }) => ({ seq: f.seq, type: f.type })),
      )) as Array<{ seq: number; type: string }>;
      const seqs = seen.map((f) => f.seq);
      expect(new Set(seqs).size, 'no duplicate').toBe(seqs.length);
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
      // Both start with the resync of a project not initialized yet; then the same frames, none missing.
      await eventually(async () => (reference.length >= seen.length ? true : undefined), 10_000, 'the reference to catch up');
      expect(seen).toEqual(reference.slice(0, seen.length));
      expect(seen.length).toBe(reference.length);
      await shot(page, '10-resumed-completed');
      await page.close();
    } finally {
      ws.close();
      await proxy.close();
    }
  }, 180_000);
});
