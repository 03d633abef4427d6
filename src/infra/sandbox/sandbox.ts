// The per-project sandbox: one isolated, resource-limited place per (tenant, project) where the
// agent and the build run, with the project's checkout mounted at WORKSPACE. Drivers: docker
// (a long-lived container per project), local (bubblewrap + cgroups on this host) and none (the
// host runner: the same interface on the host, without isolation or limits).
import { createHash } from 'node:crypto';
import { AGENT_CLI_NAMES } from '../../project/index.js';

/** PATH of commands inside a sandbox (callers may put directories before it, e.g. agent CLIs). */
export const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** PATH of every command in a sandbox: the agent install folders (DEVTEAM_AGENT_PATH, then those found on the service's PATH) first. */
export function searchPath(agentPaths: readonly string[]): string {
  return [...agentPaths, SANDBOX_PATH].join(':');
}

/**
 * Where the project's checkout appears inside the docker and local sandboxes. Callers building
 * paths for a command use ProjectSandbox.workspacePath, which is the host path for the host runner.
 */
export const WORKSPACE = '/workspace';

export type SandboxDriverName = 'docker' | 'local' | 'none';

/**
 * The agent install folders a driver shows and puts first on PATH: a fixed list, or a function
 * read again per command (the service's PATH is searched anew, so a CLI installed later is found).
 */
export type AgentDirs = readonly string[] | (() => readonly string[]);

export function agentDirsOf(dirs: AgentDirs | undefined): () => readonly string[] {
  if (typeof dirs === 'function') return dirs;
  const fixed = dirs ?? [];
  return () => fixed;
}

export interface SandboxLimits {
  /** CPUs (fractions allowed): 1 = one full core. */
  cpus: number;
  memoryMb: number;
}

export interface SandboxSpec {
  tenant: string;
  projectId: string;
  /** Host directory mounted read-write at WORKSPACE (the repository cache's checkout dir). */
  workspace: string;
  limits: SandboxLimits;
  /**
   * With parallelism > 1 (decision 0028): the lane, which gets a sandbox of its own (its own name,
   * container or cgroup, its share of the project's limits) mounting the lane's worktree.
   */
  lane?: number;
}

export type OutputStream = 'stdout' | 'stderr';

export interface ExecOptions {
  /** Working directory inside the sandbox; relative paths are under workspacePath. Default workspacePath. */
  cwd?: string;
  /** Extra environment of this command only (e.g. a model key); never persisted or logged. */
  env?: Record<string, string>;
  /** Hard limit; on expiry everything the command started is killed. */
  timeoutMs: number;
  /** Aborting kills everything the command started inside the sandbox. */
  signal?: AbortSignal;
  /** Called once per complete output line, in order per stream. */
  onLine?: (stream: OutputStream, line: string) => void;
  /** Bytes of stdout and of stderr kept in the result (the tail is kept); default 1 MiB each. */
  maxOutputBytes?: number;
}

export interface ExecResult {
  /** Exit code, or null when the command was killed by a signal. */
  exitCode: number | null;
  /** 'completed' (exited by itself), 'timeout', 'cancelled' (signal aborted) or 'oom' (memory limit). */
  outcome: 'completed' | 'timeout' | 'cancelled' | 'oom';
  stdout: string;
  stderr: string;
  /** True when stdout or stderr was longer than maxOutputBytes and its head was dropped. */
  truncated: boolean;
  durationMs: number;
}

export interface ToolVersion {
  name: string;
  /** First line of `<tool> --version`, or null when the tool is absent. */
  version: string | null;
  /** Where the place's PATH found it (`command -v`), or null when absent. */
  path: string | null;
}

export interface SandboxHealth {
  ok: boolean;
  /** git and node are required; agent CLIs (aider, claude, codex, opencode, gemini) are optional. */
  tools: ToolVersion[];
  missingRequired: string[];
}

/** A started sandbox of one project. */
export interface ProjectSandbox {
  readonly driver: SandboxDriverName;
  /** Stable name derived from tenant and project (container name, cgroup name). */
  readonly name: string;
  readonly tenant: string;
  readonly projectId: string;
  /**
   * Where the project's checkout appears to commands: WORKSPACE for docker and local, the
   * checkout's real host path for the host runner. Paths handed to commands (a prompt file, a
   * cache directory, an agent's HOME) are built from this, never from WORKSPACE.
   */
  readonly workspacePath: string;
  exec(argv: readonly string[], options: ExecOptions): Promise<ExecResult>;
  health(): Promise<SandboxHealth>;
}

export interface EnsureResult {
  sandbox: ProjectSandbox;
  /** False when this call created/started it, true when an existing one was reused. */
  reused: boolean;
}

export interface Sandbox {
  readonly driver: SandboxDriverName;
  /** Starts the project's sandbox, or reuses the running one (limits and workspace unchanged). */
  ensure(spec: SandboxSpec): Promise<EnsureResult>;
  /** Stops and removes the project's sandbox (or that of one of its lanes), killing anything running in it. Idempotent. */
  remove(tenant: string, projectId: string, lane?: number): Promise<void>;
  /**
   * Removes sandboxes with no exec for longer than idleMs; returns their names. Besides the ones
   * this instance knows, it sweeps what other processes of this runner (same prefix) left on the
   * host: those with nothing running and no activity for idleMs (see each driver for the marker).
   */
  reapIdle(idleMs: number): Promise<string[]>;
  /** Names of the sandboxes this driver currently has (for this runner's label/prefix). */
  list(): Promise<string[]>;
  /** Releases the driver's own resources (connections, timers); leaves sandboxes running. */
  close(): Promise<void>;
}

/** Tools the health check looks for: required ones must be present. */
export const REQUIRED_TOOLS = ['git', 'node'] as const;
export const OPTIONAL_TOOLS: readonly string[] = ['npm', ...AGENT_CLI_NAMES];

export class SandboxError extends Error {
  constructor(
    readonly code: 'sandbox_unavailable' | 'sandbox_failed' | 'invalid_sandbox_spec',
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SandboxError';
  }
}

/**
 * Name of a project's sandbox: `<prefix>-<tenant>-<project>-<hash>`, a lane's `<prefix>-<tenant>-<project>-l<lane>-<hash>`. The hash of the exact pair
 * keeps names distinct where the readable part is ambiguous ("a-b"+"c" vs "a"+"b-c").
 */
export function sandboxName(prefix: string, tenant: string, projectId: string, lane?: number): string {
  const checks = [
    ['tenant', tenant, /^[A-Za-z0-9_-]{1,64}$/],
    ['projectId', projectId, /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/],
  ] as const;
  for (const [field, value, pattern] of checks) {
    if (!pattern.test(value)) throw new SandboxError('invalid_sandbox_spec', `${field} is not a valid sandbox name component`, { field });
  }
  if (lane === undefined) {
    const hash = createHash('sha256').update(`${tenant}\0${projectId}`).digest('hex').slice(0, 8);
    return `${prefix}-${tenant}-${projectId}-${hash}`;
  }
  if (!Number.isInteger(lane) || lane < 0 || lane > 99) throw new SandboxError('invalid_sandbox_spec', 'lane must be an integer from 0 to 99', { field: 'lane' });
  const hash = createHash('sha256').update(`${tenant}\0${projectId}\0${lane}`).digest('hex').slice(0, 8);
  return `${prefix}-${tenant}-${projectId}-l${lane}-${hash}`;
}
