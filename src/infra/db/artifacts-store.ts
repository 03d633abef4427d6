// What each task attempt produced (prompt, diff, changed files, agent and verify output), stored
// size-capped beside the execution so it can be read back through the API after the run.
import { z } from 'zod';
import type { Sql } from './database.js';
import { jsonText } from './json-text.js';
const PREPARED = { prepare: true } as const;

export const ARTIFACT_KINDS = ['prompt', 'diff', 'agent-output', 'verify-output', 'files'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];
/** One attempt's outputs are tens of KiB in practice; 256 KiB keeps a whole diff of a real task. */
export const DEFAULT_ARTIFACT_MAX_BYTES = 256 * 1024;

/**
 * Which end survives the cap. Command output: the END (the error and the summary are last).
 * Diffs, prompts and file lists: the START (a diff cut at the end still applies file by file up
 * to the cut, and a prompt's task and instructions are at its top).
 */
export const KEEP: Record<ArtifactKind, 'start' | 'end'> = {
  prompt: 'start',
  diff: 'start',
  files: 'start',
  'agent-output': 'end',
  'verify-output': 'end',
};

export const NewArtifactSchema = z.object({
  executionId: z.guid(),
  taskId: z.string().min(1).max(64),
  attempt: z.number().int().nonnegative(),
  kind: z.enum(ARTIFACT_KINDS),
  content: z.string(),
  /** Durations, exit code, the files list…: small, JSON. */
  meta: z.record(z.string(), z.unknown()).default({}),
});
export type NewArtifact = z.input<typeof NewArtifactSchema>;

export interface ArtifactRecord {
  id: string;
  executionId: string;
  taskId: string;
  attempt: number;
  kind: ArtifactKind;
  /** UTF-8 bytes stored. */
  bytes: number;
  /** UTF-8 bytes before the cap. */
  bytesTotal: number;
  truncated: boolean;
  meta: Record<string, unknown>;
  createdAt: Date;
  /** Only when asked for (list withContent, or get). */
  content?: string;
}

export class ArtifactStoreError extends Error {
  constructor(
    readonly code: 'invalid_artifact',
    message: string,
    readonly details: unknown = undefined,
  ) {
    super(message);
    this.name = 'ArtifactStoreError';
  }
}

const COLUMNS = `id, execution_id AS "executionId", task_id AS "taskId", attempt, kind,
  octet_length(content) AS bytes, bytes_total::int AS "bytesTotal", truncated, meta, created_at AS "createdAt"`;

export class ArtifactsStore {
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
    return this.sql.unsafe<ArtifactRecord[]>(`SELECT ${columns} FROM artifacts WHERE ${where} ORDER BY created_at, id`, params as never[], PREPARED);
  }

  /** One artifact with its content; null for an unknown (or malformed) id. */
  async get(id: string): Promise<ArtifactRecord | null> {
    if (!z.guid().safeParse(id).success) return null;
    const rows = await this.sql.unsafe<ArtifactRecord[]>(`SELECT ${COLUMNS}, content FROM artifacts WHERE id = $1`, [id], PREPARED);
    return rows[0] ?? null;
  }
}

/**
 * `text` within `maxBytes` of UTF-8, keeping its start or its end, cut at a line boundary when
 * there is one in the kept part (else at a character boundary). NUL characters become U+FFFD:
 * Postgres text cannot hold them, and tool output does contain them.
 */
export function capContent(text: string, maxBytes: number, keep: 'start' | 'end'): { content: string; bytesTotal: number; truncated: boolean } {
  const clean = text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text;
  const bytesTotal = Buffer.byteLength(text, 'utf8');
  const bytes = Buffer.from(clean, 'utf8');
  if (bytes.length <= maxBytes) return { content: clean, bytesTotal, truncated: false };
  if (keep === 'start') {
    let end = maxBytes;
    const newline = bytes.lastIndexOf(0x0a, end - 1);
    if (newline > 0) end = newline + 1;
    else while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
    return { content: bytes.subarray(0, end).toString('utf8'), bytesTotal, truncated: true };
  }
  let start = bytes.length - maxBytes;
  if (bytes[start - 1] !== 0x0a) {
    const newline = bytes.indexOf(0x0a, start);
    if (newline !== -1 && newline + 1 < bytes.length) start = newline + 1;
    else while (start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++;
  }
  return { content: bytes.subarray(start).toString('utf8'), bytesTotal, truncated: true };
}
