-- Webhook deliveries: an outbox. A delivery is written in the same transaction as the transition
-- it reports (so a crash can lose neither), then POSTed by any worker that claims it (SKIP LOCKED),
-- retried with backoff until it succeeds or its time runs out. Every try is kept for the API.
CREATE TABLE webhook_deliveries (
  id uuid PRIMARY KEY,
  tenant text NOT NULL,
  project_id text NOT NULL,
  execution_id uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
  event text NOT NULL,
  url text NOT NULL,
  -- The name of the worker variable holding the signing key (never the key).
  secret_env text NOT NULL,
  -- The exact bytes signed and sent, the same on every try.
  body text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  -- No try starts after this: the delivery is failed instead.
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  seq bigserial
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_execution ON webhook_deliveries (execution_id, seq);

CREATE TABLE webhook_attempts (
  delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt integer NOT NULL,
  at timestamptz NOT NULL,
  status_code integer,
  error text,
  duration_ms integer NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
);
