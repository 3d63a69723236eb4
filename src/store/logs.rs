//! CloudWatch Logs' log groups.

use sqlx::Row;

use super::{Result, Store};

/// A stored log group.
#[derive(Debug, Clone, PartialEq)]
pub struct LogGroupRow {
    /// Its name.
    pub name: String,
    /// When it was created, in epoch milliseconds.
    pub created_ms: i64,
    /// Days its events are kept, if not forever.
    pub retention_days: Option<i64>,
    /// The KMS key it is encrypted with, if any.
    pub kms_key_id: Option<String>,
    /// `STANDARD`, `INFREQUENT_ACCESS` or `DELIVERY`.
    pub class: String,
}

impl Store {
    /// Stores a new log group; false if one of that name exists in the region.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn create_log_group(&self, region: &str, group: &LogGroupRow) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO log_groups (region, name, created_ms, retention_days, kms_key_id, class) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (region, name) DO NOTHING",
        )
        .bind(region)
        .bind(&group.name)
        .bind(group.created_ms)
        .bind(group.retention_days)
        .bind(&group.kms_key_id)
        .bind(&group.class)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a log group; false if there was none.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn delete_log_group(&self, region: &str, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM log_groups WHERE region = ? AND name = ?")
            .bind(region)
            .bind(name)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sets (or, with None, removes) a log group's retention; false if there is no such group.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn set_log_group_retention(&self, region: &str, name: &str, days: Option<i64>) -> Result<bool> {
        let done = sqlx::query("UPDATE log_groups SET retention_days = ? WHERE region = ? AND name = ?")
            .bind(days)
            .bind(region)
            .bind(name)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The region's log groups in name order, from the first name after `after`.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_log_groups(&self, region: &str, after: &str) -> Result<Vec<LogGroupRow>> {
        let rows = sqlx::query(
            "SELECT name, created_ms, retention_days, kms_key_id, class FROM log_groups \
             WHERE region = ? AND name > ? ORDER BY name",
        )
        .bind(region)
        .bind(after)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LogGroupRow {
                    name: row.try_get("name")?,
                    created_ms: row.try_get("created_ms")?,
                    retention_days: row.try_get("retention_days")?,
                    kms_key_id: row.try_get("kms_key_id")?,
                    class: row.try_get("class")?,
                })
            })
            .collect()
    }
}
