// VERIFY skips `npm ci` only when nothing it installs from changed and node_modules is exactly as
// the last passing verification left it: a byte the agent rewrote (even with the same size and
// mtime), a changed lockfile or package.json, a failed verification — each installs fresh.
import { mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InstallReuse, isNpmCi } from '../../src/steps/install-reuse.js';

const CI = ['npm', 'ci'];
const BUILD = ['npm', 'run', 'build'];
let root: string;
let repo: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'install-reuse-'));
  repo = join(root, 'repo');
  await mkdir(join(root, 'git'), { recursive: true });
  await mkdir(join(repo, 'node_modules', 'vite', 'bin'), { recursive: true });
  await writeFile(join(repo, 'package.json'), '{"name":"p"}');
  await writeFile(join(repo, 'package-lock.json'), '{"lockfileVersion":3}');
  await writeFile(join(repo, 'node_modules', 'vite', 'bin', 'vite.js'), 'build()');
});
afterEach(() => rm(root, { recursive: true, force: true }));

/** One verification: what it would skip, then its verdict recorded. */
async function verification(passed = true): Promise<boolean> {
  const reuse = await InstallReuse.open(repo);
  const skipped = await reuse.skips(CI);
  await reuse.settle(passed, [CI, BUILD]);
  return skipped;
}

describe('install reuse', () => {
  it('only `npm ci` (with harmless flags) is ever skipped', () => {
    expect(isNpmCi(['npm', 'ci'])).toBe(true);
    expect(isNpmCi(['npm', 'ci', '--prefer-offline'])).toBe(true);
    expect(isNpmCi(['npm', 'ci', '--prefix', 'sub'])).toBe(false);
    expect(isNpmCi(['npm', 'install'])).toBe(false);
  });

  it('skips after a passing verification when nothing changed', async () => {
    expect(await verification()).toBe(false); // cold: nothing recorded
    expect(await verification()).toBe(true);
    expect(await verification()).toBe(true);
    expect(await (await InstallReuse.open(repo)).skips(BUILD)).toBe(false);
  });

  it('installs fresh when the agent rewrote a file in node_modules, even with the same size and mtime', async () => {
    await verification();
    const file = join(repo, 'node_modules', 'vite', 'bin', 'vite.js');
    // Same length as before, and the old times set back: only the ctime tells.
    await writeFile(file, 'pass();');
    await utimes(file, new Date(0), new Date(0));
    expect(await verification()).toBe(false);
  });

  it('installs fresh when an entry was added to node_modules, or node_modules is gone', async () => {
    await verification();
    await writeFile(join(repo, 'node_modules', '.planted'), 'x');
    expect(await verification()).toBe(false);
    await rm(join(repo, 'node_modules'), { recursive: true });
    expect(await verification()).toBe(false);
  });

  it('installs fresh when package.json, the lockfile or .npmrc changed', async () => {
    await verification();
    await writeFile(join(repo, 'package-lock.json'), '{"lockfileVersion":3,"x":1}');
    expect(await verification()).toBe(false);
    expect(await verification()).toBe(true);
    await writeFile(join(repo, 'package.json'), '{"name":"q"}');
    expect(await verification()).toBe(false);
    await writeFile(join(repo, '.npmrc'), 'registry=http://127.0.0.1:9/');
    expect(await verification()).toBe(false);
  });

  it('a failed verification forgets the install, and the record is out of the work tree', async () => {
    await verification();
    expect(await verification(false)).toBe(true);
    expect(await verification()).toBe(false);
    expect(JSON.parse(await readFile(join(root, 'git', 'devteam-install.json'), 'utf8'))).toHaveProperty('tree');
  });

  it('a lockfile that is a symlink is never trusted for reuse', async () => {
    await rm(join(repo, 'package-lock.json'));
    await writeFile(join(root, 'lock'), '{}');
    await symlink(join(root, 'lock'), join(repo, 'package-lock.json'));
    await verification();
    expect(await verification()).toBe(false);
  });
});
