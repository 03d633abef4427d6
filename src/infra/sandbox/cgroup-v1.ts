// cgroup v1 plumbing for the local sandbox: per-project groups that hold the limits, and one child
// group per command, so "kill everything this command started" is "kill every pid in its group".
import { access, mkdir, readFile, readdir, rmdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SandboxLimits } from './sandbox.js';

export const CONTROLLERS = ['memory', 'cpu', 'pids'] as const;
export type Controller = (typeof CONTROLLERS)[number];

export const CFS_PERIOD_US = 100_000;
export const PIDS_MAX = 4096;

/** The directories of one group, one per controller. */
export type CgroupDirs = Record<Controller, string>;

export function cgroupDirs(root: string, ...path: string[]): CgroupDirs {
  return { memory: join(root, 'memory', ...path), cpu: join(root, 'cpu', ...path), pids: join(root, 'pids', ...path) };
}

/** True when every controller is a writable v1 hierarchy (root on a v1 host); creates the prefix groups. */
export async function cgroupsUsable(root: string, prefix: string): Promise<boolean> {
  try {
    const dirs = cgroupDirs(root, prefix);
    for (const c of CONTROLLERS) {
      await access(join(root, c, 'cgroup.procs'));
      await mkdir(dirs[c], { recursive: true });
    }
    await access(join(dirs.memory, 'memory.limit_in_bytes'));
    return true;
  } catch {
    return false;
  }
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

export async function setMemoryLimit(memoryDir: string, memoryMb: number): Promise<void> {
  const bytes = String(Math.round(memoryMb * 1024 * 1024));
  // memsw must stay >= limit; lowering memsw first would fail when the old limit is higher, so
  // raise memsw to unlimited, set the limit, then pin memsw to it so swap cannot bypass it.
  const memsw = join(memoryDir, 'memory.memsw.limit_in_bytes');
  const hasMemsw = await exists(memsw);
  if (hasMemsw) await writeFile(memsw, '-1');
  await writeFile(join(memoryDir, 'memory.limit_in_bytes'), bytes);
  if (hasMemsw) await writeFile(memsw, bytes);
}

/**
 * Creates (or re-limits) a project's group. Returns whether memory hierarchy is on, i.e. whether
 * children are charged against the project's limit; if not, each command's group needs the limit.
 */
export async function createProjectCgroup(dirs: CgroupDirs, limits: SandboxLimits): Promise<boolean> {
  for (const c of CONTROLLERS) await mkdir(dirs[c], { recursive: true });
  // use_hierarchy can only be switched while the group has no children, and is read-only (EINVAL)
  // when inherited from a hierarchical parent: only write it when it is off.
  const hierarchyFile = join(dirs.memory, 'memory.use_hierarchy');
  if ((await readText(hierarchyFile))?.trim() !== '1') await writeFile(hierarchyFile, '1').catch(() => undefined);
  const hierarchical = (await readText(hierarchyFile))?.trim() === '1';
  await setMemoryLimit(dirs.memory, limits.memoryMb);
  await writeFile(join(dirs.cpu, 'cpu.cfs_period_us'), String(CFS_PERIOD_US));
  await writeFile(join(dirs.cpu, 'cpu.cfs_quota_us'), String(Math.max(1000, Math.round(limits.cpus * CFS_PERIOD_US))));
  await writeFile(join(dirs.pids, 'pids.max'), String(PIDS_MAX));
  return hierarchical;
}

/** Not recursive on purpose: a project removed meanwhile must fail here, not be recreated without limits. */
export async function createChildCgroup(dirs: CgroupDirs): Promise<void> {
  for (const c of CONTROLLERS) await mkdir(dirs[c]);
}

export function procsFiles(dirs: CgroupDirs): string[] {
  return CONTROLLERS.map((c) => join(dirs[c], 'cgroup.procs'));
}

async function pidsIn(dirs: CgroupDirs): Promise<number[]> {
  const all = new Set<number>();
  for (const c of CONTROLLERS) {
    for (const line of ((await readText(join(dirs[c], 'cgroup.procs'))) ?? '').split('\n')) {
      const pid = Number(line);
      if (Number.isInteger(pid) && pid > 0) all.add(pid);
    }
  }
  return [...all];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** SIGKILLs every process in the group until none is left (a forking loop may add new ones meanwhile). */
export async function killCgroup(dirs: CgroupDirs, maxWaitMs = 5_000): Promise<void> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const pids = await pidsIn(dirs);
    if (pids.length === 0 || Date.now() > deadline) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await sleep(20);
  }
}

