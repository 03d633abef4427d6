-- What each task attempt produced, kept with the execution for reading through the API: the prompt,
-- the diff and the files git saw changed, the agent's and the verify command's output. Content is
-- capped by the writer (bytes_total is the size before capping); details such as durations and
-- exit codes go in meta.
CREATE TABLE artifacts (
  id uuid PRIMARY KEY,
  execution_id uuid NOT NULL REFERENCES executions (id),
  task_id text NOT NULL,
  attempt integer NOT NULL CHECK (attempt >= 0),
  kind text NOT NULL CHECK (kind IN ('prompt', 'diff', 'agent-output', 'verify-output', 'files')),
  content text NOT NULL,
  -- UTF-8 bytes of the content as produced, before the cap.
  bytes_total bigint NOT NULL CHECK (bytes_total >= 0),
  truncated boolean NOT NULL DEFAULT false,
  meta jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Listing an execution's artifacts, optionally for one task, in attempt order.
CREATE INDEX artifacts_execution_idx ON artifacts (execution_id, task_id, attempt);
