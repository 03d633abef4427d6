// The local (bubblewrap + cgroup v1) sandbox: the Sandbox contract, then what only this driver
// has: the read-only host filesystem, what of the host it shows, the pid namespace, the cgroup
// limits it writes.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, realpath, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BwrapSandbox, SANDBOX_PATH, SandboxError, sandboxName } from '../../src/infra/sandbox/index.js';
import { CONTROLLERS } from '../../src/infra/sandbox/cgroup-v1.js';
import { readHostSystem } from '../../src/infra/sandbox/host-system.js';
import { sandboxContract } from '../contract/sandbox.contract.js';
import { tempDir } from '../support/services.js';

const CGROUP_ROOT = '/sys/fs/cgroup';
const prefixes: string[] = [];

function newPrefix(): string {
  const prefix = `devteam-test-${randomBytes(4).toString('hex')}`;
  prefixes.push(prefix);
  return prefix;
}

async function dropPrefix(prefix: string): Promise<void> {
  for (const c of CONTROLLERS) {
    const dir = join(CGROUP_ROOT, c, prefix);
    const left = await readdir(dir, { withFileTypes: true }).catch(() => []);
    if (left.some((e) => e.isDirectory())) throw new Error(`cgroups left under ${dir}`);
    await rmdir(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }
}

afterAll(async () => {
  for (const prefix of prefixes) await dropPrefix(prefix);
});

sandboxContract('local (bubblewrap)', async (setup) => {
  const prefix = newPrefix();
  const sandbox = new BwrapSandbox({ prefix, ...setup });
  const tenant = `t${randomBytes(4).toString('hex')}`;
  return {
    sandbox,
    tenant,
    sibling: () => new BwrapSandbox({ prefix, ...setup }),
    cleanup: async () => {
      for (const name of await sandbox.list()) {
        const [t, ...rest] = name.slice(prefix.length + 1).split('-');
        // Names are <prefix>-<tenant>-<project>-<hash>; the project id may itself contain dashes.
        const projectId = rest.slice(0, -1).join('-');
        await sandbox.remove(t!, projectId);
      }
      await sandbox.close();
    },
  };
});

describe('BwrapSandbox (local driver)', () => {
  const prefix = newPrefix();
  const sandbox = new BwrapSandbox({ prefix });
  const tenant = `t${randomBytes(4).toString('hex')}`;
  let ws: { path: string; remove(): Promise<void> };

  beforeAll(async () => {
    ws = await tempDir('sandbox-local');
  });

  afterAll(async () => {
    await sandbox.remove(tenant, 'isolation');
    await sandbox.remove(tenant, 'limits');
    await ws?.remove();
  });

  async function project(projectId = 'isolation', limits = { cpus: 1, memoryMb: 512 }) {
    return (await sandbox.ensure({ tenant, projectId, workspace: ws.path, limits })).sandbox;
  }

  it('enforces limits on this root, cgroup v1 host', async () => {
    await project();
    expect(sandbox.limitsEnforced).toBe(true);
  });

  it('keeps the host filesystem read-only and only the workspace writable', async () => {
    const box = await project();
    const usr = await box.exec(['sh', '-c', 'echo x > /usr/devteam-probe'], { timeoutMs: 10_000 });
    expect(usr.exitCode).not.toBe(0);
    const etc = await box.exec(['touch', '/etc/devteam-probe'], { timeoutMs: 10_000 });
    expect(etc.exitCode).not.toBe(0);
    const wsWrite = await box.exec(['sh', '-c', 'echo ok > inside.txt'], { timeoutMs: 10_000 });
    expect(wsWrite.exitCode).toBe(0);
    expect(await readFile(join(ws.path, 'inside.txt'), 'utf8')).toBe('ok\n');
  });

  it('gives each command a private /tmp', async () => {
    const marker = `devteam-host-${randomBytes(4).toString('hex')}`;
    await writeFile(join('/tmp', marker), 'host');
    try {
      const box = await project();
      const result = await box.exec(['sh', '-c', `ls /tmp; test ! -e /tmp/${marker} && echo private > /tmp/x && cat /tmp/x`], { timeoutMs: 10_000 });
      expect(result.stdout).toBe('private\n');
    } finally {
      await rm(join('/tmp', marker), { force: true });
    }
  });

  it('runs commands in their own pid namespace', async () => {
    const box = await project();
    const result = await box.exec(['sh', '-c', 'echo $$; ls /proc | grep -c "^[0-9]*$"; cat /proc/1/comm'], { timeoutMs: 10_000 });
    const [pid, count, init] = result.stdout.trim().split('\n');
    expect(Number(pid)).toBeLessThan(10);
    expect(Number(count)).toBeLessThan(10);
    expect(init).toBe('bwrap');
  });

  it('writes the cgroup limits of the spec and runs commands inside them', async () => {
    const box = await project('limits', { cpus: 1.5, memoryMb: 300 });
    const name = sandboxName(prefix, tenant, 'limits');
    expect(box.name).toBe(name);
    const read = (c: string, file: string) => readFile(join(CGROUP_ROOT, c, prefix, name, file), 'utf8').then((s) => s.trim());
    expect(await read('memory', 'memory.limit_in_bytes')).toBe(String(300 * 1024 * 1024));
    expect(await read('memory', 'memory.memsw.limit_in_bytes')).toBe(String(300 * 1024 * 1024));
    expect(await read('memory', 'memory.use_hierarchy')).toBe('1');
    expect(await read('cpu', 'cpu.cfs_period_us')).toBe('100000');
    expect(await read('cpu', 'cpu.cfs_quota_us')).toBe('150000');
    expect(await read('pids', 'pids.max')).toBe('4096');
    const inside = await box.exec(['cat', '/proc/self/cgroup'], { timeoutMs: 10_000 });
    expect(inside.stdout).toMatch(new RegExp(`memory:.*/${prefix}/${name}/exec-\\d+`));
    expect(inside.stdout).toMatch(new RegExp(`pids:.*/${prefix}/${name}/exec-\\d+`));
    // The command's own group is gone once it has ended.
    const left = await readdir(join(CGROUP_ROOT, 'memory', prefix, name), { withFileTypes: true });
    expect(left.filter((e) => e.isDirectory())).toEqual([]);
  });

  it('does not pass the runner environment into the sandbox', async () => {
    process.env.DEVTEAM_SECRET_PROBE = 'secret';
    try {
      const box = await project();
      const result = await box.exec(['sh', '-c', 'env'], { timeoutMs: 10_000, env: { ONLY: 'this' } });
      expect(result.stdout).not.toContain('DEVTEAM_SECRET_PROBE');
      expect(result.stdout).not.toContain('DEVTEAM_CGROUP_PROCS');
      expect(result.stdout).toContain('ONLY=this');
      expect(result.stdout).toContain('HOME=/tmp');
    } finally {
      delete process.env.DEVTEAM_SECRET_PROBE;
    }
  });

  it('lists and removes leftover cgroups of a previous run', async () => {
    await project('leftover');
    const name = sandboxName(prefix, tenant, 'leftover');
    const restarted = new BwrapSandbox({ prefix });
    expect(await restarted.list()).toContain(name);
    await restarted.ensure({ tenant, projectId: 'isolation', workspace: ws.path, limits: { cpus: 1, memoryMb: 512 } });
    await restarted.remove(tenant, 'leftover');
    expect(await restarted.list()).not.toContain(name);
    await sandbox.remove(tenant, 'leftover');
  });

  it('shows at its root only the system directories, /etc, /dev, /proc, /tmp and the workspace', async () => {
    const box = await project();
    const result = await box.exec(['sh', '-c', 'ls -A /'], { timeoutMs: 10_000 });
    const system = ['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];
    const hostHas = new Set(await readdir('/'));
    const expected = [...system.filter((d) => hostHas.has(d)), 'etc', 'dev', 'proc', 'tmp', 'workspace'].sort();
    expect(result.stdout.trim().split('\n').sort()).toEqual(expected);
  });

  it('keeps name resolution: /etc/resolv.conf and /etc/hosts read as on the host', async () => {
    const box = await project();
    const result = await box.exec(['cat', '/etc/resolv.conf', '/etc/hosts'], { timeoutMs: 10_000 });
    expect(result.stdout).toBe((await readFile('/etc/resolv.conf', 'utf8')) + (await readFile('/etc/hosts', 'utf8')));
  });

  it('masks /etc secrets and follows /etc links out to /run as the sandbox will see them', async () => {
    const dir = await tempDir('sandbox-etc');
    try {
      const etc = join(dir.path, 'etc');
      const run = join(dir.path, 'run', 'systemd', 'resolve');
      await mkdir(join(etc, 'ssh'), { recursive: true });
      await mkdir(join(etc, 'ssl', 'private'), { recursive: true });
      await mkdir(join(etc, 'keys.d'), { recursive: true });
      await mkdir(join(etc, 'resolvconf'), { recursive: true });
      await mkdir(run, { recursive: true });
      await writeFile(join(etc, 'shadow'), 'root:$6$hash:19000::::::\n', { mode: 0o640 });
      await writeFile(join(etc, 'ssh', 'ssh_host_ed25519_key'), 'PRIVATE\n', { mode: 0o600 });
      await writeFile(join(etc, 'app.conf'), 'password=x\n', { mode: 0o600 });
      await writeFile(join(etc, 'hosts'), '127.0.0.1 localhost\n', { mode: 0o644 });
      await chmod(join(etc, 'keys.d'), 0o700);
      await writeFile(join(run, 'stub-resolv.conf'), 'nameserver 127.0.0.53\n');
      // resolvconf style: a link to a link through a symlinked directory of /etc.
      await symlink(join(dir.path, 'run', 'systemd', 'resolve'), join(etc, 'resolvconf', 'run'));
      await symlink('resolvconf/run/stub-resolv.conf', join(etc, 'resolv.conf'));
      const view = await readHostSystem(etc);
      expect(view.masked).toEqual(['/etc/app.conf', '/etc/keys.d/', '/etc/shadow', '/etc/ssh/', '/etc/ssl/private/']);
      expect(view.maskFds).toBe(2);
      const real = await realpath(join(run, 'stub-resolv.conf'));
      expect(view.linkedOut).toEqual([{ host: real, inside: join(dir.path, 'run', 'systemd', 'resolve', 'stub-resolv.conf') }]);
      expect(view.args).toContain('--ro-bind-data');
      expect(view.args.join(' ')).not.toContain('app.conf.');
    } finally {
      await dir.remove();
    }
  });

  it('runs an agent CLI whose agent path is itself a symlink, from under the host /tmp', async () => {
    const dir = await tempDir('sandbox-agent-link');
    try {
      const modules = join(dir.path, 'install', 'node_modules');
      await mkdir(join(modules, '.bin'), { recursive: true });
      await mkdir(join(modules, 'tool'), { recursive: true });
      await writeFile(join(modules, 'tool', 'package.json'), '{"name":"tool","version":"1.0.0"}\n');
      await writeFile(join(modules, 'tool', 'cli.cjs'), '#!/usr/bin/env node\nconsole.log("tool ran")\n', { mode: 0o755 });
      await symlink('../tool/cli.cjs', join(modules, '.bin', 'tool'));
      await symlink(join(modules, '.bin'), join(dir.path, 'bin'));
      const linked = new BwrapSandbox({ prefix, agentPaths: [join(dir.path, 'bin')] });
      const { sandbox: box } = await linked.ensure({ tenant, projectId: 'agent-link', workspace: ws.path, limits: { cpus: 1, memoryMb: 512 } });
      try {
        const result = await box.exec(['tool'], { timeoutMs: 10_000, env: { PATH: `${join(dir.path, 'bin')}:${SANDBOX_PATH}` } });
        expect(result.stderr).toBe('');
        expect(result.stdout).toBe('tool ran\n');
      } finally {
        await linked.remove(tenant, 'agent-link');
      }
    } finally {
      await dir.remove();
    }
  });

  it('refuses a protected path under a system directory every sandbox shows', async () => {
    const exposed = new BwrapSandbox({ prefix, protectedPaths: ['/usr/local/devteam-data'] });
    const error = await exposed.ensure({ tenant, projectId: 'nope', workspace: ws.path, limits: { cpus: 1, memoryMb: 512 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxError);
    expect((error as SandboxError).code).toBe('invalid_sandbox_spec');
  });

  it('fails with sandbox_unavailable when the bwrap binary does not exist', async () => {
    const broken = new BwrapSandbox({ prefix, bwrapPath: '/nonexistent/bwrap' });
    const error = await broken.ensure({ tenant, projectId: 'nope', workspace: ws.path, limits: { cpus: 1, memoryMb: 512 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxError);
    expect((error as SandboxError).code).toBe('sandbox_unavailable');
  });

  it('rejects a workspace that does not exist', async () => {
    const error = await sandbox.ensure({ tenant, projectId: 'nope', workspace: join(ws.path, 'missing'), limits: { cpus: 1, memoryMb: 512 } }).catch((e: unknown) => e);
    expect((error as SandboxError).code).toBe('invalid_sandbox_spec');
  });
});
