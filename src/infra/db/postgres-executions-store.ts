// ExecutionsStore on the projects, executions and execution_steps tables, for Postgres and the
// embedded PGlite alike (the same SQL): compare-and-set and epoch fencing in one UPDATE.
import type { Sql } from './database.js';
import {
  ExecutionStoreError,
  type ExecutionCandidate,
  type ExecutionRecord,
  type ExecutionStatus,
  type ExecutionsStore,
  type NewExecution,
  type Projection,
  type StepResult,
} from './executions-store.js';
import { jsonText } from './json-text.js';
const PREPARED = { prepare: true } as const;

const FINAL: ExecutionStatus[] = ['stopped', 'completed', 'failed'];

// The snapshot and its projection, written together by the owner (save) and by control commands:
// parameters $4…$16 in this order. JSON goes as text we serialized (json-text.ts), cast here.
const SNAPSHOT_SET = `snapshot = $4::text::jsonb, version = e.version + 1, status = $5, phase = $6,
  current_task_id = $7, current_task_title = $8, progress_done = $9, progress_total = $10,
  attempt = $11, last_error = $12, results = $13::text::jsonb, updated_at = clock_timestamp(),
  finished_at = CASE WHEN $5 = ANY($14::text[]) THEN COALESCE(e.finished_at, clock_timestamp()) ELSE NULL END,
  usage = $15::text::jsonb, running = $16::text::jsonb`;

/** status … results, in the column order of both the INSERT and SNAPSHOT_SET. */
function projectionParams(p: Projection): unknown[] {
  return [p.status, p.phase, p.currentTask?.id ?? null, p.currentTask?.title ?? null, p.progress.done, p.progress.total, p.attempt, p.lastError, jsonText(p.results)];
}

/** The tasks in flight (parallelism > 1), or NULL. */
function runningParam(p: Projection): string | null {
  return p.running ? jsonText(p.running) : null;
}

function snapshotParams(snapshot: unknown, p: Projection): unknown[] {
  // A new execution has no usage yet (the INSERT leaves it NULL): it comes with the first write.
  return [jsonText(snapshot), ...projectionParams(p), FINAL, p.usage ? jsonText(p.usage) : null, runningParam(p)];
}

const EXECUTION_COLUMNS = `id, tenant, project_id AS "projectId", event_id AS "eventId", machine_id AS "machineId",
  machine_version AS "machineVersion", snapshot, version::int AS version, owner_epoch::int AS "ownerEpoch",
  status, phase, current_task_id AS "currentTaskId", current_task_title AS "currentTaskTitle",
  progress_done AS "progressDone", progress_total AS "progressTotal", attempt, last_error AS "lastError",
  results, usage, running, created_at AS "createdAt", updated_at AS "updatedAt", finished_at AS "finishedAt"`;

/** The columns of a listing: everything but the snapshot, which only a run needs. */
const LISTED_COLUMNS = EXECUTION_COLUMNS.replace(/\bsnapshot,/, 'NULL AS snapshot,');

interface ExecutionRow {
  id: string;
  tenant: string;
  projectId: string;
  eventId: string | null;
  machineId: string;
  machineVersion: number;
  snapshot: unknown;
  version: number;
  ownerEpoch: number;
  status: ExecutionStatus;
  phase: string | null;
  currentTaskId: string | null;
  currentTaskTitle: string | null;
  progressDone: number;
  progressTotal: number;
  attempt: number;
  lastError: string | null;
  results: Record<string, unknown>;
  usage: Projection['usage'];
  running: Projection['running'] | null;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

function toRecord(row: ExecutionRow): ExecutionRecord {
  return {
    id: row.id,
    tenant: row.tenant,
    projectId: row.projectId,
    eventId: row.eventId,
    machineId: row.machineId,
    machineVersion: row.machineVersion,
    snapshot: row.snapshot,
    version: row.version,
    ownerEpoch: row.ownerEpoch,
    projection: {
      status: row.status,
      phase: row.phase,
      currentTask: row.currentTaskId ? { id: row.currentTaskId, title: row.currentTaskTitle ?? '' } : null,
      progress: { done: row.progressDone, total: row.progressTotal },
      attempt: row.attempt,
      lastError: row.lastError,
      results: row.results,
      usage: row.usage ?? null,
      ...(row.running ? { running: row.running } : {}),
      resumes: resumesOf(row.snapshot),
    },
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    finishedAt: row.finishedAt,
  };
}

/** The snapshot context's resume count (decision 0025); 0 for snapshots of builds before it. */
function resumesOf(snapshot: unknown): number {
  const n = (snapshot as { context?: { resumes?: unknown } } | null)?.context?.resumes;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : 0;
}

export class PostgresExecutionsStore implements ExecutionsStore {
  constructor(
    private readonly sql: Sql,
    /** Machine versions this build can load, by machine id. */
    private readonly knownMachines: Record<string, number[]>,
  ) {}

