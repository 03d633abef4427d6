// Embedded Postgres: PGlite (Postgres compiled to WASM, data on disk) served over the Postgres wire
// protocol, so the application talks to it with the same `postgres` client and SQL as to a server.
//
// Findings that shape this file (PGlite 0.5.14, pglite-socket 0.2.17, postgres 3.4.9):
// - PGlite is ONE backend session. The socket server queues each wire message from every client
//   connection onto it; interleaving two connections' extended-protocol messages (Parse/Bind/
//   Execute/Sync) is unsafe, so the server accepts one connection and the client uses `max: 1`
//   (postgres.js pipelines concurrent queries on that one connection; verified in order).
// - Named prepared statements (`prepare: true`, the client default) work, also after a reconnect:
//   postgres.js names statements with a random per-connection prefix, so names never collide even
//   though the backend session (and its prepared statements, SETs, temp tables) outlives a client
//   connection. An error inside a pipeline fails only its own query.
// - postgres.js reaches a unix socket with `host: <directory>` and the file `.s.PGSQL.<port>`.
//   The socket lives inside the data dir, whose 0700 mode is the access control (PGlite accepts
//   any user and password); TCP on 127.0.0.1 is the fallback where unix sockets are unavailable.
// - Committed data survives a SIGKILL of the process (PGlite writes through to the directory).
import { chmod, mkdir, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type { Logger } from 'pino';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock.js';

/** Only the name of the socket file; nothing listens on a TCP port in unix-socket mode. */
const SOCKET_PORT = 5432;
/** sun_path is 108 bytes on Linux and 104 on macOS, including the terminating NUL. */
const MAX_SOCKET_PATH = 100;

export interface EmbeddedPostgres {
  /** Connection target for postgres.js: a directory (unix socket) or 127.0.0.1. */
  readonly host: string;
  readonly port: number;
  readonly transport: 'unix' | 'tcp';
  readonly dataDir: string;
  /** Stops serving, closes PGlite and releases the data dir. Disconnect clients first. */
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(opts: { dataDir: string; log?: Logger }): Promise<EmbeddedPostgres> {
  const dataDir = resolve(opts.dataDir);
  const log = opts.log;
  const started = performance.now();
  // The database has no authentication: only the owner may reach the socket and the files.
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const lock = await acquireDataDirLock(dataDir);

  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  try {
    db = await PGlite.create({ dataDir: join(dataDir, 'pgdata') });
    const socketPath = join(dataDir, `.s.PGSQL.${SOCKET_PORT}`);
    const useUnix = process.platform !== 'win32' && Buffer.byteLength(socketPath) <= MAX_SOCKET_PATH;
    if (useUnix) {
      // A crashed process leaves its socket file behind; we hold the lock, so it is not in use.
      await unlink(socketPath).catch(() => undefined);
      server = new PGLiteSocketServer({ db, path: socketPath, maxConnections: 1 });
    } else {
      server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 1 });
    }
    server.addEventListener('error', (event) => {
      log?.warn({ err: (event as CustomEvent).detail }, 'embedded database socket error');
    });
    await server.start();
    // The data dir's mode may be wider when the user created it; the socket itself is the door.
    if (useUnix) await chmod(socketPath, 0o600);
    else {
      const reason = process.platform === 'win32' ? 'no unix sockets' : 'socket path too long';
      log?.warn({ dataDir, reason }, 'embedded database listens on 127.0.0.1, reachable by every local user');
    }

    const host = useUnix ? dataDir : '127.0.0.1';
    const port = useUnix ? SOCKET_PORT : Number(server.getServerConn().split(':').pop());
    log?.info(
      { dataDir, transport: useUnix ? 'unix' : 'tcp', ms: Math.round(performance.now() - started) },
      'embedded database started',
    );
    return {
      host,
      port,
      transport: useUnix ? 'unix' : 'tcp',
      dataDir,
      stop: once(() => shutdown(server, db, lock)),
    };
  } catch (error) {
    await shutdown(server, db, lock).catch(() => undefined);
    throw error;
  }
}

async function shutdown(server: PGLiteSocketServer | undefined, db: PGlite | undefined, lock: DataDirLock): Promise<void> {
  try {
    // stop() resolves when every socket is closed; the handler's own cleanup (a ROLLBACK when a
    // client vanished mid-transaction) is scheduled on the next turn and must reach PGlite's
    // queue before close() does, or it would run against a closed database.
    await server?.stop();
    await nextTurn();
    if (db && !db.closed) await db.close();
  } finally {
    await lock.release();
  }
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= fn());
}
