// The lock files git leaves behind when it is killed mid-write (`index.lock`, `ORIG_HEAD.lock`, a
// ref's `.lock`): every later command on that git directory then fails with "File exists".
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

const LOCKS = ['index.lock', 'HEAD.lock', 'ORIG_HEAD.lock', 'FETCH_HEAD.lock', 'MERGE_HEAD.lock', 'config.lock', 'packed-refs.lock', 'shallow.lock'];

/** Removes the lock files of `gitDir` (top level and under refs/) whose mtime `remove` accepts; returns their paths. */
export async function removeLocks(gitDir: string, remove: (mtimeMs: number) => boolean): Promise<string[]> {
  const removed: string[] = [];
  const consider = async (path: string) => {
    const info = await lstat(path).catch(() => null);
    if (info?.isFile() && remove(info.mtimeMs)) {
      await rm(path, { force: true });
      removed.push(path);
    }
  };
  for (const name of LOCKS) await consider(join(gitDir, name));
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.lock')) await consider(path);
    }
  };
  await walk(join(gitDir, 'refs'));
  return removed;
}
