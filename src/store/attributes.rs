//! Custom attributes on a cluster's resources (container instances), as PutAttributes sets them.

use sqlx::Row;

use super::{Result, Store};

/// One attribute of one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeRow {
    /// The cluster's name.
    pub cluster: String,
    /// The target type (`container-instance`).
    pub target_type: String,
    /// The target's ARN.
    pub target_id: String,
    /// The attribute name.
    pub name: String,
    /// The value, if any.
    pub value: Option<String>,
}

/// Which attributes ListAttributes wants.
#[derive(Debug, Clone, Copy)]
pub struct AttributeFilter<'a> {
    /// The cluster's name.
    pub cluster: &'a str,
    /// The target type.
    pub target_type: &'a str,
    /// Only attributes with this name.
    pub name: Option<&'a str>,
    /// Only attributes with this value (with `name`).
    pub value: Option<&'a str>,
}

impl Store {
    /// Sets attributes, all in one transaction.
    ///
    /// # Errors
    /// On a database failure; then nothing changed.
    pub async fn put_attributes(&self, region: &str, rows: &[AttributeRow]) -> Result<()> {
        let mut tx = self.write.begin().await?;
        for a in rows {
            sqlx::query(
                "INSERT OR REPLACE INTO attributes (region, cluster, target_type, target_id, name, value) \
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(region)
            .bind(&a.cluster)
            .bind(&a.target_type)
            .bind(&a.target_id)
            .bind(&a.name)
            .bind(&a.value)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes attributes by (cluster, target type, target, name), all in one transaction.
    ///
    /// # Errors
    /// On a database failure; then nothing changed.
    pub async fn delete_attributes(&self, region: &str, rows: &[AttributeRow]) -> Result<()> {
        let mut tx = self.write.begin().await?;
        for a in rows {
            sqlx::query(
                "DELETE FROM attributes WHERE region = ? AND cluster = ? AND target_type = ? AND target_id = ? AND name = ?",
            )
            .bind(region)
            .bind(&a.cluster)
            .bind(&a.target_type)
            .bind(&a.target_id)
            .bind(&a.name)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Attributes of a cluster's targets of one type, optionally with one name (and value), in
    /// (name, target) order strictly after `after`, at most `limit`.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_attributes(
        &self,
        region: &str,
        filter: AttributeFilter<'_>,
        after: Option<(&str, &str)>,
        limit: u32,
    ) -> Result<Vec<AttributeRow>> {
        let AttributeFilter { cluster, target_type, name, value } = filter;
        let mut sql = String::from(
            "SELECT cluster, target_type, target_id, name, value FROM attributes \
             WHERE region = ? AND cluster = ? AND target_type = ?",
        );
        if name.is_some() {
            sql.push_str(" AND name = ?");
        }
        if value.is_some() {
            sql.push_str(" AND value = ?");
        }
        if after.is_some() {
            sql.push_str(" AND (name, target_id) > (?, ?)");
        }
        sql.push_str(" ORDER BY name, target_id LIMIT ?");
        let mut query = sqlx::query(&sql).bind(region).bind(cluster).bind(target_type);
        if let Some(name) = name {
            query = query.bind(name);
        }
        if let Some(value) = value {
            query = query.bind(value);
        }
        if let Some((name, target)) = after {
            query = query.bind(name).bind(target);
        }
        let rows = query.bind(limit).fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                Ok(AttributeRow {
                    cluster: r.try_get("cluster")?,
                    target_type: r.try_get("target_type")?,
                    target_id: r.try_get("target_id")?,
                    name: r.try_get("name")?,
                    value: r.try_get("value")?,
                })
            })
            .collect()
    }
}
