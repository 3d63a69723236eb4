//! Daemon task definitions: revisions per family, each a document with its status. Every query
//! is answered from the primary key or the status index.

use super::task_definitions::{move_revision, revision_doc};
use super::{Doc, Result, Store, TaskDefinitionKey, doc_text, parse_doc};

/// ListDaemonTaskDefinitions' filters, in the store's terms.
#[derive(Debug, Clone, Default)]
pub struct DaemonDefinitionFilter<'a> {
    /// Only this family.
    pub family: Option<&'a str>,
    /// Only families starting with this.
    pub family_prefix: Option<&'a str>,
    /// Only this status (None: every status).
    pub status: Option<&'a str>,
    /// Only each family's last registered revision.
    pub last_registered: bool,
    /// Reverse (family, revision) order.
    pub descending: bool,
}

impl Store {
    /// Registers the next revision of `family`: `doc` gets "daemonTaskDefinitionArn" (`arn_prefix`
    /// and the revision) and "revision", and is returned as stored.
    ///
    /// # Errors
    /// On a database failure; then nothing was registered.
    pub async fn register_daemon_task_definition(
        &self,
        region: &str,
        family: &str,
        arn_prefix: &str,
        doc: &Doc,
    ) -> Result<Doc> {
        let stored: String = sqlx::query_scalar(
            "INSERT INTO daemon_task_definitions (region, family, revision, status, doc) \
             SELECT ?1, ?2, next, 'ACTIVE', json_set(?3, '$.daemonTaskDefinitionArn', ?4 || next, '$.revision', next) \
             FROM (SELECT COALESCE((SELECT MAX(revision) FROM daemon_task_definitions \
                                    WHERE region = ?1 AND family = ?2), 0) + 1 AS next) \
             RETURNING doc",
        )
        .bind(region)
        .bind(family)
        .bind(doc_text(doc))
        .bind(arn_prefix)
        .fetch_one(&self.write)
        .await?;
        parse_doc(&stored)
    }

    /// A revision, or with `revision` None the latest ACTIVE revision of the family.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn get_daemon_task_definition(
        &self,
        region: &str,
        family: &str,
        revision: Option<i64>,
    ) -> Result<Option<Doc>> {
        let found = revision_doc(&self.read, "daemon_task_definitions", region, family, revision).await?;
        found.as_deref().map(parse_doc).transpose()
    }

    /// Moves an ACTIVE revision to `to`, letting `edit` update its document in the same
    /// transaction. None when the revision does not exist; `Err(status)` inside Ok when its
    /// status is not ACTIVE.
    ///
    /// # Errors
    /// On a database failure; then nothing changed.
    pub async fn retire_daemon_task_definition(
        &self,
        region: &str,
        key: &TaskDefinitionKey,
        to: &str,
        edit: impl FnOnce(&mut Doc),
    ) -> Result<Option<std::result::Result<Doc, String>>> {
        let mut tx = self.write.begin().await?;
        let moved = move_revision(&mut tx, "daemon_task_definitions", region, key, &["ACTIVE"], to, edit).await?;
        let doc = match moved {
            Some(Ok((doc, _))) => doc,
            Some(Err(status)) => return Ok(Some(Err(status))),
            None => return Ok(None),
        };
        tx.commit().await?;
        Ok(Some(Ok(doc)))
    }

    /// Revisions matching `filter`, in (family, revision) order strictly after `after`, at most
    /// `limit`.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_daemon_task_definitions(
        &self,
        region: &str,
        filter: &DaemonDefinitionFilter<'_>,
        after: Option<&TaskDefinitionKey>,
        limit: u32,
    ) -> Result<Vec<Doc>> {
        let (cmp, order) = if filter.descending { ("<", "DESC") } else { (">", "ASC") };
        let mut sql = String::from("SELECT doc FROM daemon_task_definitions d WHERE region = ?");
        if filter.status.is_some() {
            sql.push_str(" AND status = ?");
        }
        if filter.family.is_some() {
            sql.push_str(" AND family = ?");
        }
        if filter.family_prefix.is_some() {
            sql.push_str(" AND substr(family, 1, length(?)) = ?");
        }
        if filter.last_registered {
            sql.push_str(
                " AND revision = (SELECT MAX(revision) FROM daemon_task_definitions l \
                 WHERE l.region = d.region AND l.family = d.family)",
            );
        }
        if after.is_some() {
            sql.push_str(&format!(" AND (family, revision) {cmp} (?, ?)"));
        }
        sql.push_str(&format!(" ORDER BY family {order}, revision {order} LIMIT ?"));
        let mut query = sqlx::query_scalar::<_, String>(&sql).bind(region);
        if let Some(status) = filter.status {
            query = query.bind(status);
        }
        if let Some(family) = filter.family {
            query = query.bind(family);
        }
        if let Some(prefix) = filter.family_prefix {
            query = query.bind(prefix).bind(prefix);
        }
        if let Some(after) = after {
            query = query.bind(&after.family).bind(after.revision);
        }
        let docs = query.bind(limit).fetch_all(&self.read).await?;
        docs.iter().map(|d| parse_doc(d)).collect()
    }
}
