// Why the migrator refused to run or stopped; `code` is stable, the context is in `details`.

export type MigrationErrorCode =
  | 'unknown_migration'
  | 'checksum_mismatch'
  | 'invalid_migration_file'
  | 'invalid_target'
  | 'migration_failed';

export class MigrationError extends Error {
  constructor(
    readonly code: MigrationErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MigrationError';
  }
}
