// Which repository URLs a tenant may name (repository.url). Allowed: https://, ssh://, git:// and
// scp-like [user@]host:path; file:// URLs and absolute paths only inside roots the operator opened
// (DEVTEAM_FILE_REMOTE_ROOTS), never the data directory or the repository cache. Refused: http://
// (token and code in clear text), credentials in the URL, transport helpers (ext::, fd::), any
// whitespace or control character, and any host, user or path part starting with "-", which git
// or ssh could read as an option (--upload-pack=…, -oProxyCommand=…).
// See ai_docs/decisions/0014-repository-url-policy.md.
import { posix } from 'node:path';

export const MAX_REPOSITORY_URL_LENGTH = 2048;

export interface FileRemotePolicy {
  /** Absolute directories under which file remotes may live; empty → file remotes are refused. */
  roots: readonly string[];
  /** Absolute directories a file remote may never be in (nor contain): the data dir, the repository cache. */
  forbidden: readonly string[];
}

export const NO_FILE_REMOTES: FileRemotePolicy = { roots: [], forbidden: [] };

export type RepositoryUrl =
  | { kind: 'network'; scheme: 'https' | 'ssh' | 'git'; user: string | null; host: string; port: number | null; path: string }
  | { kind: 'scp'; user: string | null; host: string; path: string }
  /** path: absolute and normalized (no "." parts, no "//", no trailing "/"). */
  | { kind: 'file'; path: string };

export type ParsedRepositoryUrl = { ok: true; url: RepositoryUrl } | { ok: false; problem: string };

const PRINTABLE_ASCII = /^[\x21-\x7e]*$/;
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
const HOST = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9A-Fa-f:.]+\\])$`);
const USER = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*$/;
const TRANSPORT_HELPER = /^[A-Za-z][A-Za-z0-9+.-]*::/;
const SCP = /^(?:([^@/:]+)@)?(\[[^\]/]+\]|[^@/:[\]]+):(.*)$/;
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
const ALLOWED = 'https://, ssh://, git:// or user@host:path (file:// only where the operator allows it)';

/** The URL's syntax, whatever the file policy; `problem` says why it is refused. */
export function parseRepositoryUrl(value: string): ParsedRepositoryUrl {
  if (value === '') return refused('must not be empty');
  if (value.length > MAX_REPOSITORY_URL_LENGTH) return refused(`must be at most ${MAX_REPOSITORY_URL_LENGTH} characters`);
  if (!PRINTABLE_ASCII.test(value)) return refused('must be printable ASCII: no spaces, control characters or non-ASCII (percent-encode them)');
  if (TRANSPORT_HELPER.test(value)) return refused('must not use a git transport helper (<transport>::<address>)');
  if (value.startsWith('-')) return refused('must not start with "-"');
  const scheme = SCHEME.exec(value)?.[1];
  if (scheme !== undefined) {
    if (scheme !== scheme.toLowerCase()) return refused(`must write the scheme in lower case (${scheme.toLowerCase()}://)`);
    const rest = value.slice(scheme.length + 3);
    if (scheme === 'file') return fileUrl(rest);
    if (scheme === 'https' || scheme === 'ssh' || scheme === 'git') return networkUrl(scheme, rest);
    if (scheme === 'http') return refused('must not be http:// (the token and the code would travel in clear text): use https:// or ssh://');
    return refused(`must be ${ALLOWED}, not ${scheme}://`);
  }
  if (value.startsWith('/')) return localPath(value);
  const scp = SCP.exec(value);
  if (scp) return scpUrl(scp[1] ?? null, scp[2]!, scp[3]!);
  return refused(`must be ${ALLOWED}; a relative path is not a repository URL`);
}

/** Why the tenant may not use `value` under `policy`, or null when it may. */
export function repositoryUrlProblem(value: string, policy: FileRemotePolicy = NO_FILE_REMOTES): string | null {
  const parsed = parseRepositoryUrl(value);
  if (!parsed.ok) return parsed.problem;
  return parsed.url.kind === 'file' ? fileRemotePathProblem(parsed.url.path, policy) : null;
}

/**
 * Why a local remote at `path` (absolute, normalized) is not allowed: it must be strictly inside
 * a root and neither inside nor above a forbidden directory. Also for re-checking the real path
 * (symlinks resolved) just before a clone.
 */
