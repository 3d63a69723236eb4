//! Container instances. A row is never deleted: a deregistered instance stays INACTIVE (and
//! describable), as on AWS, and tells berth the cluster's instances were provisioned.

use sqlx::Row;

use super::{Doc, Result, Store, doc_text, parse_doc};

/// A stored container instance.
#[derive(Debug, Clone)]
pub struct InstanceRow {
    /// The id (last part of the ARN).
    pub id: String,
    /// The ARN.
    pub arn: String,
    /// ACTIVE, DRAINING or INACTIVE.
    pub status: String,
    /// The Docker engine its tasks run on (an index into berth's `--docker-host`s).
    pub engine: usize,
    /// The ContainerInstance without derived fields.
    pub doc: Doc,
}

fn row(r: &sqlx::sqlite::SqliteRow) -> Result<InstanceRow> {
    Ok(InstanceRow {
        id: r.try_get("id")?,
        arn: r.try_get("arn")?,
        status: r.try_get("status")?,
        engine: usize::try_from(r.try_get::<i64, _>("engine")?).unwrap_or(0),
        doc: parse_doc(r.try_get("doc")?)?,
    })
}

/// Stores an instance, or replaces the status and document of the one with its id.
async fn insert<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Sqlite>,
    region: &str,
    cluster: &str,
    r: &InstanceRow,
    managed: bool,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO container_instances (region, cluster, id, arn, status, managed, engine, doc) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (region, cluster, id) DO UPDATE SET status = excluded.status, doc = excluded.doc",
    )
    .bind(region)
    .bind(cluster)
    .bind(&r.id)
    .bind(&r.arn)
    .bind(&r.status)
    .bind(managed)
    .bind(i64::try_from(r.engine).unwrap_or(0))
    .bind(doc_text(&r.doc))
    .execute(executor)
    .await?;
    Ok(())
}

