// `devteam doctor` as a child process: versions on the host and inside the configured sandbox,
// exit 1 when a required tool is missing, absent optional tools reported, not failed.
import { execFile } from 'node:child_process';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../src/infra/doctor/index.js';
import { CLI } from '../support/cli-process.js';
import { tempDir } from '../support/services.js';

const run = promisify(execFile);

async function doctor(args: string[], env: Record<string, string> = {}): Promise<{ code: number; report: DoctorReport; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'doctor', '--json', ...args], { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, report: JSON.parse(stdout) as DoctorReport, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, report: JSON.parse(e.stdout) as DoctorReport, stderr: e.stderr };
  }
}

const version = (checks: DoctorReport['host'], name: string) => checks.find((c) => c.name === name)?.version;

describe('devteam doctor', () => {
  const dirs: Array<{ remove(): Promise<void> }> = [];
  // The local test image (no registry here); the script is idempotent.
  beforeAll(() => run(join(import.meta.dirname, '../../scripts/sandbox-image.sh'), ['devteam-sandbox:test']), 60_000);
  afterAll(async () => Promise.all(dirs.map((d) => d.remove())));

  it('reports versions on the host and inside the local sandbox, and exits 0', async () => {
    const { code, report } = await doctor(['--sandbox', 'local']);
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    expect(version(report.host, 'git')).toMatch(/^git version/);
    expect(version(report.host, 'node')).toBe(process.version);
    expect(version(report.host, 'bwrap')).toMatch(/^bubblewrap/);
    expect(report.sandbox?.driver).toBe('local');
    expect(version(report.sandbox!.checks, 'git')).toMatch(/^git version/);
    const aider = report.host.find((c) => c.name === 'aider');
    expect(aider).toMatchObject({ required: false, version: null });
  }, 60_000);

  it('checks inside the docker sandbox and fails clearly when its image is missing', async () => {
    const ok = await doctor(['--sandbox', 'docker', '--sandbox-image', 'devteam-sandbox:test', '--sandbox-network', 'host', '--sandbox-binds', '/usr:/usr']);
    expect(ok.code).toBe(0);
    expect(version(ok.report.host, 'docker engine')).toMatch(/^Docker Engine/);
    expect(version(ok.report.sandbox!.checks, 'node')).toMatch(/^v\d+/);
    const missing = await doctor(['--sandbox', 'docker', '--sandbox-image', 'devteam-no-such-image:1']);
    expect(missing.code).toBe(1);
    expect(missing.report.sandbox!.checks[0]).toMatchObject({ required: true, version: null, problem: expect.stringContaining('devteam-no-such-image:1') });
  }, 60_000);

  it('exits 1 when git is missing on the host', async () => {
    const dir = await tempDir('doctor-path');
    dirs.push(dir);
    const bin = join(dir.path, 'bin');
    await mkdir(bin);
    for (const tool of ['sh', 'head', 'node']) await symlink(tool === 'node' ? process.execPath : `/usr/bin/${tool}`, join(bin, tool));
    const { code, report } = await doctor(['--sandbox', 'none'], { PATH: bin });
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.host.find((c) => c.name === 'git')).toMatchObject({ required: true, version: null });
    // The host runner's commands have their own PATH: the host's /usr/bin git is found there.
    expect(report.sandbox.driver).toBe('none');
  }, 60_000);
});