export function fileRemotePathProblem(path: string, policy: FileRemotePolicy): string | null {
  if (policy.roots.length === 0) return 'must not be a local path or file:// URL: file remotes are off (the operator enables them with DEVTEAM_FILE_REMOTE_ROOTS)';
  const roots = policy.roots.map(normalizeDir);
  if (!roots.some((root) => isStrictlyInside(path, root))) return `must be strictly inside one of the allowed file remote roots (${roots.join(', ')})`;
  for (const dir of policy.forbidden.map(normalizeDir)) {
    if (path === dir || isStrictlyInside(path, dir) || isStrictlyInside(dir, path)) return 'must not be inside (or contain) the data directory or the repository cache';
  }
  return null;
}

function networkUrl(scheme: 'https' | 'ssh' | 'git', rest: string): ParsedRepositoryUrl {
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  let user: string | null = null;
  let hostPort = authority;
  const at = authority.lastIndexOf('@');
  if (at !== -1) {
    user = authority.slice(0, at);
    hostPort = authority.slice(at + 1);
    if (scheme !== 'ssh' || user.includes(':')) return refused('must not contain credentials: name a token with credentials.tokenEnv instead');
    if (user.startsWith('-') || !USER.test(user)) return refused('has an invalid user name (letters, digits, ".", "_", "-" not first)');
  }
  const portMatch = /^(.*?)(?::(\d{1,5}))?$/.exec(hostPort)!;
  const host = portMatch[1]!;
  const port = portMatch[2] === undefined ? null : Number(portMatch[2]);
  if (host.startsWith('-') || !HOST.test(host)) return refused(`has an invalid host "${host.slice(0, 100)}" (a DNS name or [IPv6], not starting with "-")`);
  if (port !== null && (port < 1 || port > 65535)) return refused('has a port outside 1-65535');
  if (path === '' || path === '/') return refused('must name a repository path after the host');
  const problem = pathProblem(path, { percent: true });
  return problem ? refused(problem) : { ok: true, url: { kind: 'network', scheme, user, host: host.toLowerCase(), port, path } };
}

function scpUrl(user: string | null, host: string, path: string): ParsedRepositoryUrl {
  if (user !== null && (user.startsWith('-') || !USER.test(user))) return refused('has an invalid user name (letters, digits, ".", "_", "-" not first)');
  if (host.startsWith('-') || !HOST.test(host)) return refused(`has an invalid host "${host.slice(0, 100)}" (a DNS name or [IPv6], not starting with "-")`);
  if (path === '') return refused('must name a repository path after "host:"');
  if (path.startsWith(':')) return refused('must not use a git transport helper (<transport>::<address>)');
  // user:password@host:path would parse as host "user": refuse what looks like credentials.
  if (path.includes(':')) return refused('must not contain ":" after "host:" (credentials are never part of the URL)');
  const problem = pathProblem(path, { percent: false });
  return problem ? refused(problem) : { ok: true, url: { kind: 'scp', user, host: host.toLowerCase(), path } };
}

function fileUrl(rest: string): ParsedRepositoryUrl {
  if (!rest.startsWith('/')) return refused('must be file:///absolute/path (no host, nothing relative)');
  return localPath(rest);
}

function localPath(path: string): ParsedRepositoryUrl {
  const problem = pathProblem(path, { percent: false });
  if (problem) return refused(problem);
  return { ok: true, url: { kind: 'file', path: normalizeDir(path) } };
}

/** Path rules shared by every form: no "..", no part starting with "-", no query or fragment. */
function pathProblem(path: string, opts: { percent: boolean }): string | null {
  if (/[?#]/.test(path)) return 'must not contain "?" or "#"';
  if (/["'`<>\\{}|^]/.test(path)) return 'must not contain quotes, backslashes or any of < > { } | ^';
  if (path.includes('%') && !opts.percent) return 'must not contain "%" (percent-encoding is not decoded here)';
  if (opts.percent && /%(?![0-9A-Fa-f]{2})/.test(path)) return 'has an invalid percent-encoding';
  const parts = (opts.percent ? decodeParts(path) : path).split('/');
  if (parts.includes('..')) return 'must not contain ".." parts';
  const dashed = parts.find((p) => p.startsWith('-'));
  if (dashed !== undefined) return `no part may start with "-" ("${dashed.slice(0, 100)}")`;
  return null;
}

/** Percent-decoded, so "%2e%2e" and "%2d" are judged as what the server will see. */
function decodeParts(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function normalizeDir(path: string): string {
  const normal = posix.normalize(path);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

function isStrictlyInside(path: string, dir: string): boolean {
  return dir === '/' ? path !== '/' && path.startsWith('/') : path.startsWith(`${dir}/`);
}

function refused(problem: string): ParsedRepositoryUrl {
  return { ok: false, problem };
}
