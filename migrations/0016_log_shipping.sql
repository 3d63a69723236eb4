-- How far berth has shipped each awslogs container's output (Docker's log of it) into its
-- CloudWatch Logs stream. Lines and the cursor move in one transaction, so a restarted berth
-- goes on right after the last line it shipped: nothing lost, nothing twice.
CREATE TABLE log_shipping (
    container_id TEXT PRIMARY KEY,
    engine INTEGER NOT NULL,
    task_arn TEXT NOT NULL,
    stream_id INTEGER NOT NULL REFERENCES log_streams (id) ON DELETE CASCADE,
    -- Docker's timestamp (nanoseconds) of the last line shipped, and how many lines with that
    -- very timestamp were shipped.
    cursor_ns INTEGER NOT NULL DEFAULT 0,
    cursor_lines INTEGER NOT NULL DEFAULT 0,
    -- 1 once the container stopped and its output was shipped to the end.
    done INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX log_shipping_unfinished ON log_shipping (done) WHERE done = 0;
CREATE INDEX log_shipping_by_stream ON log_shipping (stream_id);