  /**
   * Creates (or updates the config of) the project and inserts its new execution at version 0.
   * A project that already has a live execution is refused with `project_running`. `alsoInTransaction`
   * runs inside the same transaction.
   */
  async create(execution: NewExecution, alsoInTransaction?: (tx: Sql) => Promise<void>): Promise<ExecutionRecord> {
    // Serialized before the transaction starts: a value that cannot be is this call's error alone.
    const config = jsonText(execution.config);
    const snapshot = jsonText(execution.snapshot);
    const projection = projectionParams(execution.projection);
    try {
      return await this.sql.begin(async (tx) => {
        await tx`
          INSERT INTO projects (tenant, project_id, config) VALUES (${execution.tenant}, ${execution.projectId}, ${config}::text::jsonb)
          ON CONFLICT (tenant, project_id) DO UPDATE SET config = EXCLUDED.config, updated_at = now()`;
        const rows = await tx.unsafe<ExecutionRow[]>(
          `INSERT INTO executions (id, tenant, project_id, event_id, machine_id, machine_version, snapshot, status, phase,
             current_task_id, current_task_title, progress_done, progress_total, attempt, last_error, results, running)
           VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8, $9, $10, $11, $12, $13, $14, $15, $16::text::jsonb, $17::text::jsonb)
           RETURNING ${EXECUTION_COLUMNS}`,
          [
            execution.id,
            execution.tenant,
            execution.projectId,
            execution.eventId,
            execution.machine.id,
            execution.machine.version,
            snapshot,
            ...(projection as never[]),
            runningParam(execution.projection) as never,
          ],
        );
        // E.g. the event that starts it: both exist or neither does.
        if (alsoInTransaction) await alsoInTransaction(tx as unknown as Sql);
        return toRecord(rows[0]!);
      });
    } catch (error) {
      if ((error as { code?: string }).code === '23505' && (error as { constraint_name?: string }).constraint_name === 'executions_one_live_idx') {
        throw new ExecutionStoreError('project_running', `project ${execution.projectId} already has a live execution`, {
          tenant: execution.tenant,
          projectId: execution.projectId,
        });
      }
      throw error;
    }
  }

  /** A new owner takes the project: bumps and returns its epoch; every earlier owner is fenced out. */
  async claim(tenant: string, projectId: string): Promise<number> {
    const rows = await this.sql`
      UPDATE projects SET epoch = epoch + 1, updated_at = now() WHERE tenant = ${tenant} AND project_id = ${projectId}
      RETURNING epoch::int AS epoch`;
    if (rows.length === 0) throw new ExecutionStoreError('execution_not_found', `unknown project ${projectId}`, { tenant, projectId });
    return rows[0]!.epoch as number;
  }

  /**
   * Writes the snapshot and its projection if nobody wrote since `expectedVersion` and the caller's
   * epoch is still the project's. Returns the new version; throws `version_conflict` or `lease_lost`.
   */
  async save(
    write: { executionId: string; expectedVersion: number; epoch: number; snapshot: unknown; projection: Projection },
    alsoInTransaction?: (tx: Sql) => Promise<void>,
  ): Promise<number> {
    const params = snapshotParams(write.snapshot, write.projection);
    // One statement when nothing else is written (every transition); a transaction only when needed.
    const saved = alsoInTransaction
      ? ((await this.sql.begin(async (tx) => {
          const rows = await this.writeSnapshot(tx as unknown as Sql, write, params);
          if (rows.length === 1) await alsoInTransaction(tx as unknown as Sql);
          return rows;
        })) as Array<{ version: number }>)
      : await this.writeSnapshot(this.sql, write, params);
    if (saved.length === 1) return saved[0]!.version;
    return this.refusedWrite(write);
  }

