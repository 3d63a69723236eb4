//! Tags of any taggable resource, by ARN, in the order they were first given.

use sqlx::{Row, SqliteConnection};

use super::{Result, Store};

/// Adds or overwrites `arn`'s `tags` in the transaction of `conn`; a new key goes after those
/// the resource has.
pub(super) async fn insert_tags(conn: &mut SqliteConnection, arn: &str, tags: &[(String, String)]) -> Result<()> {
    for (key, value) in tags {
        sqlx::query(
            "INSERT INTO tags (resource_arn, key, value, position) \
             VALUES (?1, ?2, ?3, (SELECT COALESCE(MAX(position), 0) + 1 FROM tags WHERE resource_arn = ?1)) \
             ON CONFLICT (resource_arn, key) DO UPDATE SET value = excluded.value",
        )
        .bind(arn)
        .bind(key)
        .bind(value)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl Store {
    /// The tags of a resource, in the order they were first set.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn get_tags(&self, arn: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT key, value FROM tags WHERE resource_arn = ? ORDER BY position")
            .bind(arn)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("key")?, r.try_get("value")?))).collect()
    }

    /// Adds or overwrites tags. If the resource would then have more than `max` tags, nothing
    /// changes and the would-be count comes back as `Err`.
    ///
    /// # Errors
    /// On a database failure; then nothing changed.
    pub async fn tag_resource(
        &self,
        arn: &str,
        tags: &[(String, String)],
        max: usize,
    ) -> Result<std::result::Result<(), usize>> {
        let mut tx = self.write.begin().await?;
        insert_tags(&mut tx, arn, tags).await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tags WHERE resource_arn = ?")
            .bind(arn)
            .fetch_one(&mut *tx)
            .await?;
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        if count > max {
            tx.rollback().await?;
            return Ok(Err(count));
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Removes every tag of a resource (a resource created again under an old ARN starts bare).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn delete_tags(&self, arn: &str) -> Result<()> {
        sqlx::query("DELETE FROM tags WHERE resource_arn = ?").bind(arn).execute(&self.write).await?;
        Ok(())
    }

    /// Removes the named tag keys (absent keys are ignored, as on AWS).
    ///
    /// # Errors
    /// On a database failure; then nothing changed.
    pub async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<()> {
        let mut tx = self.write.begin().await?;
        for key in keys {
            sqlx::query("DELETE FROM tags WHERE resource_arn = ? AND key = ?")
                .bind(arn)
                .bind(key)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