/** Removes a group and its child groups (deepest first), killing anything still inside. */
export async function removeCgroupTree(dirs: CgroupDirs): Promise<void> {
  const children = new Set<string>();
  for (const c of CONTROLLERS) {
    const entries = await readdir(dirs[c], { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) children.add(e.name);
  }
  for (const child of children) {
    await removeCgroupTree({ memory: join(dirs.memory, child), cpu: join(dirs.cpu, child), pids: join(dirs.pids, child) });
  }
  await killCgroup(dirs);
  for (const c of CONTROLLERS) await rmdirRetry(dirs[c]);
}

async function rmdirRetry(dir: string): Promise<void> {
  // A just-killed process leaves its group a moment later than it dies: EBUSY is worth a retry.
  for (let attempt = 0; ; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || attempt >= 50) throw error;
      await sleep(20);
    }
  }
}

/** The counters that tell an out-of-memory kill happened in a group with a limit. */
export async function oomCounters(memoryDir: string): Promise<{ failcnt: number; oomKill: number }> {
  const failcnt = Number((await readText(join(memoryDir, 'memory.failcnt')))?.trim() ?? 0) || 0;
  const match = /^oom_kill (\d+)$/m.exec((await readText(join(memoryDir, 'memory.oom_control'))) ?? '');
  return { failcnt, oomKill: match ? Number(match[1]) : 0 };
}

/** Names of the project groups under the prefix (any controller), including leftovers of other processes. */
export async function listProjectCgroups(root: string, prefix: string): Promise<string[]> {
  const names = new Set<string>();
  for (const c of CONTROLLERS) {
    const entries = await readdir(join(root, c, prefix), { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) names.add(e.name);
  }
  return [...names].sort();
}

/**
 * Marks activity on a group: its directories' mtime, which any process of this runner can read
 * (cgroupfs does not change a group's mtime by itself, not even when child groups come and go).
 */
export async function touchCgroup(dirs: CgroupDirs): Promise<void> {
  const now = new Date();
  await Promise.all(CONTROLLERS.map((c) => utimes(dirs[c], now, now)));
}

/** The group's last activity (ms since epoch): the latest mtime of its directories; undefined when none exists. */
export async function cgroupActivity(dirs: CgroupDirs): Promise<number | undefined> {
  const times = await Promise.all(CONTROLLERS.map((c) => stat(dirs[c]).then((s) => s.mtimeMs, () => undefined)));
  const known = times.filter((t): t is number => t !== undefined);
  return known.length ? Math.max(...known) : undefined;
}

async function childGroups(dirs: CgroupDirs): Promise<CgroupDirs[]> {
  const names = new Set<string>();
  for (const c of CONTROLLERS) {
    for (const e of await readdir(dirs[c], { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) names.add(e.name);
  }
  return [...names].map((n) => ({ memory: join(dirs.memory, n), cpu: join(dirs.cpu, n), pids: join(dirs.pids, n) }));
}

/** True when no process is in the group or any group below it, in any controller. */
export async function cgroupTreeEmpty(dirs: CgroupDirs): Promise<boolean> {
  if ((await pidsIn(dirs)).length > 0) return false;
  for (const child of await childGroups(dirs)) if (!(await cgroupTreeEmpty(child))) return false;
  return true;
}

/**
 * Removes a group tree that holds no process, killing nothing: the kernel refuses (EBUSY) to
 * remove a group a process has entered meanwhile, and then this stops and returns false.
 */
export async function removeEmptyCgroupTree(dirs: CgroupDirs): Promise<boolean> {
  for (const child of await childGroups(dirs)) if (!(await removeEmptyCgroupTree(child))) return false;
  for (const c of CONTROLLERS) {
    try {
      await rmdir(dirs[c]);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      if (code === 'EBUSY' || code === 'ENOTEMPTY') return false;
      throw error;
    }
  }
  return true;
}
