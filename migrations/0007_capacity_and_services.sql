-- Capacity providers and services.
--
-- A task waiting for capacity (lastStatus PROVISIONING under a capacity provider with managed
-- scaling) has no container instance yet; `awaiting` holds what placing it needs (its demand,
-- constraints and strategies as JSON) until the scaler finds it a place.
ALTER TABLE tasks ADD COLUMN awaiting TEXT;
CREATE INDEX tasks_awaiting ON tasks (region, cluster) WHERE awaiting IS NOT NULL;

-- The service a task belongs to (its name), so that the service scheduler and ListTasks'
-- serviceName read a service's tasks through an index.
ALTER TABLE tasks ADD COLUMN service TEXT;
CREATE INDEX tasks_by_service ON tasks (region, cluster, service, last_status) WHERE service IS NOT NULL;

-- Services. Each row is the Service as DescribeServices returns it (doc), deployments and
-- events included. A deleted service stays INACTIVE (and describable) until a new service takes
-- its name.
CREATE TABLE services (
    region      TEXT NOT NULL,
    cluster     TEXT NOT NULL,          -- cluster name
    name        TEXT NOT NULL,
    arn         TEXT NOT NULL,
    status      TEXT NOT NULL,          -- ACTIVE | DRAINING | INACTIVE
    doc         TEXT NOT NULL,
    state       TEXT NOT NULL,          -- the service scheduler's own bookkeeping (JSON)
    PRIMARY KEY (region, cluster, name)
) WITHOUT ROWID;
CREATE INDEX services_by_status ON services (status, region, cluster);
