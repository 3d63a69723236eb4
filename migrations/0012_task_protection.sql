-- Task scale-in protection (UpdateTaskProtection): a protected task of a service is not stopped
-- by the service scheduler's scale-in or deployments until `expires_at` (seconds since the
-- epoch). No row: not protected. A task's row goes with the task.
CREATE TABLE task_protection (
    region     TEXT NOT NULL,
    cluster    TEXT NOT NULL,
    id         TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (region, cluster, id),
    FOREIGN KEY (region, cluster, id) REFERENCES tasks (region, cluster, id) ON DELETE CASCADE
) WITHOUT ROWID;
