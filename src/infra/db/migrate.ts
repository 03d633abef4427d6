// Applies the numbered SQL migrations in order, each in its own transaction together with its row
// in schema_migrations, serialised across processes by a transaction-scoped advisory lock.
//
// Migration files must not contain their own BEGIN/COMMIT (that would break the all-or-nothing
// guarantee) nor statements that cannot run in a transaction (CREATE INDEX CONCURRENTLY).
// There are no down migrations: a schema is only ever moved forward.
import type { Logger } from 'pino';
import type postgres from 'postgres';
import type { Sql } from './database.js';
import { MigrationError } from './migration-error.js';
import { defaultMigrationsDir, readMigrationFiles, type MigrationFile } from './migration-files.js';

export interface MigrationStatus {
  id: number;
  name: string;
  status: 'applied' | 'pending' | 'unknown';
  appliedAt: Date | null;
  /** The file's checksum; for an unknown migration, the recorded one. */
  checksum: string;
}

export interface MigrateOptions {
  /** Folder of `NNN_description.sql` files; default: the package's `sql/`. */
  dir?: string;
  /** Apply up to and including this id. */
  to?: number;
  log?: Logger;
}

/** "devteam\x01" read as a big-endian int64: the key every runner process agrees on. */
const LOCK_KEY = '7234318618729737473';

const CREATE_TABLE = `
  CREATE TABLE schema_migrations (
    id integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`;

interface AppliedRow {
  id: number;
  name: string;
  checksum: string;
  applied_at: Date;
}

type Tx = postgres.TransactionSql<{}>;

/**
 * Brings the database up to the newest migration (or `to`). Re-running is a no-op. Refuses, before
 * touching anything, when the database has a migration this code does not know (it was migrated
 * by a newer version) or when an applied file has changed since.
 */
export async function migrate(sql: Sql, opts: MigrateOptions = {}): Promise<{ applied: string[] }> {
  const dir = opts.dir ?? defaultMigrationsDir();
  const files = await readMigrationFiles(dir);
  const { to, log } = opts;
  if (to !== undefined && !files.some((f) => f.id === to)) {
    throw new MigrationError('invalid_target', `there is no migration ${to}`, {
      to,
      available: files.map((f) => f.id),
      dir,
    });
  }

  const applied: string[] = [];
  // One transaction per migration; each re-reads the applied set under the lock, so several
  // processes migrating at once each apply only what nobody else applied before them.
  for (;;) {
    const started = performance.now();
    const done = await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${LOCK_KEY}::bigint)`;
      const rows = await appliedRows(tx, { create: true });
      verify(rows, files);
      const head = rows.at(-1)?.id ?? 0;
      if (to !== undefined && to < head) {
        throw new MigrationError(
          'invalid_target',
          `migration ${to} is below the applied head ${head}; downward migrations are not supported`,
          { to, head },
        );
      }
      const appliedIds = new Set(rows.map((r) => r.id));
      const next = files.find((f) => !appliedIds.has(f.id) && (to === undefined || f.id <= to));
      if (!next) return null;
      if (next.id < head) log?.warn({ migration: next.name, head }, 'applying a migration older than the head');
      await apply(tx, next);
      return next.name;
    });
    if (done === null) break;
    applied.push(done);
    log?.info({ migration: done, ms: Math.round(performance.now() - started) }, 'migration applied');
  }
  return { applied };
}

/** Every known and every recorded migration, by id; read-only (does not create the table). */
export async function migrationStatus(sql: Sql, opts: { dir?: string } = {}): Promise<MigrationStatus[]> {
  const files = await readMigrationFiles(opts.dir ?? defaultMigrationsDir());
  const rows = await sql.begin((tx) => appliedRows(tx, { create: false }));
  const recorded = new Map(rows.map((r) => [r.id, r]));
  const statuses: MigrationStatus[] = files.map((f) => {
    const row = recorded.get(f.id);
    return {
      id: f.id,
      name: f.name,
      status: row ? 'applied' : 'pending',
      appliedAt: row?.applied_at ?? null,
      checksum: f.checksum,
    };
  });
  const known = new Set(files.map((f) => f.id));
  for (const row of rows) {
    if (!known.has(row.id)) {
      statuses.push({ id: row.id, name: row.name, status: 'unknown', appliedAt: row.applied_at, checksum: row.checksum });
    }
  }
  return statuses.sort((a, b) => a.id - b.id);
}

async function appliedRows(tx: Tx, { create }: { create: boolean }): Promise<AppliedRow[]> {
  // to_regclass instead of CREATE TABLE IF NOT EXISTS: no NOTICE on every run, and it resolves
  // the name through search_path exactly as the unqualified CREATE does.
  const [found] = await tx<{ exists: boolean }[]>`select to_regclass('schema_migrations') is not null as exists`;
  if (!found?.exists) {
    if (create) await tx.unsafe(CREATE_TABLE);
    return [];
  }
  return tx<AppliedRow[]>`select id, name, checksum, applied_at from schema_migrations order by id`;
}

function verify(rows: AppliedRow[], files: MigrationFile[]): void {
  const byId = new Map(files.map((f) => [f.id, f]));
  for (const row of rows) {
    const file = byId.get(row.id);
    if (!file) {
      throw new MigrationError(
        'unknown_migration',
        `the database has migration ${row.name} applied, which this version does not know; refusing to migrate`,
        { id: row.id, name: row.name, appliedAt: row.applied_at },
      );
    }
    if (file.checksum !== row.checksum) {
      throw new MigrationError('checksum_mismatch', `migration ${file.name} was changed after it was applied`, {
        id: row.id,
        name: file.name,
        recordedChecksum: row.checksum,
        fileChecksum: file.checksum,
        path: file.path,
      });
    }
  }
}

async function apply(tx: Tx, file: MigrationFile): Promise<void> {
  try {
    // unsafe() without parameters uses the simple protocol, which runs multi-statement files.
    await tx.unsafe(file.sql);
  } catch (error) {
    const pg = error as Partial<postgres.PostgresError>;
    throw new MigrationError(
      'migration_failed',
      `migration ${file.name} failed: ${pg.message ?? String(error)}`,
      { id: file.id, name: file.name, path: file.path, sqlState: pg.code, position: pg.position },
      { cause: error },
    );
  }
  await tx`insert into schema_migrations (id, name, checksum) values (${file.id}, ${file.name}, ${file.checksum})`;
}
