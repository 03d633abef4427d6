// The events port: insert on POST /events, then status transitions guarded so that a duplicate or
// late delivery of the same job can never process an event twice. Every event belongs to the
// tenant that sent it; reads for a caller are scoped to it. Contract: test/contract/events-store.contract.ts.
import type { Sql } from './database.js';

export type EventStatus = 'received' | 'processing' | 'processed' | 'failed';

export interface EventRow {
  id: string;
  tenant: string;
  type: string;
  projectId: string;
  correlationId: string;
  payload: Record<string, unknown>;
  taskContext: Record<string, unknown> | null;
  status: EventStatus;
  attempts: number;
  error: string | null;
  createdAt: Date;
  dispatchedAt: Date | null;
  startedAt: Date | null;
  processedAt: Date | null;
  queueLatencyMs: number | null;
}

export interface NewEvent {
  id: string;
  /** Who sent it (the authenticated caller); never taken from the payload. */
  tenant: string;
  type: string;
  projectId: string;
  correlationId: string;
  payload: Record<string, unknown>;
}

/** An event that a worker now owns, for exactly one processing attempt. */
export interface ClaimedEvent extends EventRow {
  /** The attempt number this claim holds: later writes are fenced on it. */
  claim: number;
}

export interface Redeliverable {
  id: string;
  type: string;
  projectId: string;
  correlationId: string;
}

export interface EventsStore {
  /** Inserts a received event; pass `tx` to make it part of a caller's transaction. */
  insert(event: NewEvent, tx?: Sql): Promise<void>;
  /** Any tenant's event: for the runner itself (workers, outbox), never for answering a caller. */
  get(id: string): Promise<EventRow | null>;
  /** The tenant's event; null for another tenant's, exactly as for an unknown id. */
  getForTenant(tenant: string, id: string): Promise<EventRow | null>;
  /** Takes a received (or stale processing) event for one attempt; null when the delivery is a duplicate. */
  claim(id: string, opts: { enqueuedAt: number; staleAfterMs: number }): Promise<ClaimedEvent | null>;
  /** Writes the task_context while the claim is still held; false when the claim was lost. */
  saveTaskContext(event: ClaimedEvent, taskContext: Record<string, unknown>): Promise<boolean>;
  /** Finishes the claimed attempt as processed; false when the claim was lost. */
  markProcessed(event: ClaimedEvent): Promise<boolean>;
  /** Finishes the claimed attempt as failed with the reason; false when the claim was lost. */
  markFailed(event: ClaimedEvent, reason: string): Promise<boolean>;
  /** Hands the claimed event back to `received` so the next delivery can claim it; false when the claim was lost. */
  release(event: ClaimedEvent, reason: string): Promise<boolean>;
  /** The outbox: events never picked up within `graceMs`, and events whose worker went silent. */
  findRedeliverable(opts: { graceMs: number; staleAfterMs: number; limit: number }): Promise<Redeliverable[]>;
  /** Fails for good the events whose workers died `maxAttempts` times; returns how many. */
  failExhausted(opts: { staleAfterMs: number }): Promise<number>;
}
