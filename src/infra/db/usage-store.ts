// The agent-usage port: one row per agent run (sql/008), written while the agent streams, and the
// sums a budget is checked against — over the whole execution and over one task, whichever worker
// ran the attempts. Contract: test/integration/usage-store.test.ts.
import type { AgentUsage } from '../../project/index.js';
import type { Sql } from './database.js';

export interface AgentRunUsage {
  /** The run's own id (a re-run of an attempt after a takeover is another run). */
  id: string;
  executionId: string;
  taskId: string;
  attempt: number;
  preset: string;
  usage: AgentUsage;
  durationMs: number;
  /** Why it stopped; null while it runs. */
  outcome: string | null;
}

/** Summed usage and agent time. */
export interface UsageTotals {
  usage: AgentUsage;
  durationMs: number;
}

export interface UsageStore {
  /** Creates or updates the run's row (the latest figures replace the earlier ones). */
  record(run: AgentRunUsage): Promise<void>;
  /** Sums over the execution's runs, over the task's, and over one attempt's; `exceptRun` left out. */
  totals(q: { executionId: string; taskId: string; attempt: number; exceptRun?: string }): Promise<{ execution: UsageTotals; task: UsageTotals; attempt: UsageTotals }>;
}

interface SumRow {
  scope: 'execution' | 'task' | 'attempt';
  input: number | null;
  output: number | null;
  cost: number | null;
  ms: number | null;
}

export class PostgresUsageStore implements UsageStore {
  constructor(private readonly sql: Sql) {}

  async record(run: AgentRunUsage): Promise<void> {
    const u = run.usage;
    await this.sql`
      INSERT INTO agent_runs (id, execution_id, task_id, attempt, preset, input_tokens, output_tokens, cost_usd, duration_ms, outcome)
      VALUES (${run.id}, ${run.executionId}, ${run.taskId}, ${run.attempt}, ${run.preset}, ${u.inputTokens}, ${u.outputTokens}, ${u.costUsd},
              ${Math.round(run.durationMs)}, ${run.outcome})
      ON CONFLICT (id) DO UPDATE SET input_tokens = EXCLUDED.input_tokens, output_tokens = EXCLUDED.output_tokens, cost_usd = EXCLUDED.cost_usd,
        duration_ms = EXCLUDED.duration_ms, outcome = EXCLUDED.outcome, updated_at = now()`;
  }

  async totals(q: { executionId: string; taskId: string; attempt: number; exceptRun?: string }) {
    // sum() of only NULLs is NULL: a figure no run reported stays unknown.
    const rows = await this.sql<SumRow[]>`
      WITH runs AS (SELECT * FROM agent_runs WHERE execution_id = ${q.executionId} AND id <> ${q.exceptRun ?? '00000000-0000-0000-0000-000000000000'})
      SELECT 'execution' AS scope, sum(input_tokens)::float8 AS input, sum(output_tokens)::float8 AS output, sum(cost_usd)::float8 AS cost, sum(duration_ms)::float8 AS ms FROM runs
      UNION ALL
      SELECT 'task', sum(input_tokens)::float8, sum(output_tokens)::float8, sum(cost_usd)::float8, sum(duration_ms)::float8 FROM runs WHERE task_id = ${q.taskId}
      UNION ALL
      SELECT 'attempt', sum(input_tokens)::float8, sum(output_tokens)::float8, sum(cost_usd)::float8, sum(duration_ms)::float8 FROM runs
        WHERE task_id = ${q.taskId} AND attempt = ${q.attempt}`;
    const of = (scope: SumRow['scope']): UsageTotals => {
      const r = rows.find((row) => row.scope === scope);
      return { usage: { inputTokens: r?.input ?? null, outputTokens: r?.output ?? null, costUsd: r?.cost ?? null }, durationMs: r?.ms ?? 0 };
    };
    return { execution: of('execution'), task: of('task'), attempt: of('attempt') };
  }
}
