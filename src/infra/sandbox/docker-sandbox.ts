// The `docker` sandbox driver: one long-lived, resource-limited container per (tenant, project),
// with the project's checkout bound at /workspace and commands run in it via Docker exec. Of the
// host it mounts only that checkout, the configured extra binds and the agent CLIs' installs.
import { isAbsolute } from 'node:path';
import Dockerode from 'dockerode';
import type { Logger } from 'pino';
import { ACTIVITY_FILE, readOomKills, runDockerExec, type ExecHandle } from './docker-exec.js';
import { agentDirsOf, searchPath, type AgentDirs } from './sandbox.js';
import { agentInstalls, checkBinds, checkWorkspace, type ReadOnlyBind } from './host-binds.js';
import {
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
} from './sandbox.js';
import { checkTools } from './tool-check.js';

export interface DockerSandboxOptions {
  docker?: Dockerode;
  image: string;
  prefix?: string;
  /** Docker network mode: 'bridge' in deployments; 'host' lets agents reach servers on 127.0.0.1. */
  network?: string;
  /** Extra binds, e.g. '/usr:/usr:ro' for the minimal local image. */
  binds?: string[];
  /**
   * Directories of agent CLIs (DEVTEAM_AGENT_PATH and those found on the service's PATH), mounted
   * read-only at their own path with the installs their symlinked entries resolve into. They cover
   * whatever the image has there.
   */
  agentPaths?: AgentDirs;
  /** Host paths no container may ever mount (the data directory, the repository caches). */
  protectedPaths?: string[];
  log?: Logger;
}

/** How long the resolved agent installs are reused before the agent path is read again. */
const AGENT_BINDS_TTL_MS = 30_000;

const PING_TIMEOUT_MS = 5_000;
const PIDS_LIMIT = 4096;
/** PID 1 of the container: sleeps forever, exits on TERM, and (as a shell) reaps orphans. */
const KEEPALIVE = ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 3600 & wait $!; done'];

/** What this process knows about a container; lost on restart, rebuilt from creation time. */
interface Tracked {
  lastActivity: number;
  running: Set<ExecHandle>;
  /** The container's OOM-kill counter when last looked at; undefined until read. */
  oomKills: number | undefined;
}

export class DockerSandbox implements Sandbox {
  readonly driver = 'docker' as const;
  private readonly docker: Dockerode;
  private readonly image: string;
  private readonly prefix: string;
  private readonly network: string;
  private readonly binds: string[];
  private readonly agentPaths: () => readonly string[];
  private readonly protectedPaths: readonly string[];
  private agents: { at: number; promise: Promise<string[]> } | undefined;
  private readonly log: Logger | undefined;
  private readonly tracked = new Map<string, Tracked>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(options: DockerSandboxOptions) {
    this.docker = options.docker ?? new Dockerode();
    this.image = options.image;
    this.prefix = options.prefix ?? 'devteam';
    this.network = options.network ?? 'bridge';
    this.binds = options.binds ?? [];
    this.agentPaths = agentDirsOf(options.agentPaths);
    this.protectedPaths = options.protectedPaths ?? [];
    this.log = options.log;
  }

  async ensure(spec: SandboxSpec): Promise<EnsureResult> {
    const name = sandboxName(this.prefix, spec.tenant, spec.projectId, spec.lane);
    if (!isAbsolute(spec.workspace)) throw new SandboxError('invalid_sandbox_spec', 'workspace must be an absolute path', { field: 'workspace' });
    // A ':' would end the host path of the bind and start its options.
    if (spec.workspace.includes(':')) throw new SandboxError('invalid_sandbox_spec', 'workspace must not contain ":"', { field: 'workspace' });
    if (!(spec.limits.cpus > 0) || !(spec.limits.memoryMb > 0)) {
      throw new SandboxError('invalid_sandbox_spec', 'limits must be positive', { field: 'limits' });
    }
    await checkWorkspace(spec.workspace, this.protectedPaths);
    const extraBinds = await this.readOnlyBinds();
    return this.locked(name, async () => {
      await this.ping();
      const container = this.docker.getContainer(name);
      const want = this.hostConfig(spec, extraBinds);
      let info = await inspectOrNull(container);
      if (info && !this.matches(info, want)) {
        this.log?.info({ sandbox: name }, 'sandbox workspace or limits changed: recreating');
        await this.forceRemove(container);
        info = null;
      }
      let reused = false;
      if (!info) {
        await this.create(name, spec, want);
        this.tracked.set(name, { lastActivity: Date.now(), running: new Set(), oomKills: 0 });
      } else {
        reused = info.State.Running;
        if (!reused) await call('start sandbox', () => container.start());
        const t = this.track(name, Date.now());
        t.lastActivity = Date.now();
        t.oomKills ??= (await readOomKills(this.docker, container).catch(() => null)) ?? undefined;
      }
      this.log?.debug({ sandbox: name, reused }, 'sandbox ready');
      return { sandbox: new DockerProjectSandbox(this, name, spec.tenant, spec.projectId), reused };
    });
  }

