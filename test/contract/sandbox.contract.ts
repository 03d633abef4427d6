// The Sandbox contract: every driver (docker, local bubblewrap, the host runner) must pass these
// tests unchanged; a driver that cannot honour a group of them by design says so, and those are
// registered as skipped with the reason in their name.
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { dirname, join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutputStream, ProjectSandbox, Sandbox, SandboxSpec } from '../../src/infra/sandbox/index.js';
import { SANDBOX_PATH, SandboxError, WORKSPACE } from '../../src/infra/sandbox/index.js';
import { eventually, tempDir } from '../support/services.js';

/** What the contract asks of the driver it is given, beyond its defaults. */
export interface SandboxSetup {
  /** Directories of agent CLIs (DEVTEAM_AGENT_PATH) the sandbox must make runnable. */
  agentPaths: string[];
  /** Host paths the sandbox must never expose: the data directory, the repository caches. */
  protectedPaths: string[];
  /** Extra read-only binds, `host:inside` (DEVTEAM_SANDBOX_BINDS), on top of the driver's own. */
  binds?: string[];
}

/**
 * The attack fixture lives outside /tmp (private in every sandbox) like a real data directory
 * (./.devteam under the service's cwd): in the repository's ignored .tmp folder.
 */
const FIXTURE_PARENT = join(import.meta.dirname, '../../.tmp');

interface AttackFixture {
  base: string;
  data: string;
  tenants: [string, string];
  workspace(tenant: string, project: string): string;
  /** node_modules/.bin of a fake agent CLI that is a symlink into its package (which needs a sibling). */
  agentBin: string;
  remove(): Promise<void>;
}

/** A data-dir-like tree: pgdata, and repos/<tenant>/<project>/repo checkouts of two tenants. */
async function attackFixture(tenant: string): Promise<AttackFixture> {
  await mkdir(FIXTURE_PARENT, { recursive: true });
  const base = await mkdtemp(join(FIXTURE_PARENT, 'sandbox-attack-'));
  const data = join(base, 'data');
  const tenants: [string, string] = [`${tenant}a`, `${tenant}b`];
  const workspace = (t: string, project: string) => join(data, 'repos', t, project, 'repo');
  await mkdir(join(data, 'pgdata', 'base'), { recursive: true });
  await writeFile(join(data, 'pgdata', 'PG_VERSION'), '17\n');
  await writeFile(join(data, 'pgdata', 'base', 'secret-row'), 'tenant-b-model-key=sk-stolen\n');
  for (const t of tenants) {
    for (const project of ['attack', 'home']) {
      await mkdir(workspace(t, project), { recursive: true });
      await writeFile(join(workspace(t, project), 'secret.txt'), `source of ${t}\n`);
    }
  }
  const modules = join(base, 'agents', 'node_modules');
  await mkdir(join(modules, '.bin'), { recursive: true });
  await mkdir(join(modules, 'fake-agent', 'bin'), { recursive: true });
  await mkdir(join(modules, 'fake-dep'), { recursive: true });
  await writeFile(join(modules, 'fake-agent', 'package.json'), '{"name":"fake-agent","version":"1.0.0","bin":{"fake-agent":"bin/cli.cjs"}}\n');
  await writeFile(join(modules, 'fake-agent', 'bin', 'cli.cjs'), '#!/usr/bin/env node\nconsole.log("fake agent ran with " + require("fake-dep"));\n');
  await chmod(join(modules, 'fake-agent', 'bin', 'cli.cjs'), 0o755);
  await writeFile(join(modules, 'fake-dep', 'package.json'), '{"name":"fake-dep","version":"1.0.0","main":"index.js"}\n');
  await writeFile(join(modules, 'fake-dep', 'index.js'), 'module.exports = "its dependency";\n');
  await symlink('../fake-agent/bin/cli.cjs', join(modules, '.bin', 'fake-agent'));
  return { base, data, tenants, workspace, agentBin: join(modules, '.bin'), remove: () => rm(base, { recursive: true, force: true }) };
}

