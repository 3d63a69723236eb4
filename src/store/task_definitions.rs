//! Task definitions: revisions per family, and the per-family counters behind revision numbers
//! and ListTaskDefinitionFamilies' status filter. Every query is answered from an index, so the
//! cost of a lookup or a page does not grow with the number of revisions.

use std::sync::Arc;

use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::cache::Lookup;
use super::{Caches, Doc, Error, Result, Store, doc_text, parse_doc};

/// Registrations committed together at most: a bound on how long the first waits for the last.
const GROUP_COMMIT_MAX: usize = 64;

/// A RegisterTaskDefinition waiting for its commit.
pub(super) struct Registration {
    region: String,
    family: String,
    arn_prefix: String,
    /// The document, with placeholders for the ARN and revision.
    doc: String,
    /// Where the revision goes once committed.
    reply: oneshot::Sender<Result<i64>>,
}

/// Commits registrations as they come, every registration waiting at that moment in one
/// transaction (group commit): a burst of registrations shares one BEGIN, one COMMIT and one
/// WAL write, and takes the writer connection once instead of once each. Each registration is
/// one INSERT that takes its revision from the family counter (a trigger moves the counter).
/// Nobody is answered before the COMMIT, and a batch commits whole or not at all: an INSERT
/// that fails rolls the batch back and every registration in it gets the error (SQLite may
/// already have rolled the transaction back itself, and the statements after would then
/// commit on their own). Runs until every sender is gone.
pub(super) async fn commit_registrations(
    write: SqlitePool,
    caches: Arc<Caches>,
    mut waiting: mpsc::Receiver<Registration>,
) {
    let mut batch = Vec::with_capacity(GROUP_COMMIT_MAX);
    while waiting.recv_many(&mut batch, GROUP_COMMIT_MAX).await > 0 {
        let revisions = insert_revisions(&write, &batch).await;
        // The families' latest revisions changed (if the batch committed), before anyone hears.
        let families: Vec<_> = batch.iter().map(|r| (r.region.clone(), r.family.clone(), None)).collect();
        caches.task_definitions.forget(&families);
        match revisions {
            Ok(revisions) => {
                for (registration, revision) in batch.drain(..).zip(revisions) {
                    let _ = registration.reply.send(Ok(revision));
                }
            }
            Err(e) => {
                tracing::error!(registrations = batch.len(), error = %e, "cannot register task definitions");
                let e = Arc::new(e);
                for registration in batch.drain(..) {
                    let _ = registration.reply.send(Err(Error::Shared(e.clone())));
                }
            }
        }
    }
}

/// Inserts `batch` in one transaction, answering each registration's revision in order; on any
/// error nothing is kept (the transaction is rolled back when dropped).
async fn insert_revisions(write: &SqlitePool, batch: &[Registration]) -> sqlx::Result<Vec<i64>> {
    let mut tx = write.begin().await?;
    let mut revisions = Vec::with_capacity(batch.len());
    for r in batch {
        let revision = sqlx::query_scalar(
            "INSERT INTO task_definitions (region, family, revision, status, doc) \
             SELECT ?1, ?2, next, 'ACTIVE', json_set(?3, '$.taskDefinitionArn', ?4 || next, '$.revision', next) \
             FROM (SELECT COALESCE((SELECT last_revision FROM task_definition_families \
                                    WHERE region = ?1 AND family = ?2), 0) + 1 AS next) \
             RETURNING revision",
        )
        .bind(&r.region)
        .bind(&r.family)
        .bind(&r.doc)
        .bind(&r.arn_prefix)
        .fetch_one(&mut *tx)
        .await?;
        revisions.push(revision);
    }
    tx.commit().await?;
    Ok(revisions)
}

