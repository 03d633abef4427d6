-- Every event belongs to the tenant that sent it: GET /events/{id} answers only that tenant (for
-- anyone else it is "not found", exactly like an unknown id). The API records the authenticated
-- caller; nothing in the payload decides it.
ALTER TABLE events ADD COLUMN tenant text;

-- Events that started an execution (initialize) belong to the execution's tenant, which the
-- server recorded itself.
UPDATE events ev SET tenant = e.tenant FROM executions e WHERE e.event_id = ev.id;

-- The rest were received before events had an owner, when every caller could read every event.
-- They go to "local", the tenant of single-user mode, which DEVTEAM_API_KEYS may not name: that
-- mode keeps reading them, and with API keys no tenant can.
UPDATE events SET tenant = 'local' WHERE tenant IS NULL;

ALTER TABLE events ALTER COLUMN tenant SET NOT NULL;
-- Only for rows written outside the events store (by hand, old scripts); the store always names
-- the tenant.
ALTER TABLE events ALTER COLUMN tenant SET DEFAULT 'local';
