-- Secrets Manager: secrets, their versions (a version id is the ClientRequestToken that made it)
-- and the staging labels on them (a label is on one version of a secret at most). A secret
-- scheduled for deletion keeps its rows, with the time it goes for good in purge_ms. Tags live
-- in `tags` under the secret's ARN.
CREATE TABLE secrets (
    id INTEGER PRIMARY KEY,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    arn TEXT NOT NULL UNIQUE,
    description TEXT,
    kms_key_id TEXT,
    created_ms INTEGER NOT NULL,
    changed_ms INTEGER NOT NULL,
    accessed_ms INTEGER,
    deleted_ms INTEGER,
    purge_ms INTEGER,
    policy TEXT,
    UNIQUE (region, name)
);
CREATE INDEX secrets_by_purge ON secrets (purge_ms) WHERE purge_ms IS NOT NULL;

CREATE TABLE secret_versions (
    secret_id INTEGER NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    version_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    string TEXT,
    binary BLOB,
    created_ms INTEGER NOT NULL,
    accessed_ms INTEGER,
    PRIMARY KEY (secret_id, version_id)
);

CREATE TABLE secret_stages (
    secret_id INTEGER NOT NULL,
    stage TEXT NOT NULL,
    version_id TEXT NOT NULL,
    PRIMARY KEY (secret_id, stage),
    FOREIGN KEY (secret_id, version_id) REFERENCES secret_versions (secret_id, version_id) ON DELETE CASCADE
);
