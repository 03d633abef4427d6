// The host's system as the local sandbox shows it: the system directories read-only (merged-usr
// symlinks as they are), /etc read-only with its secrets masked, and the file a link in /etc leads
// to for name resolution (resolv.conf -> /run/systemd/resolve/…). Nothing else of the host: no
// /home, /root, /srv, /var, /opt, /mnt, /media, /run, nor wherever the data directory lives.
import { lstat, readdir, readlink, realpath } from 'node:fs/promises';
import { posix } from 'node:path';
import { within, type ReadOnlyBind } from './host-binds.js';

/** Bound (or symlinked, as on the host) when present: what binaries and their libraries need. */
export const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'] as const;

/** Masked whatever their mode: password hashes, sudo rules, the host's ssh keys, TLS private keys. */
const ALWAYS_MASKED = ['shadow', 'shadow-', 'gshadow', 'gshadow-', 'sudoers', 'sudoers.d', 'ssh', 'ssl/private', 'security/opasswd'];

/** /etc entries that may be symlinks out of what the sandbox shows (systemd-resolved, resolvconf). */
const LINKED_OUT = ['resolv.conf', 'hosts', 'localtime'];

/** How deep the /etc walk goes; deeper trees are masked whole rather than walked. */
const MAX_DEPTH = 12;

/** More unreadable files than this directly in one directory: the directory is masked whole. */
const MAX_FILE_MASKS_PER_DIR = 16;

/** bwrap reads the (empty) content of masked files from these descriptors: 3, 4, … */
export const FIRST_MASK_FD = 3;

export interface HostSystem {
  /** bwrap arguments of the system directories and /etc (with its masks). */
  args: string[];
  /**
   * How many descriptors bwrap reads a masked file's content from (FIRST_MASK_FD on): the command
   * must be started with that many open, each at its end (bwrap closes each once read).
   */
  maskFds: number;
  /** Files outside /etc and the system directories that links in /etc lead to, bound where the link leads. */
  linkedOut: ReadOnlyBind[];
  /** Inside paths of /etc masked (a `/` suffix for directories): for logs and tests. */
  masked: string[];
}

/** Whether an inside path is one the sandbox shows from the host's system (not /tmp, /workspace). */
export function isSystemPath(path: string): boolean {
  return [...SYSTEM_DIRS, '/etc'].some((dir) => within(path, dir) !== null);
}

/**
 * `etc` is the host directory shown at /etc (another one only in tests). Its masks: every entry
 * only its owner or group may read (the sandbox runs as the runner's user, often root, who could
 * read them all), and ALWAYS_MASKED. A file is covered by an empty read-only file (bwrap's
 * --ro-bind-data; a bound /dev/null would be a device on a nodev mount and fail to open), a
 * directory by an empty read-only tmpfs.
 */
export async function readHostSystem(etc = '/etc'): Promise<HostSystem> {
  const args: string[] = [];
  for (const dir of SYSTEM_DIRS) {
    const info = await lstat(dir).catch(() => null);
    if (info?.isSymbolicLink()) args.push('--symlink', await readlink(dir), dir);
    else if (info?.isDirectory()) args.push('--ro-bind', dir, dir);
  }
  args.push('--ro-bind', etc, '/etc');
  const masked: string[] = [];
  for (const name of ALWAYS_MASKED) await maskEntry(etc, name, masked);
  masked.push(...(await findUnreadable(etc, '', masked, 0)));
  masked.sort();
  let maskFds = 0;
  for (const inside of masked) {
    if (inside.endsWith('/')) args.push('--tmpfs', inside.slice(0, -1), '--remount-ro', inside.slice(0, -1));
    else args.push('--ro-bind-data', String(FIRST_MASK_FD + maskFds++), inside);
  }
  const linkedOut: ReadOnlyBind[] = [];
  for (const name of LINKED_OUT) {
    const bind = await linkTarget(posix.join('/etc', name), etc).catch(() => null);
    if (bind && !linkedOut.some((b) => b.inside === bind.inside)) linkedOut.push(bind);
  }
  return { args, maskFds, linkedOut, masked };
}

async function maskEntry(etc: string, rel: string, masked: string[]): Promise<void> {
  const info = await lstat(posix.join(etc, rel)).catch(() => null);
  if (!info || info.isSymbolicLink()) return;
  const inside = posix.join('/etc', rel);
  if (info.isDirectory()) masked.push(`${inside}/`);
  else if (info.isFile()) masked.push(inside);
}

/** The masks below `rel` (inside paths, `/` suffix for directories), skipping those already masked. */
async function findUnreadable(etc: string, rel: string, skip: readonly string[], depth: number): Promise<string[]> {
  const entries = await readdir(posix.join(etc, rel), { withFileTypes: true }).catch(() => []);
  const found = await Promise.all(
    entries.map(async (entry): Promise<string[]> => {
      const childRel = posix.join(rel, entry.name);
      const inside = posix.join('/etc', childRel);
      if (skip.includes(inside) || skip.includes(`${inside}/`) || (!entry.isDirectory() && !entry.isFile())) return [];
      const info = await lstat(posix.join(etc, childRel)).catch(() => null);
      if (!info) return [];
      if (entry.isFile()) return (info.mode & 0o004) === 0 ? [inside] : [];
      // A directory others may not list and enter is hidden whole, and so is one too deep to walk.
      if ((info.mode & 0o005) !== 0o005 || depth >= MAX_DEPTH) return [`${inside}/`];
      return findUnreadable(etc, childRel, skip, depth + 1);
    }),
  );
  const masks = found.flat();
  // Each masked file costs a descriptor per command: a directory full of them (a key store) goes whole.
  const own = masks.filter((m) => !m.endsWith('/') && posix.dirname(m) === posix.join('/etc', rel));
  return rel !== '' && own.length > MAX_FILE_MASKS_PER_DIR ? [`${posix.join('/etc', rel)}/`] : masks;
}

/**
 * Follows `path` component by component as the sandbox's kernel will (the system directories and
 * /etc are the host's; everything else exists only where it is bound) and, when the chain leaves
 * them (e.g. /etc/resolv.conf -> ../run/systemd/resolve/stub-resolv.conf), the host file to bind at
 * the place it leads to. Null when the path resolves inside what the sandbox shows anyway.
 */
async function linkTarget(path: string, etc: string): Promise<ReadOnlyBind | null> {
  const hostOf = (inside: string) => {
    const rest = within(inside, '/etc');
    return rest === null ? inside : posix.join(etc, rest);
  };
  const pending = path.split('/').filter(Boolean);
  let current = '/';
  for (let hops = 0; pending.length > 0; ) {
    const next = posix.join(current, pending.shift()!);
    if (!isSystemPath(next)) {
      const inside = posix.join(next, ...pending);
      const host = await realpath(inside);
      return (await lstat(host)).isFile() ? { host, inside } : null;
    }
    const info = await lstat(hostOf(next));
    if (!info.isSymbolicLink()) {
      current = next;
      continue;
    }
    if (++hops > 40) return null;
    const target = await readlink(hostOf(next));
    pending.unshift(...target.split('/').filter(Boolean));
    if (target.startsWith('/')) current = '/';
  }
  return null;
}
