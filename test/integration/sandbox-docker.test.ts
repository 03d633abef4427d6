// The docker sandbox driver against the real local engine: the Sandbox contract, then what only
// this driver has (container labels and limits, engine/image failures, surviving an exec's OOM).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerSandbox, SandboxError, type SandboxSpec } from '../../src/infra/sandbox/index.js';
import { sandboxContract } from '../contract/sandbox.contract.js';
import { tempDir } from '../support/services.js';

const IMAGE = 'devteam-sandbox:test';
const BINDS = ['/usr:/usr:ro'];
const docker = new Dockerode();
const prefixes: string[] = [];

function newPrefix(): string {
  const prefix = `devteam-test-${randomBytes(4).toString('hex')}`;
  prefixes.push(prefix);
  return prefix;
}

async function removeAll(prefix: string): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`devteam.prefix=${prefix}`] } });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
}

function makeSandbox(prefix: string, image = IMAGE): DockerSandbox {
  return new DockerSandbox({ docker, image, prefix, network: 'host', binds: BINDS });
}

beforeAll(async () => {
  try {
    await docker.ping();
  } catch (error) {
    throw new Error(`Docker engine is not reachable (${String(error)}): run scripts/test-prerequisites.sh as root (npm test runs it first)`);
  }
  await promisify(execFile)(join(import.meta.dirname, '../../scripts/sandbox-image.sh'), [IMAGE]);
}, 120_000);

afterAll(async () => {
  await Promise.all(prefixes.map(removeAll));
  const left = await Promise.all(prefixes.map((p) => docker.listContainers({ all: true, filters: { label: [`devteam.prefix=${p}`] } })));
  expect(left.flat()).toEqual([]);
}, 60_000);

sandboxContract('docker', async (setup) => {
  const prefix = newPrefix();
  const make = () => new DockerSandbox({ docker, image: IMAGE, prefix, network: 'host', ...setup, binds: [...BINDS, ...(setup.binds ?? []).map((b) => `${b}:ro`)] });
  const sandbox = make();
  return {
    sandbox,
    sibling: make,
    tenant: `t${randomBytes(4).toString('hex')}`,
    cleanup: async () => {
      await sandbox.close();
      await removeAll(prefix);
    },
  };
});

describe('DockerSandbox', () => {
  const prefix = newPrefix();
  const sandbox = makeSandbox(prefix);
  const dirs: Array<{ remove(): Promise<void> }> = [];

  async function spec(projectId: string): Promise<SandboxSpec> {
    const dir = await tempDir('sandbox-docker');
    dirs.push(dir);
    return { tenant: 'acme', projectId, workspace: dir.path, limits: { cpus: 1, memoryMb: 1024 } };
  }

  afterAll(async () => {
    await sandbox.close();
    await removeAll(prefix);
    await Promise.all(dirs.map((d) => d.remove()));
  });

  it('labels the container and applies restart policy and limits', async () => {
    const s = await spec('labels');
    const { sandbox: project } = await sandbox.ensure(s);
    const info = await docker.getContainer(project.name).inspect();
    expect(info.Config.Labels).toMatchObject({
      'devteam.managed': 'true',
      'devteam.prefix': prefix,
      'devteam.tenant': 'acme',
      'devteam.project': 'labels',
    });
    expect(info.HostConfig).toMatchObject({
      RestartPolicy: { Name: 'always' },
      Memory: 1024 ** 3,
      MemorySwap: 1024 ** 3,
      NanoCpus: 1e9,
      NetworkMode: 'host',
      Binds: [`${s.workspace}:/workspace`, ...BINDS],
    });
  });

  it('recreates the container when the workspace or limits change', async () => {
    const s = await spec('changes');
    const first = await sandbox.ensure(s);
    const id = (await docker.getContainer(first.sandbox.name).inspect()).Id;
    const changed = await sandbox.ensure({ ...s, limits: { cpus: 0.5, memoryMb: 512 } });
    expect(changed.reused).toBe(false);
    const info = await docker.getContainer(changed.sandbox.name).inspect();
    expect(info.Id).not.toBe(id);
    expect(info.HostConfig).toMatchObject({ Memory: 512 * 1024 ** 2, NanoCpus: 5e8 });
  });

  it('does not leak the runner environment into commands', async () => {
    process.env.DEVTEAM_RUNNER_SECRET = 'runner-only';
    try {
      const { sandbox: project } = await sandbox.ensure(await spec('env'));
      const result = await project.exec(['sh', '-c', 'echo "[$DEVTEAM_RUNNER_SECRET]"'], { timeoutMs: 10_000 });
      expect(result.stdout).toBe('[]\n');
    } finally {
      delete process.env.DEVTEAM_RUNNER_SECRET;
    }
  });

  it('survives an OOM of an exec: the container keeps running and is reused', async () => {
    const s = { ...(await spec('oom')), limits: { cpus: 1, memoryMb: 256 } };
    const { sandbox: project } = await sandbox.ensure(s);
    const id = (await docker.getContainer(project.name).inspect()).Id;
    const hog = 'const a = []; for (let i = 0; i < 16; i++) a.push(Buffer.alloc(64 << 20, 1)); console.log("survived")';
    const result = await project.exec(['node', '-e', hog], { timeoutMs: 60_000 });
    expect(result.outcome).toBe('oom');
    const info = await docker.getContainer(project.name).inspect();
    expect(info.Id).toBe(id);
    expect(info.State.Running).toBe(true);
    expect((await sandbox.ensure(s)).reused).toBe(true);
    expect((await project.exec(['true'], { timeoutMs: 10_000 })).outcome).toBe('completed');
  }, 60_000);

  it('fails with sandbox_unavailable naming a missing image', async () => {
    const missing = makeSandbox(prefix, 'devteam-sandbox:does-not-exist');
    const error = await missing.ensure(await spec('no-image')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxError);
    expect(error).toMatchObject({ code: 'sandbox_unavailable' });
    expect((error as Error).message).toContain('devteam-sandbox:does-not-exist');
    expect((error as Error).message).toContain('scripts/sandbox-image.sh');
  });

  it('fails quickly with sandbox_unavailable when the engine does not answer', async () => {
    const unreachable = new DockerSandbox({ docker: new Dockerode({ socketPath: '/nonexistent.sock' }), image: IMAGE, prefix });
    const started = Date.now();
    const error = await unreachable.ensure(await spec('no-engine')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxError);
    expect(error).toMatchObject({ code: 'sandbox_unavailable' });
    expect(Date.now() - started).toBeLessThan(6_000);
  });
});