  async remove(tenant: string, projectId: string, lane?: number): Promise<void> {
    const name = sandboxName(this.prefix, tenant, projectId, lane);
    await this.locked(name, async () => {
      // Removing the container kills every process in it; the handles only record why.
      for (const handle of this.tracked.get(name)?.running ?? []) handle.stop('cancelled', false);
      await this.forceRemove(this.docker.getContainer(name));
      this.tracked.delete(name);
    });
  }

  /**
   * Containers with this prefix are this instance's, or another process's of this runner: one that
   * died (a crash leaves its containers running), or a live one on this engine (runners may share
   * a prefix). A container this instance does not track is judged by what the engine shows, not
   * by a creator label: a project moves between processes and keeps its container's name, so who
   * created it says nothing about who uses it now. It is kept while a command runs in it (top
   * lists more than the keepalive) or its last-activity marker (ACTIVITY_FILE, rewritten by every
   * exec at start and end; else its creation time) is newer than the cutoff — so a live process's
   * container goes only when its own sweep would take it, and its next ensure creates it again.
   */
  async reapIdle(idleMs: number): Promise<string[]> {
    const now = Date.now();
    const reaped: string[] = [];
    for (const c of await this.listManaged()) {
      const name = containerName(c);
      const t = this.tracked.get(name);
      if (t && t.running.size > 0) continue;
      const last = t?.lastActivity ?? (await this.lastActivity(c));
      if (now - last <= idleMs) continue;
      if (!t && (await this.busy(name))) continue;
      await this.locked(name, async () => {
        // An exec may have started while waiting for the lock.
        if ((this.tracked.get(name)?.running.size ?? 0) > 0) return;
        await this.forceRemove(this.docker.getContainer(name));
        this.tracked.delete(name);
        reaped.push(name);
      });
    }
    if (reaped.length > 0) this.log?.info({ sandboxes: reaped }, 'reaped idle sandboxes');
    return reaped;
  }

  async list(): Promise<string[]> {
    return (await this.listManaged()).map(containerName);
  }

  /** When a command last started or ended in the container (any process's), else when it was created. */
  private async lastActivity(c: Dockerode.ContainerInfo): Promise<number> {
    const created = c.Created * 1000;
    try {
      const res = (await this.docker.getContainer(c.Id).infoArchive({ path: ACTIVITY_FILE })) as NodeJS.ReadableStream & { headers?: Record<string, string> };
      res.resume?.();
      const header = res.headers?.['x-docker-container-path-stat'];
      const stat = header ? (JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as { mtime?: string }) : {};
      const mtime = stat.mtime ? Date.parse(stat.mtime) : NaN;
      // The engine reports whole seconds: take the end of that second, erring on the side of keeping.
      return Number.isFinite(mtime) ? Math.max(created, mtime + 999) : created;
    } catch {
      // No marker yet (404), or the engine cannot say: the creation time is all there is.
      return created;
    }
  }

  /** Whether anything besides the keepalive (PID 1 and its sleep) runs in the container. */
  private async busy(name: string): Promise<boolean> {
    const container = this.docker.getContainer(name);
    try {
      const [info, top] = await Promise.all([container.inspect(), container.top({ ps_args: '-o pid,ppid,args' })]);
      const init = String(info.State.Pid);
      const rows = (top as { Processes?: string[][] }).Processes ?? [];
      return rows.some(([pid, ppid, args]) => pid !== init && !(ppid === init && /^sleep\b/.test(args ?? '')));
    } catch (error) {
      // A stopped container runs nothing (409); anything else: do not remove what we cannot see.
      return statusOf(error) !== 409 && statusOf(error) !== 404;
    }
  }

