-- Container instances: virtual EC2 instances backed by berth's Docker engines (or registered by
-- a client). Each row is the ContainerInstance as DescribeContainerInstances returns it (doc),
-- without what is derived from tasks (remainingResources, running/pending counts).

CREATE TABLE container_instances (
    region      TEXT NOT NULL,
    cluster     TEXT NOT NULL,          -- cluster name
    id          TEXT NOT NULL,          -- the last part of the ARN
    arn         TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL,          -- ACTIVE | DRAINING | INACTIVE
    managed     INTEGER NOT NULL,       -- 1: one of berth's own (removed with its cluster)
    engine      INTEGER NOT NULL,       -- the Docker engine its tasks run on (index of --docker-host)
    doc         TEXT NOT NULL,
    PRIMARY KEY (region, cluster, id)
) WITHOUT ROWID;
CREATE INDEX container_instances_by_status ON container_instances (region, cluster, status, id);
