-- Daemon task definitions (RegisterDaemonTaskDefinition): revisions per family, apart from task
-- definitions (their families are another namespace). Revisions are never removed, so the next
-- revision is the family's highest plus one; DeleteDaemonTaskDefinition moves one to
-- DELETE_IN_PROGRESS.
CREATE TABLE daemon_task_definitions (
    region   TEXT    NOT NULL,
    family   TEXT    NOT NULL,
    revision INTEGER NOT NULL,
    status   TEXT    NOT NULL,          -- ACTIVE | DELETE_IN_PROGRESS
    doc      TEXT    NOT NULL,          -- the DaemonTaskDefinition shape
    PRIMARY KEY (region, family, revision)
) WITHOUT ROWID;
CREATE INDEX daemon_task_definitions_by_status ON daemon_task_definitions (region, status, family, revision);