impl Store {
    /// Stores berth's own container instances for a cluster that never had any, in one
    /// transaction; does nothing (and answers false) when the cluster has or had instances.
    ///
    /// # Errors
    /// On a database failure; then none was stored.
    pub async fn provision_instances(&self, region: &str, cluster: &str, rows: &[InstanceRow]) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let existing: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM container_instances WHERE region = ? AND cluster = ?")
                .bind(region)
                .bind(cluster)
                .fetch_one(&mut *tx)
                .await?;
        if existing > 0 {
            return Ok(false);
        }
        for r in rows {
            insert(&mut *tx, region, cluster, r, true).await?;
        }
        tx.commit().await?;
        self.changed(cluster_change(region, cluster));
        Ok(true)
    }

    /// Stores more of berth's own container instances (a capacity provider's group).
    ///
    /// # Errors
    /// On a database failure; then none was stored.
    pub async fn add_instances(&self, region: &str, cluster: &str, rows: &[InstanceRow]) -> Result<()> {
        let mut tx = self.write.begin().await?;
        for r in rows {
            insert(&mut *tx, region, cluster, r, true).await?;
        }
        tx.commit().await?;
        self.changed(cluster_change(region, cluster));
        Ok(())
    }

    /// The instances of a capacity provider's group in a cluster: ACTIVE and DRAINING ones, or
    /// (`any_status`) all it ever had.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn provider_instances(
        &self,
        region: &str,
        cluster: &str,
        provider: &str,
        any_status: bool,
    ) -> Result<Vec<InstanceRow>> {
        let rows = sqlx::query(
            "SELECT id, arn, status, engine, doc FROM container_instances WHERE region = ? AND cluster = ? \
             AND json_extract(doc, '$.capacityProviderName') = ? AND (? OR status != 'INACTIVE') ORDER BY id",
        )
        .bind(region)
        .bind(cluster)
        .bind(provider)
        .bind(any_status)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(row).collect()
    }

    /// Every ACTIVE instance of a capacity provider's group, in any region and cluster, with its
    /// region and cluster.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn scaled_instances(&self) -> Result<Vec<(String, String, InstanceRow)>> {
        let rows = sqlx::query(
            "SELECT region, cluster, id, arn, status, engine, doc FROM container_instances \
             WHERE status = 'ACTIVE' AND json_extract(doc, '$.capacityProviderName') IS NOT NULL",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| Ok((r.try_get("region")?, r.try_get("cluster")?, row(r)?))).collect()
    }

    /// Stores a container instance a client registered (RegisterContainerInstance), or replaces
    /// the one with its id (a re-registration).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn register_instance(&self, region: &str, cluster: &str, r: &InstanceRow) -> Result<()> {
        insert(&self.write, region, cluster, r, false).await?;
        self.changed(cluster_change(region, cluster));
        Ok(())
    }

    /// Forgets berth's own container instances of a cluster being deleted, so that a cluster
    /// created again under the name gets new ones.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn remove_managed_instances(&self, region: &str, cluster: &str) -> Result<()> {
        sqlx::query("DELETE FROM container_instances WHERE region = ? AND cluster = ? AND managed = 1")
            .bind(region)
            .bind(cluster)
            .execute(&self.write)
            .await?;
        self.changed(cluster_change(region, cluster));
        Ok(())
    }

    /// A container instance by id, in any status.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn get_instance(&self, region: &str, cluster: &str, id: &str) -> Result<Option<InstanceRow>> {
        let found = sqlx::query(
            "SELECT id, arn, status, engine, doc FROM container_instances WHERE region = ? AND cluster = ? AND id = ?",
        )
        .bind(region)
        .bind(cluster)
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        found.as_ref().map(row).transpose()
    }

    /// A cluster's container instances in id order after `after`, ACTIVE and DRAINING ones or
    /// those of one status, at most `limit`.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_instances(
        &self,
        region: &str,
        cluster: &str,
        status: Option<&str>,
        after: &str,
        limit: u32,
    ) -> Result<Vec<InstanceRow>> {
        let statuses = match status {
            Some(s) => vec![s],
            None => vec!["ACTIVE", "DRAINING"],
        };
        let marks = vec!["?"; statuses.len()].join(", ");
        let sql = format!(
            "SELECT id, arn, status, engine, doc FROM container_instances \
             WHERE region = ? AND cluster = ? AND status IN ({marks}) AND id > ? ORDER BY id LIMIT ?"
        );
        let mut query = sqlx::query(&sql).bind(region).bind(cluster);
        for s in statuses {
            query = query.bind(s);
        }
        let rows = query.bind(after).bind(limit).fetch_all(&self.read).await?;
        rows.iter().map(row).collect()
    }

    /// How many container instances of a cluster are ACTIVE or DRAINING, and how many of those
    /// were registered by a client (not berth's own).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn count_instances(&self, region: &str, cluster: &str) -> Result<(u64, u64)> {
        let r = sqlx::query(
            "SELECT COUNT(*) AS registered, COALESCE(SUM(managed = 0), 0) AS foreign_ \
             FROM container_instances WHERE region = ? AND cluster = ? AND status IN ('ACTIVE', 'DRAINING')",
        )
        .bind(region)
        .bind(cluster)
        .fetch_one(&self.read)
        .await?;
        let registered: i64 = r.try_get("registered")?;
        let foreign: i64 = r.try_get("foreign_")?;
        Ok((u64::try_from(registered).unwrap_or(0), u64::try_from(foreign).unwrap_or(0)))
    }

    /// Sets a container instance's status and document.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn put_instance(&self, region: &str, cluster: &str, r: &InstanceRow) -> Result<()> {
        sqlx::query("UPDATE container_instances SET status = ?, doc = ? WHERE region = ? AND cluster = ? AND id = ?")
            .bind(&r.status)
            .bind(doc_text(&r.doc))
            .bind(region)
            .bind(cluster)
            .bind(&r.id)
            .execute(&self.write)
            .await?;
        self.changed(cluster_change(region, cluster));
        Ok(())
    }
}

/// The notification of a change to a cluster's container instances.
fn cluster_change(region: &str, cluster: &str) -> super::Change {
    super::Change::Cluster { region: region.to_owned(), cluster: cluster.to_owned() }
}
