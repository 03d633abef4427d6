// ArtifactsStore on the artifacts table, for Postgres and the embedded PGlite alike (the same SQL).
import { z } from 'zod';
import {
  ArtifactStoreError,
  DEFAULT_ARTIFACT_MAX_BYTES,
  KEEP,
  NewArtifactSchema,
  capContent,
  type ArtifactRecord,
  type ArtifactsStore,
  type NewArtifact,
} from './artifacts-store.js';
import type { Sql } from './database.js';
import { jsonText } from './json-text.js';
const PREPARED = { prepare: true } as const;

const COLUMNS = `id, execution_id AS "executionId", task_id AS "taskId", attempt, kind,
  octet_length(content) AS bytes, bytes_total::int AS "bytesTotal", truncated, meta, created_at AS "createdAt"`;

export class PostgresArtifactsStore implements ArtifactsStore {
  constructor(
    private readonly sql: Sql,
    private readonly options: { maxBytes?: number } = {},
  ) {}

  /** Stores one artifact, capped at maxBytes; returns it without its content. */
  async put(input: NewArtifact): Promise<ArtifactRecord> {
    const parsed = NewArtifactSchema.safeParse(input);
    if (!parsed.success) throw new ArtifactStoreError('invalid_artifact', `invalid artifact: ${parsed.error.issues[0]?.message ?? 'invalid'}`, parsed.error.issues);
    const a = parsed.data;
    const capped = capContent(a.content, this.options.maxBytes ?? DEFAULT_ARTIFACT_MAX_BYTES, KEEP[a.kind]);
    const rows = await this.sql.unsafe<ArtifactRecord[]>(
      `INSERT INTO artifacts (id, execution_id, task_id, attempt, kind, content, bytes_total, truncated, meta)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::jsonb) RETURNING ${COLUMNS}`,
      [crypto.randomUUID(), a.executionId, a.taskId, a.attempt, a.kind, capped.content, capped.bytesTotal, capped.truncated, jsonText(a.meta)] as never[],
      PREPARED,
    );
    return rows[0]!;
  }

  /** The execution's artifacts, oldest first; contents only when asked (they can be large). */
  async list(executionId: string, opts: { taskId?: string; withContent?: boolean } = {}): Promise<ArtifactRecord[]> {
    const columns = opts.withContent ? `${COLUMNS}, content` : COLUMNS;
    const params: unknown[] = [executionId];
    let where = 'execution_id = $1';
    if (opts.taskId !== undefined) {
      params.push(opts.taskId);
      where += ' AND task_id = $2';
    }
    return this.sql.unsafe<ArtifactRecord[]>(`SELECT ${columns} FROM artifacts WHERE ${where} ORDER BY seq`, params as never[], PREPARED);
  }

  /** One artifact with its content; null for an unknown (or malformed) id. */
  async get(id: string): Promise<ArtifactRecord | null> {
    if (!z.guid().safeParse(id).success) return null;
    const rows = await this.sql.unsafe<ArtifactRecord[]>(`SELECT ${COLUMNS}, content FROM artifacts WHERE id = $1`, [id], PREPARED);
    return rows[0] ?? null;
  }
}
