-- The live stream's durable high-water mark per project: no frame seq above `reserved` was ever
-- handed out. Frame logs reserve seqs a block at a time (one write per block, not per frame), and a
-- log whose counter was lost (Redis flushed or restarted, embedded process restarted) resumes above
-- it, so a project's seq never goes backwards. Keyed like the frame topics, by tenant and project,
-- and independent of `projects`: a frame may be published before (or without) a project row.
CREATE TABLE frame_seq (
  tenant text NOT NULL,
  project_id text NOT NULL,
  reserved bigint NOT NULL CHECK (reserved >= 0),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, project_id)
);
