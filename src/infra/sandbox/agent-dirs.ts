// Where the coding-agent CLIs are installed on this host: the operator's DEVTEAM_AGENT_PATH first,
// then the service's own PATH (an npm prefix, ~/.local/bin, a folder under /tmp). The folders
// that hold one are shown read-only in every sandbox and put first on its PATH, so a CLI the
// service finds is the CLI its sandboxed runs find.
import { accessSync, constants, statSync } from 'node:fs';
import { posix } from 'node:path';
import { AGENT_CLI_NAMES } from '../../project/index.js';
import { within } from './host-binds.js';
import { SYSTEM_DIRS } from './host-system.js';

/** Where each agent CLI was found on the host (its path on PATH, not resolved), or null. */
export type AgentCliPaths = Record<string, string | null>;

export interface AgentLocation {
  /** Directories shown read-only in the sandbox and put first on its PATH, in search order. */
  dirs: string[];
  /** Each CLI's host path, from the first directory of DEVTEAM_AGENT_PATH, then PATH, holding it. */
  found: AgentCliPaths;
}

export interface AgentSearch {
  /** DEVTEAM_AGENT_PATH: always shown (when they exist), whatever they hold. */
  agentPaths: readonly string[];
  /** The service's PATH: only its directories holding an agent CLI are shown. */
  servicePath?: string;
  /** Paths never shown (data directory, repository caches): a PATH entry inside one is skipped. */
  protectedPaths?: readonly string[];
  names?: readonly string[];
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The sandboxes show the host's system directories anyway (local), or their image's (docker). */
function isSystemDir(dir: string): boolean {
  return SYSTEM_DIRS.some((d) => within(dir, d) !== null);
}

function isProtected(dir: string, protectedPaths: readonly string[]): boolean {
  return protectedPaths.some((p) => within(dir, p) !== null || within(p, dir) !== null);
}

/**
 * Finds each agent CLI and the directories a sandbox must show for them. Relative PATH entries
 * ('' or '.') are ignored: they would name whatever directory a command runs in.
 */
export function locateAgents(search: AgentSearch): AgentLocation {
  const names = search.names ?? AGENT_CLI_NAMES;
  const explicit = search.agentPaths.filter((d) => posix.isAbsolute(d)).map((d) => posix.normalize(d));
  const fromPath = (search.servicePath ?? '')
    .split(':')
    .filter((d) => posix.isAbsolute(d))
    .map((d) => posix.normalize(d));
  const found: AgentCliPaths = {};
  const dirs = [...explicit];
  for (const name of names) {
    found[name] = null;
    for (const dir of [...explicit, ...fromPath]) {
      // A PATH entry inside the data directory is never shown, so a CLI there is not one runs can use.
      if (!explicit.includes(dir) && isProtected(dir, search.protectedPaths ?? [])) continue;
      const candidate = posix.join(dir, name);
      if (!isExecutableFile(candidate)) continue;
      found[name] = candidate;
      if (!isSystemDir(dir) && !dirs.includes(dir)) dirs.push(dir);
      break;
    }
  }
  return { dirs, found };
}

/** How long a location is reused: an install or removal is seen within this. */
const LOCATION_TTL_MS = 5_000;

/** `locateAgents` re-read at most every LOCATION_TTL_MS: what the drivers call per command. */
export function agentLocator(search: AgentSearch): () => AgentLocation {
  let cached: { at: number; location: AgentLocation } | undefined;
  return () => {
    const now = Date.now();
    if (!cached || now - cached.at > LOCATION_TTL_MS) cached = { at: now, location: locateAgents(search) };
    return cached.location;
  };
}
