-- Tasks: each row is a Task as DescribeTasks returns it (doc, without tags) plus the columns
-- ListTasks filters and pages on. Stopped tasks stay (DescribeTasks answers them, as on AWS).

CREATE TABLE tasks (
    region         TEXT NOT NULL,
    cluster        TEXT NOT NULL,          -- cluster name
    id             TEXT NOT NULL,          -- the task id (last part of the ARN)
    arn            TEXT NOT NULL UNIQUE,
    family         TEXT NOT NULL,
    started_by     TEXT,
    launch_type    TEXT NOT NULL,
    desired_status TEXT NOT NULL,          -- RUNNING | STOPPED
    last_status    TEXT NOT NULL,
    doc            TEXT NOT NULL,
    PRIMARY KEY (region, cluster, id)
) WITHOUT ROWID;
CREATE INDEX tasks_by_desired_status ON tasks (region, cluster, desired_status, id);
CREATE INDEX tasks_by_last_status ON tasks (last_status);
