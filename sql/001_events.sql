-- Every event received by POST /events (and the ones the runner emits itself), persisted before
-- the reply and then processed by a worker from the queue.
CREATE TABLE events (
  id uuid PRIMARY KEY,
  -- The registered workflow the event names (e.g. DEVTEAM_AUTOMATION); unknown types are kept
  -- and marked failed with the reason in `error`.
  type text NOT NULL,
  project_id text NOT NULL,
  -- Ties together the event, its queue job, log lines and frames; from the caller or generated.
  correlation_id text NOT NULL,
  payload jsonb NOT NULL,
  -- What the worker derived for the task while processing (null until then).
  task_context jsonb,
  status text NOT NULL DEFAULT 'received'
    CHECK (status IN ('received', 'processing', 'processed', 'failed')),
  -- Worker deliveries so far; a redelivered job increments it.
  attempts integer NOT NULL DEFAULT 0,
  -- Why processing failed (last attempt), for status reads; never a stack trace.
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- When the job was last enqueued; recorded by the worker from the job, not by the API.
  dispatched_at timestamptz,
  -- When a worker last started processing it.
  started_at timestamptz,
  processed_at timestamptz,
  -- Queue latency of the last delivery: enqueue (dispatched_at) to worker start, in ms.
  queue_latency_ms double precision
);

-- Recovery scans for events that were received but never finished.
CREATE INDEX events_pending_idx ON events (created_at) WHERE status IN ('received', 'processing');
-- Per-project listings, newest first.
CREATE INDEX events_project_idx ON events (project_id, created_at DESC);
