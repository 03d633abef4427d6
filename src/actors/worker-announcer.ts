// Tells the API what this worker can run: at start and then every probe interval it starts a
// throwaway sandbox with the runs' own settings and locates the agent CLIs inside; between probes
// it renews that answer in the worker registry (a heartbeat), and withdraws it on shutdown. The
// start-up report in the log is the same answer a refused initialize gives.
import { hostname } from 'node:os';
import type { Logger } from '../infra/log.js';
import { probeSandbox, type Sandbox, type SandboxProbe } from '../infra/sandbox/index.js';
import type { WorkerCapabilities, WorkerRegistry } from '../infra/workers/index.js';
import { AGENT_CLI_NAMES, ALL_MODEL_KEY_VARS, SECRET_NAMESPACE } from '../project/index.js';

export interface WorkerAnnouncerOptions {
  registry: WorkerRegistry;
  /** A sandbox built from the same settings as the runs' (its own prefix): the probe's. */
  probeSandbox: Sandbox;
  /** The worker's environment: which model key variables are set (names only leave this process). */
  env: Readonly<Record<string, string | undefined>>;
  log: Logger;
  /** Renewal interval; the record lives three of these. Default 5 s. */
  heartbeatMs?: number;
  /** How often the sandbox is probed again (an install or an engine start is seen). Default 60 s. */
  probeMs?: number;
}

export class WorkerAnnouncer {
  readonly workerId = `${hostname()}-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
  private capabilities: WorkerCapabilities | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private prober: NodeJS.Timeout | null = null;
  private probing: Promise<void> | null = null;
  private readonly heartbeatMs: number;

  constructor(private readonly options: WorkerAnnouncerOptions) {
    this.heartbeatMs = options.heartbeatMs ?? 5_000;
  }

  /** The first probe (reported in the log) and announcement; then the timers. */
  async start(): Promise<WorkerCapabilities> {
    await this.probe(true);
    this.heartbeat = setInterval(() => void this.announce(), this.heartbeatMs);
    this.heartbeat.unref();
    this.prober = setInterval(() => void this.probe(false), this.options.probeMs ?? 60_000);
    this.prober.unref();
    return this.capabilities!;
  }

  async stop(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.prober) clearInterval(this.prober);
    this.heartbeat = this.prober = null;
    await this.probing;
    await this.options.registry.withdraw(this.workerId).catch((err) => this.options.log.warn({ err }, 'could not withdraw this worker from the registry'));
  }

  /** Probes once (concurrent calls share it), then announces the answer. */
  private probe(report: boolean): Promise<void> {
    this.probing ??= (async () => {
      const probe = await probeSandbox(this.options.probeSandbox);
      const next = this.capabilitiesOf(probe);
      if (report || changed(this.capabilities, next)) this.report(next);
      this.capabilities = next;
      await this.announce();
    })().finally(() => {
      this.probing = null;
    });
    return this.probing;
  }

  private async announce(): Promise<void> {
    if (!this.capabilities) return;
    await this.options.registry
      .announce(this.capabilities, this.heartbeatMs * 3)
      .catch((err) => this.options.log.warn({ err }, 'could not announce this worker; the API may refuse projects until it can'));
  }

  private capabilitiesOf(probe: SandboxProbe): WorkerCapabilities {
    const env = this.options.env;
    const keys = Object.keys(env).filter((name) => env[name] && (ALL_MODEL_KEY_VARS.includes(name) || name.startsWith(SECRET_NAMESPACE)));
    return {
      workerId: this.workerId,
      host: hostname(),
      driver: probe.driver,
      sandbox: { available: probe.available, problem: probe.problem, remedy: probe.remedy },
      agents: Object.fromEntries(AGENT_CLI_NAMES.map((cli) => [cli, probe.tools[cli] ?? null])),
      keys: keys.sort(),
    };
  }

  /** What the operator reads at start-up (and when it changes): the sandbox, then each agent CLI. */
  private report(c: WorkerCapabilities): void {
    const log = this.options.log;
    if (c.sandbox.available) log.info({ driver: c.driver }, `the ${c.driver} sandbox works`);
    else log.error({ driver: c.driver, problem: c.sandbox.problem, remedy: c.sandbox.remedy }, `projects cannot run here: ${c.sandbox.problem}; ${c.sandbox.remedy}`);
    const found = Object.entries(c.agents).filter(([, path]) => path !== null);
    const absent = Object.entries(c.agents).filter(([, path]) => path === null).map(([cli]) => cli);
    log.info(
      { agents: Object.fromEntries(found), absent, keys: c.keys },
      found.length > 0
        ? `agent CLIs inside the sandbox: ${found.map(([cli, path]) => `${cli} (${path})`).join(', ')}; not found: ${absent.join(', ') || 'none'}`
        : 'no agent CLI found inside the sandbox (only the command preset can run): put one on PATH or DEVTEAM_AGENT_PATH',
    );
  }
}

function changed(a: WorkerCapabilities | null, b: WorkerCapabilities): boolean {
  return JSON.stringify(a) !== JSON.stringify(b);
}
