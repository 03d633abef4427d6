// VERIFY's reuse of a dependency install (decision 0027): `npm ci` deletes node_modules and
// installs it again from the lockfile on every attempt of every task — most of a warm verify. It
// is skipped when nothing it depends on changed since the last verification that passed in this
// checkout: package.json, package-lock.json and .npmrc are byte for byte the same, and node_modules
// is exactly as that verification left it — every entry's path, inode, size, mode and ctime (which
// no process can set back), so a file the agent wrote, replaced or touched since forces a fresh
// install. The record lives in the runner's git directory, out of every sandbox's reach.
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gitDirOf } from '../infra/repo/index.js';

const RECORD = 'devteam-install.json';
/** What `npm ci` installs from: a change to any of them installs fresh. */
const INPUTS = ['package.json', 'package-lock.json', '.npmrc'];

/** `npm ci` as the install command, without options that move it elsewhere. */
export function isNpmCi(argv: readonly string[]): boolean {
  return argv[0] === 'npm' && argv[1] === 'ci' && argv.slice(2).every((a) => /^--(prefer-offline|no-audit|no-fund|silent|quiet)$/.test(a));
}

export class InstallReuse {
  private constructor(
    private readonly repoDir: string,
    private readonly record: string,
    /** The inputs' hash now, or null when there is no lockfile (nothing to reuse). */
    private readonly inputs: string | null,
  ) {}

  static async open(repoDir: string): Promise<InstallReuse> {
    return new InstallReuse(repoDir, join(gitDirOf(repoDir), RECORD), await inputsHash(repoDir));
  }

  /** Whether this command may be skipped: an `npm ci` whose inputs and node_modules are as the last passing verification left them. */
  async skips(argv: readonly string[]): Promise<boolean> {
    if (!isNpmCi(argv) || !this.inputs) return false;
    const last = await readFile(this.record, 'utf8').then((t) => JSON.parse(t) as { inputs?: string; tree?: string }, () => null);
    if (!last || last.inputs !== this.inputs) return false;
    return last.tree === (await treeHash(join(this.repoDir, 'node_modules')));
  }

  /** After the verification: a pass records what node_modules is now; anything else forgets it. */
  async settle(passed: boolean, argvs: readonly (readonly string[])[]): Promise<void> {
    if (!passed || !this.inputs || !argvs.some(isNpmCi)) {
      await rm(this.record, { force: true });
      return;
    }
    const tree = await treeHash(join(this.repoDir, 'node_modules'));
    if (tree) await writeFile(this.record, JSON.stringify({ inputs: this.inputs, tree }));
  }
}

async function inputsHash(repoDir: string): Promise<string | null> {
  const hash = createHash('sha256');
  for (const name of INPUTS) {
    const path = join(repoDir, name);
    const info = await lstat(path).catch(() => null);
    // A symlink could point anywhere on the host: such inputs are not trusted for reuse.
    if (info && !info.isFile()) return null;
    hash.update(`${name}\0${info ? (await readFile(path)).toString('base64') : '-'}\0`);
  }
  return (await lstat(join(repoDir, 'package-lock.json')).catch(() => null)) ? hash.digest('hex') : null;
}

/** Every entry under `dir` (not following symlinks) with what a write would change; null when absent. */
async function treeHash(dir: string): Promise<string | null> {
  const top = await lstat(dir).catch(() => null);
  if (!top?.isDirectory()) return null;
  const hash = createHash('sha256');
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(join(dir, rel))).sort();
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const s = await lstat(join(dir, path), { bigint: true });
      hash.update(`${path}\0${s.mode}\0${s.ino}\0${s.size}\0${s.ctimeNs}\0${s.mtimeNs}\0`);
      if (s.isSymbolicLink()) hash.update(`${await readlink(join(dir, path))}\0`);
      else if (s.isDirectory()) await walk(path);
    }
  };
  const d = await lstat(dir, { bigint: true });
  hash.update(`.\0${d.mode}\0${d.ino}\0${d.ctimeNs}\0`);
  await walk('');
  return hash.digest('hex');
}
