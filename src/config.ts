// The service configuration: one zod schema, read from the environment and overridden by CLI
// flags; every setting is listed once in SETTINGS, which drives both the env names and the flags.
import { posix } from 'node:path';
import { z } from 'zod';
import { findSecretPrefixClash } from './project/index.js';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `invalid URL (expected ${protocols.map((p) => p.replace(':', '://')).join(' or ')}…)` },
  );

/** The tenant of local single-user mode (no DEVTEAM_API_KEYS); reserved, so no API key can name it. */
export const LOCAL_TENANT = 'local';

/** Each setting: its env name, its CLI flag, what it means, and its schema (with the default). */
export const SETTINGS = {
  port: { env: 'PORT', flag: '--port <n>', doc: 'HTTP/WS listen port', schema: port.default(8080) },
  host: { env: 'HOST', flag: '--host <addr>', doc: 'HTTP/WS listen address', schema: z.string().min(1).default('127.0.0.1') },
  databaseUrl: {
    env: 'DATABASE_URL',
    flag: '--database-url <url>',
    doc: 'Postgres URL; absent → embedded PGlite under the data dir',
    schema: url(['postgres:', 'postgresql:']).optional(),
  },
  redisUrl: {
    env: 'REDIS_URL',
    flag: '--redis-url <url>',
    doc: 'Redis URL; absent → in-process queue, bus, lease and kv',
    schema: url(['redis:', 'rediss:']).optional(),
  },
  redisPrefix: {
    env: 'DEVTEAM_REDIS_PREFIX',
    flag: '--redis-prefix <prefix>',
    doc: 'prefix of every Redis key, channel and queue',
    schema: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only (1-64)').default('devteam'),
  },
  dataDir: { env: 'DEVTEAM_DATA_DIR', flag: '--data-dir <dir>', doc: 'embedded database, repository caches, artifacts', schema: z.string().min(1).default('./.devteam') },
  apiKeys: {
    env: 'DEVTEAM_API_KEYS',
    flag: '--api-keys <list>',
    doc: 'tenant:key,… ; absent → local single-user mode',
    schema: z
      .string()
      .regex(/^[A-Za-z0-9_-]+:[^,:\s]{16,}(,[A-Za-z0-9_-]+:[^,:\s]{16,})*$/, 'expected tenant:key[,tenant:key…] with keys of 16+ characters')
      .superRefine((value, ctx) => {
        const tenants = [...parseApiKeys(value).values()];
        if (tenants.includes(LOCAL_TENANT)) {
          ctx.addIssue({ code: 'custom', message: `the tenant "${LOCAL_TENANT}" is reserved for single-user mode (events recorded before tenants were, belong to it): name the tenant otherwise` });
        }
        // Tenant secret namespaces (DEVTEAM_SECRET_<TENANT>__) must not overlap: see src/project/secret-ref.ts.
        const clash = findSecretPrefixClash(tenants);
        if (clash) {
          ctx.addIssue({
            code: 'custom',
            message: `tenants "${clash.tenant}" and "${clash.other}" have overlapping secret namespaces (${clash.prefix}… and ${clash.otherPrefix}…), so one could name the other's secrets: rename one of them`,
          });
        }
      })
      .optional(),
  },
  fileRemoteRoots: {
    env: 'DEVTEAM_FILE_REMOTE_ROOTS',
    flag: '--file-remote-roots <dirs>',
    doc: 'absolute directories (comma-separated) under which projects may use file:// remotes; absent → file remotes are refused',
    schema: z
      .string()
      .superRefine((value, ctx) => {
        for (const dir of value.split(',')) {
          if (!/^\/[\x21-\x7e]*$/.test(dir) || dir.split('/').some((part) => part === '..')) {
            ctx.addIssue({ code: 'custom', message: `"${dir.slice(0, 200)}" is not an absolute directory (printable ASCII, no spaces, no "..")` });
          } else if (posix.normalize(dir) === '/') {
            ctx.addIssue({ code: 'custom', message: '"/" would open every directory of this host: name the directories that hold the remotes' });
          }
        }
      })
      .transform((value) => value.split(',').map((dir) => posix.normalize(dir).replace(/(.)\/$/, '$1')))
      .default([]),
  },
  sandbox: { env: 'DEVTEAM_SANDBOX', flag: '--sandbox <driver>', doc: 'docker, local (bubblewrap) or none', schema: z.enum(['docker', 'local', 'none']).default('local') },
  sandboxImage: {
    env: 'DEVTEAM_SANDBOX_IMAGE',
    flag: '--sandbox-image <image>',
    doc: 'image of the per-project containers (docker driver)',
    schema: z.string().min(1).default('devteam-project:latest'),
  },
  sandboxNetwork: {
    env: 'DEVTEAM_SANDBOX_NETWORK',
    flag: '--sandbox-network <mode>',
    doc: 'network of the project containers (docker driver): bridge, host, none or a network name',
    schema: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a docker network name such as bridge, host or none').default('bridge'),
  },
  sandboxBinds: {
    env: 'DEVTEAM_SANDBOX_BINDS',
    flag: '--sandbox-binds <binds>',
    doc: 'extra read-only host mounts of the project sandboxes, host:inside[,…] (both drivers)',
    schema: z
      .string()
      .regex(/^\/[^,:\s]*:\/[^,:\s]*(,\/[^,:\s]*:\/[^,:\s]*)*$/, 'expected /host/path:/container/path[,…] with absolute paths')
      .optional(),
  },
  limitCpus: { env: 'DEVTEAM_LIMIT_CPUS', flag: '--limit-cpus <n>', doc: 'CPUs per project sandbox', schema: z.coerce.number().positive().max(64).default(1) },
  limitMemoryMb: {
    env: 'DEVTEAM_LIMIT_MEMORY_MB',
    flag: '--limit-memory-mb <mb>',
    doc: 'memory per project sandbox, MiB',
    schema: z.coerce.number().int().min(64).default(1024),
  },
  sandboxIdleMs: {
    env: 'DEVTEAM_SANDBOX_IDLE_MS',
    flag: '--sandbox-idle-ms <ms>',
    doc: 'idle time after which a project container is stopped and removed',
    schema: positiveInt.default(30 * 60_000),
  },
  repoCacheDir: {
    env: 'DEVTEAM_REPO_CACHE_DIR',
    flag: '--repo-cache-dir <dir>',
    doc: 'root of the repository caches (<root>/<tenant>/<project>/repo); default <data dir>/repos',
    schema: z.string().min(1).optional(),
  },
  repoCacheUnusedMs: {
    env: 'DEVTEAM_REPO_CACHE_UNUSED_MS',
    flag: '--repo-cache-unused-ms <ms>',
    doc: 'repository caches unused this long are removed',
    schema: positiveInt.default(14 * 24 * 60 * 60_000),
  },
  gitTimeoutMs: { env: 'DEVTEAM_GIT_TIMEOUT_MS', flag: '--git-timeout-ms <ms>', doc: 'timeout of one clone or fetch', schema: positiveInt.default(120_000) },
  leaseTtlMs: {
    env: 'DEVTEAM_LEASE_TTL_MS',
    flag: '--lease-ttl-ms <ms>',
    doc: "how long a worker's ownership of a project lasts without renewal; a crashed owner is replaced after it",
    schema: z.coerce.number().int().min(1_000).max(600_000).default(15_000),
  },
  reconcileMs: {
    env: 'DEVTEAM_RECONCILE_MS',
    flag: '--reconcile-ms <ms>',
    doc: 'how often a worker looks for live projects that nobody drives (crash takeover, resume)',
    schema: z.coerce.number().int().min(50).max(60_000).default(1_000),
  },
  maxProjects: {
    env: 'DEVTEAM_MAX_PROJECTS',
    flag: '--max-projects <n>',
    doc: 'projects one worker process drives at once',
    schema: positiveInt.max(1024).default(8),
  },
  maxBuilds: {
    env: 'DEVTEAM_MAX_BUILDS',
    flag: '--max-builds <n>',
    doc: "builds (a project's verify commands) one worker runs at once; more wait in a queue, tenants in turn; absent → the host's cores",
    schema: positiveInt.max(1024).optional(),
  },
  maxSandboxStarts: {
    env: 'DEVTEAM_MAX_SANDBOX_STARTS',
    flag: '--max-sandbox-starts <n>',
    doc: 'project sandboxes one worker starts at once (a cold start: docker container, bubblewrap set-up); more wait, tenants in turn',
    schema: positiveInt.max(1024).default(2),
  },
  agentPath: {
    env: 'DEVTEAM_AGENT_PATH',
    flag: '--agent-path <dirs>',
    doc: 'directories (":"-separated, absolute) put first on PATH for coding-agent CLIs inside the sandbox',
    schema: z
      .string()
      .regex(/^\/[^:]*(:\/[^:]*)*$/, 'absolute directories separated by ":"')
      .optional(),
  },
  gitAuthorName: { env: 'DEVTEAM_GIT_AUTHOR_NAME', flag: '--git-author-name <name>', doc: 'author of the commits the runner makes', schema: z.string().min(1).max(200).default('DevTeam Runner') },
  gitAuthorEmail: {
    env: 'DEVTEAM_GIT_AUTHOR_EMAIL',
    flag: '--git-author-email <email>',
    doc: 'author e-mail of the commits the runner makes',
    schema: z.string().regex(/^[^\s<>@]+@[^\s<>@]+$/, 'an e-mail address').default('devteam-runner@localhost'),
  },
  metricsPort: {
    env: 'DEVTEAM_METRICS_PORT',
    flag: '--metrics-port <n>',
    doc: 'port of GET /metrics for a worker process (the API serves /metrics on its own port); unset → a lone worker serves none',
    schema: port.optional(),
  },
  statusCacheMs: {
    env: 'DEVTEAM_STATUS_CACHE_MS',
    flag: '--status-cache-ms <ms>',
    doc: 'how long an API process may answer a status read from memory (dropped at once on every change; 0 = always read the database)',
    schema: z.coerce.number().int().min(0).max(60_000).default(1_000),
  },
  logLevel: {
    env: 'LOG_LEVEL',
    flag: '--log-level <level>',
    doc: 'pino level',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  },
  bodyLimit: { env: 'DEVTEAM_BODY_LIMIT', flag: '--body-limit <bytes>', doc: 'largest accepted request body', schema: positiveInt.default(256 * 1024) },
  concurrency: { env: 'DEVTEAM_WORKER_CONCURRENCY', flag: '--concurrency <n>', doc: 'jobs a worker process runs at once', schema: positiveInt.max(256).default(4) },
  shutdownTimeoutMs: {
    env: 'DEVTEAM_SHUTDOWN_TIMEOUT_MS',
    flag: '--shutdown-timeout-ms <ms>',
    doc: 'how long SIGTERM waits for in-flight jobs',
    schema: positiveInt.default(10_000),
  },
  outboxIntervalMs: {
    env: 'DEVTEAM_OUTBOX_INTERVAL_MS',
    flag: '--outbox-interval-ms <ms>',
    doc: 'how often committed-but-unprocessed events are re-enqueued',
    schema: positiveInt.default(2_000),
  },
  outboxGraceMs: {
    env: 'DEVTEAM_OUTBOX_GRACE_MS',
    flag: '--outbox-grace-ms <ms>',
    doc: 'age after which a received event that no worker started is enqueued again',
    schema: positiveInt.default(5_000),
  },
  webhookAllowPrivate: {
    env: 'DEVTEAM_WEBHOOK_ALLOW_PRIVATE',
    flag: '--webhook-allow-private <0|1>',
    doc: '1: webhooks may go to loopback and private networks (refused by default: a tenant could reach internal services)',
    schema: z.enum(['0', '1']).default('0').transform((v) => v === '1'),
  },
  webhookPollMs: {
    env: 'DEVTEAM_WEBHOOK_POLL_MS',
    flag: '--webhook-poll-ms <ms>',
    doc: 'how often a worker looks for webhook deliveries due (new ones are tried at once)',
    schema: positiveInt.max(60_000).default(1_000),
  },
  webhookRetryBaseMs: {
    env: 'DEVTEAM_WEBHOOK_RETRY_BASE_MS',
    flag: '--webhook-retry-base-ms <ms>',
    doc: 'delay before a failed webhook is tried again; doubles with each try, up to 1 h',
    schema: positiveInt.default(10_000),
  },
  webhookRetryForMs: {
    env: 'DEVTEAM_WEBHOOK_RETRY_FOR_MS',
    flag: '--webhook-retry-for-ms <ms>',
    doc: 'how long a webhook delivery is retried before it is given up',
    schema: positiveInt.default(24 * 60 * 60_000),
  },
  webhookTimeoutMs: {
    env: 'DEVTEAM_WEBHOOK_TIMEOUT_MS',
    flag: '--webhook-timeout-ms <ms>',
    doc: 'how long one webhook POST may take',
    schema: positiveInt.max(120_000).default(10_000),
  },
  staleAfterMs: {
    env: 'DEVTEAM_STALE_AFTER_MS',
    flag: '--stale-after-ms <ms>',
    doc: 'age after which an event stuck in processing (its worker died) is retried',
    schema: positiveInt.default(5 * 60_000),
  },
} as const;