  async close(): Promise<void> {
    // Nothing long-lived: Docker API calls use no pooled connections and execs own their timers.
  }

  /** Runs a command in the named container; used by DockerProjectSandbox. */
  async exec(name: string, argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    const container = this.docker.getContainer(name);
    const t = this.track(name, Date.now());
    const hooks = {
      onStart: (h: ExecHandle) => {
        t.running.add(h);
        t.lastActivity = Date.now();
      },
      onEnd: (h: ExecHandle) => {
        t.running.delete(h);
        t.lastActivity = Date.now();
      },
      oomKilled: async () => {
        const kills = await readOomKills(this.docker, container);
        const before = t.oomKills;
        if (kills !== null) t.oomKills = kills;
        return kills !== null && before !== undefined && kills > before;
      },
    };
    // The agent installs come first on PATH, for every command (agents, builds, doctor's check).
    options = { ...options, env: { PATH: searchPath(this.agentPaths()), ...options.env } };
    try {
      return await runDockerExec(this.docker, container, argv, options, hooks);
    } catch (error) {
      // The keepalive itself may have been OOM-killed; restart policy brings it back, or we do.
      if (statusOf(error) === 409) {
        await container.start().catch(() => undefined);
        return await runDockerExec(this.docker, container, argv, options, hooks).catch((e) => rethrow(`exec in sandbox ${name}`, e));
      }
      return rethrow(`exec in sandbox ${name}`, error);
    }
  }

  /**
   * The configured binds and the agent installs, checked never to mount a protected path; read
   * again after AGENT_BINDS_TTL_MS (an agent update moves its files), which recreates containers
   * whose mounts changed.
   */
  private readOnlyBinds(): Promise<string[]> {
    const now = Date.now();
    if (!this.agents || now - this.agents.at > AGENT_BINDS_TTL_MS) {
      const promise = this.resolveBinds();
      this.agents = { at: now, promise };
      promise.catch(() => {
        if (this.agents?.promise === promise) this.agents = undefined;
      });
    }
    return this.agents.promise;
  }

  private async resolveBinds(): Promise<string[]> {
    const installs = await agentInstalls(this.agentPaths());
    // A mount cannot be a symlink: the real directory at the configured path (its absolute links work).
    const agents = [...installs.binds, ...installs.aliases.map((a) => ({ host: a.target, inside: a.path }))];
    // Named volumes (no leading /) are not host paths; `host:inside[:mode]` otherwise.
    const configured: ReadOnlyBind[] = this.binds.filter((b) => b.startsWith('/')).map((b) => ({ host: b.split(':')[0]!, inside: b.split(':')[1] ?? '' }));
    await checkBinds([...configured, ...agents], this.protectedPaths);
    const mounted = new Set(this.binds.map((b) => b.split(':').slice(0, 2).join(':')));
    return [...this.binds, ...agents.filter((b) => !mounted.has(`${b.host}:${b.inside}`)).map((b) => `${b.host}:${b.inside}:ro`)];
  }

  private hostConfig(spec: SandboxSpec, binds: readonly string[]): Dockerode.HostConfig {
    const memory = Math.round(spec.limits.memoryMb * 1024 * 1024);
    return {
      Binds: [`${spec.workspace}:${WORKSPACE}`, ...binds],
      Memory: memory,
      // Equal to Memory: no swap to escape the limit through.
      MemorySwap: memory,
      NanoCpus: Math.round(spec.limits.cpus * 1e9),
      PidsLimit: PIDS_LIMIT,
      RestartPolicy: { Name: 'always' },
      NetworkMode: this.network,
    };
  }

  private matches(info: Dockerode.ContainerInspectInfo, want: Dockerode.HostConfig): boolean {
    const have = info.HostConfig;
    return (
      info.Config.Image === this.image &&
      JSON.stringify(have.Binds ?? []) === JSON.stringify(want.Binds) &&
      have.Memory === want.Memory &&
      have.NanoCpus === want.NanoCpus &&
      have.NetworkMode === want.NetworkMode
    );
  }