  private writeSnapshot(sql: Sql, write: { executionId: string; expectedVersion: number; epoch: number }, params: unknown[]): Promise<Array<{ version: number }>> {
    return sql.unsafe<Array<{ version: number }>>(
      `UPDATE executions e
          SET owner_epoch = $3, ${SNAPSHOT_SET}
         FROM projects p
        WHERE e.id = $1 AND e.version = $2
          AND p.tenant = e.tenant AND p.project_id = e.project_id AND p.epoch = $3
      RETURNING e.version::int AS version`,
      [
        write.executionId,
        write.expectedVersion,
        write.epoch,
        ...params,
      ] as never[],
      PREPARED,
    );
  }

  /** Why a compare-and-set write matched no row, from the row as it is now. */
  private async refusedWrite(write: { executionId: string; expectedVersion: number; epoch: number }): Promise<never> {
    const now = await this.sql`
      SELECT e.version::int AS version, p.epoch::int AS epoch FROM executions e
        JOIN projects p ON p.tenant = e.tenant AND p.project_id = e.project_id WHERE e.id = ${write.executionId}`;
    const current = now[0] as { version: number; epoch: number } | undefined;
    if (!current) throw new ExecutionStoreError('execution_not_found', `unknown execution ${write.executionId}`, { executionId: write.executionId });
    if (current.epoch !== write.epoch) {
      throw new ExecutionStoreError('lease_lost', `a newer owner (epoch ${current.epoch}) holds the project; write of epoch ${write.epoch} refused`, {
        executionId: write.executionId,
        epoch: write.epoch,
        currentEpoch: current.epoch,
      });
    }
    throw new ExecutionStoreError('version_conflict', `execution ${write.executionId} is at version ${current.version}, not ${write.expectedVersion}`, {
      executionId: write.executionId,
      expectedVersion: write.expectedVersion,
      currentVersion: current.version,
    });
  }

  /**
   * A control command on the project's latest execution, decided under a row lock so concurrent
   * commands are serialized and each sees the state the previous one left. `decide` returns the
   * new snapshot, or null to refuse. The owner's epoch is untouched; its next write meets a version
   * conflict, and it reloads. Null when the project has no execution.
   */
  async applyCommand(
    tenant: string,
    projectId: string,
    decide: (current: ExecutionRecord) => { snapshot: unknown; projection: Projection } | null,
  ): Promise<{ record: ExecutionRecord; changed: boolean } | null> {
    return this.sql.begin(async (tx) => {
      const rows = await tx.unsafe<ExecutionRow[]>(
        `SELECT ${EXECUTION_COLUMNS} FROM executions WHERE tenant = $1 AND project_id = $2 ORDER BY created_at DESC LIMIT 1 FOR UPDATE`,
        [tenant, projectId],
      );
      if (!rows[0]) return null;
      const current = toRecord(rows[0]);
      const next = decide(current);
      if (!next) return { record: current, changed: false };
      const params = snapshotParams(next.snapshot, next.projection);
      const updated = await tx.unsafe<ExecutionRow[]>(
        `UPDATE executions e SET owner_epoch = $3, ${SNAPSHOT_SET} WHERE e.id = $1 AND e.version = $2 RETURNING ${EXECUTION_COLUMNS}`,
        [current.id, current.version, current.ownerEpoch, ...params] as never[],
      );
      return { record: toRecord(updated[0]!), changed: true };
    });
  }

