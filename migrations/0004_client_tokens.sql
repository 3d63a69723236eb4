-- Idempotency: the clientToken of each request that created resources, a fingerprint of the
-- request it came with, and the ARNs it created. A retry with the same token and request
-- answers the same resources; the same token with another request is a ConflictException.
-- A token is scoped to a region, an operation and a resource (RunTask: the cluster's name).

CREATE TABLE client_tokens (
    region      TEXT NOT NULL,
    operation   TEXT NOT NULL,
    scope       TEXT NOT NULL,
    token       TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    resources   TEXT NOT NULL,            -- JSON array of ARNs
    created_at  REAL NOT NULL,            -- seconds since the epoch
    PRIMARY KEY (region, operation, scope, token)
) WITHOUT ROWID;
