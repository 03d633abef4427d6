// Public surface of the database adapter: open a database (real or embedded) and migrate it.
export { openDatabase, DatabaseUnavailableError } from './database.js';
export type { Database, OpenDatabaseOptions, Sql } from './database.js';
export { DatabaseInUseError } from './data-dir-lock.js';
export { migrate, migrationStatus } from './migrate.js';
export type { MigrateOptions, MigrationStatus } from './migrate.js';
export { MigrationError } from './migration-error.js';
export type { MigrationErrorCode } from './migration-error.js';
export { defaultMigrationsDir } from './migration-files.js';
export { EventsStore } from './events-store.js';
export type { EventRow, EventStatus, NewEvent, ClaimedEvent, Redeliverable } from './events-store.js';
export { ExecutionsStore, ExecutionStoreError } from './executions-store.js';
export type { ExecutionRecord, ExecutionStatus, NewExecution, Projection } from './executions-store.js';
export { ArtifactsStore, ArtifactStoreError, ARTIFACT_KINDS, DEFAULT_ARTIFACT_MAX_BYTES, capContent } from './artifacts-store.js';
export type { ArtifactKind, ArtifactRecord, NewArtifact } from './artifacts-store.js';
export { FrameSeqStore } from './frame-seq-store.js';
