-- Who holds each project's lease and until when, as the owner last reported it: the reconcile poll
-- of every worker looks only at live executions whose recorded lease has run out (or was never
-- taken, or was released), instead of trying the lease of every live project every second.
-- A hint only: the lease (Redis or in-process) decides ownership and `epoch` fences the writes.
ALTER TABLE projects ADD COLUMN lease_token text;
-- Set from the database's clock (clock_timestamp() + TTL) after each acquire and renewal, so every
-- worker compares it against one clock; NULL once the owner released the project.
ALTER TABLE projects ADD COLUMN lease_expires_at timestamptz;
