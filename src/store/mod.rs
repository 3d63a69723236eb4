//! The store: every resource of every service in one SQLite file, through sqlx. The only module with SQL.
//!
//! Two pools share the file. Reads go through `read` (several connections; WAL lets them run
//! beside a writer). Writes go through `write`, one connection, so write transactions are
//! serialised in berth instead of racing for SQLite's lock (a deferred transaction that reads
//! then writes can otherwise fail with SQLITE_BUSY without waiting). A write returns only after
//! its transaction committed, so whatever the API acknowledged survives `kill -9`
//! (`synchronous=NORMAL` in WAL mode loses nothing to a process crash, only to power loss).
//! RegisterTaskDefinition, the write clients send in bursts, commits in groups: every
//! registration waiting when the writer is free goes into one transaction
//! (`task_definitions::commit_registrations`).
//!
//! Resources are stored as key columns plus `doc`, the resource as the API returns it.

mod account_settings;
mod attributes;
mod cache;
mod changes;
mod client_tokens;
mod container_instances;
mod daemon_task_definitions;
mod daemons;
mod log_events;
mod log_shipping;
mod logs;
mod metrics;
mod named;
mod secrets;
mod services;
mod tags;
mod task_definitions;
mod tasks;

use std::num::NonZeroUsize;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use cache::Cache;
use serde_json::{Map, Value};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub use account_settings::AccountSetting;
pub use attributes::{AttributeFilter, AttributeRow};
pub use changes::{Change, Changes};
pub use client_tokens::{Claim, ClientToken};
pub use container_instances::InstanceRow;
pub use daemon_task_definitions::DaemonDefinitionFilter;
pub use daemons::DaemonRow;
pub use log_events::{EventRange, LogEventRow, LogStreamRow};
pub use log_shipping::Shipment;
pub use logs::{LogGroupRow, MetricFilterRow};
pub use metrics::{MetricPoint, MetricRow};
pub use named::{Named, NamedRow};
pub use secrets::{PutVersion, SecretLookup, SecretRow, SecretValue, VersionRow};
pub use services::ServiceRow;
pub use task_definitions::{FamilyStatus, TaskDefinitionKey};
pub use tasks::{
    AwaitingTask, ClusterCounts, InstanceTask, NewTask, Reservation, ServiceTask, TaskFilter, TaskKey, TaskProtection,
};

/// A JSON object as stored in a `doc` column.
pub type Doc = Map<String, Value>;

/// What can go wrong in the store. Every variant is a fault of berth or its disk, never of a
/// client: the API edge turns them into `ServerException`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite or the connection pool failed.
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Another berth has the data dir.
    #[error(
        "another berth is using this data dir (it holds {LOCK_FILE}): stop it, or give this one another --data-dir"
    )]
    Locked,
    /// The lock file could not be opened or locked.
    #[error("cannot lock {LOCK_FILE} in the data dir: {0}")]
    LockFile(std::io::Error),
    /// A stored document is not the JSON object berth wrote.
    #[error("stored document is corrupt: {0}")]
    Corrupt(#[from] serde_json::Error),
    /// A transaction that several requests shared failed (see `commit_registrations`).
    #[error("database error: {0}")]
    Shared(Arc<sqlx::Error>),
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A handle on the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    read: SqlitePool,
    write: SqlitePool,
    caches: Arc<Caches>,
    /// RegisterTaskDefinitions waiting for their group commit.
    registrations: tokio::sync::mpsc::Sender<task_definitions::Registration>,
    /// Told of every committed write that controllers act on (see [`Change`]).
    changes: Changes,
    /// Held open, and locked, while the store is: one berth per data dir.
    _lock: Arc<std::fs::File>,
}

/// The write-through copies of hot rows (see cache.rs).
struct Caches {
    /// Clusters and capacity providers by (kind, region, name).
    named: Cache<(Named, String, String), NamedRow>,
    /// Task definitions by (region, family, revision), None standing for the latest ACTIVE.
    task_definitions: Cache<(String, String, Option<i64>), Doc>,
}

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caches").finish_non_exhaustive()
    }
}

impl Caches {
    fn new() -> Self {
        Self { named: Cache::new(CACHED_ROWS), task_definitions: Cache::new(CACHED_ROWS) }
    }
}

/// RegisterTaskDefinitions that may wait for a commit before the next waits to be let in.
const REGISTRATIONS_WAITING: usize = 1024;

/// Rows each cache keeps: the clusters and task definitions in use, not every revision ever.
const CACHED_ROWS: NonZeroUsize = NonZeroUsize::new(1024).unwrap();

/// Read connections: WAL lets them all read beside the writer; more than a few would only
/// contend for the cores.
const READERS: u32 = 4;

/// How long a query waits for a free connection before it fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// The file name of the database inside the data dir.
pub const DB_FILE: &str = "berth.sqlite3";

/// The file berth locks in the data dir while it runs.
pub const LOCK_FILE: &str = "berth.lock";

