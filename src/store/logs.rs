//! CloudWatch Logs' log groups and their metric filters (streams and events: `log_events`).

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{Result, Store};

/// A stored log group.
#[derive(Debug, Clone, PartialEq)]
pub struct LogGroupRow {
    /// Its row id, which its streams and events refer to (0 for a group not stored yet).
    pub id: i64,
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
    /// Whether DeleteLogGroup is refused.
    pub deletion_protection: bool,
    /// The UTF-8 bytes of the events it holds.
    pub stored_bytes: i64,
    /// How many metric filters it has.
    pub metric_filters: i64,
}

/// A stored metric filter.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFilterRow {
    /// The name of its log group.
    pub group: String,
    /// Its name, unique in its group.
    pub name: String,
    /// Its filter pattern, as given.
    pub pattern: String,
    /// Its metricTransformations, a JSON array as given.
    pub transformations: String,
    /// When it was created, in epoch milliseconds.
    pub created_ms: i64,
    /// Whether it applies to the transformed version of the events.
    pub apply_on_transformed: bool,
}

const GROUP_COLUMNS: &str = "id, name, created_ms, retention_days, kms_key_id, class, deletion_protection, stored_bytes, \
     (SELECT COUNT(*) FROM log_metric_filters f WHERE f.group_id = log_groups.id) AS metric_filters";

fn group_of(row: &SqliteRow) -> Result<LogGroupRow> {
    Ok(LogGroupRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        created_ms: row.try_get("created_ms")?,
        retention_days: row.try_get("retention_days")?,
        kms_key_id: row.try_get("kms_key_id")?,
        class: row.try_get("class")?,
        deletion_protection: row.try_get("deletion_protection")?,
        stored_bytes: row.try_get("stored_bytes")?,
        metric_filters: row.try_get("metric_filters")?,
    })
}

impl Store {
    /// Stores a new log group with its tags (under `arn`); false if one of that name exists in
    /// the region.
    ///
    /// # Errors
    /// On a database failure; then nothing was stored.
    pub async fn create_log_group(
        &self,
        region: &str,
        group: &LogGroupRow,
        arn: &str,
        tags: &[(String, String)],
    ) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query(
            "INSERT INTO log_groups (region, name, created_ms, retention_days, kms_key_id, class, deletion_protection) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (region, name) DO NOTHING",
        )
        .bind(region)
        .bind(&group.name)
        .bind(group.created_ms)
        .bind(group.retention_days)
        .bind(&group.kms_key_id)
        .bind(&group.class)
        .bind(group.deletion_protection)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        // A group created again under an old name starts without the old one's tags.
        sqlx::query("DELETE FROM tags WHERE resource_arn = ?").bind(arn).execute(&mut *tx).await?;
        super::tags::insert_tags(&mut tx, arn, tags).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes a log group with its streams, events, metric filters and the tags under `arn`;
    /// false if there was none.
    ///
    /// # Errors
    /// On a database failure; then nothing was deleted.
    pub async fn delete_log_group(&self, region: &str, name: &str, arn: &str) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let done = sqlx::query("DELETE FROM log_groups WHERE region = ? AND name = ?")
            .bind(region)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM tags WHERE resource_arn = ?").bind(arn).execute(&mut *tx).await?;
        tx.commit().await?;
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
        if done.rows_affected() == 1 {
            self.changed(super::Change::LogGroup { region: region.to_owned(), name: name.to_owned() });
        }
        Ok(done.rows_affected() == 1)
    }

    /// Turns a group's deletion protection on or off; false if there is no such group.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn set_log_group_deletion_protection(&self, region: &str, name: &str, on: bool) -> Result<bool> {
        let done = sqlx::query("UPDATE log_groups SET deletion_protection = ? WHERE region = ? AND name = ?")
            .bind(on)
            .bind(region)
            .bind(name)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The log group of that name in the region.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn get_log_group(&self, region: &str, name: &str) -> Result<Option<LogGroupRow>> {
        let sql = format!("SELECT {GROUP_COLUMNS} FROM log_groups WHERE region = ? AND name = ?");
        let row = sqlx::query(&sql).bind(region).bind(name).fetch_optional(&self.read).await?;
        row.as_ref().map(group_of).transpose()
    }

    /// The region's log groups in name order, from the first name after `after`.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_log_groups(&self, region: &str, after: &str) -> Result<Vec<LogGroupRow>> {
        let sql = format!("SELECT {GROUP_COLUMNS} FROM log_groups WHERE region = ? AND name > ? ORDER BY name");
        let rows = sqlx::query(&sql).bind(region).bind(after).fetch_all(&self.read).await?;
        rows.iter().map(group_of).collect()
    }

    /// Every log group with a retention policy, across regions: (id, days).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn retained_log_groups(&self) -> Result<Vec<(i64, i64)>> {
        let rows = sqlx::query("SELECT id, retention_days FROM log_groups WHERE retention_days IS NOT NULL")
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("retention_days")?))).collect()
    }

    /// Stores a metric filter, replacing one of the same name in its group. `Ok(false)` when the
    /// group would then have more than `max` filters (nothing changed).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn put_metric_filter(&self, group_id: i64, filter: &MetricFilterRow, max: i64) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT INTO log_metric_filters (group_id, name, pattern, transformations, created_ms, apply_on_transformed) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (group_id, name) DO UPDATE SET pattern = excluded.pattern, \
             transformations = excluded.transformations, apply_on_transformed = excluded.apply_on_transformed",
        )
        .bind(group_id)
        .bind(&filter.name)
        .bind(&filter.pattern)
        .bind(&filter.transformations)
        .bind(filter.created_ms)
        .bind(filter.apply_on_transformed)
        .execute(&mut *tx)
        .await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM log_metric_filters WHERE group_id = ?")
            .bind(group_id)
            .fetch_one(&mut *tx)
            .await?;
        if count > max {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes a metric filter; false if there was none.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn delete_metric_filter(&self, group_id: i64, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM log_metric_filters WHERE group_id = ? AND name = ?")
            .bind(group_id)
            .bind(name)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The region's metric filters, of one group if `group_id` is given, ordered by group name
    /// then filter name.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_metric_filters(&self, region: &str, group_id: Option<i64>) -> Result<Vec<MetricFilterRow>> {
        let rows = sqlx::query(
            "SELECT g.name AS group_name, f.name, f.pattern, f.transformations, f.created_ms, f.apply_on_transformed \
             FROM log_metric_filters f JOIN log_groups g ON g.id = f.group_id \
             WHERE g.region = ?1 AND (?2 IS NULL OR g.id = ?2) ORDER BY g.name, f.name",
        )
        .bind(region)
        .bind(group_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MetricFilterRow {
                    group: row.try_get("group_name")?,
                    name: row.try_get("name")?,
                    pattern: row.try_get("pattern")?,
                    transformations: row.try_get("transformations")?,
                    created_ms: row.try_get("created_ms")?,
                    apply_on_transformed: row.try_get("apply_on_transformed")?,
                })
            })
            .collect()
    }
}
