// The numbered plain-SQL migration files (`NNN_description.sql`) and where they are found.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MigrationError } from './migration-error.js';

export interface MigrationFile {
  id: number;
  /** The file name without `.sql`, e.g. `001_events`; recorded in schema_migrations. */
  name: string;
  path: string;
  sql: string;
  /** sha256 (hex) of the SQL with line endings normalised. */
  checksum: string;
}

const FILE_NAME = /^(\d+)_([A-Za-z0-9][A-Za-z0-9_-]*)\.sql$/;

/**
 * `<package root>/sql`, where the package root is the nearest ancestor of this module holding a
 * package.json. Walking up, rather than a fixed `../../..`, finds the same folder from
 * `src/infra/db/` (tests, tsx) and from `dist/src/infra/db/` (the build, which has no package.json).
 */
export function defaultMigrationsDir(moduleUrl: string | URL = import.meta.url): string {
  let dir = dirname(fileURLToPath(moduleUrl));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'sql');
    const parent = dirname(dir);
    if (parent === dir) {
      throw new MigrationError('invalid_migration_file', 'no package.json above the migrator to locate sql/', {
        from: String(moduleUrl),
      });
    }
    dir = parent;
  }
}

/** Every `.sql` file in dir, ordered by id; other files (README.md) are ignored. */
export async function readMigrationFiles(dir: string): Promise<MigrationFile[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    throw new MigrationError('invalid_migration_file', 'the migrations directory cannot be read', { dir }, { cause: error });
  }
  const files: MigrationFile[] = [];
  const byId = new Map<number, string>();
  for (const entry of entries.filter((e) => e.endsWith('.sql')).sort()) {
    const match = FILE_NAME.exec(entry);
    const id = match ? Number(match[1]) : NaN;
    if (!match || !Number.isSafeInteger(id) || id <= 0) {
      throw new MigrationError('invalid_migration_file', `migration file ${entry} is not named NNN_description.sql`, {
        dir,
        file: entry,
      });
    }
    const clash = byId.get(id);
    if (clash) {
      throw new MigrationError('invalid_migration_file', `migration files ${clash} and ${entry} share id ${id}`, {
        dir,
        id,
        files: [clash, entry],
      });
    }
    byId.set(id, entry);
    const path = join(dir, entry);
    // CRLF from a Windows checkout must not read as a changed migration.
    const sql = (await readFile(path, 'utf8')).replace(/\r\n/g, '\n');
    if (sql.trim() === '') {
      throw new MigrationError('invalid_migration_file', `migration file ${entry} is empty`, { dir, file: entry });
    }
    files.push({ id, name: entry.slice(0, -'.sql'.length), path, sql, checksum: await sha256(sql) });
  }
  return files.sort((a, b) => a.id - b.id);
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
