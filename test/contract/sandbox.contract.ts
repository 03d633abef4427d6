// The Sandbox contract: the docker and local (bubblewrap) drivers must pass these tests unchanged.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutputStream, Sandbox, SandboxSpec } from '../../src/infra/sandbox/index.js';
import { WORKSPACE } from '../../src/infra/sandbox/index.js';
import { eventually, tempDir } from '../support/services.js';

export interface SandboxFixture {
  sandbox: Sandbox;
  /** Tenant unique to this run so parallel runs and leftovers never collide. */
  tenant: string;
  cleanup(): Promise<void>;
}

const GiB = 1024;

export function sandboxContract(implementation: string, make: () => Promise<SandboxFixture>): void {
  describe(`Sandbox contract: ${implementation}`, () => {
    let fixture: SandboxFixture;
    const dirs: Array<{ remove(): Promise<void> }> = [];
    let counter = 0;

    beforeAll(async () => {
      fixture = await make();
    }, 120_000);

    afterAll(async () => {
      await fixture?.cleanup();
      await Promise.all(dirs.map((d) => d.remove()));
    }, 60_000);

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
      expect(result.stdout).toBe(`${WORKSPACE}\nhello from host\n`);
      expect(await readFile(join(s.workspace, 'from-sandbox.txt'), 'utf8')).toBe('written\n');
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

    it('kills a process that allocates past the memory limit and keeps working', async () => {
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
  });
}
