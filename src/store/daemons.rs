//! ECS Managed Daemons: one row per daemon of a cluster, its revisions and deployments inside
//! its document. Writers change a daemon in one transaction ([`Store::update_daemon`]), so a
//! request and the daemons controller never lose each other's changes.

use sqlx::Row;

use super::{Doc, Result, Store, doc_text, parse_doc};

/// A stored daemon.
#[derive(Debug, Clone)]
pub struct DaemonRow {
    /// Its region.
    pub region: String,
    /// Its cluster's name.
    pub cluster: String,
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// ACTIVE, DELETE_IN_PROGRESS or (berth's, once deleted) DELETED.
    pub status: String,
    /// Its settings, revisions and deployments.
    pub doc: Doc,
}

fn row(r: &sqlx::sqlite::SqliteRow) -> Result<DaemonRow> {
    Ok(DaemonRow {
        region: r.try_get("region")?,
        cluster: r.try_get("cluster")?,
        name: r.try_get("name")?,
        arn: r.try_get("arn")?,
        status: r.try_get("status")?,
        doc: parse_doc(r.try_get("doc")?)?,
    })
}

const COLUMNS: &str = "region, cluster, name, arn, status, doc";

impl Store {
    /// Stores a daemon, replacing a DELETED one of the same name. False (and nothing stored) when
    /// a daemon of that name is ACTIVE or being deleted.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn create_daemon(&self, d: &DaemonRow) -> Result<bool> {
        let written = sqlx::query(
            "INSERT INTO daemons (region, cluster, name, arn, status, doc) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (region, cluster, name) DO UPDATE SET arn = excluded.arn, status = excluded.status, \
             doc = excluded.doc WHERE daemons.status = 'DELETED'",
        )
        .bind(&d.region)
        .bind(&d.cluster)
        .bind(&d.name)
        .bind(&d.arn)
        .bind(&d.status)
        .bind(doc_text(&d.doc))
        .execute(&self.write)
        .await?;
        if written.rows_affected() > 0 {
            self.changed(super::Change::Cluster { region: d.region.clone(), cluster: d.cluster.clone() });
        }
        Ok(written.rows_affected() > 0)
    }

    /// A daemon by cluster and name, in any status.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn get_daemon(&self, region: &str, cluster: &str, name: &str) -> Result<Option<DaemonRow>> {
        let found =
            sqlx::query(&format!("SELECT {COLUMNS} FROM daemons WHERE region = ? AND cluster = ? AND name = ?"))
                .bind(region)
                .bind(cluster)
                .bind(name)
                .fetch_optional(&self.read)
                .await?;
        found.as_ref().map(row).transpose()
    }

    /// Applies `edit` to a daemon (its status and document) and stores it, atomically; `edit`
    /// answers what the caller wants back. None if there is no such daemon.
    ///
    /// # Errors
    /// On a database failure; then nothing changed.
    pub async fn update_daemon<T>(
        &self,
        region: &str,
        cluster: &str,
        name: &str,
        edit: impl FnOnce(&mut DaemonRow) -> T,
    ) -> Result<Option<T>> {
        let mut tx = self.write.begin().await?;
        let found =
            sqlx::query(&format!("SELECT {COLUMNS} FROM daemons WHERE region = ? AND cluster = ? AND name = ?"))
                .bind(region)
                .bind(cluster)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(found) = found else { return Ok(None) };
        let mut daemon = row(&found)?;
        let (status, doc) = (daemon.status.clone(), daemon.doc.clone());
        let out = edit(&mut daemon);
        if daemon.status == status && daemon.doc == doc {
            // Nothing changed: no write, and no change to wake anyone (the daemons controller
            // would wake itself).
            return Ok(Some(out));
        }
        sqlx::query("UPDATE daemons SET status = ?, doc = ? WHERE region = ? AND cluster = ? AND name = ?")
            .bind(&daemon.status)
            .bind(doc_text(&daemon.doc))
            .bind(region)
            .bind(cluster)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.changed(super::Change::Cluster { region: region.to_owned(), cluster: cluster.to_owned() });
        Ok(Some(out))
    }

    /// The daemons of a region not DELETED, in (cluster, name) order after `after`, at most
    /// `limit`; of one cluster when `cluster` is given.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_daemons(
        &self,
        region: &str,
        cluster: Option<&str>,
        after: (&str, &str),
        limit: u32,
    ) -> Result<Vec<DaemonRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM daemons WHERE region = ?1 AND status != 'DELETED' \
             AND (?2 IS NULL OR cluster = ?2) AND (cluster, name) > (?3, ?4) ORDER BY cluster, name LIMIT ?5"
        ))
        .bind(region)
        .bind(cluster)
        .bind(after.0)
        .bind(after.1)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(row).collect()
    }

    /// Every daemon not DELETED, in any region (the daemons controller's work).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn live_daemons(&self) -> Result<Vec<DaemonRow>> {
        let rows =
            sqlx::query(&format!("SELECT {COLUMNS} FROM daemons INDEXED BY daemons_live WHERE status != 'DELETED'"))
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(row).collect()
    }
}
