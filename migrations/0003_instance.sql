-- Facts about this berth instance (its data dir), such as the id that names its Docker network.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
