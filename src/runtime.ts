// Builds the process from the config: the database (Postgres or embedded PGlite), the queue and
// lease (Redis or in-process), then the API and/or the worker. Shutdown closes all of it in order.
import { resolve } from 'node:path';
import type { InspectionEvent, Observer } from 'xstate';
import { isDistributed, parseApiKeys, type Config } from './config.js';
import {
  defaultRegistry,
  EVENTS_QUEUE,
  EXECUTIONS_CHANNEL,
  Janitor,
  OutboxDispatcher,
  ProjectHost,
  startEventWorker,
  type EventJob,
} from './actors/index.js';
import { MemoryBus, RedisBus, type Bus } from './infra/bus/index.js';
import { StatusCache } from './http/index.js';
import { initializeBodySchema, type PromptTemplates } from './project/index.js';
import { loadPromptTemplates, productionSteps } from './steps/index.js';
import { invalidateStatusOnFrames, startHttpServer, type HttpServer } from './http/index.js';
import { migrate, openDatabase, PostgresArtifactsStore, PostgresEventsStore, PostgresExecutionsStore, type Database } from './infra/db/index.js';
import { PROJECT_MACHINE_ID, PROJECT_MACHINE_VERSION } from './machines/index.js';
import type { Logger } from './infra/log.js';
import { BullmqQueue, MemoryQueue, type Consumer, type Queue } from './infra/queue/index.js';
import { MemoryLease, RedisLease, type Lease } from './infra/lease/index.js';
import { MemoryKv, RedisKv, type Kv } from './infra/kv/index.js';
import { MemoryFrameLog, RedisFrameLog, type FrameLog } from './infra/frames/index.js';
import { FrameSeqStore } from './infra/db/index.js';
import { Metrics, startMetricsServer } from './infra/metrics/index.js';
import { RepoCache } from './infra/repo/index.js';
import { createSandbox } from './infra/sandbox/index.js';

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
}

