// EventsStore on the events table, for Postgres and the embedded PGlite alike (the same SQL): every
// status transition is guarded in SQL on the status and the claim's attempt number.
import type { Sql } from './database.js';
import type { ClaimedEvent, EventRow, EventsStore, NewEvent, Redeliverable } from './events-store.js';
import { jsonText } from './json-text.js';

const COLUMNS = `id, tenant, type, project_id AS "projectId", correlation_id AS "correlationId", payload,
  task_context AS "taskContext", status, attempts, error, created_at AS "createdAt",
  dispatched_at AS "dispatchedAt", started_at AS "startedAt", processed_at AS "processedAt",
  queue_latency_ms AS "queueLatencyMs"`;

// Text queries are parsed on every call unless prepared; these run once per event.
const PREPARED = { prepare: true } as const;

export class PostgresEventsStore implements EventsStore {
  constructor(
    private readonly sql: Sql,
    /** Processing attempts before an event whose workers keep dying is given up. */
    private readonly maxAttempts = 5,
  ) {}

  /** Inserts a received event; pass `tx` to make it part of a caller's transaction. */
  async insert(event: NewEvent, tx: Sql = this.sql): Promise<void> {
    if (typeof event.tenant !== 'string' || event.tenant === '') throw new TypeError('an event needs the tenant that sent it');
    const payload = jsonText(event.payload);
    await tx`
      INSERT INTO events (id, tenant, type, project_id, correlation_id, payload)
      VALUES (${event.id}, ${event.tenant}, ${event.type}, ${event.projectId}, ${event.correlationId}, ${payload}::text::jsonb)`;
  }

  /** Any tenant's event: for the runner itself (workers, outbox), never for answering a caller. */
  async get(id: string): Promise<EventRow | null> {
    const rows = await this.sql.unsafe<EventRow[]>(`SELECT ${COLUMNS} FROM events WHERE id = $1`, [id], PREPARED);
    return rows[0] ?? null;
  }

  /** The tenant's event; null for another tenant's, exactly as for an unknown id. */
  async getForTenant(tenant: string, id: string): Promise<EventRow | null> {
    const rows = await this.sql.unsafe<EventRow[]>(`SELECT ${COLUMNS} FROM events WHERE id = $1 AND tenant = $2`, [id, tenant], PREPARED);
    return rows[0] ?? null;
  }

  /**
   * Takes the event for processing: only from `received`, or from `processing` when its worker has
   * been silent for `staleAfterMs` (it died). Records when the job was enqueued and the queue
   * latency. Null: someone else holds it or it is finished — the delivery is a duplicate.
   */
  async claim(id: string, opts: { enqueuedAt: number; staleAfterMs: number }): Promise<ClaimedEvent | null> {
    const rows = await this.sql.unsafe<ClaimedEvent[]>(
      `UPDATE events
          SET status = 'processing',
              attempts = attempts + 1,
              started_at = clock_timestamp(),
              dispatched_at = to_timestamp($2::double precision / 1000),
              queue_latency_ms = GREATEST(0, EXTRACT(EPOCH FROM clock_timestamp()) * 1000 - $2::double precision),
              error = NULL
        WHERE id = $1
          AND attempts < $4
          AND (status = 'received'
               OR (status = 'processing' AND started_at < clock_timestamp() - make_interval(secs => $3::double precision / 1000)))
      RETURNING ${COLUMNS}, attempts AS claim`,
      [id, opts.enqueuedAt, opts.staleAfterMs, this.maxAttempts],
      PREPARED,
    );
    return rows[0] ?? null;
  }

  /** Writes the task_context while the claim is still held; false when the claim was lost. */
  async saveTaskContext(event: ClaimedEvent, taskContext: Record<string, unknown>): Promise<boolean> {
    const context = jsonText(taskContext);
    const rows = await this.sql`
      UPDATE events SET task_context = ${context}::text::jsonb
       WHERE id = ${event.id} AND status = 'processing' AND attempts = ${event.claim}
      RETURNING id`;
    return rows.length === 1;
  }

  async markProcessed(event: ClaimedEvent): Promise<boolean> {
    const rows = await this.sql`
      UPDATE events SET status = 'processed', processed_at = clock_timestamp()
       WHERE id = ${event.id} AND status = 'processing' AND attempts = ${event.claim}
      RETURNING id`;
    return rows.length === 1;
  }

  async markFailed(event: ClaimedEvent, reason: string): Promise<boolean> {
    const rows = await this.sql`
      UPDATE events SET status = 'failed', processed_at = clock_timestamp(), error = ${reason}
       WHERE id = ${event.id} AND status = 'processing' AND attempts = ${event.claim}
      RETURNING id`;
    return rows.length === 1;
  }

  /** Hands the event back (the attempt hit an unexpected error) so the next delivery can claim it. */
  async release(event: ClaimedEvent, reason: string): Promise<boolean> {
    const rows = await this.sql`
      UPDATE events SET status = 'received', error = ${reason}
       WHERE id = ${event.id} AND status = 'processing' AND attempts = ${event.claim}
      RETURNING id`;
    return rows.length === 1;
  }

  /**
   * The outbox: events committed but not picked up within `graceMs` (the enqueue after the commit
   * failed, or the in-process queue died with its process), and events whose worker went silent.
   */
  async findRedeliverable(opts: { graceMs: number; staleAfterMs: number; limit: number }): Promise<Redeliverable[]> {
    return this.sql.unsafe<Redeliverable[]>(
      `SELECT id, type, project_id AS "projectId", correlation_id AS "correlationId"
         FROM events
        WHERE attempts < $4
          AND ((status = 'received' AND created_at < clock_timestamp() - make_interval(secs => $1::double precision / 1000))
            OR (status = 'processing' AND started_at < clock_timestamp() - make_interval(secs => $2::double precision / 1000)))
        ORDER BY created_at
        LIMIT $3`,
      [opts.graceMs, opts.staleAfterMs, opts.limit, this.maxAttempts],
      PREPARED,
    );
  }

  /** Events whose workers died `maxAttempts` times are failed for good, with the reason. */
  async failExhausted(opts: { staleAfterMs: number }): Promise<number> {
    const rows = await this.sql.unsafe(
      `UPDATE events
          SET status = 'failed', processed_at = clock_timestamp(),
              error = 'gave up after ' || attempts || ' attempts; last error: '
                      || COALESCE(error, 'the worker stopped responding')
        WHERE attempts >= $2
          AND (status = 'received'
               OR (status = 'processing' AND started_at < clock_timestamp() - make_interval(secs => $1::double precision / 1000)))
      RETURNING id`,
      [opts.staleAfterMs, this.maxAttempts],
      PREPARED,
    );
    return rows.length;
  }
}
