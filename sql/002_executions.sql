-- Projects under automation and their executions: the project actor's persisted XState snapshot
-- (with compare-and-set version and the owner's fencing epoch), the status projection read by
-- GET /status, and the steps journal that lets a step re-run after a crash reuse its result.

CREATE TABLE projects (
  tenant text NOT NULL,
  project_id text NOT NULL,
  -- The validated initialize body, without secrets (credentials only by reference, e.g. tokenEnv).
  config jsonb NOT NULL,
  -- Fencing epoch: bumped by every worker that claims the project; writes carry the epoch they
  -- were made under and are refused once a newer owner exists.
  epoch bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, project_id)
);

CREATE TABLE executions (
  id uuid PRIMARY KEY,
  tenant text NOT NULL,
  project_id text NOT NULL,
  -- The event that started it (POST /events or initialize).
  event_id uuid,
  machine_id text NOT NULL,
  machine_version integer NOT NULL,
  -- XState persisted snapshot; loaded only when machine_id/version are known to the code.
  snapshot jsonb NOT NULL,
  -- Compare-and-set: every write names the version it read and increments it.
  version bigint NOT NULL DEFAULT 0,
  -- The projects.epoch of the worker that made the last write.
  owner_epoch bigint NOT NULL DEFAULT 0,
  -- Status projection (derived from the snapshot at each write, for cheap reads).
  status text NOT NULL CHECK (status IN ('running', 'paused', 'stopping', 'stopped', 'completed', 'failed')),
  phase text,
  current_task_id text,
  current_task_title text,
  progress_done integer NOT NULL DEFAULT 0,
  progress_total integer NOT NULL DEFAULT 0,
  attempt integer NOT NULL DEFAULT 0,
  last_error text,
  results jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  FOREIGN KEY (tenant, project_id) REFERENCES projects (tenant, project_id)
);

-- At most one live execution per project: a second initialize of a running project is refused here.
CREATE UNIQUE INDEX executions_one_live_idx ON executions (tenant, project_id)
  WHERE status IN ('running', 'paused', 'stopping');
CREATE INDEX executions_project_idx ON executions (tenant, project_id, created_at DESC);

CREATE TABLE execution_steps (
  execution_id uuid NOT NULL REFERENCES executions (id),
  -- e.g. "1.2:implement:2" — the same step of the same task and attempt always has the same key.
  idempotency_key text NOT NULL,
  step text NOT NULL,
  task_id text,
  attempt integer NOT NULL DEFAULT 0,
  status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  output jsonb,
  error text,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  PRIMARY KEY (execution_id, idempotency_key)
);
