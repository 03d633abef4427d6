// The 'local' sandbox driver: each command runs under bubblewrap inside per-project cgroup v1
// limits, seeing only the host's system (read-only, /etc secrets masked), the agent CLIs'
// installs, its project's checkout at /workspace and a private /tmp (its HOME) and pid namespace.
import { stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { Logger } from 'pino';
import {
  cgroupActivity,
  cgroupDirs,
  cgroupsUsable,
  cgroupTreeEmpty,
  createChildCgroup,
  createProjectCgroup,
  killCgroup,
  listProjectCgroups,
  oomCounters,
  procsFiles,
  removeCgroupTree,
  removeEmptyCgroupTree,
  setMemoryLimit,
  touchCgroup,
  type CgroupDirs,
} from './cgroup-v1.js';
import { agentInstalls, canonical, checkBinds, checkWorkspace, parseBinds, type ReadOnlyBind } from './host-binds.js';
import { isSystemPath, readHostSystem } from './host-system.js';
import { commandOutput } from './output-collector.js';
import {
  SANDBOX_PATH,
  searchPath,
  SandboxError,
  WORKSPACE,
  sandboxName,
  type EnsureResult,
  type ExecOptions,
  type ExecResult,
  type ProjectSandbox,
  type Sandbox,
  type SandboxHealth,
  type SandboxSpec,
  agentDirsOf,
  type AgentDirs,
} from './sandbox.js';
import { checkTools } from './tool-check.js';

export interface BwrapSandboxOptions {
  /** Prefix of sandbox names and of the cgroup directory holding this runner's groups. */
  prefix?: string;
  bwrapPath?: string;
  cgroupRoot?: string;
  /**
   * Extra read-only mounts, `host:inside` (a trailing `:ro` is accepted): host tools the sandbox
   * does not show otherwise (it shows only /usr, /bin, /sbin, /lib*, /etc of the host).
   */
  binds?: string[];
  /**
   * Directories of agent CLIs (DEVTEAM_AGENT_PATH and those found on the service's PATH), shown
   * read-only at their own path together with the installs their symlinked entries resolve into,
   * so the CLIs run.
   */
  agentPaths?: AgentDirs;
  /**
   * Host paths no sandbox may ever show (the data directory, the repository caches): a bind or
   * agent install that would is refused, as is a workspace that contains one.
   */
  protectedPaths?: string[];
  log?: Logger;
}

/** Joins the command's cgroups before exec'ing bwrap, so nothing it starts ever runs outside them. */
const WRAPPER = 'for f in $DEVTEAM_CGROUP_PROCS; do echo $$ > "$f" || exit 125; done; exec "$@"';
/** The runner's environment holds secrets: commands get only this plus their own env. */
const BASE_ENV = { PATH: SANDBOX_PATH, HOME: '/tmp', LANG: 'C.UTF-8' };

/** How long what the sandbox shows of the host (the /etc masks, agent installs) is reused. */
const HOST_VIEW_TTL_MS = 30_000;

/**
 * The host as every command of this runner sees it, re-read every HOST_VIEW_TTL_MS. The sandbox's
 * root is bwrap's own tmpfs (read-only once mounted), holding only these mounts, /workspace and
 * the empty directories leading to binds.
 */
interface HostView {
  /** Before the private /dev, /proc and /tmp: the system directories and /etc. */
  system: string[];
  /** After them: linked-out /etc files, agent installs, extra binds (all read-only), agent path aliases. */
  binds: string[];
  /** Descriptors (3, 4, …) the command starts with, from which bwrap reads masked files' empty content. */
  maskFds: number;
}

type KillReason = 'timeout' | 'cancelled';

interface RunningExec {
  kill(reason: KillReason): Promise<void>;
}

interface Project {
  spec: SandboxSpec;
  name: string;
  dirs: CgroupDirs | undefined;
  /** Whether the project's memory limit covers its command groups; otherwise each gets its own. */
  hierarchical: boolean;
  running: Set<RunningExec>;
  lastActivity: number;
  removed: boolean;
}

export class BwrapSandbox implements Sandbox {
  readonly driver = 'local' as const;
  /** False when cgroups cannot be written here: commands then run isolated but without limits. */
  limitsEnforced = false;
  private readonly prefix: string;
  private readonly bwrapPath: string;
  private readonly cgroupRoot: string;
  private readonly log: Logger | undefined;
  private readonly projects = new Map<string, Project>();
  private ready: Promise<void> | undefined;
  private execCounter = 0;

  private readonly binds: readonly ReadOnlyBind[];
  private readonly agentPaths: () => readonly string[];
  private readonly protectedPaths: readonly string[];
  private view: { at: number; promise: Promise<HostView> } | undefined;

  constructor(options: BwrapSandboxOptions = {}) {
    this.prefix = options.prefix ?? 'devteam';
    this.bwrapPath = options.bwrapPath ?? 'bwrap';
    this.cgroupRoot = options.cgroupRoot ?? '/sys/fs/cgroup';
    this.log = options.log;
    this.binds = parseBinds(options.binds ?? []);
    this.agentPaths = agentDirsOf(options.agentPaths);
    this.protectedPaths = options.protectedPaths ?? [];
  }

  async ensure(spec: SandboxSpec): Promise<EnsureResult> {
    const name = sandboxName(this.prefix, spec.tenant, spec.projectId, spec.lane);
    const workspaceIsDir = await stat(spec.workspace).then((s) => s.isDirectory(), () => false);
    if (!workspaceIsDir) throw new SandboxError('invalid_sandbox_spec', 'workspace is not an existing directory', { workspace: spec.workspace });
    await checkWorkspace(spec.workspace, this.protectedPaths);
    await this.checkReady();
    // A bind that would show the data directory fails here, before any command runs.
    await this.hostView();
    const known = this.projects.get(name);
    if (known) {
      known.lastActivity = Date.now();
      if (known.dirs) await touchCgroup(known.dirs).catch(() => undefined);
      return { sandbox: this.handle(known), reused: true };
    }
    const project: Project = { spec, name, dirs: undefined, hierarchical: false, running: new Set(), lastActivity: Date.now(), removed: false };
    if (this.limitsEnforced) {
      const dirs = cgroupDirs(this.cgroupRoot, this.prefix, name);
      try {
        // A leftover group from a previous run may hold command groups, which would block use_hierarchy.
        await removeCgroupTree(dirs);
        project.hierarchical = await createProjectCgroup(dirs, spec.limits);
      } catch (error) {
        throw new SandboxError('sandbox_failed', 'could not create the project cgroups', { name }, { cause: error });
      }
      project.dirs = dirs;
    }
    this.projects.set(name, project);
    return { sandbox: this.handle(project), reused: false };
  }

  async remove(tenant: string, projectId: string, lane?: number): Promise<void> {
    const name = sandboxName(this.prefix, tenant, projectId, lane);
    const project = this.projects.get(name);
    this.projects.delete(name);
    if (project) {
      project.removed = true;
      await Promise.all([...project.running].map((r) => r.kill('cancelled')));
    }
    // Also covers groups left by a previous run of this runner, which only the filesystem knows.
    if (this.limitsEnforced || project?.dirs) await removeCgroupTree(cgroupDirs(this.cgroupRoot, this.prefix, name));
  }

  async reapIdle(idleMs: number): Promise<string[]> {
    const cutoff = Date.now() - idleMs;
    const idle = [...this.projects.values()].filter((p) => p.running.size === 0 && p.lastActivity < cutoff);
    for (const p of idle) await this.remove(p.spec.tenant, p.spec.projectId, p.spec.lane);
    return [...idle.map((p) => p.name), ...(await this.sweepLeftovers(cutoff))];
  }

  /**
   * Project groups under this prefix that this instance does not know: left by a process of this
   * runner that died, or in use by a live one (two runners on one host may share a prefix). Which
   * is which is read from the host, not from a pid marker — a project moves between processes and
   * keeps its group's name, so "who created it" says nothing about who uses it now:
   * - a process in the group or below it (any controller) → in use, kept;
   * - its directories' mtime, touched by every exec at start and end (touchCgroup) → kept while
   *   newer than the cutoff, so a live process's idle group goes when its own sweep would take it;
   * - removal only rmdirs empty groups and kills nothing: a command that entered meanwhile makes
   *   the kernel refuse it. A live process whose group went recreates it on its next command.
   */
  private async sweepLeftovers(cutoff: number): Promise<string[]> {
    const swept: string[] = [];
    for (const name of await listProjectCgroups(this.cgroupRoot, this.prefix)) {
      if (this.projects.has(name)) continue;
      const dirs = cgroupDirs(this.cgroupRoot, this.prefix, name);
      try {
        const last = await cgroupActivity(dirs);
        if (last === undefined || last >= cutoff || !(await cgroupTreeEmpty(dirs))) continue;
        if (await removeEmptyCgroupTree(dirs)) swept.push(name);
      } catch (error) {
        this.log?.warn({ err: error, name }, 'could not remove a leftover sandbox cgroup');
      }
    }
    if (swept.length > 0) this.log?.info({ sandboxes: swept }, 'removed sandbox cgroups no live process uses');
    return swept;
  }

  async list(): Promise<string[]> {
    const names = new Set(this.projects.keys());
    for (const name of await listProjectCgroups(this.cgroupRoot, this.prefix)) names.add(name);
    return [...names].sort();
  }

  async close(): Promise<void> {
    // No timers of our own: every timeout is cleared when its command ends.
    this.view = undefined;
  }

  /** Checks once that bwrap can start a sandbox here and whether cgroups can be used. */
  private checkReady(): Promise<void> {
    this.ready ??= this.probe().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }

  private async probe(): Promise<void> {
    const result = await execa(this.bwrapPath, ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--unshare-pid', '--die-with-parent', '--', 'true'], {
      reject: false,
      extendEnv: false,
      env: BASE_ENV,
      stdin: 'ignore',
      timeout: 15_000,
    });
    if (result.exitCode !== 0) {
      const reason = result.failed && result.exitCode === undefined ? result.shortMessage : result.stderr;
      throw new SandboxError('sandbox_unavailable', `bubblewrap cannot start a sandbox: ${String(reason).slice(0, 500)}`, { bwrapPath: this.bwrapPath });
    }
    this.limitsEnforced = await cgroupsUsable(this.cgroupRoot, this.prefix);
    if (!this.limitsEnforced) {
      this.log?.warn({ cgroupRoot: this.cgroupRoot }, 'cgroup v1 is not writable here: local sandboxes run without cpu/memory/pids limits');
    }
  }

  private handle(project: Project): ProjectSandbox {
    const exec = (argv: readonly string[], options: ExecOptions) => this.exec(project, argv, options);
    return {
      driver: this.driver,
      name: project.name,
      tenant: project.spec.tenant,
      projectId: project.spec.projectId,
      workspacePath: WORKSPACE,
      exec,
      health: (): Promise<SandboxHealth> => checkTools((argv) => exec(argv, { timeoutMs: 15_000 })),
    };
  }

  /** What of the host the sandbox shows, read at most every HOST_VIEW_TTL_MS (agents get updated). */
  private hostView(): Promise<HostView> {
    const now = Date.now();
    if (!this.view || now - this.view.at > HOST_VIEW_TTL_MS) {
      const promise = this.readHostView();
      this.view = { at: now, promise };
      promise.catch(() => {
        if (this.view?.promise === promise) this.view = undefined;
      });
    }
    return this.view.promise;
  }

  private async readHostView(): Promise<HostView> {
    try {
      return await this.planHostView();
    } catch (error) {
      if (error instanceof SandboxError) throw error;
      throw new SandboxError('sandbox_failed', 'could not read what the sandbox shows of the host', {}, { cause: error });
    }
  }

  private async planHostView(): Promise<HostView> {
    const [system, agents] = await Promise.all([readHostSystem(), agentInstalls(this.agentPaths(), isSystemPath)]);
    const binds = [...system.linkedOut, ...agents.binds, ...this.binds];
    await checkBinds(binds, this.protectedPaths);
    await checkNotSystem(this.protectedPaths);
    return {
      system: system.args,
      binds: [...binds.flatMap((b) => ['--ro-bind', b.host, b.inside]), ...agents.aliases.flatMap((a) => ['--symlink', a.target, a.path])],
      maskFds: system.maskFds,
    };
  }

  private async bwrapArgs(project: Project, options: ExecOptions): Promise<{ args: string[]; maskFds: number }> {
    const cwd = options.cwd ? posix.resolve(WORKSPACE, options.cwd) : WORKSPACE;
    const view = await this.hostView();
    // Binds come after the private /tmp, so that one under the host's /tmp still shows.
    const args = [...view.system, '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp', ...view.binds];
    args.push('--bind', project.spec.workspace, WORKSPACE, '--remount-ro', '/', '--chdir', cwd);
    // The network stays shared: agents reach a model server on the host's loopback.
    args.push('--unshare-pid', '--unshare-ipc', '--unshare-uts', '--die-with-parent', '--new-session');
    args.push('--unsetenv', 'DEVTEAM_CGROUP_PROCS');
    return { args, maskFds: view.maskFds };
  }

  private async exec(project: Project, argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    const { stdout, stderr, result } = commandOutput(options);
    if (options.signal?.aborted || project.removed) return result('cancelled', null);
    if (argv.length === 0) throw new SandboxError('invalid_sandbox_spec', 'empty command');

    project.lastActivity = Date.now();
    const bwrap = await this.bwrapArgs(project, options);
    let dirs: CgroupDirs | undefined;
    if (project.dirs) {
      const n = ++this.execCounter;
      dirs = cgroupDirs(this.cgroupRoot, this.prefix, project.name, `exec-${n}`);
      try {
        await this.commandCgroup(project, dirs);
      } catch (error) {
        await removeCgroupTree(dirs).catch(() => undefined);
        if (project.removed) return result('cancelled', null);
        throw new SandboxError('sandbox_failed', 'could not create the command cgroup', { name: project.name }, { cause: error });
      }
    }
    // The kernel counts a hit limit (failcnt) where the limit is, but the kill (oom_kill) in the
    // group of the killed task: the command's own group, which starts at zero.
    const limitDir = project.hierarchical ? project.dirs?.memory : dirs?.memory;
    const failcntBefore = limitDir ? (await oomCounters(limitDir)).failcnt : 0;

    const child: ResultPromise = execa('/bin/sh', ['-c', WRAPPER, 'sandbox', this.bwrapPath, ...bwrap.args, '--', ...argv], {
      buffer: false,
      reject: false,
      extendEnv: false,
      // The command's variables reach it through bwrap's inherited environment, not its argv:
      // a model key on a command line would be readable by every host user (ps, /proc/*/cmdline).
      env: { ...BASE_ENV, PATH: searchPath(this.agentPaths()), ...options.env, DEVTEAM_CGROUP_PROCS: dirs ? procsFiles(dirs).join(' ') : '' },
      // The masks' empty content: one pipe per masked file, closed at once (bwrap reads to EOF).
      stdio: ['ignore', 'pipe', 'pipe', ...Array.from({ length: bwrap.maskFds }, () => new Uint8Array())],
      detached: true,
      killSignal: 'SIGKILL',
    });
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));

    let killedFor: KillReason | undefined;
    const running: RunningExec = {
      kill: async (reason) => {
        killedFor ??= reason;
        if (child.pid) {
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {
            // The group is already gone.
          }
        }
        if (dirs) await killCgroup(dirs);
        await child.catch(() => undefined);
      },
    };
    project.running.add(running);
    const timer = setTimeout(() => void running.kill('timeout'), options.timeoutMs);
    const onAbort = () => void running.kill('cancelled');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // remove() may have run while this command was being set up, before it was registered.
    if (project.removed || options.signal?.aborted) void running.kill('cancelled');

    try {
      const done = await child;
      stdout.end();
      stderr.end();
      if (killedFor) return result(killedFor, null);
      if (done.exitCode === 125 && dirs && /cgroup\.procs/.test(stderr.text)) {
        throw new SandboxError('sandbox_failed', 'could not move the command into its cgroups', { name: project.name });
      }
      // bwrap reports a child killed by signal N as exit 128+N.
      const sigkilled = done.signal === 'SIGKILL' || done.exitCode === 137;
      if (sigkilled && dirs && limitDir) {
        const own = await oomCounters(dirs.memory);
        const limit = await oomCounters(limitDir);
        if (own.oomKill > 0 || own.failcnt > 0 || limit.failcnt > failcntBefore) return result('oom', null);
      }
      if (done.exitCode === undefined && !done.signal) {
        throw new SandboxError('sandbox_failed', `could not start the sandbox: ${done.shortMessage ?? 'unknown error'}`, { name: project.name });
      }
      return result('completed', done.signal ? null : (done.exitCode ?? null));
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      // Whatever the command left running in the background dies with it.
      if (dirs) await removeCgroupTree(dirs).catch((error: unknown) => this.log?.warn({ err: error, name: project.name }, 'could not remove a command cgroup'));
      if (project.dirs) await touchCgroup(project.dirs).catch(() => undefined);
      project.running.delete(running);
      project.lastActivity = Date.now();
    }
  }

  /** The command's own group under the project's, marking the project active for other processes' sweeps. */
  private async commandCgroup(project: Project, dirs: CgroupDirs): Promise<void> {
    await touchCgroup(project.dirs!).catch(() => undefined);
    try {
      await createChildCgroup(dirs);
    } catch (error) {
      // Another process's sweep removed the project's group while it was idle: set it up again.
      // Not when this instance removed the project: that must fail, not recreate it.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || project.removed) throw error;
      await removeCgroupTree(dirs);
      project.hierarchical = await createProjectCgroup(project.dirs!, project.spec.limits);
      await createChildCgroup(dirs);
    }
    if (!project.hierarchical) await setMemoryLimit(dirs.memory, project.spec.limits.memoryMb);
  }
}

/** The system directories and /etc are every sandbox's: a protected path there would be shown. */
async function checkNotSystem(protectedPaths: readonly string[]): Promise<void> {
  for (const path of protectedPaths) {
    if (isSystemPath(await canonical(path))) {
      throw new SandboxError('invalid_sandbox_spec', `${path} is under a system directory every local sandbox shows: move the data directory elsewhere`, { protectedPath: path });
    }
  }
}