  /** Executions that need a driver (running or stopping), tenants in turn (see needingOwner). */
  async needingDriver(limit: number): Promise<ExecutionCandidate[]> {
    return this.sql.unsafe<ExecutionCandidate[]>(
      `SELECT id, tenant, project_id AS "projectId" FROM executions WHERE status IN ('running', 'stopping')
        ORDER BY row_number() OVER (PARTITION BY tenant ORDER BY updated_at), updated_at LIMIT $1`,
      [limit],
      PREPARED,
    );
  }

  /**
   * Live executions (running or stopping) whose project's recorded lease has run out by the
   * database's clock, was released, or was never taken: the only ones a reconcile poll tries to
   * own. Tenants in turn (each one's least recently written first, then each one's second, …), so
   * a worker with room for one more takes one tenant's single project before another's long queue.
   */
  async needingOwner(limit: number): Promise<ExecutionCandidate[]> {
    return this.sql.unsafe<ExecutionCandidate[]>(
      `SELECT e.id, e.tenant, e.project_id AS "projectId" FROM executions e
         JOIN projects p ON p.tenant = e.tenant AND p.project_id = e.project_id
        WHERE e.status IN ('running', 'stopping') AND (p.lease_expires_at IS NULL OR p.lease_expires_at <= clock_timestamp())
        ORDER BY row_number() OVER (PARTITION BY e.tenant ORDER BY e.updated_at), e.updated_at LIMIT $1`,
      [limit],
      PREPARED,
    );
  }

  /**
   * Records that the lease `token` holds the project for `ttlMs` more, from the database's clock.
   * Called by the owner after every successful acquire and renewal; unconditional, because only a
   * current owner calls it (a late write of an earlier owner is overwritten by the next renewal).
   */
  async recordLease(tenant: string, projectId: string, token: string, ttlMs: number): Promise<void> {
    await this.sql.unsafe(
      `UPDATE projects SET lease_token = $3, lease_expires_at = clock_timestamp() + $4::int * interval '1 millisecond'
        WHERE tenant = $1 AND project_id = $2`,
      [tenant, projectId, token, ttlMs],
      PREPARED,
    );
  }

  /** The owner released the project: forget its lease, unless a newer owner recorded its own since. */
  async clearLease(tenant: string, projectId: string, token: string): Promise<void> {
    await this.sql.unsafe(
      `UPDATE projects SET lease_token = NULL, lease_expires_at = NULL WHERE tenant = $1 AND project_id = $2 AND lease_token = $3`,
      [tenant, projectId, token],
      PREPARED,
    );
  }

  /** The project's recorded lease (what needingOwner reads), for operators and tests. */
  async recordedLease(tenant: string, projectId: string): Promise<{ token: string | null; expiresAt: Date | null } | null> {
    const rows = await this.sql`
      SELECT lease_token AS token, lease_expires_at AS "expiresAt" FROM projects WHERE tenant = ${tenant} AND project_id = ${projectId}`;
    return (rows[0] as { token: string | null; expiresAt: Date | null } | undefined) ?? null;
  }

  /** The project's stored configuration (the validated initialize body, no secrets). */
  async projectConfig(tenant: string, projectId: string): Promise<Record<string, unknown> | null> {
    const rows = await this.sql`SELECT config FROM projects WHERE tenant = ${tenant} AND project_id = ${projectId}`;
    return (rows[0]?.config as Record<string, unknown> | undefined) ?? null;
  }

  /** The correlation id of the request that started the execution (its event), for log lines. */
  async correlationOf(executionId: string): Promise<string | null> {
    const rows = await this.sql`
      SELECT ev.correlation_id AS "correlationId" FROM executions e JOIN events ev ON ev.id = e.event_id WHERE e.id = ${executionId}`;
    return (rows[0]?.correlationId as string | undefined) ?? null;
  }

  /** Loads an execution for running it; a snapshot of a machine version this build does not know is refused. */
  async load(executionId: string): Promise<ExecutionRecord> {
    const record = await this.get(executionId);
    if (!record) throw new ExecutionStoreError('execution_not_found', `unknown execution ${executionId}`, { executionId });
    const known = this.knownMachines[record.machineId] ?? [];
    if (!known.includes(record.machineVersion)) {
      throw new ExecutionStoreError(
        'unknown_machine_version',
        `execution ${executionId} was saved by machine ${record.machineId} v${record.machineVersion}; this build runs ${known.length ? known.map((v) => `v${v}`).join(', ') : 'no version of it'}`,
        { executionId, machineId: record.machineId, machineVersion: record.machineVersion, known },
      );
    }
    return record;
  }

