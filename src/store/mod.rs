//! The store: every ECS resource in one SQLite file, through sqlx. The only module with SQL.
//!
//! Two pools share the file. Reads go through `read` (several connections; WAL lets them run
//! beside a writer). Writes go through `write`, one connection, so write transactions are
//! serialised in berth instead of racing for SQLite's lock (a deferred transaction that reads
//! then writes can otherwise fail with SQLITE_BUSY without waiting). A write returns only after
//! its transaction committed, so whatever the API acknowledged survives `kill -9`
//! (`synchronous=NORMAL` in WAL mode loses nothing to a process crash, only to power loss).
//!
//! Resources are stored as key columns plus `doc`, the resource as the API returns it.

mod account_settings;
mod attributes;
mod client_tokens;
mod container_instances;
mod named;
mod services;
mod tags;
mod task_definitions;
mod tasks;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use serde_json::{Map, Value};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub use account_settings::AccountSetting;
pub use attributes::{AttributeFilter, AttributeRow};
pub use client_tokens::{Claim, ClientToken};
pub use container_instances::InstanceRow;
pub use named::{Named, NamedRow};
pub use services::ServiceRow;
pub use task_definitions::{FamilyStatus, TaskDefinitionKey};
pub use tasks::{AwaitingTask, ClusterCounts, InstanceTask, NewTask, Reservation, TaskFilter, TaskKey};

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
    /// A stored document is not the JSON object berth wrote.
    #[error("stored document is corrupt: {0}")]
    Corrupt(#[from] serde_json::Error),
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A handle on the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    read: SqlitePool,
    write: SqlitePool,
}

/// The file name of the database inside the data dir.
pub const DB_FILE: &str = "berth.sqlite3";

impl Store {
    /// Opens (creating if needed) the database in `data_dir` and applies the migrations.
    ///
    /// # Errors
    /// When the file cannot be opened or created, or a migration fails.
    pub async fn open(data_dir: &Path) -> Result<Self> {
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
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations").run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { read, write })
    }

    /// Deletes every resource (`POST /_berth/reset`).
    ///
    /// # Errors
    /// On a database failure; then nothing was deleted.
    pub async fn reset(&self) -> Result<()> {
        let mut tx = self.write.begin().await?;
        for table in [
            "clusters",
            "task_definition_families",
            "task_definitions",
            "capacity_providers",
            "tags",
            "account_settings",
            "attributes",
            "tasks",
            "client_tokens",
            "container_instances",
        ] {
            sqlx::query(&format!("DELETE FROM {table}")).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
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