type Settings = typeof SETTINGS;
export type SettingKey = keyof Settings;

export const configSchema = z.object(
  Object.fromEntries(Object.entries(SETTINGS).map(([k, s]) => [k, s.schema])) as {
    [K in SettingKey]: Settings[K]['schema'];
  },
);

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  readonly code = 'invalid_config';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

/**
 * Builds the config from the environment, then flags on top. Empty env values count as unset.
 * Errors name the env variable (or the flag, when the value came from one): "REDIS_URL: invalid URL …".
 */
export function loadConfig(env: Record<string, string | undefined>, flags: Partial<Record<SettingKey, unknown>> = {}): Config {
  const raw: Record<string, unknown> = {};
  const source: Record<string, string> = {};
  for (const [key, setting] of Object.entries(SETTINGS)) {
    const fromEnv = env[setting.env];
    if (fromEnv !== undefined && fromEnv !== '') {
      raw[key] = fromEnv;
      source[key] = setting.env;
    }
    const fromFlag = flags[key as SettingKey];
    if (fromFlag !== undefined) {
      raw[key] = fromFlag;
      source[key] = setting.flag.split(' ')[0]!;
    }
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const key = String(issue.path[0]);
        const name = source[key] ?? SETTINGS[key as SettingKey]?.env ?? key;
        return `${name}: ${issue.message}`;
      }),
    );
  }
  return parsed.data;
}

export function isDistributed(config: Config): boolean {
  return config.redisUrl !== undefined;
}

/** `tenant:key,…` → key → tenant. */
export function parseApiKeys(value: string | undefined): Map<string, string> {
  const keys = new Map<string, string>();
  if (!value) return keys;
  for (const pair of value.split(',')) {
    const at = pair.indexOf(':');
    keys.set(pair.slice(at + 1), pair.slice(0, at));
  }
  return keys;
}
