// An exclusive, pid-stamped lock file that keeps a second process from opening the same embedded
// database directory: PGlite has no inter-process locking of its own and two writers corrupt it.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';

export const LOCK_FILE_NAME = 'pgdata.lock';

export class DatabaseInUseError extends Error {
  readonly code = 'database_in_use' as const;
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    readonly lockFile: string,
    readonly host: string,
  ) {
    super(`the embedded database in ${dataDir} is in use by pid ${pid}${host === hostname() ? '' : ` on ${host}`}`);
    this.name = 'DatabaseInUseError';
  }
}

export interface DataDirLock {
  readonly file: string;
  /** Removes the lock file if it is still ours; safe to call more than once. */
  release(): Promise<void>;
}

interface LockContent {
  pid: number;
  host: string;
  token: string;
  startedAt: string;
}

/**
 * Takes the lock or throws DatabaseInUseError. A lock left by a process that no longer exists
 * (crash, SIGKILL) is taken over. The lock file is written complete under a temporary name and
 * then hard-linked into place, so a reader never sees a half-written lock and treats it as stale.
 * Residual race (no compare-and-unlink on POSIX): two processes taking over the same stale lock,
 * or a lock released and retaken, in the same instant; acceptable for a single-host database.
 */
export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  const file = join(dataDir, LOCK_FILE_NAME);
  const content: LockContent = {
    pid: process.pid,
    host: hostname(),
    token: randomUUID(),
    startedAt: new Date().toISOString(),
  };
  const temp = `${file}.${process.pid}.${content.token}`;
  await writeFile(temp, JSON.stringify(content), { flag: 'wx' });
  try {
    // Two rounds: the first may find a stale lock and remove it, the second must win or lose.
    for (let round = 0; round < 2; round++) {
      try {
        await link(temp, file);
        return lockHandle(file, content.token);
      } catch (error) {
        if (!isErrno(error, 'EEXIST')) throw error;
      }
      const holder = await readLock(file);
      if (holder && isAlive(holder)) {
        throw new DatabaseInUseError(dataDir, holder.pid, file, holder.host);
      }
      await unlink(file).catch((error: unknown) => {
        if (!isErrno(error, 'ENOENT')) throw error;
      });
    }
    const holder = await readLock(file);
    throw new DatabaseInUseError(dataDir, holder?.pid ?? -1, file, holder?.host ?? hostname());
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

function lockHandle(file: string, token: string): DataDirLock {
  let released = false;
  return {
    file,
    async release() {
      if (released) return;
      released = true;
      // Only remove a lock that still carries our token: never delete someone else's.
      const holder = await readLock(file);
      if (holder?.token === token) await unlink(file).catch(() => undefined);
    },
  };
}

async function readLock(file: string): Promise<LockContent | null> {
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    if (
      typeof parsed === 'object' && parsed !== null &&
      typeof (parsed as LockContent).pid === 'number' &&
      typeof (parsed as LockContent).host === 'string' &&
      typeof (parsed as LockContent).token === 'string'
    ) {
      return parsed as LockContent;
    }
    return null; // unreadable content cannot name a live holder: treat as stale
  } catch (error) {
    if (isErrno(error, 'ENOENT') || error instanceof SyntaxError) return null;
    throw error;
  }
}

function isAlive(holder: LockContent): boolean {
  // A pid from another host (data dir on a shared volume) cannot be checked: assume it is alive.
  if (holder.host !== hostname()) return true;
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return !isErrno(error, 'ESRCH');
  }
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
