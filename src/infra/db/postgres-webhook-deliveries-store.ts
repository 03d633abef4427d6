// WebhookDeliveriesStore on webhook_deliveries / webhook_attempts (sql/012), for Postgres and PGlite.
import type { Sql } from './database.js';
import type { ClaimedDelivery, DeliveryRecord, DeliveryStatus, DeliveryTry, NewDelivery, WebhookDeliveriesStore } from './webhook-deliveries-store.js';

const PREPARED = { prepare: true } as const;

export class PostgresWebhookDeliveriesStore implements WebhookDeliveriesStore {
  constructor(private readonly sql: Sql) {}

  async enqueue(tx: Sql, deliveries: readonly NewDelivery[]): Promise<void> {
    for (const d of deliveries) {
      await tx.unsafe(
        `INSERT INTO webhook_deliveries (id, tenant, project_id, execution_id, event, url, secret_env, body, next_attempt_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, clock_timestamp(), clock_timestamp() + $9 * interval '1 millisecond')`,
        [d.id, d.tenant, d.projectId, d.executionId, d.event, d.url, d.secretEnv, d.body, d.retryForMs] as never[],
        PREPARED,
      );
    }
  }

  async claimDue(limit: number, claimMs: number): Promise<ClaimedDelivery[]> {
    return this.sql.unsafe<ClaimedDelivery[]>(
      `UPDATE webhook_deliveries d
          SET attempts = d.attempts + 1, next_attempt_at = clock_timestamp() + $2 * interval '1 millisecond'
        WHERE d.id IN (SELECT id FROM webhook_deliveries
                        WHERE status = 'pending' AND next_attempt_at <= clock_timestamp()
                        ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
      RETURNING d.id, d.tenant, d.project_id AS "projectId", d.execution_id AS "executionId", d.event, d.url,
                d.secret_env AS "secretEnv", d.body, d.attempts AS attempt, d.expires_at AS "expiresAt"`,
      [limit, claimMs] as never[],
      PREPARED,
    );
  }

  async finishTry(id: string, r: DeliveryTry & { delivered: boolean; retryAt: Date | null }): Promise<DeliveryStatus | null> {
    return this.sql.begin(async (tx) => {
      await tx.unsafe(
        `INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT DO NOTHING`,
        [id, r.attempt, r.at, r.statusCode, r.error, Math.round(r.durationMs)] as never[],
        PREPARED,
      );
      const rows = await tx.unsafe<Array<{ status: DeliveryStatus }>>(
        `UPDATE webhook_deliveries
            SET status = CASE WHEN $3 THEN 'delivered'
                              WHEN $4::timestamptz IS NULL OR $4::timestamptz > expires_at THEN 'failed'
                              ELSE 'pending' END,
                next_attempt_at = COALESCE($4::timestamptz, next_attempt_at),
                finished_at = CASE WHEN $3 OR $4::timestamptz IS NULL OR $4::timestamptz > expires_at THEN clock_timestamp() END
          WHERE id = $1 AND attempts = $2 AND status = 'pending'
        RETURNING status`,
        [id, r.attempt, r.delivered, r.retryAt] as never[],
        PREPARED,
      );
      return rows[0]?.status ?? null;
    }) as Promise<DeliveryStatus | null>;
  }

  async listForExecution(executionId: string): Promise<DeliveryRecord[]> {
    const deliveries = await this.sql.unsafe<Array<Omit<DeliveryRecord, 'tries'>>>(
      `SELECT id, event, url, status, attempts, created_at AS "createdAt",
              CASE WHEN status = 'pending' THEN next_attempt_at END AS "nextAttemptAt", finished_at AS "finishedAt"
         FROM webhook_deliveries WHERE execution_id = $1 ORDER BY seq`,
      [executionId] as never[],
      PREPARED,
    );
    if (deliveries.length === 0) return [];
    const tries = await this.sql.unsafe<Array<DeliveryTry & { deliveryId: string }>>(
      `SELECT a.delivery_id AS "deliveryId", a.attempt, a.at, a.status_code AS "statusCode", a.error, a.duration_ms AS "durationMs"
         FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
        WHERE d.execution_id = $1 ORDER BY a.delivery_id, a.attempt`,
      [executionId] as never[],
      PREPARED,
    );
    const byDelivery = new Map<string, DeliveryTry[]>();
    for (const { deliveryId, ...t } of tries) byDelivery.set(deliveryId, [...(byDelivery.get(deliveryId) ?? []), t]);
    return deliveries.map((d) => ({ ...d, tries: byDelivery.get(d.id) ?? [] }));
  }
}
