//! Services. A service's document is what DescribeServices returns (deployments and events
//! included); `state` is the service scheduler's own bookkeeping, never shown to a client.
//! Every change is a read-modify-write of one row inside the store's single write connection, so
//! an UpdateService and the scheduler never overwrite each other's changes.

use sqlx::Row;

use super::{Doc, Result, Store, doc_text, parse_doc};

/// A stored service.
#[derive(Debug, Clone)]
pub struct ServiceRow {
    /// The region.
    pub region: String,
    /// The cluster's name.
    pub cluster: String,
    /// The service's name.
    pub name: String,
    /// The service's ARN.
    pub arn: String,
    /// ACTIVE, DRAINING or INACTIVE.
    pub status: String,
    /// The Service as the API returns it.
    pub doc: Doc,
    /// The scheduler's bookkeeping.
    pub state: Doc,
}

fn row(r: &sqlx::sqlite::SqliteRow) -> Result<ServiceRow> {
    Ok(ServiceRow {
        region: r.try_get("region")?,
        cluster: r.try_get("cluster")?,
        name: r.try_get("name")?,
        arn: r.try_get("arn")?,
        status: r.try_get("status")?,
        doc: parse_doc(r.try_get("doc")?)?,
        state: parse_doc(r.try_get("state")?)?,
    })
}

const COLUMNS: &str = "region, cluster, name, arn, status, doc, state";

impl Store {
    /// Stores a new service unless one of its name is ACTIVE or DRAINING in the cluster (then
    /// answers that one and stores nothing). An INACTIVE one of the name is replaced.
    ///
    /// # Errors
    /// On a database failure; then nothing was stored.
    pub async fn create_service(&self, s: &ServiceRow) -> Result<Option<ServiceRow>> {
        let mut tx = self.write.begin().await?;
        let existing = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM services WHERE region = ? AND cluster = ? AND name = ? AND status != 'INACTIVE'"
        ))
        .bind(&s.region)
        .bind(&s.cluster)
        .bind(&s.name)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(existing) = existing {
            return row(&existing).map(Some);
        }
        sqlx::query(
            "INSERT OR REPLACE INTO services (region, cluster, name, arn, status, doc, state) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&s.region)
        .bind(&s.cluster)
        .bind(&s.name)
        .bind(&s.arn)
        .bind(&s.status)
        .bind(doc_text(&s.doc))
        .bind(doc_text(&s.state))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.changed(service_change(&s.region, &s.cluster, &s.name));
        Ok(None)
    }

    /// A service by name, in any status.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn get_service(&self, region: &str, cluster: &str, name: &str) -> Result<Option<ServiceRow>> {
        let found =
            sqlx::query(&format!("SELECT {COLUMNS} FROM services WHERE region = ? AND cluster = ? AND name = ?"))
                .bind(region)
                .bind(cluster)
                .bind(name)
                .fetch_optional(&self.read)
                .await?;
        found.as_ref().map(row).transpose()
    }

    /// Applies `edit` to a service (its status, document and state) and stores it, atomically.
    /// `edit` answers false to store nothing. None if there is no such service.
    ///
    /// # Errors
    /// On a database failure; then nothing changed.
    pub async fn update_service(
        &self,
        region: &str,
        cluster: &str,
        name: &str,
        edit: impl FnOnce(&mut ServiceRow) -> bool,
    ) -> Result<Option<ServiceRow>> {
        let mut tx = self.write.begin().await?;
        let found =
            sqlx::query(&format!("SELECT {COLUMNS} FROM services WHERE region = ? AND cluster = ? AND name = ?"))
                .bind(region)
                .bind(cluster)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(found) = found else { return Ok(None) };
        let mut s = row(&found)?;
        if !edit(&mut s) {
            return Ok(Some(s));
        }
        sqlx::query("UPDATE services SET status = ?, doc = ?, state = ? WHERE region = ? AND cluster = ? AND name = ?")
            .bind(&s.status)
            .bind(doc_text(&s.doc))
            .bind(doc_text(&s.state))
            .bind(region)
            .bind(cluster)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.changed(service_change(region, cluster, name));
        Ok(Some(s))
    }

    /// A cluster's ACTIVE services in name order after `after`, at most `limit` (a deleted
    /// service leaves ListServices as soon as it is DRAINING).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_services(&self, region: &str, cluster: &str, after: &str, limit: u32) -> Result<Vec<ServiceRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM services WHERE region = ? AND cluster = ? AND status = 'ACTIVE' AND name > ? \
             ORDER BY name LIMIT ?"
        ))
        .bind(region)
        .bind(cluster)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(row).collect()
    }

    /// Every service the scheduler still has work for (ACTIVE or DRAINING), in any region.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn live_services(&self) -> Result<Vec<ServiceRow>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM services WHERE status != 'INACTIVE'"))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(row).collect()
    }
}

/// The notification of a change to a service.
fn service_change(region: &str, cluster: &str, name: &str) -> super::Change {
    super::Change::Service { region: region.to_owned(), cluster: cluster.to_owned(), name: name.to_owned() }
}