/** Host files under /etc that only their owner or group may read (shadow, TLS and ssh keys, …). */
async function unreadableEtcFiles(dir = '/etc', found: string[] = []): Promise<string[]> {
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    const info = await lstat(path).catch(() => null);
    if (!info || info.isSymbolicLink()) continue;
    if (info.isDirectory()) {
      if (info.mode & 0o005) await unreadableEtcFiles(path, found);
      else found.push(`${path}/`);
    } else if (info.isFile() && !(info.mode & 0o004) && info.size > 0) found.push(path);
  }
  return found;
}

export interface SandboxFixture {
  sandbox: Sandbox;
  /** Tenant unique to this run so parallel runs and leftovers never collide. */
  tenant: string;
  /**
   * Another instance of the driver with the same prefix and setup: what a second process of this
   * runner on the same host builds (or a process that then dies). Absent: nothing is left behind.
   */
  sibling?: () => Sandbox;
  cleanup(): Promise<void>;
}

/** Groups of the contract a driver cannot honour by design, each with the reason said in the skipped tests' names. */
export interface SandboxLacks {
  /** No memory/cpu limits. */
  limits?: string;
  /** No isolation: commands see the whole host (other workspaces, the data directory, /etc). */
  isolation?: string;
  /** Keeps nothing outside the process's memory, so a dead process leaves nothing to reap. */
  leftovers?: string;
}

type TestBody = () => Promise<void>;

/** `it`, or `it.skip` with the reason appended to the name when the driver lacks what the test needs. */
function unless(reason: string | undefined): (name: string, body: TestBody, timeout?: number) => void {
  return (name, body, timeout) => (reason ? it.skip(`${name} (${reason})`, body, timeout) : it(name, body, timeout));
}

const GiB = 1024;

