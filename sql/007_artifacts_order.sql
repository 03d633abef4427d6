-- Artifacts in the order they were stored: created_at is the transaction's start (now()) and two
-- artifacts of one attempt can share it (seen on PGlite), so listing tied on a random uuid. A
-- sequence gives the insertion order.
ALTER TABLE artifacts ADD COLUMN seq bigserial;
