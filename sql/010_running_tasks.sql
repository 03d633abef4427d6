-- With parallelism > 1 several tasks of a project run at once (decision 0028): the status projection
-- lists them, oldest first, as [{ id, title, phase, attempt }]. NULL for executions of parallelism 1
-- (and every execution stored before this column), whose status shows the one current task.
ALTER TABLE executions ADD COLUMN running jsonb;
