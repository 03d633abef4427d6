// An agent CLI installed where a user installs one — an npm prefix under /tmp, found on the
// service's PATH, with no DEVTEAM_AGENT_PATH — runs inside every sandbox driver, as the service
// itself would find it. Only the folder holding an agent CLI is shown: a PATH folder without one
// stays invisible, and a PATH folder inside the data directory is never shown.
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandbox, locateAgents, probeSandbox, type Sandbox, type SandboxDriverName } from '../../src/infra/sandbox/index.js';
import { tempDir } from '../support/services.js';

interface Install {
  /** <prefix>/bin, as `npm install -g --prefix <prefix>` lays it out: bin/claude -> ../lib/node_modules/…/cli.cjs */
  bin: string;
  /** A PATH folder with a tool that is no agent CLI. */
  otherBin: string;
  /** The data directory, with a PATH folder inside it holding a CLI. */
  data: string;
  remove(): Promise<void>;
}

/** A fake `claude` under the OS temp dir (which every sandbox replaces with its own). */
async function npmPrefixInstall(): Promise<Install> {
  const dir = await tempDir('agent-on-path');
  const pkg = join(dir.path, 'prefix', 'lib', 'node_modules', 'fake-claude');
  await mkdir(join(pkg, 'node_modules', 'fake-dep'), { recursive: true });
  await writeFile(join(pkg, 'package.json'), '{"name":"fake-claude","version":"1.0.0","bin":{"claude":"cli.cjs"}}\n');
  await writeFile(join(pkg, 'cli.cjs'), '#!/usr/bin/env node\nconsole.log("fake claude ran with " + require("fake-dep") + " args " + process.argv.slice(2).join(" "));\n');
  await chmod(join(pkg, 'cli.cjs'), 0o755);
  await writeFile(join(pkg, 'node_modules', 'fake-dep', 'index.js'), 'module.exports = "its dependency";\n');
  const bin = join(dir.path, 'prefix', 'bin');
  await mkdir(bin, { recursive: true });
  await symlink('../lib/node_modules/fake-claude/cli.cjs', join(bin, 'claude'));
  const otherBin = join(dir.path, 'other', 'bin');
  await mkdir(otherBin, { recursive: true });
  await writeFile(join(otherBin, 'private-tool'), '#!/bin/sh\necho private\n');
  await chmod(join(otherBin, 'private-tool'), 0o755);
  const data = join(dir.path, 'data');
  await mkdir(join(data, 'bin'), { recursive: true });
  await writeFile(join(data, 'bin', 'codex'), '#!/bin/sh\necho planted\n');
  await chmod(join(data, 'bin', 'codex'), 0o755);
  return { bin, otherBin, data, remove: dir.remove };
}

const docker = new Dockerode();
const prefix = `devteam-test-${randomBytes(4).toString('hex')}`;

describe('agent CLIs on the service PATH', () => {
  let install: Install;
  let workspace: Awaited<ReturnType<typeof tempDir>>;
  const sandboxes: Sandbox[] = [];

  beforeAll(async () => {
    install = await npmPrefixInstall();
    workspace = await tempDir('agent-on-path-ws');
  });

  afterAll(async () => {
    for (const sandbox of sandboxes) {
      await sandbox.remove('acme', 'on-path').catch(() => undefined);
      await sandbox.close();
    }
    await install?.remove();
    await workspace?.remove();
  });

  function sandboxOf(driver: SandboxDriverName): Sandbox {
    const sandbox = createSandbox({
      driver,
      image: 'devteam-sandbox:test',
      network: 'host',
      binds: driver === 'docker' ? '/usr:/usr' : undefined,
      servicePath: [install.otherBin, join(install.data, 'bin'), install.bin, process.env.PATH].join(':'),
      protectedPaths: [install.data],
      prefix,
    });
    sandboxes.push(sandbox);
    return sandbox;
  }

  it('locates each CLI on the PATH and shows only folders holding one, never one in the data directory', () => {
    const location = locateAgents({ agentPaths: [], servicePath: [install.otherBin, join(install.data, 'bin'), install.bin, '', '.', '/usr/bin'].join(':'), protectedPaths: [install.data] });
    expect(location.found.claude).toBe(join(install.bin, 'claude'));
    // The planted codex inside the data directory is not one a run could use.
    expect(location.found.codex).toBeNull();
    expect(location.dirs).toEqual([install.bin]);
  });

  for (const driver of ['local', 'docker', 'none'] as const) {
    it(`runs claude from an npm prefix under /tmp inside the ${driver} sandbox, with no DEVTEAM_AGENT_PATH`, async () => {
      if (driver === 'docker') await docker.ping();
      const sandbox = sandboxOf(driver);
      const { sandbox: box } = await sandbox.ensure({ tenant: 'acme', projectId: 'on-path', workspace: workspace.path, limits: { cpus: 1, memoryMb: 512 } });
      const ran = await box.exec(['claude', '--print', 'hi'], { timeoutMs: 30_000 });
      expect(ran.stderr).toBe('');
      expect(ran.stdout.trim()).toBe('fake claude ran with its dependency args --print hi');
      expect(ran.exitCode).toBe(0);
      if (driver !== 'none') {
        // The PATH folder that holds no agent CLI, and the data directory, are not shown.
        const seen = await box.exec(['sh', '-c', `ls ${install.otherBin} ${install.data} 2>&1; command -v private-tool || echo no-private-tool`], { timeoutMs: 10_000 });
        const lines = seen.stdout.split('\n');
        expect(lines).toContain('no-private-tool');
        expect(lines).not.toContain('private-tool');
        expect(lines).not.toContain('codex');
      }
    }, 60_000);

    it(`the probe of the ${driver} sandbox says where claude is, as runs find it`, async () => {
      if (driver === 'docker') await docker.ping();
      const probe = await probeSandbox(sandboxOf(driver));
      expect(probe).toMatchObject({ driver, available: true, problem: null });
      expect(probe.tools.claude).toBe(join(install.bin, 'claude'));
      expect(probe.tools.git).toMatch(/\/git$/);
      expect(probe.tools.aider).toBeNull();
    }, 60_000);
  }

  it('the probe says why a sandbox cannot start, and what to do about it', async () => {
    const sandbox = createSandbox({ driver: 'docker', image: 'devteam-no-such-image:1', network: 'host', prefix });
    sandboxes.push(sandbox);
    const probe = await probeSandbox(sandbox);
    expect(probe.available).toBe(false);
    expect(probe.problem).toContain('devteam-no-such-image:1');
    expect(probe.remedy).toContain('DEVTEAM_SANDBOX_IMAGE');
  }, 60_000);
});