export function sandboxContract(implementation: string, make: (setup: SandboxSetup) => Promise<SandboxFixture>, lacks: SandboxLacks = {}): void {
  describe(`Sandbox contract: ${implementation}`, () => {
    const limited = unless(lacks.limits);
    const isolated = unless(lacks.isolation);
    const leftBehind = unless(lacks.leftovers);
    let fixture: SandboxFixture;
    let attack: AttackFixture;
    let setup: SandboxSetup;
    const dirs: Array<{ remove(): Promise<void> }> = [];
    let counter = 0;

    beforeAll(async () => {
      attack = await attackFixture(`t${Math.random().toString(36).slice(2, 8)}`);
      setup = { agentPaths: [attack.agentBin], protectedPaths: [attack.data, join(attack.data, 'repos')] };
      fixture = await make(setup);
    }, 120_000);

    afterAll(async () => {
      await fixture?.cleanup();
      await Promise.all(dirs.map((d) => d.remove()));
      await attack?.remove();
    }, 60_000);

    /** Project `project` of the attack fixture's tenant `which`, its workspace in the fake data dir. */
    async function attackBox(which: 0 | 1, project = 'attack'): Promise<ProjectSandbox> {
      const tenant = attack.tenants[which];
      const s = { tenant, projectId: project, workspace: attack.workspace(tenant, project), limits: { cpus: 1, memoryMb: GiB } };
      return (await fixture.sandbox.ensure(s)).sandbox;
    }

    const sh = (box: ProjectSandbox, script: string, env?: Record<string, string>) => box.exec(['sh', '-c', script], { timeoutMs: 20_000, env });

    async function spec(overrides: Partial<SandboxSpec> = {}): Promise<SandboxSpec> {
      const dir = await tempDir('sandbox-ws');
      dirs.push(dir);
      counter += 1;
      return { tenant: fixture.tenant, projectId: `proj-${counter}`, workspace: dir.path, limits: { cpus: 1, memoryMb: GiB }, ...overrides };
    }

    it('starts a project sandbox once and reuses it on the next ensure', async () => {
      const s = await spec();
      const first = await fixture.sandbox.ensure(s);
      const second = await fixture.sandbox.ensure(s);
      expect(first.reused).toBe(false);
      expect(second.reused).toBe(true);
      expect(second.sandbox.name).toBe(first.sandbox.name);
      expect(await fixture.sandbox.list()).toContain(first.sandbox.name);
    });

    it('gives two tenants with the same project id different sandboxes', async () => {
      const s = await spec({ projectId: 'shared-name' });
      const other = await spec({ projectId: 'shared-name', tenant: `${fixture.tenant}x` });
      const a = await fixture.sandbox.ensure(s);
      const b = await fixture.sandbox.ensure(other);
      expect(a.sandbox.name).not.toBe(b.sandbox.name);
      await writeFile(join(s.workspace, 'whose.txt'), 'tenant-a');
      const seen = await b.sandbox.exec(['sh', '-c', 'cat whose.txt 2>/dev/null || echo none'], { timeoutMs: 10_000 });
      expect(seen.stdout.trim()).toBe('none');
      await fixture.sandbox.remove(other.tenant, other.projectId);
    });

    it('runs commands in the mounted workspace, sharing files both ways with the host', async () => {
      const s = await spec();
      await writeFile(join(s.workspace, 'from-host.txt'), 'hello from host\n');
      const { sandbox } = await fixture.sandbox.ensure(s);
      const result = await sandbox.exec(['sh', '-c', 'pwd; cat from-host.txt; echo written > from-sandbox.txt'], { timeoutMs: 10_000 });
      expect(result).toMatchObject({ exitCode: 0, outcome: 'completed', truncated: false });
      expect(result.stdout).toBe(`${sandbox.workspacePath}\nhello from host\n`);
      expect(await readFile(join(s.workspace, 'from-sandbox.txt'), 'utf8')).toBe('written\n');
      // The drivers with a mount namespace show it at WORKSPACE; the host runner at its own path.
      expect(sandbox.workspacePath === WORKSPACE || sandbox.driver === 'none').toBe(true);
    });

    it('shows the workspace at workspacePath to argv, env and a relative cwd', async () => {
      // How the steps use it: the prompt file in argv, the npm cache in env, commands run in a sub-folder.
      const s = await spec();
      await mkdir(join(s.workspace, '.git', 'devteam'), { recursive: true });
      await writeFile(join(s.workspace, '.git', 'devteam', 'prompt.md'), 'the prompt\n');
      const { sandbox } = await fixture.sandbox.ensure(s);
      const prompt = `${sandbox.workspacePath}/.git/devteam/prompt.md`;
      const result = await sandbox.exec(['sh', '-c', 'pwd; cat "$1"; cat "$PROMPT"; mkdir -p "$CACHE" && echo cached > "$CACHE/x"', 'sh', prompt], {
        cwd: '.git',
        timeoutMs: 10_000,
        env: { PROMPT: prompt, CACHE: `${sandbox.workspacePath}/.git/devteam/npm-cache` },
      });
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe(`${sandbox.workspacePath}/.git\nthe prompt\nthe prompt\n`);
      expect(await readFile(join(s.workspace, '.git', 'devteam', 'npm-cache', 'x'), 'utf8')).toBe('cached\n');
    });

    it("does not pass the runner's own environment to commands", async () => {
      process.env.DEVTEAM_CONTRACT_SECRET_PROBE = 'runner-only';
      try {
        const { sandbox } = await fixture.sandbox.ensure(await spec());
        const result = await sandbox.exec(['sh', '-c', 'env'], { timeoutMs: 10_000, env: { ONLY: 'this' } });
        expect(result.stdout).not.toContain('DEVTEAM_CONTRACT_SECRET_PROBE');
        expect(result.stdout).not.toContain('runner-only');
        expect(result.stdout).toContain('ONLY=this');
      } finally {
        delete process.env.DEVTEAM_CONTRACT_SECRET_PROBE;
      }
    });

    it('passes argv without a shell and per-command environment', async () => {
      const { sandbox } = await fixture.sandbox.ensure(await spec());
      const tricky = '$(touch /tmp/pwned); `id` "quoted" \'single\'';
      const result = await sandbox.exec(['node', '-e', 'console.log(process.argv[1]); console.log(process.env.MODEL_KEY)', tricky], {
        timeoutMs: 10_000,
        env: { MODEL_KEY: 'value-only-here' },
      });
      expect(result.stdout).toBe(`${tricky}\nvalue-only-here\n`);
    });

    it('streams stdout and stderr line by line, in order, and reports the exit code', async () => {
      const { sandbox } = await fixture.sandbox.ensure(await spec());
      const lines: Array<[OutputStream, string]> = [];
      const script = 'for (let i = 0; i < 5; i++) { console.log("out " + i); console.error("err " + i); } process.stdout.write("no newline"); process.exitCode = 3';
      const result = await sandbox.exec(['node', '-e', script], { timeoutMs: 10_000, onLine: (stream, line) => lines.push([stream, line]) });
      expect(result.exitCode).toBe(3);
      expect(result.outcome).toBe('completed');
      expect(lines.filter(([s]) => s === 'stdout').map(([, l]) => l)).toEqual(['out 0', 'out 1', 'out 2', 'out 3', 'out 4', 'no newline']);
      expect(lines.filter(([s]) => s === 'stderr').map(([, l]) => l)).toEqual(['err 0', 'err 1', 'err 2', 'err 3', 'err 4']);
      expect(result.stderr).toBe('err 0\nerr 1\nerr 2\nerr 3\nerr 4\n');
    });

    it('delivers lines while the command is still running', async () => {
      const { sandbox } = await fixture.sandbox.ensure(await spec());
      let firstLineAt = 0;
      const started = Date.now();
      const result = await sandbox.exec(['sh', '-c', 'echo early; sleep 1; echo late'], {
        timeoutMs: 10_000,
        onLine: () => {
          firstLineAt ||= Date.now();
        },
      });
      expect(result.exitCode).toBe(0);
      expect(firstLineAt - started).toBeLessThan(Date.now() - started - 500);
    });

    it('keeps only the tail of output past the cap and says so', async () => {
      const { sandbox } = await fixture.sandbox.ensure(await spec());
      const result = await sandbox.exec(['node', '-e', 'for (let i = 0; i < 2000; i++) console.log("line " + i)'], {
        timeoutMs: 10_000,
        maxOutputBytes: 1000,
      });
      expect(result.truncated).toBe(true);
      expect(Buffer.byteLength(result.stdout)).toBeLessThanOrEqual(1000);
      expect(result.stdout.endsWith('line 1999\n')).toBe(true);
    });

    it('kills a command past its timeout, including what it started in the background', async () => {
      const s = await spec();
      const { sandbox } = await fixture.sandbox.ensure(s);
      const started = Date.now();
      const result = await sandbox.exec(['sh', '-c', '(sleep 2; touch escaped.txt) & sleep 60'], { timeoutMs: 500 });
      expect(result.outcome).toBe('timeout');
      expect(result.exitCode).toBeNull();
      expect(Date.now() - started).toBeLessThan(5_000);
      await new Promise((r) => setTimeout(r, 2_500));
      expect(existsSync(join(s.workspace, 'escaped.txt'))).toBe(false);
    });

    it('cancels a running command when its signal aborts and kills its children', async () => {
      const s = await spec();
      const { sandbox } = await fixture.sandbox.ensure(s);
      const controller = new AbortController();
      const script = 'while true; do date +%s%N >> ticks.txt; sleep 0.1; done & echo started; wait';
      const run = sandbox.exec(['sh', '-c', script], {
        timeoutMs: 30_000,
        signal: controller.signal,
        onLine: (_, line) => {
          if (line === 'started') setTimeout(() => controller.abort(), 300);
        },
      });
      const result = await run;
      expect(result.outcome).toBe('cancelled');
      const ticks = await eventually(async () => {
        const a = await readFile(join(s.workspace, 'ticks.txt'), 'utf8');
        await new Promise((r) => setTimeout(r, 400));
        const b = await readFile(join(s.workspace, 'ticks.txt'), 'utf8');
        return a === b ? b : undefined;
      }, 5_000, 'the background loop to stop');
      expect(ticks.length).toBeGreaterThan(0);
    });

    it('returns cancelled at once for a signal that is already aborted', async () => {
      const { sandbox } = await fixture.sandbox.ensure(await spec());
      const result = await sandbox.exec(['sh', '-c', 'echo should-not-run'], { timeoutMs: 10_000, signal: AbortSignal.abort() });
      expect(result.outcome).toBe('cancelled');
      expect(result.stdout).toBe('');
    });

    limited('kills a process that allocates past the memory limit and keeps working', async () => {
      const { sandbox } = await fixture.sandbox.ensure(await spec({ limits: { cpus: 1, memoryMb: GiB } }));
      // 1.5 GiB of touched pages in 64 MiB steps; a limit that does not hold lets it print "survived".
      const hog = 'const a = []; for (let i = 0; i < 24; i++) { a.push(Buffer.alloc(64 << 20, 1)); } console.log("survived")';
      const result = await sandbox.exec(['node', '--max-old-space-size=4096', '-e', hog], { timeoutMs: 60_000 });
      expect(result.stdout).not.toContain('survived');
      expect(result.outcome).toBe('oom');
      const after = await sandbox.exec(['node', '-e', 'console.log("still here")'], { timeoutMs: 10_000 });
      expect(after.stdout).toBe('still here\n');
    }, 90_000);

    it('reports git and node versions in its health check and absent agents as absent', async () => {
      const { sandbox } = await fixture.sandbox.ensure(await spec());
      const health = await sandbox.health();
      expect(health.ok).toBe(true);
      expect(health.missingRequired).toEqual([]);
      const byName = new Map(health.tools.map((t) => [t.name, t.version]));
      expect(byName.get('git')).toMatch(/^git version \d/);
      expect(byName.get('node')).toMatch(/^v\d+\.\d+/);
      expect(byName.has('aider')).toBe(true);
      expect(byName.get('definitely-absent-tool')).toBeUndefined();
    });

    it('remove kills running commands, forgets the sandbox and is idempotent', async () => {
      const s = await spec();
      const { sandbox } = await fixture.sandbox.ensure(s);
      const running = sandbox.exec(['sh', '-c', 'echo started; sleep 60'], { timeoutMs: 60_000 });
      await new Promise((r) => setTimeout(r, 300));
      await fixture.sandbox.remove(s.tenant, s.projectId);
      const result = await running;
      expect(result.outcome).not.toBe('completed');
      expect(await fixture.sandbox.list()).not.toContain(sandbox.name);
      await fixture.sandbox.remove(s.tenant, s.projectId);
      const again = await fixture.sandbox.ensure(s);
      expect(again.reused).toBe(false);
    }, 30_000);

    it('reaps sandboxes idle for longer than the limit and keeps busy ones', async () => {
      const idle = await spec();
      const busy = await spec();
      const a = await fixture.sandbox.ensure(idle);
      const b = await fixture.sandbox.ensure(busy);
      await a.sandbox.exec(['true'], { timeoutMs: 10_000 });
      const running = b.sandbox.exec(['sleep', '2'], { timeoutMs: 10_000 });
      await new Promise((r) => setTimeout(r, 600));
      const reaped = await fixture.sandbox.reapIdle(500);
      expect(reaped).toContain(a.sandbox.name);
      expect(reaped).not.toContain(b.sandbox.name);
      expect((await running).exitCode).toBe(0);
      expect(await fixture.sandbox.list()).not.toContain(a.sandbox.name);
    }, 30_000);

    leftBehind('reaps what a dead process left behind, but not what a live process uses or just used', async () => {
      const crashed = fixture.sibling!();
      const live = fixture.sibling!();
      const [left, recent, busy] = [await spec(), await spec(), await spec()];
      const l = await crashed.ensure(left);
      await l.sandbox.exec(['true'], { timeoutMs: 10_000 });
      // `crashed` is dropped from here on, never removing its sandbox: what a process that died leaves.
      const r = await live.ensure(recent);
      const b = await live.ensure(busy);
      const running = b.sandbox.exec(['sleep', '5'], { timeoutMs: 20_000 });
      try {
        // Past the cutoff by more than a second: the docker engine reports the marker in whole seconds.
        await new Promise((resolve) => setTimeout(resolve, 2_500));
        await r.sandbox.exec(['true'], { timeoutMs: 10_000 });
        // This instance never knew any of the three: only what is on the host tells them apart.
        const reaped = await fixture.sandbox.reapIdle(1_000);
        expect(reaped).toContain(l.sandbox.name);
        expect(reaped).not.toContain(r.sandbox.name);
        expect(reaped).not.toContain(b.sandbox.name);
        expect((await running).exitCode).toBe(0);
        const names = await fixture.sandbox.list();
        expect(names).not.toContain(l.sandbox.name);
        expect(names).toEqual(expect.arrayContaining([r.sandbox.name, b.sandbox.name]));
        // The live process keeps using its sandbox after the sweep.
        expect((await r.sandbox.exec(['true'], { timeoutMs: 10_000 })).exitCode).toBe(0);
      } finally {
        await running;
        await live.remove(recent.tenant, recent.projectId);
        await live.remove(busy.tenant, busy.projectId);
        await fixture.sandbox.remove(left.tenant, left.projectId);
        await Promise.all([live.close(), crashed.close()]);
      }
    }, 60_000);

    isolated('does not show another tenant\'s checkout, the data directory or the repository caches', async () => {
      const box = await attackBox(0);
      const other = attack.workspace(attack.tenants[1], 'attack');
      for (const path of [join(other, 'secret.txt'), join(attack.data, 'pgdata', 'base', 'secret-row'), join(attack.data, 'pgdata', 'PG_VERSION')]) {
        const read = await box.exec(['cat', path], { timeoutMs: 10_000 });
        expect(read.exitCode, path).not.toBe(0);
        expect(read.stdout, path).toBe('');
      }
      for (const dir of [attack.data, join(attack.data, 'repos'), join(attack.data, 'pgdata'), attack.base]) {
        const list = await sh(box, `ls -A "${dir}" 2>/dev/null`);
        // At most the path down to the agent install, which is bound read-only for the CLI.
        const allowed = attack.agentBin.startsWith(dir + sep) ? [relative(dir, attack.agentBin).split(sep)[0]] : [];
        expect(list.stdout.split('\n').filter(Boolean).filter((e) => !allowed.includes(e)), dir).toEqual([]);
      }
    });

    isolated('shows nothing of /root, /home, /work, /srv, /mnt or /var and no host secrets in /etc', async () => {
      const box = await attackBox(0);
      const agentDirs = [attack.agentBin, dirname(attack.agentBin)];
      for (const dir of ['/root', '/home', '/work', '/srv', '/mnt', '/media', '/var']) {
        const list = await sh(box, `ls -A ${dir} 2>/dev/null`);
        // Only the path down to a directory bound for the agent CLI may show.
        const allowed = agentDirs.filter((d) => d.startsWith(dir + '/')).map((d) => d.slice(dir.length + 1).split('/')[0]);
        expect(list.stdout.split('\n').filter(Boolean).filter((e) => !allowed.includes(e)), dir).toEqual([]);
      }
      for (const file of ['/etc/shadow', '/etc/gshadow', '/etc/shadow-', '/etc/gshadow-', '/etc/sudoers']) {
        const read = await box.exec(['cat', file], { timeoutMs: 10_000 });
        expect(read.stdout, file).toBe('');
      }
      const keys = await sh(box, 'ls -A /etc/ssh 2>/dev/null | grep _key || true');
      expect(keys.stdout).toBe('');
      const unreadable = await unreadableEtcFiles();
      const files = unreadable.filter((f) => !f.endsWith('/'));
      const dirsHidden = unreadable.filter((f) => f.endsWith('/'));
      if (files.length > 0) {
        const read = await box.exec(['sh', '-c', 'for f do cat "$f" 2>/dev/null; done', 'cat-all', ...files], { timeoutMs: 10_000 });
        expect(read.stdout).toBe('');
      }
      for (const dir of dirsHidden) {
        const list = await sh(box, `ls -A "${dir}" 2>/dev/null`);
        expect(list.stdout, dir).toBe('');
      }
    });

    it('lets a project read and write its own workspace and run node, git and sh', async () => {
      const box = await attackBox(0);
      const result = await sh(box, 'cat secret.txt && echo mine > mine.txt && cat mine.txt && node --version && git --version && sh -c "echo nested"');
      expect(result.exitCode).toBe(0);
      const lines = result.stdout.split('\n');
      expect(lines.slice(0, 2)).toEqual([`source of ${attack.tenants[0]}`, 'mine']);
      expect(lines[2]).toMatch(/^v\d+\./);
      expect(lines[3]).toMatch(/^git version \d/);
      expect(lines[4]).toBe('nested');
      expect(await readFile(join(attack.workspace(attack.tenants[0], 'attack'), 'mine.txt'), 'utf8')).toBe('mine\n');
    });

    it('runs an agent CLI installed as a symlink into its package under an agent path', async () => {
      const box = await attackBox(0);
      const result = await box.exec(['fake-agent'], { timeoutMs: 20_000, env: { PATH: `${attack.agentBin}:${SANDBOX_PATH}` } });
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('fake agent ran with its dependency\n');
    });

    isolated('shows the agent installs read-only', async () => {
      const box = await attackBox(0);
      const write = await sh(box, `touch "${join(attack.agentBin, 'planted')}"`);
      expect(write.exitCode).not.toBe(0);
    });

    it('gives each project a writable HOME that no other project sees', async () => {
      const a = await attackBox(0, 'home');
      const b = await attackBox(1, 'home');
      const wrote = await sh(a, 'echo "$HOME" && echo from-a > "$HOME/.devteam-home-probe" && cat "$HOME/.devteam-home-probe"');
      expect(wrote.exitCode).toBe(0);
      expect(wrote.stdout.split('\n')[1]).toBe('from-a');
      const seen = await sh(b, 'cat "$HOME/.devteam-home-probe" 2>/dev/null || echo none');
      expect(seen.stdout).toBe('none\n');
    });

    it('keeps the host loopback reachable (the model server runs there)', async () => {
      const box = await attackBox(0);
      const names = await box.exec(['getent', 'hosts', 'localhost'], { timeoutMs: 10_000 });
      expect(names.stdout).toMatch(/(127\.0\.0\.1|::1)\s+localhost/);
      const server: Server = createServer((_, res) => res.end('model server'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const port = (server.address() as { port: number }).port;
        const script = `fetch("http://127.0.0.1:${port}/").then((r) => r.text()).then((t) => console.log(t))`;
        const fetched = await box.exec(['node', '-e', script], { timeoutMs: 15_000 });
        expect(fetched.stdout).toBe('model server\n');
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    isolated('refuses a bind that would expose the data directory', async () => {
      const exposing = await make({ ...setup, binds: [`${attack.base}:${attack.base}`] });
      try {
        const error = await exposing.sandbox
          .ensure({ tenant: attack.tenants[0], projectId: 'exposed', workspace: attack.workspace(attack.tenants[0], 'attack'), limits: { cpus: 1, memoryMb: GiB } })
          .catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SandboxError);
        expect(error).toMatchObject({ code: 'invalid_sandbox_spec' });
      } finally {
        await exposing.cleanup();
      }
    });

    it('refuses a workspace that contains the data directory', async () => {
      const wide = await fixture.sandbox
        .ensure({ tenant: attack.tenants[0], projectId: 'wide', workspace: attack.data, limits: { cpus: 1, memoryMb: GiB } })
        .catch((e: unknown) => e);
      expect(wide).toMatchObject({ code: 'invalid_sandbox_spec' });
    });
  });
}
