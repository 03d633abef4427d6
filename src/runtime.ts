// Builds the process from the config: the database (Postgres or embedded PGlite), the queue and
// lease (Redis or in-process), then the API and/or the worker. Shutdown closes all of it in order.
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { InspectionEvent, Observer } from 'xstate';
import { isDistributed, parseApiKeys, type Config } from './config.js';
import {
  defaultRegistry,
  EVENTS_QUEUE,
  EXECUTIONS_CHANNEL,
  Janitor,
  OutboxDispatcher,
  WebhookDispatcher,
  WebhookNotifier,
  ProjectHost,
  startEventWorker,
  type EventJob,
  type ProjectHostOptions,
} from './actors/index.js';
import { MemoryBus, RedisBus, type Bus } from './infra/bus/index.js';
import { StatusCache } from './http/index.js';
import { initializeBodySchema, workerSecretValues, type PromptTemplates } from './project/index.js';
import { loadPromptTemplates, productionSteps } from './steps/index.js';
import { invalidateStatusOnFrames, startHttpServer, type HttpServer } from './http/index.js';
import {
  migrate,
  openDatabase,
  PostgresArtifactsStore,
  PostgresEventsStore,
  PostgresExecutionsStore,
  PostgresWebhookDeliveriesStore,
  PostgresUsageStore,
  type ArtifactsStore,
  type Database,
  type EventsStore,
  type ExecutionsStore,
  type WebhookDeliveriesStore,
  type UsageStore,
} from './infra/db/index.js';
import { PROJECT_MACHINE_ID, PROJECT_MACHINE_VERSION } from './machines/index.js';
import type { Logger } from './infra/log.js';
import { BullmqQueue, MemoryQueue, type Queue } from './infra/queue/index.js';
import { MemoryLease, RedisLease, type Lease } from './infra/lease/index.js';
import { MemoryKv, RedisKv, type Kv } from './infra/kv/index.js';
import { MemoryFrameLog, RedisFrameLog, type FrameLog } from './infra/frames/index.js';
import { FrameSeqStore } from './infra/db/index.js';
import { Metrics, startMetricsServer } from './infra/metrics/index.js';
import { RepoCache } from './infra/repo/index.js';
import { Admission } from './infra/admission/index.js';
import { SecretScanner } from './infra/secrets/index.js';
import { createSandbox, type Sandbox } from './infra/sandbox/index.js';
import { MemoryWorkerRegistry, RedisWorkerRegistry, type WorkerRegistry } from './infra/workers/index.js';
import { WorkerAnnouncer } from './actors/worker-announcer.js';

export interface Roles {
  api: boolean;
  worker: boolean;
}

export interface Runtime {
  /** The HTTP port, when this process serves the API. */
  port: number | null;
  mode: 'embedded' | 'distributed';
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  /** Receives every XState inspection event of the project actors (`--inspect`). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /**
   * The live workers' registry instead of the configured one (Redis, or in-process): for an API
   * started without any worker of its own (tests, bench fronts), judged by workers announced there.
   */
  workers?: WorkerRegistry;
}

/** What this process has opened, in the order it opened it; closed in reverse (later ones use earlier ones). */
type Closers = Array<{ name: string; close: () => Promise<void> | void }>;

/** The connections and stores both roles use. */
interface Backends {
  db: Database;
  queue: Queue<EventJob>;
  lease: Lease;
  bus: Bus;
  frames: FrameLog;
  kv: Kv;
  /** The live workers and what each can run (Redis, or this process's one worker). */
  workers: WorkerRegistry;
  metrics: Metrics;
  events: EventsStore;
  artifacts: ArtifactsStore;
  executions: ExecutionsStore;
  deliveries: WebhookDeliveriesStore;
  usage: UsageStore;
}

