//! Task definitions: revisions per family, and the per-family counters behind revision numbers
//! and ListTaskDefinitionFamilies' status filter. Every query is answered from an index, so the
//! cost of a lookup or a page does not grow with the number of revisions.

use serde_json::Value;
use sqlx::Row;

use super::cache::Lookup;
use super::{Doc, Result, Store, doc_text, parse_doc};

/// A task definition's primary key within a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDefinitionKey {
    /// The family.
    pub family: String,
    /// The revision, from 1.
    pub revision: i64,
}

/// ListTaskDefinitionFamilies' status filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FamilyStatus {
    /// Families with at least one ACTIVE revision.
    Active,
    /// Families without an ACTIVE revision.
    Inactive,
    /// Every family.
    All,
}

impl Store {
    /// Registers the next revision of `family`: `doc` gets the revision number as "revision" and
    /// `arn_prefix` followed by it as "taskDefinitionArn", and is returned as stored. One INSERT in
    /// its own transaction (the family counter moves in its trigger).
    ///
    /// # Errors
    /// On a database failure; then nothing was registered.
    pub async fn register_task_definition(
        &self,
        region: &str,
        family: &str,
        arn_prefix: &str,
        mut doc: Doc,
    ) -> Result<Doc> {
        doc.insert("taskDefinitionArn".into(), Value::from(arn_prefix));
        doc.insert("revision".into(), Value::from(0));
        // In a transaction of its own: as a bare autocommit statement, the INSERT … RETURNING
        // left the WAL growing without a checkpoint ever completing (300 MB after 16k
        // registrations), and every read slowing down with it.
        let mut tx = self.write.begin().await?;
        let revision: sqlx::Result<i64> = sqlx::query_scalar(
            "INSERT INTO task_definitions (region, family, revision, status, doc) \
             SELECT ?1, ?2, next, 'ACTIVE', json_set(?3, '$.taskDefinitionArn', ?4 || next, '$.revision', next) \
             FROM (SELECT COALESCE((SELECT last_revision FROM task_definition_families \
                                    WHERE region = ?1 AND family = ?2), 0) + 1 AS next) \
             RETURNING revision",
        )
        .bind(region)
        .bind(family)
        .bind(doc_text(&doc))
        .bind(arn_prefix)
        .fetch_one(&mut *tx)
        .await;
        let revision = match revision {
            Ok(revision) => tx.commit().await.map(|()| revision),
            Err(e) => Err(e),
        };
        // The family's latest revision changed.
        self.caches.task_definitions.forget([&(region.to_owned(), family.to_owned(), None)]);
        let revision = revision?;
        doc.insert("taskDefinitionArn".into(), Value::from(format!("{arn_prefix}{revision}")));
        doc.insert("revision".into(), Value::from(revision));
        Ok(doc)
    }

