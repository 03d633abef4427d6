// The host paths a sandbox shows read-only besides its system: the operator's extra binds and the
// agent CLIs' install folders, each checked never to expose a protected path (the data directory,
// the repository caches), whatever symlinks lead there.
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { SandboxError } from './sandbox.js';

/** A host path shown read-only inside the sandbox at `inside`. */
export interface ReadOnlyBind {
  host: string;
  inside: string;
}

/** Parses `host:inside[:ro]` binds (DEVTEAM_SANDBOX_BINDS); both paths absolute. */
export function parseBinds(binds: readonly string[]): ReadOnlyBind[] {
  return binds.map((bind) => {
    const [host, inside, mode, ...rest] = bind.split(':');
    const valid = host?.startsWith('/') && inside?.startsWith('/') && (mode === undefined || mode === 'ro') && rest.length === 0;
    if (!valid || host === undefined || inside === undefined) throw new SandboxError('invalid_sandbox_spec', `bind "${bind}" must be /host/path:/sandbox/path`, { bind });
    return { host: posix.normalize(host), inside: posix.normalize(inside) };
  });
}

/** A symlink the sandbox needs at `path` (an agent directory configured through a symlink). */
export interface SymlinkAlias {
  path: string;
  target: string;
}

export interface AgentInstalls {
  binds: ReadOnlyBind[];
  /**
   * Agent directories whose configured path is not their real path: the sandbox needs a symlink
   * there, so that their relative links resolve from the real place as on the host.
   */
  aliases: SymlinkAlias[];
}

/**
 * What the agent CLIs on the agent path need: each directory at its own path, and for each entry
 * that is a symlink (node_modules/.bin/claude -> ../@anthropic-ai/claude-code/cli.js, ~/.local/bin/x
 * -> a version folder) the install it resolves into, since the CLI loads files next to it.
 * `visible` says what the sandbox shows anyway (the local driver's /usr): not bound again.
 */
export async function agentInstalls(agentPaths: readonly string[], visible: (path: string) => boolean = () => false): Promise<AgentInstalls> {
  const binds: ReadOnlyBind[] = [];
  const aliases: SymlinkAlias[] = [];
  for (const dir of agentPaths) {
    const real = await realpath(dir).catch(() => null);
    // A directory that is not on this host (yet) puts nothing on PATH: nothing to show.
    if (!real || !(await isDirectory(real))) continue;
    // npm and pnpm link .bin entries to packages anywhere under the node_modules that holds .bin.
    const home = posix.basename(real) === '.bin' && posix.basename(posix.dirname(real)) === 'node_modules' ? posix.dirname(real) : real;
    if (!visible(home)) binds.push({ host: home, inside: home });
    if (real !== posix.normalize(dir) && !visible(dir)) aliases.push({ path: posix.normalize(dir), target: real });
    // An install prefix (npm -g --prefix, pip --user, a virtualenv): <prefix>/bin scripts load <prefix>/lib.
    const lib = posix.join(posix.dirname(real), 'lib');
    if (posix.basename(real) === 'bin' && deep(posix.dirname(real)) && !visible(lib) && (await isDirectory(lib))) binds.push({ host: lib, inside: lib });
    for (const entry of await readdir(real, { withFileTypes: true })) {
      if (!entry.isSymbolicLink()) continue;
      const target = await realpath(posix.join(real, entry.name)).catch(() => null);
      if (!target) continue;
      const root = await installRoot(target);
      if (!visible(root)) binds.push({ host: root, inside: root });
    }
  }
  return { binds: coalesce(binds), aliases };
}

/**
 * The folder a CLI's real file belongs to: the outermost node_modules (its dependencies are
 * resolved up to there), a Python virtualenv, a package, else its own folder. Never a top-level
 * directory (/opt, /home): then only the file itself.
 */
async function installRoot(file: string): Promise<string> {
  const ancestors: string[] = [];
  for (let dir = posix.dirname(file); dir !== '/'; dir = posix.dirname(dir)) ancestors.push(dir);
  const modules = ancestors.filter((d) => posix.basename(d) === 'node_modules').at(-1);
  if (modules && deep(modules)) return modules;
  for (const marker of ['pyvenv.cfg', 'package.json']) {
    for (const dir of ancestors) {
      if (!deep(dir)) break;
      if (await exists(posix.join(dir, marker))) return dir;
    }
  }
  return deep(posix.dirname(file)) ? posix.dirname(file) : file;
}

/** Below a top-level directory: /opt/x, not /opt. */
function deep(dir: string): boolean {
  return dir.split('/').length > 2;
}

/** Drops binds that another bind already shows at the same place. */
function coalesce(binds: readonly ReadOnlyBind[]): ReadOnlyBind[] {
  const kept: ReadOnlyBind[] = [];
  for (const b of [...binds].sort((x, y) => x.inside.length - y.inside.length)) {
    const covered = kept.some((k) => {
      const suffix = within(b.inside, k.inside);
      return suffix !== null && posix.join(k.host, suffix) === b.host;
    });
    if (!covered) kept.push(b);
  }
  return kept;
}

/**
 * Refuses binds that would show a protected path: a bind of the path itself, of a folder inside
 * it, or of a folder that contains it, compared by real path so a symlink cannot hide either.
 */
export async function checkBinds(binds: readonly ReadOnlyBind[], protectedPaths: readonly string[]): Promise<void> {
  const guarded = await Promise.all(protectedPaths.map(canonical));
  for (const bind of binds) {
    const host = await canonical(bind.host);
    if (host === '/') throw new SandboxError('invalid_sandbox_spec', `bind "${bind.host}" would show the whole host`, { bind: bind.host });
    const hit = guarded.find((p) => within(host, p) !== null || within(p, host) !== null);
    if (hit) {
      throw new SandboxError('invalid_sandbox_spec', `bind "${bind.host}" would show ${hit} (the data directory or repository caches) inside the sandbox`, {
        bind: bind.host,
        protectedPath: hit,
      });
    }
  }
}

/** A workspace lives inside the repository caches; one that contains a protected path shows it. */
export async function checkWorkspace(workspace: string, protectedPaths: readonly string[]): Promise<void> {
  const ws = await canonical(workspace);
  for (const p of await Promise.all(protectedPaths.map(canonical))) {
    if (within(p, ws) !== null) {
      throw new SandboxError('invalid_sandbox_spec', 'workspace contains the data directory or the repository caches', { workspace, protectedPath: p });
    }
  }
}

/** The path below `dir` ('' for dir itself), or null when `path` is not inside it. */
export function within(path: string, dir: string): string | null {
  if (path === dir) return '';
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return path.startsWith(prefix) ? path.slice(prefix.length) : null;
}

/** The real path; for a path that does not exist, its real parent joined with the rest. */
export async function canonical(path: string): Promise<string> {
  const absolute = posix.resolve(path);
  const real = await realpath(absolute).catch(() => null);
  if (real) return real;
  const parent = posix.dirname(absolute);
  return parent === absolute ? absolute : posix.join(await canonical(parent), posix.basename(absolute));
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}
