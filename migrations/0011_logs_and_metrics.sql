-- CloudWatch Logs' log groups, and CloudWatch's metrics with their data points: the first tables
-- of services beside ECS on berth's endpoint.
CREATE TABLE log_groups (
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    retention_days INTEGER,
    kms_key_id TEXT,
    class TEXT NOT NULL,
    PRIMARY KEY (region, name)
) WITHOUT ROWID;

-- A metric is its namespace, name and dimensions (a JSON array sorted by dimension name).
CREATE TABLE metrics (
    id INTEGER PRIMARY KEY,
    region TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    dimensions TEXT NOT NULL,
    last_received_ms INTEGER NOT NULL,
    UNIQUE (region, namespace, name, dimensions)
);

-- Each data point as the statistics it stands for (a single value is a count of one).
CREATE TABLE metric_points (
    metric_id INTEGER NOT NULL REFERENCES metrics (id) ON DELETE CASCADE,
    timestamp REAL NOT NULL,
    unit TEXT,
    sample_count REAL NOT NULL,
    sum REAL NOT NULL,
    minimum REAL NOT NULL,
    maximum REAL NOT NULL
);
CREATE INDEX metric_points_by_time ON metric_points (metric_id, timestamp);
