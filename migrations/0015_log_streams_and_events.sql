-- CloudWatch Logs' streams and events. Log groups get an integer id (their streams and events
-- refer to it), the count of bytes their events hold, and the sequence that orders their events.
CREATE TABLE log_groups_v2 (
    id INTEGER PRIMARY KEY,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    retention_days INTEGER,
    kms_key_id TEXT,
    class TEXT NOT NULL,
    deletion_protection INTEGER NOT NULL DEFAULT 0,
    stored_bytes INTEGER NOT NULL DEFAULT 0,
    -- The number of events ever put into the group: the next event's `seq`.
    next_seq INTEGER NOT NULL DEFAULT 0,
    UNIQUE (region, name)
);
INSERT INTO log_groups_v2 (region, name, created_ms, retention_days, kms_key_id, class)
    SELECT region, name, created_ms, retention_days, kms_key_id, class FROM log_groups;
DROP TABLE log_groups;
ALTER TABLE log_groups_v2 RENAME TO log_groups;

CREATE TABLE log_streams (
    id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL REFERENCES log_groups (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    first_event_ms INTEGER,
    last_event_ms INTEGER,
    last_ingestion_ms INTEGER,
    UNIQUE (group_id, name)
);
CREATE INDEX log_streams_by_last_event ON log_streams (group_id, last_event_ms);

-- Events are kept in the order FilterLogEvents reads a group: by time, then by the order they
-- were put; a stream's range (GetLogEvents) has its own index.
CREATE TABLE log_events (
    group_id INTEGER NOT NULL,
    timestamp INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    stream_id INTEGER NOT NULL REFERENCES log_streams (id) ON DELETE CASCADE,
    ingestion_ms INTEGER NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (group_id, timestamp, seq)
) WITHOUT ROWID;
CREATE INDEX log_events_by_stream ON log_events (stream_id, timestamp, seq);

CREATE TABLE log_metric_filters (
    group_id INTEGER NOT NULL REFERENCES log_groups (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    pattern TEXT NOT NULL,
    -- The metricTransformations as given, a JSON array.
    transformations TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    apply_on_transformed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (group_id, name)
) WITHOUT ROWID;