  async get(executionId: string): Promise<ExecutionRecord | null> {
    const rows = await this.sql.unsafe<ExecutionRow[]>(`SELECT ${EXECUTION_COLUMNS} FROM executions WHERE id = $1`, [executionId], PREPARED);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** The project's latest execution (live or finished): what GET /status reads. */
  async latest(tenant: string, projectId: string): Promise<ExecutionRecord | null> {
    const rows = await this.sql.unsafe<ExecutionRow[]>(
      `SELECT ${EXECUTION_COLUMNS} FROM executions WHERE tenant = $1 AND project_id = $2 ORDER BY created_at DESC LIMIT 1`,
      [tenant, projectId],
      PREPARED,
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** One indexed probe per project (projects' key, then executions_project_idx), in project id order. */
  async listProjects(tenant: string, query: { status?: ExecutionStatus; after?: string; limit: number }): Promise<ExecutionRecord[]> {
    const rows = await this.sql.unsafe<ExecutionRow[]>(
      `SELECT e.* FROM projects p CROSS JOIN LATERAL (
         SELECT ${LISTED_COLUMNS} FROM executions
         WHERE tenant = p.tenant AND project_id = p.project_id ORDER BY created_at DESC LIMIT 1) e
       WHERE p.tenant = $1 AND p.project_id > $2 AND ($3::text IS NULL OR e.status = $3)
       ORDER BY p.project_id LIMIT $4`,
      [tenant, query.after ?? '', query.status ?? null, query.limit],
      PREPARED,
    );
    return rows.map(toRecord);
  }

  async history(tenant: string, projectId: string, query: { before?: string; limit: number }): Promise<ExecutionRecord[]> {
    const rows = await this.sql.unsafe<ExecutionRow[]>(
      `SELECT ${LISTED_COLUMNS} FROM executions
       WHERE tenant = $1 AND project_id = $2
         AND ($3::uuid IS NULL OR (created_at, id) < (SELECT created_at, id FROM executions WHERE id = $3 AND tenant = $1 AND project_id = $2))
       ORDER BY created_at DESC, id DESC LIMIT $4`,
      [tenant, projectId, query.before ?? null, query.limit],
      PREPARED,
    );
    return rows.map(toRecord);
  }

  // The steps journal: a step that finished before a crash is not run again.

  async stepResult(executionId: string, key: string): Promise<StepResult | null> {
    const rows = await this.sql`
      SELECT status, output, error FROM execution_steps WHERE execution_id = ${executionId} AND idempotency_key = ${key}`;
    return (rows[0] as StepResult | undefined) ?? null;
  }

  async stepStarted(executionId: string, key: string, step: { name: string; taskId: string | null; attempt: number }): Promise<void> {
    await this.sql`
      INSERT INTO execution_steps (execution_id, idempotency_key, step, task_id, attempt, status)
      VALUES (${executionId}, ${key}, ${step.name}, ${step.taskId}, ${step.attempt}, 'running')
      ON CONFLICT (execution_id, idempotency_key) DO UPDATE SET status = 'running', started_at = now(), finished_at = NULL, error = NULL
        WHERE execution_steps.status <> 'succeeded'`;
  }

  async stepFinished(executionId: string, key: string, outcome: { ok: true; output: unknown } | { ok: false; error: string }): Promise<void> {
    const output = outcome.ok ? jsonText(outcome.output ?? null) : null;
    await this.sql`
      UPDATE execution_steps
         SET status = ${outcome.ok ? 'succeeded' : 'failed'},
             output = ${output}::text::jsonb,
             error = ${outcome.ok ? null : outcome.error},
             finished_at = now()
       WHERE execution_id = ${executionId} AND idempotency_key = ${key}`;
  }
}
