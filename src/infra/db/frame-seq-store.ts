// The frame log's durable high-water marks (table frame_seq): one row per tenant and project, raised
// a block of seqs at a time, so a lost Redis counter or a restarted embedded process resumes above
// every seq ever handed out.
import { assertReservation, type FrameSeqMarks, type ProjectKey } from '../frames/index.js';
import type { Sql } from './database.js';

const PREPARED = { prepare: true } as const;

export class FrameSeqStore implements FrameSeqMarks {
  constructor(private readonly sql: Sql) {}

  /** The project's mark, 0 when it never had a frame. */
  async mark(key: ProjectKey): Promise<number> {
    const rows = await this.sql.unsafe<Array<{ reserved: string }>>(
      'SELECT reserved::text AS reserved FROM frame_seq WHERE tenant = $1 AND project_id = $2',
      [key.tenant, key.projectId],
      PREPARED,
    );
    return rows.length === 0 ? 0 : Number(rows[0]!.reserved);
  }

  /** Raises the mark to max(mark, floor) + count in one statement (the row lock orders concurrent callers). */
  async reserve(key: ProjectKey, floor: number, count: number): Promise<number> {
    assertReservation(floor, count);
    const rows = await this.sql.unsafe<Array<{ reserved: string }>>(
      `INSERT INTO frame_seq AS f (tenant, project_id, reserved) VALUES ($1, $2, $3::bigint + $4::bigint)
       ON CONFLICT (tenant, project_id) DO UPDATE SET reserved = GREATEST(f.reserved, $3::bigint) + $4::bigint, updated_at = now()
       RETURNING reserved::text AS reserved`,
      [key.tenant, key.projectId, floor, count],
      PREPARED,
    );
    const reserved = Number(rows[0]!.reserved);
    if (!Number.isSafeInteger(reserved)) throw new RangeError(`frame seq mark ${rows[0]!.reserved} is past the largest safe integer`);
    return reserved;
  }
}
