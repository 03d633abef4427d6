// "Did anything in this tree change since T?" — for the stall watchdog (decision 0026), answered by
// a bounded breadth-first lstat walk comparing ctimes. ctime, not mtime: the kernel sets it on every
// write, rename, chmod or utimes and no process can set it back, so an agent cannot fake activity
// by dating files in the future, nor hide it by dating them in the past. lstat only: symlinks are
// never followed, so a hostile tree (loops, links to / ) costs at most `maxEntries` lstat calls.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Entries looked at per walk: ~50 ms on this kind of machine; a bigger tree is seen only in part (the shallow part). */
export const DEFAULT_MAX_SCAN_ENTRIES = 20_000;

/**
 * The ctime (ms) of an entry of `root` changed after `sinceMs` — the first found, not the newest —
 * or null when none of the entries looked at changed. A directory's ctime moves when an entry is
 * created, removed or renamed in it, so deletions count too.
 */
export async function changedSince(root: string, sinceMs: number, maxEntries = DEFAULT_MAX_SCAN_ENTRIES): Promise<number | null> {
  let seen = 0;
  let level = [root];
  while (level.length > 0 && seen < maxEntries) {
    const next: string[] = [];
    for (const dir of level) {
      const names = await readdir(dir).catch(() => [] as string[]);
      const batch = names.slice(0, Math.max(0, maxEntries - seen)).map((name) => join(dir, name));
      seen += batch.length;
      const stats = await Promise.all(batch.map((path) => lstat(path).then((s) => ({ path, s }), () => null)));
      for (const entry of stats) {
        if (!entry) continue;
        if (entry.s.ctimeMs > sinceMs) return entry.s.ctimeMs;
        if (entry.s.isDirectory()) next.push(entry.path);
      }
      if (seen >= maxEntries) break;
    }
    level = next;
  }
  const self = await lstat(root).catch(() => null);
  return self && self.ctimeMs > sinceMs ? self.ctimeMs : null;
}
