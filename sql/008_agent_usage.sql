-- What each agent run reported using (tokens, US dollars) and how long it ran: one row per run of an
-- attempt, written while the agent streams, so a worker that takes a project over — and a budget
-- counted over the whole execution — sees the usage of runs that died with their worker.
-- NULL is "the agent did not report it", never 0 (decision 0026).
CREATE TABLE agent_runs (
  id uuid PRIMARY KEY,
  execution_id uuid NOT NULL REFERENCES executions (id),
  task_id text NOT NULL,
  attempt integer NOT NULL CHECK (attempt >= 0),
  preset text NOT NULL,
  input_tokens bigint CHECK (input_tokens >= 0),
  output_tokens bigint CHECK (output_tokens >= 0),
  cost_usd double precision CHECK (cost_usd >= 0),
  duration_ms bigint NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
  -- Why the run stopped ('completed', 'timeout', 'stalled', 'budget_exceeded', …); NULL while it runs
  -- (or when its worker died).
  outcome text,
  started_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_runs_execution_idx ON agent_runs (execution_id, task_id, attempt);

-- The execution's summed usage, beside its status projection (GET /status).
ALTER TABLE executions ADD COLUMN usage jsonb;

-- An attempt's usage is also an artifact (kind 'usage'), readable with the others.
ALTER TABLE artifacts DROP CONSTRAINT artifacts_kind_check;
ALTER TABLE artifacts ADD CONSTRAINT artifacts_kind_check CHECK (kind IN ('prompt', 'diff', 'agent-output', 'verify-output', 'files', 'usage'));
