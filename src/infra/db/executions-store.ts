// The executions port: projects and their executions — the persisted project-actor snapshot written
// with compare-and-set on `version` and fenced on the owner's epoch, its status projection, the
// recorded lease and the steps journal. Contract: test/contract/executions-store.contract.ts.
import type { Sql } from './database.js';

export type ExecutionStatus = 'running' | 'paused' | 'stopping' | 'stopped' | 'completed' | 'failed';

/** What GET /status shows, derived from the snapshot at each write. */
export interface Projection {
  status: ExecutionStatus;
  phase: string | null;
  currentTask: { id: string; title: string } | null;
  progress: { done: number; total: number };
  attempt: number;
  lastError: string | null;
  results: Record<string, unknown>;
  /** What the agents reported using in the execution (sql/008); null before the first attempt, optional for writers that predate it. */
  usage?: { inputTokens: number | null; outputTokens: number | null; costUsd: number | null } | null;
  /** With parallelism > 1: every task in flight, oldest first (currentTask, phase and attempt are its); absent otherwise. */
  running?: Array<{ id: string; title: string; phase: string; attempt: number }>;
  /** How often a failed run was resumed in place: read from the snapshot's context (no column of its own); 0 when never. */
  resumes?: number;
}

export interface ExecutionRecord {
  id: string;
  tenant: string;
  projectId: string;
  eventId: string | null;
  machineId: string;
  machineVersion: number;
  snapshot: unknown;
  version: number;
  ownerEpoch: number;
  projection: Projection;
  createdAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

export class ExecutionStoreError extends Error {
  constructor(
    readonly code: 'project_running' | 'version_conflict' | 'lease_lost' | 'execution_not_found' | 'unknown_machine_version',
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ExecutionStoreError';
  }
}

export interface NewExecution {
  id: string;
  tenant: string;
  projectId: string;
  eventId: string | null;
  config: Record<string, unknown>;
  machine: { id: string; version: number };
  snapshot: unknown;
  projection: Projection;
}

/** A live execution a worker may drive or own. */
export interface ExecutionCandidate {
  id: string;
  tenant: string;
  projectId: string;
}

/** A step's journal entry. */
export interface StepResult {
  status: 'running' | 'succeeded' | 'failed';
  output: unknown;
  error: string | null;
}

export interface ExecutionsStore {
  /** Creates (or updates the config of) the project and its new execution at version 0; `project_running` when one is live. */
  create(execution: NewExecution, alsoInTransaction?: (tx: Sql) => Promise<void>): Promise<ExecutionRecord>;
  /** A new owner takes the project: bumps and returns its epoch; every earlier owner is fenced out. */
  claim(tenant: string, projectId: string): Promise<number>;
  /** Compare-and-set write of snapshot and projection; returns the new version, or throws `version_conflict` / `lease_lost`. */
  save(
    write: { executionId: string; expectedVersion: number; epoch: number; snapshot: unknown; projection: Projection },
    /** Runs in the write's transaction once it succeeded (e.g. the webhook deliveries the transition causes). */
    alsoInTransaction?: (tx: Sql) => Promise<void>,
  ): Promise<number>;
  /** A control command on the project's latest execution, serialized with every other; null when the project has none. */
  applyCommand(
    tenant: string,
    projectId: string,
    decide: (current: ExecutionRecord) => { snapshot: unknown; projection: Projection } | null,
  ): Promise<{ record: ExecutionRecord; changed: boolean } | null>;
  /** Executions that need a driver (running or stopping), least recently written first. */
  needingDriver(limit: number): Promise<ExecutionCandidate[]>;
  /** Live executions whose project's recorded lease ran out, was released or was never taken. */
  needingOwner(limit: number): Promise<ExecutionCandidate[]>;
  /** Records that the lease `token` holds the project for `ttlMs` more, by the database's clock. */
  recordLease(tenant: string, projectId: string, token: string, ttlMs: number): Promise<void>;
  /** Forgets the project's recorded lease, unless a newer owner recorded its own since. */
  clearLease(tenant: string, projectId: string, token: string): Promise<void>;
  /** The project's recorded lease (what needingOwner reads); null for an unknown project. */
  recordedLease(tenant: string, projectId: string): Promise<{ token: string | null; expiresAt: Date | null } | null>;
  /** The project's stored configuration (the validated initialize body, no secrets); null for another tenant's. */
  projectConfig(tenant: string, projectId: string): Promise<Record<string, unknown> | null>;
  /** The correlation id of the event that started the execution, for log lines. */
  correlationOf(executionId: string): Promise<string | null>;
  /** An execution to run; `execution_not_found`, or `unknown_machine_version` for a machine this build does not know. */
  load(executionId: string): Promise<ExecutionRecord>;
  /** Any tenant's execution by id, or null. */
  get(executionId: string): Promise<ExecutionRecord | null>;
  /** The project's latest execution (live or finished), what GET /status reads; null for another tenant's. */
  latest(tenant: string, projectId: string): Promise<ExecutionRecord | null>;
  /**
   * The tenant's projects with their latest execution (snapshot left out, null), by project id
   * after `after`; with `status`, only those whose latest execution has it.
   */
  listProjects(tenant: string, query: { status?: ExecutionStatus; after?: string; limit: number }): Promise<ExecutionRecord[]>;
  /** The project's executions newest first (snapshot left out, null), those created before `before` (an execution id of it) when given. */
  history(tenant: string, projectId: string, query: { before?: string; limit: number }): Promise<ExecutionRecord[]>;
  /** The journal entry of a step, or null when it never started. */
  stepResult(executionId: string, key: string): Promise<StepResult | null>;
  /** Journals that a step started; a step that already succeeded keeps its result. */
  stepStarted(executionId: string, key: string, step: { name: string; taskId: string | null; attempt: number }): Promise<void>;
  /** Journals a step's output or error. */
  stepFinished(executionId: string, key: string, outcome: { ok: true; output: unknown } | { ok: false; error: string }): Promise<void>;
}