/// The document of a revision in `table` (task definitions and daemon task definitions share
/// the layout), or with `revision` None of the family's latest ACTIVE revision.
pub(super) async fn revision_doc(
    read: &SqlitePool,
    table: &str,
    region: &str,
    family: &str,
    revision: Option<i64>,
) -> sqlx::Result<Option<String>> {
    match revision {
        Some(revision) => {
            sqlx::query_scalar(&format!("SELECT doc FROM {table} WHERE region = ? AND family = ? AND revision = ?"))
                .bind(region)
                .bind(family)
                .bind(revision)
                .fetch_optional(read)
                .await
        }
        None => {
            sqlx::query_scalar(&format!(
                "SELECT doc FROM {table} WHERE region = ? AND status = 'ACTIVE' AND family = ? \
                 ORDER BY revision DESC LIMIT 1"
            ))
            .bind(region)
            .bind(family)
            .fetch_optional(read)
            .await
        }
    }
}

/// Inside `tx`, moves a revision of `table` from one of `from` to `to` (column and document
/// alike), letting `edit` update the rest of its document. Answers the updated document and the
/// status it had; None when the revision does not exist; `Err(status)` inside Ok when its
/// status is not in `from`.
pub(super) async fn move_revision(
    tx: &mut sqlx::SqliteConnection,
    table: &str,
    region: &str,
    key: &TaskDefinitionKey,
    from: &[&str],
    to: &str,
    edit: impl FnOnce(&mut Doc),
) -> Result<Option<std::result::Result<(Doc, String), String>>> {
    let Some(found) =
        sqlx::query(&format!("SELECT status, doc FROM {table} WHERE region = ? AND family = ? AND revision = ?"))
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
    sqlx::query(&format!("UPDATE {table} SET status = ?, doc = ? WHERE region = ? AND family = ? AND revision = ?"))
        .bind(to)
        .bind(doc_text(&doc))
        .bind(region)
        .bind(&key.family)
        .bind(key.revision)
        .execute(&mut *tx)
        .await?;
    Ok(Some(Ok((doc, status))))
}

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
    /// `arn_prefix` followed by it as "taskDefinitionArn", and is returned as stored. Answers
    /// once the revision is committed (see [`commit_registrations`]).
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
        let (reply, answer) = oneshot::channel();
        let registration = Registration {
            region: region.to_owned(),
            family: family.to_owned(),
            arn_prefix: arn_prefix.to_owned(),
            doc: doc_text(&doc),
            reply,
        };
        let closed = || Error::Sql(sqlx::Error::PoolClosed);
        self.registrations.send(registration).await.map_err(|_| closed())?;
        let revision = answer.await.map_err(|_| closed())??;
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
        let found = revision_doc(&self.read, "task_definitions", region, family, revision).await?;
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
            let (doc, status) = match move_revision(&mut tx, "task_definitions", region, key, from, to, edit).await? {
                Some(Ok(moved)) => moved,
                Some(Err(status)) => return Ok(Some(Err(status))),
                None => return Ok(None),
            };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn registration(family: &str, doc: &str) -> Registration {
        Registration {
            region: "us-east-1".to_owned(),
            family: family.to_owned(),
            arn_prefix: format!("arn:aws:ecs:us-east-1:000000000000:task-definition/{family}:"),
            doc: doc.to_owned(),
            reply: oneshot::channel().0,
        }
    }

    #[tokio::test]
    async fn a_group_commits_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let good = r#"{"family": "f", "taskDefinitionArn": "", "revision": 0}"#;
        let batch = [registration("a", good), registration("a", good), registration("b", good)];
        assert_eq!(insert_revisions(&store.write, &batch).await.unwrap(), vec![1, 2, 1]);
        let stored = store.get_task_definition("us-east-1", "a", Some(2)).await.unwrap().unwrap();
        assert_eq!(stored["taskDefinitionArn"], "arn:aws:ecs:us-east-1:000000000000:task-definition/a:2");

        // One INSERT fails (its document is not JSON): none of the group is kept.
        let failing = [registration("a", good), registration("a", "not json"), registration("b", good)];
        assert!(insert_revisions(&store.write, &failing).await.is_err());
        assert!(store.get_task_definition("us-east-1", "a", Some(3)).await.unwrap().is_none());
        assert!(store.get_task_definition("us-east-1", "b", Some(2)).await.unwrap().is_none());
        // And the counters did not move.
        assert_eq!(insert_revisions(&store.write, &[registration("a", good)]).await.unwrap(), vec![3]);
        store.close().await;
    }
}
