// The host runner (DEVTEAM_SANDBOX=none): the Sandbox contract minus what needs isolation or
// limits, then what only this driver has: the workspace at its host path, a minimal environment,
// a private HOME per project, and the command's process group killed when it ends.
import { existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostSandbox, SANDBOX_PATH, createSandbox } from '../../src/infra/sandbox/index.js';
import { sandboxContract } from '../contract/sandbox.contract.js';
import { tempDir } from '../support/services.js';

const NO_ISOLATION = 'host runner: no isolation, by design';

sandboxContract(
  'none (host runner)',
  async (setup) => {
    const sandbox = new HostSandbox({ prefix: `devteam-test-${randomBytes(4).toString('hex')}`, ...setup });
    return {
      sandbox,
      tenant: `t${randomBytes(4).toString('hex')}`,
      cleanup: async () => {
        await sandbox.reapIdle(-1);
        await sandbox.close();
      },
    };
  },
  {
    limits: 'host runner: no cpu/memory limits, by design',
    isolation: NO_ISOLATION,
    leftovers: 'host runner: keeps nothing outside its memory, so a dead process leaves nothing to reap',
  },
);

describe('HostSandbox (DEVTEAM_SANDBOX=none)', () => {
  const sandbox = new HostSandbox({ prefix: `devteam-test-${randomBytes(4).toString('hex')}`, agentPaths: ['/opt/agents/bin'] });
  const tenant = `t${randomBytes(4).toString('hex')}`;
  let ws: { path: string; remove(): Promise<void> };

  beforeAll(async () => {
    ws = await tempDir('sandbox-host');
  });

  afterAll(async () => {
    await sandbox.remove(tenant, 'host');
    await sandbox.remove(tenant, 'other');
    await ws?.remove();
  });

  const project = async (projectId = 'host') => (await sandbox.ensure({ tenant, projectId, workspace: ws.path, limits: { cpus: 1, memoryMb: 512 } })).sandbox;

  it('is what createSandbox returns for "none"', () => {
    const made = createSandbox({ driver: 'none', image: 'unused', network: 'unused' });
    expect(made).toBeInstanceOf(HostSandbox);
    expect(made.driver).toBe('none');
  });

  it('shows the workspace at its real host path', async () => {
    const box = await project();
    expect(box.workspacePath).toBe(await realpath(ws.path));
  });

  it('gives commands only PATH (agent paths first), HOME, LANG and their own variables', async () => {
    const box = await project();
    const result = await box.exec(['node', '-e', 'console.log(JSON.stringify(process.env))'], { timeoutMs: 10_000, env: { ONLY: 'this' } });
    const env = JSON.parse(result.stdout) as Record<string, string>;
    expect(Object.keys(env).sort()).toEqual(['HOME', 'LANG', 'ONLY', 'PATH']);
    expect(env.PATH!.startsWith(`/opt/agents/bin:${SANDBOX_PATH}`)).toBe(true);
    // The runner's own node stays reachable (on macOS it is rarely under SANDBOX_PATH).
    expect(env.PATH!.split(':')).toContain(dirname(process.execPath));
    expect(env.LANG).toBe('C.UTF-8');
  });

  it('gives each project its own HOME, removed with the sandbox', async () => {
    const a = await project();
    const b = await project('other');
    const homeA = (await a.exec(['sh', '-c', 'echo "$HOME"'], { timeoutMs: 10_000 })).stdout.trim();
    const homeB = (await b.exec(['sh', '-c', 'echo "$HOME"'], { timeoutMs: 10_000 })).stdout.trim();
    expect(homeA).not.toBe(homeB);
    expect(existsSync(homeA)).toBe(true);
    expect(homeA.startsWith(ws.path)).toBe(false);
    await sandbox.remove(tenant, 'other');
    expect(existsSync(homeB)).toBe(false);
  });

  it('kills what a command left running in the background when it ends', async () => {
    const box = await project();
    const result = await box.exec(['sh', '-c', '(sleep 1; touch left-behind.txt) & echo started'], { timeoutMs: 10_000 });
    expect(result).toMatchObject({ exitCode: 0, outcome: 'completed' });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(existsSync(join(ws.path, 'left-behind.txt'))).toBe(false);
  });

  it('never reports oom: there is no memory limit', async () => {
    const box = await project();
    const result = await box.exec(['sh', '-c', 'kill -9 $$'], { timeoutMs: 10_000 });
    expect(result).toMatchObject({ outcome: 'completed', exitCode: null });
  });
});