  private async create(name: string, spec: SandboxSpec, hostConfig: Dockerode.HostConfig): Promise<void> {
    await this.requireImage();
    try {
      const container = await this.docker.createContainer({
        name,
        Image: this.image,
        Cmd: KEEPALIVE,
        WorkingDir: WORKSPACE,
        Labels: {
          'devteam.managed': 'true',
          'devteam.prefix': this.prefix,
          'devteam.tenant': spec.tenant,
          'devteam.project': spec.projectId,
        },
        HostConfig: hostConfig,
      });
      await container.start();
      this.log?.info({ sandbox: name, limits: spec.limits }, 'sandbox container started');
    } catch (error) {
      // Another runner created it between our inspect and create: theirs has the same config.
      if (statusOf(error) !== 409) rethrow(`create sandbox ${name}`, error);
      await call('start sandbox', () => this.docker.getContainer(name).start().catch(ignore304));
    }
  }

  private async requireImage(): Promise<void> {
    try {
      await this.docker.getImage(this.image).inspect();
    } catch (error) {
      if (statusOf(error) !== 404) rethrow('inspect sandbox image', error);
      throw new SandboxError(
        'sandbox_unavailable',
        `sandbox image ${this.image} is missing; build it with scripts/sandbox-image.sh ${this.image}`,
        { image: this.image },
      );
    }
  }

  private async ping(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.docker.ping(), timeout]);
    } catch (error) {
      throw new SandboxError('sandbox_unavailable', `Docker engine is not reachable: ${messageOf(error)}`, {}, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  private listManaged(): Promise<Dockerode.ContainerInfo[]> {
    return call('list sandboxes', () => this.docker.listContainers({ all: true, filters: { label: [`devteam.prefix=${this.prefix}`] } }));
  }

  private async forceRemove(container: Dockerode.Container): Promise<void> {
    try {
      await container.remove({ force: true });
    } catch (error) {
      // 404: already gone; 409: removal already in progress elsewhere.
      if (statusOf(error) !== 404 && statusOf(error) !== 409) rethrow('remove sandbox', error);
    }
  }

  private track(name: string, now: number): Tracked {
    let t = this.tracked.get(name);
    if (!t) this.tracked.set(name, (t = { lastActivity: now, running: new Set(), oomKills: undefined }));
    return t;
  }

  /** Serialises ensure/remove/reap of one container so they never interleave. */
  private async locked<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.locks.get(name) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(name, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(name) === tail) this.locks.delete(name);
    }
  }
}

class DockerProjectSandbox implements ProjectSandbox {
  readonly driver = 'docker' as const;
  readonly workspacePath = WORKSPACE;

  constructor(
    private readonly owner: DockerSandbox,
    readonly name: string,
    readonly tenant: string,
    readonly projectId: string,
  ) {}

  exec(argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
    return this.owner.exec(this.name, argv, options);
  }

  health(): Promise<SandboxHealth> {
    return checkTools((argv) => this.exec(argv, { timeoutMs: 15_000 }));
  }
}

function containerName(c: Dockerode.ContainerInfo): string {
  return (c.Names[0] ?? c.Id).replace(/^\//, '');
}

async function inspectOrNull(container: Dockerode.Container): Promise<Dockerode.ContainerInspectInfo | null> {
  try {
    return await container.inspect();
  } catch (error) {
    if (statusOf(error) === 404) return null;
    return rethrow('inspect sandbox', error);
  }
}

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number } | null)?.statusCode;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function ignore304(error: unknown): void {
  if (statusOf(error) !== 304) throw error;
}

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    return rethrow(what, error);
  }
}

/** Engine-level failures (no socket, refused) are "unavailable"; API errors are "failed". */
function rethrow(what: string, error: unknown): never {
  if (error instanceof SandboxError) throw error;
  const code = (error as { code?: string } | null)?.code;
  const unreachable = statusOf(error) === undefined && ['ENOENT', 'ECONNREFUSED', 'ECONNRESET', 'EACCES', 'ETIMEDOUT'].includes(code ?? '');
  throw new SandboxError(unreachable ? 'sandbox_unavailable' : 'sandbox_failed', `${what}: ${messageOf(error)}`, { status: statusOf(error) }, { cause: error });
}
