// scripts/test-prerequisites.sh (npm test's `pretest`): as another user than root it changes nothing
// and names each missing piece with the command that installs it; with everything there it only says so.
import { execFile } from 'node:child_process';
import { chmod, readdir, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/services.js';

const SCRIPT = join(import.meta.dirname, '../../scripts/test-prerequisites.sh');
const NOBODY = '65534';

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function prerequisites(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<Outcome> {
  try {
    const { stdout, stderr } = await promisify(execFile)(argv[0]!, argv.slice(1), { env, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A directory of links to every tool on the usual PATH but `hidden`, readable by any user. */
async function pathWithout(dir: string, hidden: string[]): Promise<string> {
  await chmod(dir, 0o755);
  const seen = new Set(hidden);
  for (const from of [dirname(process.execPath), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    const names = await readdir(from).catch(() => []);
    for (const name of names) {
      if (seen.has(name)) continue;
      seen.add(name);
      await symlink(join(from, name), join(dir, name));
    }
  }
  return dir;
}

describe('test prerequisites', () => {
  const dirs: Array<{ remove(): Promise<void> }> = [];
  afterAll(async () => Promise.all(dirs.map((d) => d.remove())));

  it('as an unprivileged user names each missing tool with its install command, installs nothing, exits 1', async () => {
    const dir = await tempDir('prerequisites-path');
    dirs.push(dir);
    const bin = await pathWithout(dir.path, ['bwrap', 'strace']);
    const argv = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'bash', SCRIPT];
    const result = await prerequisites(argv, { PATH: bin, HOME: '/nonexistent', CI: 'true' });
    expect(result.code).toBe(1);
    const lines = result.stderr.split('\n');
    expect(lines).toContain('  bwrap: not installed — sudo apt-get install -y bubblewrap');
    expect(lines).toContain('  strace: not installed — sudo apt-get install -y strace');
    expect(lines).toContain('  not root: the local sandbox tests set cgroup limits — sudo npm test');
    // Present tools are not named; nothing was installed, started or built.
    expect(result.stderr).not.toMatch(/^ {2}git:/m);
    expect(result.stdout).not.toMatch(/installing|starting|building|letting/);
  }, 120_000);

  it('as root with everything there exits 0 and says everything is present', async () => {
    const result = await prerequisites(['bash', SCRIPT]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^test prerequisites: everything is present \(.*\) in [\d.]+ s\n$/);
  }, 120_000);
});
