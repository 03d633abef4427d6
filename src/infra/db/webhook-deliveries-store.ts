// The webhook outbox port: deliveries written with the transition they report, claimed by any
// worker (one at a time each), their tries recorded, listed per execution for the API.
// Implementation: postgres-webhook-deliveries-store.ts (Postgres and PGlite alike).
import type { Sql } from './database.js';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** What a delivery sends, where, signed with which key. */
interface DeliveryTarget {
  id: string;
  tenant: string;
  projectId: string;
  executionId: string;
  event: string;
  url: string;
  secretEnv: string;
  body: string;
}

export interface NewDelivery extends DeliveryTarget {
  /** How long tries may go on, from now (by the database's clock). */
  retryForMs: number;
}

/** A delivery a worker claimed for one try (number `attempt`). */
export interface ClaimedDelivery extends DeliveryTarget {
  attempt: number;
  expiresAt: Date;
}

export interface DeliveryTry {
  attempt: number;
  at: Date;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

export interface DeliveryRecord {
  id: string;
  event: string;
  url: string;
  status: DeliveryStatus;
  attempts: number;
  createdAt: Date;
  nextAttemptAt: Date | null;
  finishedAt: Date | null;
  tries: DeliveryTry[];
}

export interface WebhookDeliveriesStore {
  /** Records deliveries inside the caller's transaction (the one persisting the transition). */
  enqueue(tx: Sql, deliveries: readonly NewDelivery[]): Promise<void>;
  /** Due pending deliveries, each claimed for `claimMs` (another worker may take it after that). */
  claimDue(limit: number, claimMs: number): Promise<ClaimedDelivery[]>;
  /**
   * The end of one try: delivered, to be tried again at `retryAt`, or given up (`retryAt` null or
   * past the delivery's expiry). A try whose claim was taken over since is recorded but decides nothing.
   */
  finishTry(id: string, result: DeliveryTry & { delivered: boolean; retryAt: Date | null }): Promise<DeliveryStatus | null>;
  /** An execution's deliveries, oldest first, each with its tries. */
  listForExecution(executionId: string): Promise<DeliveryRecord[]>;
}
