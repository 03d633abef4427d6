// `devteam doctor --sandbox none` (what a developer without bubblewrap or Docker runs): the tools
// as the host runner's commands find them, and a plain statement that nothing is isolated.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../src/infra/doctor/index.js';
import { CLI } from '../support/cli-process.js';

const run = promisify(execFile);

describe('devteam doctor --sandbox none', () => {
  it('checks the tools through the host runner and exits 0 when git and node are there', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'doctor', '--json', '--sandbox', 'none'], { timeout: 60_000 });
    const report = JSON.parse(stdout) as DoctorReport;
    expect(report.ok).toBe(true);
    expect(report.sandbox?.driver).toBe('none');
    const inside = new Map(report.sandbox!.checks.map((c) => [c.name, c]));
    expect(inside.get('git')).toMatchObject({ required: true, version: expect.stringMatching(/^git version/) });
    expect(inside.get('node')).toMatchObject({ required: true, version: process.version });
    // Neither engine is needed by this driver.
    expect(report.host.find((c) => c.name === 'bwrap')?.required).toBe(false);
    expect(report.host.find((c) => c.name === 'docker engine')?.required).toBe(false);
  }, 60_000);

  it('says in its text report that commands run on the host without isolation', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'doctor', '--sandbox', 'none'], { timeout: 60_000 });
    expect(stdout).toMatch(/host runner \(DEVTEAM_SANDBOX=none\): no isolation, no limits/);
    expect(stdout).toMatch(/ok\s+git\s+git version/);
  }, 60_000);
});