export async function startRuntime(config: Config, roles: Roles, log: Logger, options: RuntimeOptions = {}): Promise<Runtime> {
  const distributed = isDistributed(config);
  const mode = distributed ? 'distributed' : 'embedded';
  const closers: Closers = [];
  const stop = () => closeAll(closers, log);
  try {
    const backends = await openBackends(config, distributed, closers, log, options.workers);
    if (roles.worker) await startWorkerRole(config, backends, { distributed, api: roles.api, inspect: options.inspect }, closers, log);
    const http = roles.api ? await startApiRole(config, backends, distributed, closers, log) : null;
    log.info({ mode, db: backends.db.mode, api: roles.api, worker: roles.worker, port: http?.port ?? null }, 'devteam runner started');
    return { port: http?.port ?? null, mode, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Closes everything opened, newest first; a failing close is logged and the rest still close. */
async function closeAll(closers: Closers, log: Logger): Promise<void> {
  for (const { name, close } of closers.reverse()) {
    try {
      await close();
    } catch (error) {
      log.warn({ err: error, resource: name }, 'error while closing');
    }
  }
  closers.length = 0;
}

/** The database (migrated), then the queue, lease, bus, frame log and kv: Redis when distributed, in-process otherwise. */
async function openBackends(config: Config, distributed: boolean, closers: Closers, log: Logger, given?: WorkerRegistry): Promise<Backends> {
  const db: Database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, log });
  closers.push({ name: 'database', close: () => db.close() });
  const applied = await migrate(db.sql, { log });
  log.info({ db: db.mode, migrationsApplied: applied.applied }, 'database ready');

  const redis = { url: config.redisUrl!, prefix: config.redisPrefix };
  const queue: Queue<EventJob> = distributed
    ? new BullmqQueue<EventJob>({ ...redis, name: EVENTS_QUEUE, log })
    : new MemoryQueue<EventJob>({ name: EVENTS_QUEUE, log });
  closers.push({ name: 'queue', close: () => queue.close() });
  const lease: Lease = distributed ? new RedisLease(redis) : new MemoryLease();
  closers.push({ name: 'lease', close: () => lease.close() });
  const bus: Bus = distributed ? new RedisBus({ ...redis, log }) : new MemoryBus({ log });
  closers.push({ name: 'bus', close: () => bus.close() });
  // Seqs resume above the durable mark after Redis loses its data or the embedded process restarts.
  const seqMarks = new FrameSeqStore(db.sql);
  const frames: FrameLog = distributed ? new RedisFrameLog({ ...redis, seqMarks, log }) : new MemoryFrameLog({ seqMarks, log });
  closers.push({ name: 'frames', close: () => frames.close() });
  const kv: Kv = distributed ? new RedisKv(redis) : new MemoryKv();
  closers.push({ name: 'kv', close: () => kv.close() });
  const workers: WorkerRegistry = given ?? (distributed ? new RedisWorkerRegistry({ ...redis, log }) : new MemoryWorkerRegistry());
  if (!given) closers.push({ name: 'workers', close: () => workers.close() });

  return {
    db,
    queue,
    lease,
    bus,
    frames,
    kv,
    workers,
    metrics: new Metrics(),
    events: new PostgresEventsStore(db.sql),
    artifacts: new PostgresArtifactsStore(db.sql),
    usage: new PostgresUsageStore(db.sql),
    executions: new PostgresExecutionsStore(db.sql, { [PROJECT_MACHINE_ID]: [PROJECT_MACHINE_VERSION] }),
    deliveries: new PostgresWebhookDeliveriesStore(db.sql),
  };
}

/** The worker: the project host, the event consumer that hands it jobs, the janitor, and /metrics when no API serves it. */
async function startWorkerRole(
  config: Config,
  backends: Backends,
  opts: { distributed: boolean; api: boolean; inspect: RuntimeOptions['inspect'] },
  closers: Closers,
  log: Logger,
): Promise<void> {
  const { queue, lease, bus, frames, metrics, events, executions } = backends;
  const { repos, sandbox } = openWorkspaces(config, closers, log);
  // Webhooks: every worker sends the outbox (the tenants' signing keys are in workers' environments).
  const webhooks = new WebhookDispatcher({
    deliveries: backends.deliveries,
    env: process.env,
    log,
    metrics,
    pollMs: config.webhookPollMs,
    retryBaseMs: config.webhookRetryBaseMs,
    timeoutMs: config.webhookTimeoutMs,
    allowPrivate: config.webhookAllowPrivate,
  });
  webhooks.start();
  closers.push({ name: 'webhooks', close: () => webhooks.stop() });
  const projects = new ProjectHost({
    executions,
    lease,
    bus,
    log,
    leaseTtlMs: config.leaseTtlMs,
    reconcileMs: config.reconcileMs,
    maxProjects: config.maxProjects,
    // Embedded: the only worker, in-process lease: it ignores lease records a crash left behind.
    soleWorker: !opts.distributed,
    inspect: opts.inspect,
    frames,
    metrics,
    steps: projectSteps(config, { repos, sandbox, backends }),
    notifier: projectNotifier(config, backends, () => webhooks.kick()),
  });
  await projects.start();
  closers.push({ name: 'projects', close: () => projects.stop() });
  // Jobs only once the host is there: a DEVTEAM_AUTOMATION job hands its project to it.
  const consumer = startEventWorker({
    queue,
    events,
    registry: defaultRegistry({ executions, host: projects }),
    log,
    concurrency: config.concurrency,
    staleAfterMs: config.staleAfterMs,
    metrics,
  });
  closers.push({ name: 'worker', close: () => consumer.close(config.shutdownTimeoutMs) });
  // What this worker can run, probed with the runs' own sandbox settings, told to the API (and the log).
  const probe = sandboxOf(config, { prefix: 'devteam-probe', log });
  closers.push({ name: 'probe-sandbox', close: () => probe.close() });
  const announcer = new WorkerAnnouncer({ registry: backends.workers, probeSandbox: probe, env: process.env, log });
  await announcer.start();
  closers.push({ name: 'announcer', close: () => announcer.stop() });
  const janitor = new Janitor({ sandbox, repos, sandboxIdleMs: config.sandboxIdleMs, repoUnusedMs: config.repoCacheUnusedMs, log });
  janitor.start();
  closers.push({ name: 'janitor', close: () => janitor.stop() });
  if (!opts.api && config.metricsPort !== undefined) {
    const server = await startMetricsServer(metrics, config.host, config.metricsPort);
    closers.push({ name: 'metrics', close: () => server.close() });
    log.info({ port: server.port }, 'worker metrics at GET /metrics');
  }
}

/** The workspaces of this host: repository caches and project sandboxes, swept when idle. */
function openWorkspaces(config: Config, closers: Closers, log: Logger): { repos: RepoCache; sandbox: Sandbox } {
  const repos = new RepoCache({
    root: repoCacheRoot(config),
    timeoutMs: config.gitTimeoutMs,
    fileRemotes: { roots: config.fileRemoteRoots, forbidden: protectedPaths(config) },
    log,
  });
  const sandbox = sandboxOf(config, { log });
  closers.push({ name: 'sandbox', close: () => sandbox.close() });
  // The one warning about the host runner (HostSandbox itself stays quiet).
  if (sandbox.driver === 'none') log.warn('DEVTEAM_SANDBOX=none: agents and builds run on this host without isolation or limits');
  return { repos, sandbox };
}

/** A project's webhook notifier, from its stored configuration; null when it asked for none. */
function projectNotifier(config: Config, backends: Backends, kick: () => void): ProjectHostOptions['notifier'] {
  return async (record) => {
    const parsed = initializeBodySchema.safeParse(await backends.executions.projectConfig(record.tenant, record.projectId));
    const notify = parsed.success ? parsed.data.notify : undefined;
    return notify ? new WebhookNotifier({ deliveries: backends.deliveries, retryForMs: config.webhookRetryForMs, kick }, record, notify) : null;
  };
}

/** The production steps of a project, built from its stored configuration; prompt templates load once, on first use. */
function projectSteps(config: Config, deps: { repos: RepoCache; sandbox: Sandbox; backends: Backends }): ProjectHostOptions['steps'] {
  const { repos, sandbox, backends } = deps;
  let promptTemplates: Promise<PromptTemplates> | null = null;
  const templates = () => (promptTemplates ??= loadPromptTemplates());
  // The environment is fixed at start-up: every secret this worker holds is known now.
  const secrets = new SecretScanner([...workerSecretValues(process.env), ...parseApiKeys(config.apiKeys).keys()]);
  // One per worker: every project it drives queues for the same build and sandbox-start slots.
  const admission = new Admission({ builds: config.maxBuilds ?? availableParallelism(), sandboxStarts: config.maxSandboxStarts, metrics: backends.metrics });
  return async (record) => {
    const stored = await backends.executions.projectConfig(record.tenant, record.projectId);
    const parsed = initializeBodySchema.safeParse(stored);
    if (!parsed.success) throw new Error(`project ${record.projectId} has an invalid stored configuration: ${parsed.error.message}`);
    return productionSteps(
      {
        repos,
        sandbox,
        artifacts: backends.artifacts,
        usage: backends.usage,
        countUsage: (delta) => backends.metrics.countAgentUsage(delta),
        secrets,
        templates,
        env: process.env,
        author: { name: config.gitAuthorName, email: config.gitAuthorEmail },
        defaultLimits: { cpus: config.limitCpus, memoryMb: config.limitMemoryMb },
        admission,
      },
      { tenant: record.tenant, projectId: record.projectId, config: parsed.data },
    );
  };
}

/** The API: the outbox, the status cache kept fresh by the frame stream, and the HTTP server. */
async function startApiRole(config: Config, backends: Backends, distributed: boolean, closers: Closers, log: Logger): Promise<HttpServer> {
  const { db, queue, lease, bus, frames, kv, metrics, events, artifacts, executions } = backends;
  const outbox = new OutboxDispatcher({
    events,
    queue,
    lease,
    log,
    intervalMs: config.outboxIntervalMs,
    graceMs: config.outboxGraceMs,
    staleAfterMs: config.staleAfterMs,
  });
  outbox.start();
  closers.push({ name: 'outbox', close: () => outbox.stop() });
  const statusCache = new StatusCache(config.statusCacheMs);
  // Subscribed before the HTTP server's stream: a frame drops the cached status before it is relayed.
  const statusInvalidation = await invalidateStatusOnFrames(frames, statusCache);
  closers.push({ name: 'status-invalidation', close: () => statusInvalidation.close() });
  const http = await startHttpServer(
    {
      events,
      executions,
      queue,
      kv,
      artifacts,
      frames,
      metrics,
      statusCache,
      notifyExecution: (notice) => bus.publish(EXECUTIONS_CHANNEL, JSON.stringify(notice)),
      log,
      bodyLimit: config.bodyLimit,
      apiKeys: parseApiKeys(config.apiKeys),
      // file:// remotes: only inside the operator's roots, never the data dir or the repository caches.
      fileRemotes: { roots: config.fileRemoteRoots, forbidden: protectedPaths(config) },
      webhookAllowPrivate: config.webhookAllowPrivate,
      deliveries: backends.deliveries,
      // A project no live worker can run is refused at initialize, naming what is missing.
      admission: { workers: backends.workers, singleWorker: !distributed },
      readiness: [
        { name: 'database', check: () => db.ping() },
        { name: 'queue', check: () => queue.ping() },
      ],
    },
    { host: config.host, port: config.port },
  );
  closers.push({
    name: 'http',
    close: async () => {
      http.close();
      await http.drain(config.shutdownTimeoutMs);
    },
  });
  if (!config.apiKeys) log.warn('no DEVTEAM_API_KEYS set: local single-user mode, every caller is tenant "local"');
  return http;
}

/** The configured sandbox driver with this process's settings: the same for runs and for doctor. */
export function sandboxOf(config: Config, opts: { prefix?: string; log?: Logger } = {}): Sandbox {
  return createSandbox({
    driver: config.sandbox,
    image: config.sandboxImage,
    network: config.sandboxNetwork,
    binds: config.sandboxBinds,
    agentPath: config.agentPath,
    // An agent CLI the service finds on its PATH is shown in the sandbox too (its folder, read-only).
    servicePath: process.env.PATH,
    // The embedded database's files and every tenant's checkouts: never inside a sandbox.
    protectedPaths: protectedPaths(config),
    ...opts,
  });
}

/** The embedded database's files and every tenant's checkouts: never in a sandbox, never a file remote. */
export function protectedPaths(config: Config): string[] {
  return [resolve(config.dataDir), repoCacheRoot(config)];
}

/** Where repository caches live: DEVTEAM_REPO_CACHE_DIR, or <data dir>/repos. */
export function repoCacheRoot(config: Config): string {
  return resolve(config.repoCacheDir ?? resolve(config.dataDir, 'repos'));
}
