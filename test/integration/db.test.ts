// The database adapter against real Postgres (a fresh database for this file) and embedded PGlite
// (a fresh data dir): one migration suite for both, then what only the embedded mode has.
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DatabaseInUseError,
  DatabaseUnavailableError,
  MigrationError,
  defaultMigrationsDir,
  migrate,
  migrationStatus,
  openDatabase,
  type Database,
  type Sql,
} from '../../src/infra/db/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SQL_DIR = join(ROOT, 'sql');
const ADMIN_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const tempDirs: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await tempDir('devteam-migrations-');
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

const THREE = {
  '001_a.sql': 'CREATE TABLE a (id integer);\n',
  '002_b.sql': 'CREATE TABLE b (id integer);\nINSERT INTO b VALUES (1);\n',
  '003_c.sql': 'CREATE TABLE c (id integer);\n',
};

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

async function tableExists(sql: Sql, name: string): Promise<boolean> {
  const [row] = await sql<{ found: boolean }[]>`select to_regclass(${name}) is not null as found`;
  return row?.found === true;
}

async function recorded(sql: Sql): Promise<Array<{ id: number; name: string; checksum: string; applied_at: Date }>> {
  if (!(await tableExists(sql, 'schema_migrations'))) return [];
  return sql`select id, name, checksum, applied_at from schema_migrations order by id`;
}

interface Backend {
  name: 'postgres' | 'embedded';
  setup(): Promise<Database>;
  /** Clients that behave like separate processes where the backend allows it. */
  clients(n: number): Promise<Database[]>;
  teardown(): Promise<void>;
}