export async function startRuntime(config: Config, roles: Roles, log: Logger, options: RuntimeOptions = {}): Promise<Runtime> {
  const distributed = isDistributed(config);
  const closers: Array<{ name: string; close: () => Promise<void> | void }> = [];
  const stopAll = async () => {
    for (const { name, close } of closers.reverse()) {
      try {
        await close();
      } catch (error) {
        log.warn({ err: error, resource: name }, 'error while closing');
      }
    }
    closers.length = 0;
  };

  try {
    const db: Database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, log });
    closers.push({ name: 'database', close: () => db.close() });
    const applied = await migrate(db.sql, { log });
    log.info({ db: db.mode, migrationsApplied: applied.applied }, 'database ready');

    const queue: Queue<EventJob> = distributed
      ? new BullmqQueue<EventJob>({ url: config.redisUrl!, prefix: config.redisPrefix, name: EVENTS_QUEUE, log })
      : new MemoryQueue<EventJob>({ name: EVENTS_QUEUE, log });
    closers.push({ name: 'queue', close: () => queue.close() });
    const lease: Lease = distributed ? new RedisLease({ url: config.redisUrl!, prefix: config.redisPrefix }) : new MemoryLease();
    closers.push({ name: 'lease', close: () => lease.close() });
    const bus: Bus = distributed ? new RedisBus({ url: config.redisUrl!, prefix: config.redisPrefix, log }) : new MemoryBus({ log });
    closers.push({ name: 'bus', close: () => bus.close() });
    const notifyExecution = (notice: { executionId: string; status: string }) => bus.publish(EXECUTIONS_CHANNEL, JSON.stringify(notice));
    // Seqs resume above the durable mark after Redis loses its data or the embedded process restarts.
    const seqMarks = new FrameSeqStore(db.sql);
    const frames: FrameLog = distributed
      ? new RedisFrameLog({ url: config.redisUrl!, prefix: config.redisPrefix, seqMarks, log })
      : new MemoryFrameLog({ seqMarks, log });
    closers.push({ name: 'frames', close: () => frames.close() });
    const kv: Kv = distributed ? new RedisKv({ url: config.redisUrl!, prefix: config.redisPrefix }) : new MemoryKv();
    closers.push({ name: 'kv', close: () => kv.close() });

    const metrics = new Metrics();
    const events = new PostgresEventsStore(db.sql);
    const artifacts = new PostgresArtifactsStore(db.sql);
    const executions = new PostgresExecutionsStore(db.sql, { [PROJECT_MACHINE_ID]: [PROJECT_MACHINE_VERSION] });

    let consumer: Consumer | null = null;
    if (roles.worker) {
      // The workspaces of this host: repository caches and project sandboxes, swept when idle.
      const repos = new RepoCache({
        root: repoCacheRoot(config),
        timeoutMs: config.gitTimeoutMs,
        fileRemotes: { roots: config.fileRemoteRoots, forbidden: protectedPaths(config) },
        log,
      });
      const sandbox = createSandbox({
        driver: config.sandbox,
        image: config.sandboxImage,
        network: config.sandboxNetwork,
        binds: config.sandboxBinds,
        agentPath: config.agentPath,
        // The embedded database's files and every tenant's checkouts: never inside a sandbox.
        protectedPaths: protectedPaths(config),
        log,
      });
      closers.push({ name: 'sandbox', close: () => sandbox.close() });
      // The one warning about the host runner (HostSandbox itself stays quiet).
      if (sandbox.driver === 'none') log.warn('DEVTEAM_SANDBOX=none: agents and builds run on this host without isolation or limits');
      let promptTemplates: Promise<PromptTemplates> | null = null;
      const templates = () => (promptTemplates ??= loadPromptTemplates());
      const projects = new ProjectHost({
        executions,
        lease,
        bus,
        log,
        leaseTtlMs: config.leaseTtlMs,
        reconcileMs: config.reconcileMs,
        maxProjects: config.maxProjects,
        // Embedded: the only worker, in-process lease: it ignores lease records a crash left behind.
        soleWorker: !distributed,
        inspect: options.inspect,
        frames,
        metrics,
        steps: async (record) => {
          const stored = await executions.projectConfig(record.tenant, record.projectId);
          const parsed = initializeBodySchema.safeParse(stored);
          if (!parsed.success) throw new Error(`project ${record.projectId} has an invalid stored configuration: ${parsed.error.message}`);
          return productionSteps(
            {
              repos,
              sandbox,
              artifacts,
              templates,
              env: process.env,
              author: { name: config.gitAuthorName, email: config.gitAuthorEmail },
            },
            { tenant: record.tenant, projectId: record.projectId, config: parsed.data },
          );
        },
      });
      await projects.start();
      closers.push({ name: 'projects', close: () => projects.stop() });
      // Jobs only once the host is there: a DEVTEAM_AUTOMATION job hands its project to it.
      consumer = startEventWorker({
        queue,
        events,
        registry: defaultRegistry({ executions, host: projects }),
        log,
        concurrency: config.concurrency,
        staleAfterMs: config.staleAfterMs,
        metrics,
      });
      const c = consumer;
      closers.push({ name: 'worker', close: () => c.close(config.shutdownTimeoutMs) });
      const janitor = new Janitor({ sandbox, repos, sandboxIdleMs: config.sandboxIdleMs, repoUnusedMs: config.repoCacheUnusedMs, log });
      janitor.start();
      closers.push({ name: 'janitor', close: () => janitor.stop() });
      if (!roles.api && config.metricsPort !== undefined) {
        const server = await startMetricsServer(metrics, config.host, config.metricsPort);
        closers.push({ name: 'metrics', close: () => server.close() });
        log.info({ port: server.port }, 'worker metrics at GET /metrics');
      }
    }

    let http: HttpServer | null = null;
    if (roles.api) {
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
      http = await startHttpServer(
        {
          events,
          executions,
          queue,
          kv,
          artifacts,
          frames,
          metrics,
          statusCache,
          notifyExecution,
          log,
          bodyLimit: config.bodyLimit,
          apiKeys: parseApiKeys(config.apiKeys),
          // file:// remotes: only inside the operator's roots, never the data dir or the repository caches.
          fileRemotes: { roots: config.fileRemoteRoots, forbidden: protectedPaths(config) },
          readiness: [
            { name: 'database', check: () => db.ping() },
            { name: 'queue', check: () => queue.ping() },
          ],
        },
        { host: config.host, port: config.port },
      );
      const h = http;
      closers.push({
        name: 'http',
        close: async () => {
          h.close();
          await h.drain(config.shutdownTimeoutMs);
        },
      });
      if (!config.apiKeys) log.warn('no DEVTEAM_API_KEYS set: local single-user mode, every caller is tenant "local"');
    }

    log.info(
      { mode: distributed ? 'distributed' : 'embedded', db: db.mode, api: roles.api, worker: roles.worker, port: http?.port ?? null },
      'devteam runner started',
    );
    return {
      port: http?.port ?? null,
      mode: distributed ? 'distributed' : 'embedded',
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Where repository caches live: DEVTEAM_REPO_CACHE_DIR, or <data dir>/repos. */
/** The embedded database's files and every tenant's checkouts: never in a sandbox, never a file remote. */
export function protectedPaths(config: Config): string[] {
  return [resolve(config.dataDir), repoCacheRoot(config)];
}

export function repoCacheRoot(config: Config): string {
  return resolve(config.repoCacheDir ?? resolve(config.dataDir, 'repos'));
}
