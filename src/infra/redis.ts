// How this service talks to Redis: one factory so every connection has the same timeouts, and a
// request never hangs on an outage — it fails fast, and the connection recovers by itself.
import { Redis, type RedisOptions } from 'ioredis';

/** Where a Redis adapter gets its connection: a URL (it owns and closes it) or one it borrows. */
export type RedisTarget = { url: string; redis?: undefined } | { redis: Redis; url?: undefined };

export interface RedisLog {
  warn(obj: object, msg: string): void;
}

export interface CreateRedisOptions {
  /** Shown in CLIENT LIST, to tell connections apart. */
  name?: string;
  /**
   * A BullMQ worker connection: commands wait through an outage (no retry limit, offline queue
   * on), as BullMQ requires for its blocking BZPOPMIN connection. Every other connection fails fast.
   */
  forBullmq?: boolean;
  /** Connect on first use instead of now (an adapter that is never used opens nothing). */
  lazyConnect?: boolean;
  /** Told once per outage, not on every reconnect attempt. */
  log?: RedisLog;
}

export const CONNECT_TIMEOUT_MS = 2_000;
/** How long a command waits for a connection that is (re)connecting before it is rejected. */
export const READY_WAIT_MS = 1_000;
/** A server that accepts the socket but never answers must not hang a request either. */
export const COMMAND_TIMEOUT_MS = 1_500;

export class RedisUnavailableError extends Error {
  readonly code = 'redis_unavailable';
  constructor(
    readonly connection: string,
    readonly status: string,
    options?: { cause?: unknown },
  ) {
    super(`redis connection "${connection}" is not available (${status})`, options);
  }
}

export function createRedis(url: string, opts: CreateRedisOptions = {}): Redis {
  const common: RedisOptions = {
    connectionName: opts.name,
    connectTimeout: CONNECT_TIMEOUT_MS,
    lazyConnect: opts.lazyConnect ?? false,
    // ioredis waits this long for a closed socket to say so before destroying it; a socket caught
    // mid-reconnect by close() never does, and would hold the process open for the default 2 s.
    disconnectTimeout: 200,
    // Back off up to 2 s between attempts: quick recovery, no hot loop against a dead server.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
  };
  const redis = opts.forBullmq
    ? new Redis(url, { ...common, maxRetriesPerRequest: null, enableOfflineQueue: true })
    : new Redis(url, { ...common, maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: COMMAND_TIMEOUT_MS });
  let reported = false;
  // A listener is required (ioredis prints unhandled 'error' events); callers see rejections.
  redis.on('error', (err: unknown) => {
    if (reported) return;
    reported = true;
    opts.log?.warn({ err, connection: opts.name }, 'redis connection failed; reconnecting');
  });
  redis.on('ready', () => {
    reported = false;
  });
  return redis;
}

/** One wait per connection, however many commands are waiting (one set of listeners, not one each). */
const readiness = new WeakMap<Redis, Promise<void>>();

/**
 * Resolves when `redis` can take a command: at once when connected, after at most `waitMs` while it
 * (re)connects, and rejects with RedisUnavailableError otherwise. A lazy connection starts here.
 */
export function whenReady(redis: Redis, waitMs = READY_WAIT_MS): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  const name = redis.options.connectionName ?? 'redis';
  if (redis.status === 'end') return Promise.reject(new RedisUnavailableError(name, 'closed'));
  let wait = readiness.get(redis);
  if (!wait) {
    const current = waitForReady(redis, name, waitMs);
    const forget = () => {
      if (readiness.get(redis) === current) readiness.delete(redis);
    };
    current.then(forget, forget);
    readiness.set(redis, current);
    wait = current;
  }
  return wait;
}

async function waitForReady(redis: Redis, name: string, waitMs: number): Promise<void> {
  if (redis.status === 'wait') redis.connect().catch(() => {});
  let lastError: unknown;
  let timer: NodeJS.Timeout | undefined;
  let cleanup = () => {};
  try {
    await new Promise<void>((resolve, reject) => {
      const onReady = () => resolve();
      const onError = (err: unknown) => (lastError = err);
      const onEnd = () => reject(new RedisUnavailableError(name, 'closed', { cause: lastError }));
      redis.once('ready', onReady);
      redis.on('error', onError);
      redis.once('end', onEnd);
      cleanup = () => {
        redis.off('ready', onReady);
        redis.off('error', onError);
        redis.off('end', onEnd);
      };
      timer = setTimeout(() => reject(new RedisUnavailableError(name, `not connected after ${waitMs} ms`, { cause: lastError })), waitMs);
    });
  } finally {
    clearTimeout(timer);
    cleanup();
  }
}

/** Closes gracefully when connected (QUIT), at once otherwise; never waits on a dead server. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status === 'ready') {
    const ended = new Promise<void>((resolve) => redis.once('end', resolve));
    const quit = redis.quit().then(
      () => ended,
      () => undefined,
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, COMMAND_TIMEOUT_MS)));
    await Promise.race([quit, timeout]);
    clearTimeout(timer);
    // (read again: the await above may have changed it)
    if ((redis.status as string) === 'end') return;
  }
  redis.disconnect();
}

/** The connection of an adapter, and whether the adapter must close it. */
export function openRedis(target: RedisTarget, opts: CreateRedisOptions): { redis: Redis; owned: boolean } {
  return target.redis ? { redis: target.redis, owned: false } : { redis: createRedis(target.url, opts), owned: true };
}

/**
 * Runs a command once the connection can take it. Every way of failing because Redis is down
 * (not connected, connection lost mid-command, no answer in time) becomes one RedisUnavailableError,
 * so that callers map a single error to "503, retry later".
 */
export async function onRedis<T>(redis: Redis, command: () => Promise<T>): Promise<T> {
  await whenReady(redis);
  try {
    return await command();
  } catch (err) {
    throw asUnavailable(redis, err);
  }
}

/** `err` as a RedisUnavailableError when it says the connection is down; unchanged otherwise. */
export function asUnavailable(redis: Redis, err: unknown): unknown {
  if (err instanceof RedisUnavailableError || !isConnectionError(err)) return err;
  return new RedisUnavailableError(redis.options.connectionName ?? 'redis', 'connection lost', { cause: err });
}

const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** True for errors that only say the connection is down (reported once per outage by createRedis). */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof RedisUnavailableError) return true;
  const e = err as { code?: unknown; message?: unknown; name?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  return (
    CONNECTION_ERROR_CODES.has(code) ||
    e?.name === 'MaxRetriesPerRequestError' ||
    message === 'Connection is closed.' ||
    message === 'Command timed out' ||
    message.includes('ECONNREFUSED') ||
    message.includes("Stream isn't writeable")
  );
}