function realPostgres(): Backend {
  const dbName = `devteam_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  const opened: Database[] = [];
  return {
    name: 'postgres',
    async setup() {
      const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => undefined });
      await admin.unsafe(`create database ${dbName}`);
      await admin.end();
      const db = await openDatabase({ url: url.href, dataDir: '/nonexistent' });
      opened.push(db);
      return db;
    },
    async clients(n) {
      const dbs = await Promise.all(Array.from({ length: n }, () => openDatabase({ url: url.href, dataDir: '/nonexistent' })));
      opened.push(...dbs);
      return dbs;
    },
    async teardown() {
      await Promise.all(opened.map((db) => db.close()));
      const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => undefined });
      await admin.unsafe(`drop database if exists ${dbName} with (force)`);
      await admin.end();
    },
  };
}

function embedded(): Backend {
  let db: Database | undefined;
  return {
    name: 'embedded',
    async setup() {
      db = await openDatabase({ dataDir: await tempDir('devteam-db-') });
      return db;
    },
    // PGlite is one session in one process: "several clients" are concurrent calls on one client.
    async clients(n) {
      return Array.from({ length: n }, () => db!);
    },
    async teardown() {
      await db?.close();
    },
  };
}

describe.each([realPostgres(), embedded()])('migrations on $name', (backend) => {
  let db: Database;
  let sql: Sql;

  beforeAll(async () => {
    db = await backend.setup();
    sql = db.sql;
  });
  afterAll(() => backend.teardown());
  beforeEach(async () => {
    await sql.unsafe('drop schema public cascade; create schema public;');
  });

  it('migrate applies every file in sql/ in order and records each with its checksum', async () => {
    const files = (await readdir(SQL_DIR)).filter((f) => /^\d{3}_.+\.sql$/.test(f)).sort();
    expect(files[0]).toBe('001_events.sql');

    const result = await migrate(sql);

    expect(result.applied).toEqual(files.map((f) => f.replace(/\.sql$/, '')));
    const rows = await recorded(sql);
    expect(rows).toHaveLength(files.length);
    for (const [i, file] of files.entries()) {
      const text = (await readFile(join(SQL_DIR, file), 'utf8')).replace(/\r\n/g, '\n');
      expect(rows[i]).toMatchObject({ id: i + 1, name: file.replace(/\.sql$/, ''), checksum: createHash('sha256').update(text).digest('hex') });
      expect(rows[i]?.applied_at).toBeInstanceOf(Date);
    }
    expect(await tableExists(sql, 'events')).toBe(true);
    expect(await tableExists(sql, 'executions')).toBe(true);
  });

  it('running migrate again applies nothing and leaves the records unchanged', async () => {
    await migrate(sql);
    const before = await recorded(sql);

    const again = await migrate(sql);

    expect(again.applied).toEqual([]);
    expect(await recorded(sql)).toEqual(before);
  });

  it('to applies migrations up to and including the target, and a later run applies the rest', async () => {
    const dir = await migrationsDir(THREE);

    expect((await migrate(sql, { dir, to: 2 })).applied).toEqual(['001_a', '002_b']);
    expect(await tableExists(sql, 'b')).toBe(true);
    expect(await tableExists(sql, 'c')).toBe(false);

    expect((await migrate(sql, { dir })).applied).toEqual(['003_c']);
    expect(await tableExists(sql, 'c')).toBe(true);
  });

  it('to naming a migration that does not exist is refused with invalid_target', async () => {
    const dir = await migrationsDir(THREE);

    const error = await caught(migrate(sql, { dir, to: 7 }));

    expect(error).toBeInstanceOf(MigrationError);
    expect(error).toMatchObject({ code: 'invalid_target', details: { to: 7, available: [1, 2, 3] } });
    expect(await recorded(sql)).toEqual([]);
  });

  it('to below the applied head is refused: downward migrations are not supported', async () => {
    const dir = await migrationsDir(THREE);
    await migrate(sql, { dir });

    const error = await caught(migrate(sql, { dir, to: 1 }));

    expect(error).toMatchObject({ code: 'invalid_target', details: { to: 1, head: 3 } });
    expect((error as Error).message).toMatch(/downward migrations are not supported/);
  });

  it('status lists applied and pending migrations without creating anything', async () => {
    const dir = await migrationsDir(THREE);

    const fresh = await migrationStatus(sql, { dir });
    expect(fresh.map((m) => m.status)).toEqual(['pending', 'pending', 'pending']);
    expect(await tableExists(sql, 'schema_migrations')).toBe(false);

    await migrate(sql, { dir, to: 1 });
    const status = await migrationStatus(sql, { dir });
    expect(status.map(({ id, name, status }) => ({ id, name, status }))).toEqual([
      { id: 1, name: '001_a', status: 'applied' },
      { id: 2, name: '002_b', status: 'pending' },
      { id: 3, name: '003_c', status: 'pending' },
    ]);
    expect(status[0]?.appliedAt).toBeInstanceOf(Date);
    expect(status[1]?.appliedAt).toBeNull();
    expect(status.every((m) => /^[0-9a-f]{64}$/.test(m.checksum))).toBe(true);
  });

  it('a database with an applied migration the code does not know is refused with unknown_migration', async () => {
    await migrate(sql, { dir: await migrationsDir(THREE) });
    const older = await migrationsDir({ '001_a.sql': THREE['001_a.sql'], '002_b.sql': THREE['002_b.sql'], '004_d.sql': 'CREATE TABLE d (id integer);' });

    const error = await caught(migrate(sql, { dir: older }));

    expect(error).toBeInstanceOf(MigrationError);
    expect(error).toMatchObject({ code: 'unknown_migration', details: { id: 3, name: '003_c' } });
    expect((error as Error).message).toContain('003_c');
    expect(await tableExists(sql, 'd')).toBe(false);
    expect((await migrationStatus(sql, { dir: older })).map((m) => [m.name, m.status])).toEqual([
      ['001_a', 'applied'],
      ['002_b', 'applied'],
      ['003_c', 'unknown'],
      ['004_d', 'pending'],
    ]);
  });

  it('a migration changed after it was applied is refused with checksum_mismatch', async () => {
    const dir = await migrationsDir({ '001_a.sql': THREE['001_a.sql'] });
    await migrate(sql, { dir });
    await writeFile(join(dir, '001_a.sql'), 'CREATE TABLE a (id integer, extra text);\n');
    await writeFile(join(dir, '002_b.sql'), THREE['002_b.sql']);

    const error = await caught(migrate(sql, { dir }));

    expect(error).toMatchObject({ code: 'checksum_mismatch', details: { id: 1, name: '001_a' } });
    expect(await tableExists(sql, 'b')).toBe(false);
  });

  it('a line-ending-only change (CRLF checkout) is not a checksum mismatch', async () => {
    const dir = await migrationsDir({ '001_a.sql': 'CREATE TABLE a (id integer);\nCREATE TABLE a2 (id integer);\n' });
    await migrate(sql, { dir });
    await writeFile(join(dir, '001_a.sql'), 'CREATE TABLE a (id integer);\r\nCREATE TABLE a2 (id integer);\r\n');

    expect((await migrate(sql, { dir })).applied).toEqual([]);
  });

  it('a failing migration rolls back completely: no record and no partial table', async () => {
    const dir = await migrationsDir({
      '001_a.sql': THREE['001_a.sql'],
      '002_broken.sql': 'CREATE TABLE partial (id integer);\nINSERT INTO missing_table VALUES (1);\n',
      '003_c.sql': THREE['003_c.sql'],
    });

    const error = await caught(migrate(sql, { dir }));

    expect(error).toBeInstanceOf(MigrationError);
    expect(error).toMatchObject({ code: 'migration_failed', details: { id: 2, name: '002_broken', sqlState: '42P01' } });
    expect((await recorded(sql)).map((r) => r.name)).toEqual(['001_a']);
    expect(await tableExists(sql, 'partial')).toBe(false);
    expect(await tableExists(sql, 'c')).toBe(false);
  });

  it('badly named migration files are refused with invalid_migration_file', async () => {
    const badName = await migrationsDir({ '001_a.sql': THREE['001_a.sql'], 'b.sql': 'select 1;' });
    const sameId = await migrationsDir({ '001_a.sql': THREE['001_a.sql'], '1_again.sql': 'select 1;' });

    expect(await caught(migrate(sql, { dir: badName }))).toMatchObject({ code: 'invalid_migration_file', details: { file: 'b.sql' } });
    expect(await caught(migrate(sql, { dir: sameId }))).toMatchObject({ code: 'invalid_migration_file', details: { id: 1 } });
    expect(await tableExists(sql, 'a')).toBe(false);
  });

  it('three concurrent migrate calls apply each migration exactly once', async () => {
    const dir = await migrationsDir(THREE);
    const clients = await backend.clients(3);

    const results = await Promise.all(clients.map((c) => migrate(c.sql, { dir })));

    expect(results.flatMap((r) => r.applied).sort()).toEqual(['001_a', '002_b', '003_c']);
    expect((await recorded(sql)).map((r) => r.id)).toEqual([1, 2, 3]);
    expect(await sql`select id from b`).toHaveLength(1);
  });

  it('the events table takes an event with defaults and enforces the status check', async () => {
    await migrate(sql);
    const id = randomUUID();

    await sql`insert into events (id, tenant, type, project_id, correlation_id, payload)
              values (${id}, 'acme', 'DEVTEAM_AUTOMATION', 'acme-web', 'corr-1', ${sql.json({ a: 1 })})`;
    const [row] = await sql`select * from events where id = ${id}`;
    expect(row).toMatchObject({ tenant: 'acme', status: 'received', attempts: 0, payload: { a: 1 }, task_context: null });
    expect(row?.created_at).toBeInstanceOf(Date);

    const error = await caught(sql`update events set status = 'lost' where id = ${id}`);
    expect(error).toMatchObject({ code: '23514' });
    // A row written by hand without a tenant belongs to "local" (reserved: no API key tenant can read it).
    const ownerless = randomUUID();
    await sql`insert into events (id, type, project_id, correlation_id, payload) values (${ownerless}, 'X', 'p', 'c', '{}')`;
    expect(await sql`select tenant from events where id = ${ownerless}`).toEqual([{ tenant: 'local' }]);
    expect(await caught(sql`update events set tenant = null where id = ${ownerless}`)).toMatchObject({ code: '23502' });
  });

  it('004 gives existing events a tenant: the execution they started, else "local"', async () => {
    await migrate(sql, { to: 3 });
    const [started, plain] = [randomUUID(), randomUUID()];
    await sql`insert into events (id, type, project_id, correlation_id, payload) values (${started}, 'DEVTEAM_AUTOMATION', 'web', 'c1', ${sql.json({ tenant: 'forged' })})`;
    await sql`insert into events (id, type, project_id, correlation_id, payload) values (${plain}, 'X', 'web', 'c2', ${sql.json({ tenant: 'acme' })})`;
    await sql`insert into projects (tenant, project_id, config) values ('acme', 'web', '{}')`;
    await sql`insert into executions (id, tenant, project_id, event_id, machine_id, machine_version, snapshot, status)
              values (${randomUUID()}, 'acme', 'web', ${started}, 'm', 1, '{}', 'running')`;

    expect((await migrate(sql, { to: 4 })).applied).toEqual(['004_events_tenant']);
    const rows = await sql`select id, tenant from events order by correlation_id`;
    // From the execution the server recorded, never from the payload.
    expect(rows.map((r) => r.tenant)).toEqual(['acme', 'local']);
  });

  it('ping resolves while the database is up', async () => {
    await expect(db.ping()).resolves.toBeUndefined();
  });
});

describe('embedded database', () => {
  it('data survives close and reopen, and close removes the lock and socket files', async () => {
    const dataDir = await tempDir('devteam-db-');
    const first = await openDatabase({ dataDir });
    await migrate(first.sql);
    const id = randomUUID();
    await first.sql`insert into events (id, type, project_id, correlation_id, payload)
                    values (${id}, 'T', 'p', 'c', ${first.sql.json({ kept: true })})`;
    expect(existsSync(join(dataDir, 'pgdata.lock'))).toBe(true);

    await first.close();
    expect(existsSync(join(dataDir, 'pgdata.lock'))).toBe(false);
    expect(existsSync(join(dataDir, '.s.PGSQL.5432'))).toBe(false);

    const second = await openDatabase({ dataDir });
    try {
      expect(await second.sql`select payload from events where id = ${id}`).toEqual([{ payload: { kept: true } }]);
      expect((await migrate(second.sql)).applied).toEqual([]);
    } finally {
      await second.close();
    }
  });

  it('opening a data dir that is already open fails with the in-use error and leaves the first working', async () => {
    const dataDir = await tempDir('devteam-db-');
    const first = await openDatabase({ dataDir });
    try {
      const error = await caught(openDatabase({ dataDir }));

      expect(error).toBeInstanceOf(DatabaseInUseError);
      expect(error).toMatchObject({ code: 'database_in_use', pid: process.pid, dataDir });
      expect((error as Error).message).toBe(`the embedded database in ${dataDir} is in use by pid ${process.pid}`);
      await expect(first.ping()).resolves.toBeUndefined();
    } finally {
      await first.close();
    }
  });

  it('a data dir too deep for a unix socket path is served on 127.0.0.1 instead', async () => {
    const dataDir = join(await tempDir('devteam-db-'), 'd'.repeat(100));
    const db = await openDatabase({ dataDir });
    try {
      await expect(db.ping()).resolves.toBeUndefined();
      expect(db.sql.options.host).toEqual(['127.0.0.1']);
      expect(existsSync(join(dataDir, '.s.PGSQL.5432'))).toBe(false);
    } finally {
      await db.close();
    }
  });

  it('a data dir left by a killed process reopens with its committed data', async () => {
    const dataDir = await tempDir('devteam-db-');
    const child = await runChild(dataDir, 'crash');
    expect(child.signal).toBe('SIGKILL');
    expect(child.stdout).toContain('committed');
    // The dead process's lock is still there: the reopen below has to recognise it as stale.
    expect(JSON.parse(await readFile(join(dataDir, 'pgdata.lock'), 'utf8'))).toMatchObject({ pid: child.pid });

    const db = await openDatabase({ dataDir });
    try {
      expect(await db.sql`select id from survivors`).toEqual([{ id: 1 }]);
    } finally {
      await db.close();
    }
  });

  it('a process that opens and closes an embedded database exits by itself', async () => {
    const dataDir = await tempDir('devteam-db-');

    const child = await runChild(dataDir, 'close');

    expect(child.code).toBe(0);
    expect(child.stdout).toContain('closed');
    // Any handle left open (a timer, a socket, PGlite) would hold the process past this.
    expect(child.msFromLastOutputToExit).toBeLessThan(2_000);
  });
});

describe('availability', () => {
  it('openDatabase returns at once for an unreachable server, ping rejects within 2 s and close does not hang', async () => {
    const started = performance.now();
    const db = await openDatabase({ url: 'postgres://postgres@127.0.0.1:1/x', dataDir: '/nonexistent' });
    expect(performance.now() - started).toBeLessThan(200);

    const pinged = performance.now();
    const error = await caught(db.ping());
    expect(error).toBeInstanceOf(DatabaseUnavailableError);
    expect(error).toMatchObject({ code: 'database_unavailable', mode: 'postgres' });
    expect(performance.now() - pinged).toBeLessThan(2_000);

    const closing = performance.now();
    await db.close();
    expect(performance.now() - closing).toBeLessThan(2_000);
  });

  it('ping against a server that accepts but never answers rejects after its timeout', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const db = await openDatabase({ url: `postgres://postgres@127.0.0.1:${port}/x`, dataDir: '/nonexistent' });
    try {
      const pinged = performance.now();
      const error = await caught(db.ping(300));
      const elapsed = performance.now() - pinged;

      expect(error).toMatchObject({ code: 'database_unavailable', reason: 'timeout', timeoutMs: 300 });
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(1_000);
      // postgres.js's end() does not notice a connection that never finished its startup, so
      // close() is bounded by its 5 s grace for running queries rather than by connect_timeout.
      const closing = performance.now();
      await db.close();
      expect(performance.now() - closing).toBeLessThan(6_000);
    } finally {
      await db.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('ping on a closed embedded database rejects instead of hanging', async () => {
    const db = await openDatabase({ dataDir: await tempDir('devteam-db-') });
    await db.close();

    const started = performance.now();
    expect(await caught(db.ping(500))).toMatchObject({ code: 'database_unavailable', mode: 'embedded' });
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('default migrations dir', () => {
  it('is the package sql/ folder, both from src/ and from the compiled dist/src/', () => {
    expect(defaultMigrationsDir()).toBe(SQL_DIR);
    expect(defaultMigrationsDir(new URL('src/infra/db/migration-files.ts', `file://${ROOT}`))).toBe(SQL_DIR);
    expect(defaultMigrationsDir(new URL('dist/src/infra/db/migration-files.js', `file://${ROOT}`))).toBe(SQL_DIR);
  });
});

interface ChildResult {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  msFromLastOutputToExit: number;
}

/** Runs test/fixtures/embedded-db-child.ts through vite-node (the TypeScript runner vitest ships). */
function runChild(dataDir: string, mode: 'close' | 'crash', deadlineMs = 20_000): Promise<ChildResult> {
  const runner = join(ROOT, 'node_modules', 'vite-node', 'vite-node.mjs');
  const script = join(ROOT, 'test', 'fixtures', 'embedded-db-child.ts');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [runner, script, '--', dataDir, mode], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let lastOutput = performance.now();
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      lastOutput = performance.now();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child did not exit within ${deadlineMs} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, deadlineMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(deadline);
      if (code !== 0 && signal === null) reject(new Error(`child exited with ${code}: ${stderr}`));
      else resolve({ pid: child.pid ?? -1, code, signal, stdout, msFromLastOutputToExit: performance.now() - lastOutput });
    });
  });
}
