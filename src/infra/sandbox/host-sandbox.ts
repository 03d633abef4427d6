// The 'none' sandbox driver (the host runner): the Sandbox interface on this host with no isolation
// and no limits — for a developer's machine without bubblewrap or Docker (macOS). What it keeps of
// the other drivers: argv only, a minimal environment, a private HOME per project, the checkout as
// the working directory, and everything a command started killed on timeout, abort and exit.
import { mkdtemp, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { Logger } from 'pino';
import { checkWorkspace } from './host-binds.js';
import { commandOutput } from './output-collector.js';
import {
  agentDirsOf,
  searchPath,
  type AgentDirs,
  SandboxError,
  sandboxName,
  type EnsureResult,
  type ExecOptions,
  type ExecResult,
  type ProjectSandbox,
  type Sandbox,
  type SandboxSpec,
} from './sandbox.js';
import { checkTools } from './tool-check.js';

export interface HostSandboxOptions {
  /** Prefix of sandbox names (and of the per-project HOME directories under the OS temp dir). */
  prefix?: string;
  /** DEVTEAM_AGENT_PATH and the service PATH's agent folders: put first on every command's PATH. */
  agentPaths?: AgentDirs;
  /** Host paths no workspace may contain (the data directory, the repository caches). */
  protectedPaths?: string[];
  log?: Logger;
}

type KillReason = 'timeout' | 'cancelled';

interface Project {
  spec: SandboxSpec;
  name: string;
  /** The checkout's real path: what `pwd` prints, so paths built from it compare equal. */
  workspacePath: string;
  /** Private HOME (mode 0700 under the OS temp dir), removed with the project. */
  home: string;
  running: Set<(reason: KillReason) => Promise<void>>;
  lastActivity: number;
  removed: boolean;
}

export class HostSandbox implements Sandbox {
  readonly driver = 'none' as const;
  private readonly prefix: string;
  private readonly agentPaths: () => readonly string[];
  private readonly protectedPaths: readonly string[];
  private readonly log: Logger | undefined;
  private readonly projects = new Map<string, Project>();

  constructor(options: HostSandboxOptions = {}) {
    this.prefix = options.prefix ?? 'devteam';
    this.agentPaths = agentDirsOf(options.agentPaths);
    this.protectedPaths = options.protectedPaths ?? [];
    this.log = options.log;
  }

  async ensure(spec: SandboxSpec): Promise<EnsureResult> {
    const name = sandboxName(this.prefix, spec.tenant, spec.projectId, spec.lane);
    const workspaceIsDir = await stat(spec.workspace).then((s) => s.isDirectory(), () => false);
    if (!workspaceIsDir) throw new SandboxError('invalid_sandbox_spec', 'workspace is not an existing directory', { workspace: spec.workspace });
    await checkWorkspace(spec.workspace, this.protectedPaths);
    const workspacePath = await realpath(spec.workspace);
    const known = this.projects.get(name);
    if (known && known.workspacePath === workspacePath) {
      known.lastActivity = Date.now();
      return { sandbox: this.handle(known), reused: true };
    }
    if (known) await this.remove(spec.tenant, spec.projectId, spec.lane);
    const home = await mkdtemp(join(tmpdir(), `${name}-home-`));
    const project: Project = { spec, name, workspacePath, home, running: new Set(), lastActivity: Date.now(), removed: false };
    this.projects.set(name, project);
    return { sandbox: this.handle(project), reused: false };
  }

  async remove(tenant: string, projectId: string, lane?: number): Promise<void> {
    const name = sandboxName(this.prefix, tenant, projectId, lane);
    const project = this.projects.get(name);
    if (!project) return;
    this.projects.delete(name);
    project.removed = true;
    await Promise.all([...project.running].map((kill) => kill('cancelled')));
    await rm(project.home, { recursive: true, force: true }).catch((error: unknown) => this.log?.warn({ err: error, name }, 'could not remove a host runner HOME'));
  }

  /** Only what this instance knows: the host runner leaves nothing outside its memory but the HOMEs it removes. */
  async reapIdle(idleMs: number): Promise<string[]> {
    const cutoff = Date.now() - idleMs;
    const idle = [...this.projects.values()].filter((p) => p.running.size === 0 && p.lastActivity < cutoff);
    for (const p of idle) await this.remove(p.spec.tenant, p.spec.projectId, p.spec.lane);
    return idle.map((p) => p.name);
  }

  async list(): Promise<string[]> {
    return [...this.projects.keys()].sort();
  }

  async close(): Promise<void> {
    // No timers or connections of its own: every timeout is cleared when its command ends.
  }

  private handle(project: Project): ProjectSandbox {
    const exec = (argv: readonly string[], options: ExecOptions) => this.exec(project, argv, options);
    return {
      driver: this.driver,
      name: project.name,
      tenant: project.spec.tenant,
      projectId: project.spec.projectId,
      workspacePath: project.workspacePath,
      exec,
      health: () => checkTools((argv) => exec(argv, { timeoutMs: 15_000 })),
    };
  }

  /** The agent folders, the system's, and the runner's own node (on macOS rarely under SANDBOX_PATH). */
  private searchPath(): string {
    const path = searchPath(this.agentPaths());
    const nodeDir = dirname(process.execPath);
    return path.split(':').includes(nodeDir) ? path : `${path}:${nodeDir}`;
  }

  private async exec(project: Project, argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    const { stdout, stderr, result } = commandOutput(options);
    if (options.signal?.aborted || project.removed) return result('cancelled', null);
    if (argv.length === 0) throw new SandboxError('invalid_sandbox_spec', 'empty command');
    project.lastActivity = Date.now();

    const [file, ...args] = argv;
    const child: ResultPromise = execa(file!, args, {
      cwd: options.cwd ? resolve(project.workspacePath, options.cwd) : project.workspacePath,
      buffer: false,
      reject: false,
      // The runner's environment holds secrets: commands get only this base and their own variables.
      extendEnv: false,
      env: { PATH: this.searchPath(), HOME: project.home, LANG: 'C.UTF-8', ...options.env },
      stdin: 'ignore',
      // Its own process group, so "everything it started" is one kill of -pid.
      detached: true,
      killSignal: 'SIGKILL',
    });
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    const killGroup = () => {
      if (!child.pid) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
    };
    // Whatever the command left running in the background dies with it (as the cgroup of the local
    // driver does), which also closes the pipes a background child would hold open.
    child.once('exit', killGroup);

    let killedFor: KillReason | undefined;
    const kill = async (reason: KillReason) => {
      killedFor ??= reason;
      killGroup();
      await child.catch(() => undefined);
    };
    project.running.add(kill);
    const timer = setTimeout(() => void kill('timeout'), options.timeoutMs);
    const onAbort = () => void kill('cancelled');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const done = await child;
      stdout.end();
      stderr.end();
      if (killedFor) return result(killedFor, null);
      if (done.exitCode === undefined && !done.signal) {
        // Not started (no such program): the shell's answer, as the other drivers give it.
        if ((done as { code?: string }).code === 'ENOENT') return { ...result('completed', 127), stderr: `${file}: command not found\n` };
        throw new SandboxError('sandbox_failed', `could not start the command: ${done.shortMessage ?? 'unknown error'}`, { name: project.name });
      }
      return result('completed', done.signal ? null : (done.exitCode ?? null));
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      project.running.delete(kill);
      project.lastActivity = Date.now();
    }
  }
}
