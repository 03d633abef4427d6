// The one database handle the application uses: a postgres.js client, connected either to a real
// Postgres (DATABASE_URL) or to the embedded PGlite served on a local socket — one code path.
import postgres from 'postgres';
import type { Logger } from 'pino';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { driverJsonSerializer } from './json-text.js';

export type Sql = postgres.Sql<{}>;

export interface Database {
  sql: Sql;
  mode: 'embedded' | 'postgres';
  /** Resolves when `select 1` answers; rejects with DatabaseUnavailableError within timeoutMs. */
  ping(timeoutMs?: number): Promise<void>;
  /** Ends the client (and the embedded server); idempotent. */
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Postgres URL; absent → embedded PGlite in `<dataDir>/pgdata`. */
  url?: string;
  dataDir: string;
  log?: Logger;
  /** Pool size for a real server (default 10). The embedded database always uses one connection. */
  max?: number;
}

export class DatabaseUnavailableError extends Error {
  readonly code = 'database_unavailable' as const;
  constructor(
    readonly mode: Database['mode'],
    readonly reason: 'timeout' | 'error',
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super(reason === 'timeout' ? `database did not answer within ${timeoutMs} ms` : 'database is unavailable', options);
    this.name = 'DatabaseUnavailableError';
  }
}

/**
 * Seconds; a server that does not accept within this fails the query instead of hanging it. One
 * second, like every store deadline of a request (src/http/store-call.ts): a request never waits
 * longer on a database that is down, and the next query reconnects by itself once it is back.
 */
const CONNECT_TIMEOUT_S = 1;
/** Seconds an unused pooled connection stays open. */
const IDLE_TIMEOUT_S = 30;
/**
 * Seconds sql.end() waits for running queries before closing connections. Also the bound on
 * close() when the server hangs: postgres.js's end() waits for a connection stuck in its startup
 * even after connect_timeout failed its queries.
 */
const END_TIMEOUT_S = 5;

/**
 * With a url this returns at once without connecting (postgres.js connects on first use), so a
 * database that is down makes ping() fail fast instead of making start-up hang.
 */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  const log = opts.log;
  const onnotice = (notice: postgres.Notice) =>
    log?.debug({ notice: notice.message, severity: notice.severity, sqlState: notice.code }, 'database notice');
  // The stores pass JSON as text they serialized (json-text.ts); this only makes sure that a value
  // reaching the driver's serializer anyway can never throw mid-write and desynchronise the connection.
  const types = { json: { to: 114, from: [114, 3802], serialize: driverJsonSerializer, parse: (x: string) => JSON.parse(x) as unknown } };

  if (opts.url) {
    const sql = postgres(opts.url, {
      max: opts.max ?? 10,
      connect_timeout: CONNECT_TIMEOUT_S,
      idle_timeout: IDLE_TIMEOUT_S,
      types,
      onnotice,
      connection: { application_name: 'devteam-runner' },
    });
    return handle(sql, 'postgres', async () => {
      await sql.end({ timeout: END_TIMEOUT_S });
    });
  }

  const embedded = await startEmbeddedPostgres({ dataDir: opts.dataDir, ...(log ? { log } : {}) });
  const sql = postgres({
    host: embedded.host,
    port: embedded.port,
    user: 'postgres',
    database: 'postgres',
    // One connection: see embedded-postgres.ts for why PGlite must not see two.
    max: 1,
    connect_timeout: CONNECT_TIMEOUT_S,
    // Keep the single connection for the life of the process: a reconnect costs a startup and
    // type fetch, and the server accepts only one connection at a time.
    idle_timeout: 0,
    max_lifetime: null,
    types,
    onnotice,
    connection: { application_name: 'devteam-runner' },
  });
  return handle(sql, 'embedded', async () => {
    try {
      await sql.end({ timeout: END_TIMEOUT_S });
    } finally {
      await embedded.stop();
    }
  });
}

function handle(sql: Sql, mode: Database['mode'], end: () => Promise<void>): Database {
  let closing: Promise<void> | undefined;
  return {
    sql,
    mode,
    ping: (timeoutMs = 1000) => ping(sql, mode, timeoutMs),
    close: () => (closing ??= end()),
  };
}

async function ping(sql: Sql, mode: Database['mode'], timeoutMs: number): Promise<void> {
  const query = sql`select 1`;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    // Racing a timer bounds the wait whatever the client does (connect retries, a stuck socket).
    const outcome = await Promise.race([query.then(() => 'ok' as const), timeout]);
    // No query.cancel() on timeout: for a query already handed to a connection postgres.js opens
    // a second socket to send a CancelRequest, and against a server that accepts but never
    // answers those sockets would pile up, one per ping. The abandoned ping fails with the
    // connection instead (connect_timeout, or the socket closing).
    if (outcome === 'timeout') throw new DatabaseUnavailableError(mode, 'timeout', timeoutMs);
  } catch (error) {
    if (error instanceof DatabaseUnavailableError) throw error;
    throw new DatabaseUnavailableError(mode, 'error', timeoutMs, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}
