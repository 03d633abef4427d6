// Public surface of the database adapter: open a database (real or embedded), migrate it, and the
// store ports with their one implementation each, which serves Postgres and PGlite with the same SQL.
export { openDatabase, DatabaseUnavailableError } from './database.js';
export type { Database, OpenDatabaseOptions, Sql } from './database.js';
export { DatabaseInUseError } from './data-dir-lock.js';
export { migrate, migrationStatus } from './migrate.js';
export type { MigrateOptions, MigrationStatus } from './migrate.js';
export { MigrationError } from './migration-error.js';
export type { MigrationErrorCode } from './migration-error.js';
export { defaultMigrationsDir } from './migration-files.js';
export type { EventsStore, EventRow, EventStatus, NewEvent, ClaimedEvent, Redeliverable } from './events-store.js';
export { PostgresEventsStore } from './postgres-events-store.js';
export { ExecutionStoreError } from './executions-store.js';
export type { ExecutionsStore, ExecutionCandidate, ExecutionRecord, ExecutionStatus, NewExecution, Projection, StepResult } from './executions-store.js';
export { PostgresExecutionsStore } from './postgres-executions-store.js';
export { ArtifactStoreError, ARTIFACT_KINDS, DEFAULT_ARTIFACT_MAX_BYTES, capContent } from './artifacts-store.js';
export type { ArtifactsStore, ArtifactKind, ArtifactRecord, NewArtifact } from './artifacts-store.js';
export { PostgresArtifactsStore } from './postgres-artifacts-store.js';
export { FrameSeqStore } from './frame-seq-store.js';
export type { ClaimedDelivery, DeliveryRecord, DeliveryStatus, DeliveryTry, NewDelivery, WebhookDeliveriesStore } from './webhook-deliveries-store.js';
export { PostgresWebhookDeliveriesStore } from './postgres-webhook-deliveries-store.js';
export { PostgresUsageStore } from './usage-store.js';
export type { AgentRunUsage, UsageStore, UsageTotals } from './usage-store.js';
