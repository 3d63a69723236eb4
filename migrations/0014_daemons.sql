-- ECS Managed Daemons (CreateDaemon): one row per daemon of a cluster. The document holds the
-- daemon's settings, its revisions and its deployments (a daemon has few of each). DELETED is
-- berth's own status for a daemon whose deletion has finished: the API no longer finds it, its
-- deployments stay describable, and CreateDaemon may use the name again.
CREATE TABLE daemons (
    region  TEXT NOT NULL,
    cluster TEXT NOT NULL,          -- cluster name
    name    TEXT NOT NULL,
    arn     TEXT NOT NULL UNIQUE,
    status  TEXT NOT NULL,          -- ACTIVE | DELETE_IN_PROGRESS | DELETED
    doc     TEXT NOT NULL,
    PRIMARY KEY (region, cluster, name)
) WITHOUT ROWID;
CREATE INDEX daemons_live ON daemons (status) WHERE status != 'DELETED';