impl Store {
    /// Opens (creating if needed) the database in `data_dir` and applies the migrations.
    ///
    /// # Errors
    /// When the file cannot be opened or created, or a migration fails.
    pub async fn open(data_dir: &Path) -> Result<Self> {
        // berth keeps copies of rows in memory, exact only while it is the database's one
        // writer; two berths on one data dir would also fight over the same Docker objects.
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(data_dir.join(LOCK_FILE))
            .map_err(Error::LockFile)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(Error::Locked),
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::LockFile(e)),
        }
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(data_dir.join(DB_FILE))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            // The connection is berth's own file, not a server that may have gone away: checking
            // it on every acquire would cost a round trip to its thread per query.
            .test_before_acquire(false)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations").run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(READERS)
            .test_before_acquire(false)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.read_only(true))
            .await?;
        let caches = Arc::new(Caches::new());
        let (registrations, waiting) = tokio::sync::mpsc::channel(REGISTRATIONS_WAITING);
        tokio::spawn(task_definitions::commit_registrations(write.clone(), caches.clone(), waiting));
        Ok(Self { read, write, caches, registrations, changes: Changes::default(), _lock: Arc::new(lock) })
    }

    /// Deletes every resource (`POST /_berth/reset`).
    ///
    /// # Errors
    /// On a database failure; then nothing was deleted.
    pub async fn reset(&self) -> Result<()> {
        let mut tx = self.write.begin().await?;
        // Every table of the schema but sqlx's record of migrations and berth's own identity,
        // read from the schema so that no table a migration adds is missed.
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name NOT IN ('_sqlx_migrations', 'meta')",
        )
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("PRAGMA defer_foreign_keys = ON").execute(&mut *tx).await?;
        for table in tables {
            sqlx::query(&format!("DELETE FROM \"{table}\"")).execute(&mut *tx).await?;
        }
        let committed = tx.commit().await;
        self.caches.named.clear();
        self.caches.task_definitions.clear();
        committed?;
        self.changes.send(Change::All);
        Ok(())
    }

    /// A watcher of the writes that commit from now on (see [`Change`]).
    #[must_use]
    pub fn watch(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// Tells the watchers of a committed change.
    fn changed(&self, change: Change) {
        self.changes.send(change);
    }

    /// The id of this berth instance: random on the data dir's first use, the same ever after
    /// (it names berth's Docker objects, so a restarted berth finds its own).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn instance_id(&self) -> Result<String> {
        let fresh = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        sqlx::query("INSERT INTO meta (key, value) VALUES ('instance_id', ?) ON CONFLICT (key) DO NOTHING")
            .bind(&fresh)
            .execute(&self.write)
            .await?;
        let id: String =
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'instance_id'").fetch_one(&self.write).await?;
        Ok(id)
    }

    /// Closes both pools, waiting for connections in use.
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

fn parse_doc(text: &str) -> Result<Doc> {
    Ok(serde_json::from_str(text)?)
}

fn doc_text(doc: &Doc) -> String {
    // Serialising a Map of Values cannot fail (all keys are strings).
    serde_json::to_string(doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    /// The first 8 bytes of each migration's checksum (SHA-384 of its file), as data dirs record
    /// it when the migration is applied. A new migration adds its line here.
    const APPLIED: &[(i64, &str)] = &[
        (1, "6e502df564d982d7"),
        (2, "b6554980081f3bd3"),
        (3, "0ea54a6570cbeab0"),
        (4, "0166fd5583612b63"),
        (5, "c350b1301b15d201"),
        (6, "5606a6f4dae2b38b"),
        (7, "f4379891c5ca70be"),
        (8, "d7b1e04a5426ea61"),
        (9, "3a9a4b2f351983cb"),
        (10, "e1ced4a40f838c96"),
        (11, "9699c86c0ca5006d"),
        (12, "c7262d053aa4ddf4"),
        (13, "5bc814af3ef0cc39"),
        (14, "2bd9f2dbb1ac848e"),
        (15, "33af46b7ed65ca2d"),
        (16, "6f4efa0f1c2842ae"),
        (17, "eff5c599a0647ba6"),
        (18, "651bd21dbc0fb4f0"),
    ];

    /// berth refuses a data dir whose applied migration changed since ("migration N was
    /// previously applied but has been modified"), so a migration that has been released is never
    /// edited: a change to the schema goes into a new one.
    #[test]
    fn released_migrations_are_never_edited() {
        let migrator = sqlx::migrate!("./migrations");
        assert_eq!(migrator.iter().count(), APPLIED.len(), "a new migration adds its checksum to APPLIED");
        for (version, expected) in APPLIED {
            let migration = migrator.iter().find(|m| m.version == *version).expect("migration is there");
            let prefix: String = migration.checksum.iter().take(8).map(|b| format!("{b:02x}")).collect();
            assert_eq!(&prefix, expected, "migration {version} was edited; put the change in a new migration");
        }
    }
}
