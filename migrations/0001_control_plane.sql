-- The control plane: clusters, task definitions, capacity providers, tags, account settings and
-- attributes. Each resource keeps its key columns (for lookups, filters and paging through
-- indexes) and `doc`, the resource as the ECS API returns it (JSON), so that every field a client
-- sends round-trips. Everything is scoped by region; the account is berth's one account.

CREATE TABLE clusters (
    region TEXT NOT NULL,
    name   TEXT NOT NULL,
    arn    TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,               -- ACTIVE | INACTIVE
    doc    TEXT NOT NULL,               -- the Cluster shape, without counts and statistics
    PRIMARY KEY (region, name)
) WITHOUT ROWID;
CREATE INDEX clusters_by_status ON clusters (region, status, name);

-- One row per family: the revision counter never goes back, even when revisions are deleted,
-- and active_count answers ListTaskDefinitionFamilies' ACTIVE/INACTIVE filter from an index.
CREATE TABLE task_definition_families (
    region        TEXT    NOT NULL,
    family        TEXT    NOT NULL,
    last_revision INTEGER NOT NULL,
    active_count  INTEGER NOT NULL,
    PRIMARY KEY (region, family)
) WITHOUT ROWID;

CREATE TABLE task_definitions (
    region   TEXT    NOT NULL,
    family   TEXT    NOT NULL,
    revision INTEGER NOT NULL,
    status   TEXT    NOT NULL,          -- ACTIVE | INACTIVE | DELETE_IN_PROGRESS
    doc      TEXT    NOT NULL,          -- the TaskDefinition shape
    PRIMARY KEY (region, family, revision)
) WITHOUT ROWID;
CREATE INDEX task_definitions_by_status ON task_definitions (region, status, family, revision);

CREATE TABLE capacity_providers (
    region TEXT NOT NULL,
    name   TEXT NOT NULL,
    arn    TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,               -- ACTIVE | INACTIVE
    doc    TEXT NOT NULL,               -- the CapacityProvider shape, without tags
    PRIMARY KEY (region, name)
) WITHOUT ROWID;

CREATE TABLE tags (
    resource_arn TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        TEXT NOT NULL,
    position     INTEGER NOT NULL,      -- insertion order, so tags come back as they were given
    PRIMARY KEY (resource_arn, key)
) WITHOUT ROWID;

-- Settings per principal ARN; the account default (PutAccountSettingDefault) is the root's.
CREATE TABLE account_settings (
    region        TEXT NOT NULL,
    principal_arn TEXT NOT NULL,
    name          TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (region, principal_arn, name)
) WITHOUT ROWID;

CREATE TABLE attributes (
    region      TEXT NOT NULL,
    cluster     TEXT NOT NULL,          -- cluster name
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,          -- the target's ARN
    name        TEXT NOT NULL,
    value       TEXT,
    PRIMARY KEY (region, cluster, target_type, target_id, name)
) WITHOUT ROWID;
CREATE INDEX attributes_by_name ON attributes (region, cluster, target_type, name, target_id);