    /// A revision, or with `revision` None the latest ACTIVE revision of the family.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn get_task_definition(&self, region: &str, family: &str, revision: Option<i64>) -> Result<Option<Doc>> {
        let key = (region.to_owned(), family.to_owned(), revision);
        let epoch = match self.caches.task_definitions.get(&key) {
            Lookup::Hit(doc) => return Ok(Some(doc)),
            Lookup::Miss(epoch) => epoch,
        };
        let found: Option<String> = match revision {
            Some(revision) => {
                sqlx::query_scalar("SELECT doc FROM task_definitions WHERE region = ? AND family = ? AND revision = ?")
                    .bind(region)
                    .bind(family)
                    .bind(revision)
                    .fetch_optional(&self.read)
                    .await?
            }
            None => {
                sqlx::query_scalar(
                    "SELECT doc FROM task_definitions WHERE region = ? AND status = 'ACTIVE' AND family = ? \
                     ORDER BY revision DESC LIMIT 1",
                )
                .bind(region)
                .bind(family)
                .fetch_optional(&self.read)
                .await?
            }
        };
        let found = found.as_deref().map(parse_doc).transpose()?;
        if let Some(doc) = &found {
            self.caches.task_definitions.fill(epoch, key, doc.clone());
        }
        Ok(found)
    }

    /// Moves a revision from one of `from` to status `to` (column and document alike), letting
    /// `edit` update the rest of its document in the same transaction. Returns the updated document, or None when the revision does not
    /// exist, and `Err(status)` inside Ok when it exists with a status not in `from`.
    ///
    /// # Errors
    /// On a database failure; then nothing changed.
    pub async fn transition_task_definition(
        &self,
        region: &str,
        key: &TaskDefinitionKey,
        from: &[&str],
        to: &str,
        edit: impl FnOnce(&mut Doc),
    ) -> Result<Option<std::result::Result<Doc, String>>> {
        // Forgotten whether or not the transaction committed.
        let moved: Result<Option<std::result::Result<Doc, String>>> = async {
            let mut tx = self.write.begin().await?;
            let Some(found) =
                sqlx::query("SELECT status, doc FROM task_definitions WHERE region = ? AND family = ? AND revision = ?")
                    .bind(region)
                    .bind(&key.family)
                    .bind(key.revision)
                    .fetch_optional(&mut *tx)
                    .await?
            else {
                return Ok(None);
            };
            let status: String = found.try_get("status")?;
            if !from.contains(&status.as_str()) {
                return Ok(Some(Err(status)));
            }
            let mut doc = parse_doc(found.try_get("doc")?)?;
            doc.insert("status".into(), serde_json::Value::from(to));
            edit(&mut doc);
            sqlx::query("UPDATE task_definitions SET status = ?, doc = ? WHERE region = ? AND family = ? AND revision = ?")
                .bind(to)
                .bind(doc_text(&doc))
                .bind(region)
                .bind(&key.family)
                .bind(key.revision)
                .execute(&mut *tx)
                .await?;
            let delta = i64::from(to == "ACTIVE") - i64::from(status == "ACTIVE");
            if delta != 0 {
                sqlx::query(
                    "UPDATE task_definition_families SET active_count = active_count + ? WHERE region = ? AND family = ?",
                )
                .bind(delta)
                .bind(region)
                .bind(&key.family)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(Some(Ok(doc)))
        }
        .await;
        let (revision, latest) = (
            (region.to_owned(), key.family.clone(), Some(key.revision)),
            (region.to_owned(), key.family.clone(), None),
        );
        self.caches.task_definitions.forget([&revision, &latest]);
        moved
    }

    /// Keys of revisions with `status`, optionally of one family, in (family, revision) order
    /// (reversed with `descending`), strictly after `after` in that order, at most `limit`.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_task_definitions(
        &self,
        region: &str,
        family: Option<&str>,
        status: &str,
        descending: bool,
        after: Option<&TaskDefinitionKey>,
        limit: u32,
    ) -> Result<Vec<TaskDefinitionKey>> {
        let (cmp, order) = if descending { ("<", "DESC") } else { (">", "ASC") };
        let mut sql = String::from("SELECT family, revision FROM task_definitions WHERE region = ? AND status = ?");
        if family.is_some() {
            sql.push_str(" AND family = ?");
        }
        if after.is_some() {
            sql.push_str(&format!(" AND (family, revision) {cmp} (?, ?)"));
        }
        sql.push_str(&format!(" ORDER BY family {order}, revision {order} LIMIT ?"));
        let mut query = sqlx::query(&sql).bind(region).bind(status);
        if let Some(family) = family {
            query = query.bind(family);
        }
        if let Some(after) = after {
            query = query.bind(&after.family).bind(after.revision);
        }
        let rows = query.bind(limit).fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| Ok(TaskDefinitionKey { family: r.try_get("family")?, revision: r.try_get("revision")? }))
            .collect()
    }

    /// Family names starting with `prefix`, filtered by status, in name order after `after`.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_task_definition_families(
        &self,
        region: &str,
        prefix: &str,
        status: FamilyStatus,
        after: &str,
        limit: u32,
    ) -> Result<Vec<String>> {
        let filter = match status {
            FamilyStatus::Active => " AND active_count > 0",
            FamilyStatus::Inactive => " AND active_count = 0",
            FamilyStatus::All => "",
        };
        // Family names are [A-Za-z0-9_-]; '~' sorts after all of them, which bounds the prefix
        // range so that the primary key index answers it.
        let sql = format!(
            "SELECT family FROM task_definition_families \
             WHERE region = ? AND family >= ? AND family < ? AND family > ?{filter} ORDER BY family LIMIT ?"
        );
        Ok(sqlx::query_scalar(&sql)
            .bind(region)
            .bind(prefix)
            .bind(format!("{prefix}~"))
            .bind(after)
            .bind(limit)
            .fetch_all(&self.read)
            .await?)
    }
}
