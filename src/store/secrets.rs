//! Secrets Manager's secrets, their versions and the staging labels on them. A change of labels
//! reads them and writes them back inside one write transaction, so two changes never interleave.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::tags::insert_tags;
use super::{Result, Store};
use crate::domain::secrets::{self, Stages};

/// Versions a secret keeps: the oldest beyond these that have no label go (as AWS does past 100).
const KEPT_VERSIONS: i64 = 100;

/// A stored secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRow {
    /// Its row id (0 for one not stored yet).
    pub id: i64,
    /// Its name, unique in its region.
    pub name: String,
    /// Its ARN, the name and a random suffix.
    pub arn: String,
    /// Its description.
    pub description: Option<String>,
    /// The KMS key it is encrypted with, if not the account's default.
    pub kms_key_id: Option<String>,
    /// When it was created, in epoch milliseconds.
    pub created_ms: i64,
    /// When it or its value last changed.
    pub changed_ms: i64,
    /// The day a value was last read (midnight UTC, as AWS reports it).
    pub accessed_ms: Option<i64>,
    /// When DeleteSecret scheduled it for deletion.
    pub deleted_ms: Option<i64>,
    /// When it goes for good.
    pub purge_ms: Option<i64>,
    /// Its resource policy, as given.
    pub policy: Option<String>,
}

/// A secret's value in one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretValue {
    /// SecretString.
    Text(String),
    /// SecretBinary, decoded.
    Binary(Vec<u8>),
}

/// A stored version of a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRow {
    /// Its id (the ClientRequestToken that made it).
    pub version_id: String,
    /// Its value.
    pub value: SecretValue,
    /// When it was made, in epoch milliseconds.
    pub created_ms: i64,
    /// The day it was last read.
    pub accessed_ms: Option<i64>,
    /// Its staging labels.
    pub stages: Vec<String>,
}

/// What putting a version did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutVersion {
    /// The version was made, with these labels.
    Made(Vec<String>),
    /// The secret has that version already with the same value: nothing changed (a retry).
    Same(Vec<String>),
    /// The secret has that version with another value.
    Conflict,
}

/// What looking up one version of a secret found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretLookup {
    /// The region has no secret of that id.
    NoSecret,
    /// The secret is scheduled for deletion.
    Deleted,
    /// The secret has no version of that id.
    NoVersion(String),
    /// No version of the secret has that label.
    NoStage(String),
    /// The version named does not have the label named.
    StageNotOnVersion,
    /// The version, of that secret.
    Found(Box<SecretRow>, VersionRow),
}

impl SecretLookup {
    /// Secrets Manager's error code and message for a lookup that found no value (GetSecretValue
    /// answers them; a task's stop reason quotes them); None when it found one.
    #[must_use]
    pub fn problem(&self) -> Option<(&'static str, String)> {
        let not_found = "ResourceNotFoundException";
        Some(match self {
            SecretLookup::NoSecret => (not_found, "Secrets Manager can't find the specified secret.".to_owned()),
            SecretLookup::Deleted => (
                "InvalidRequestException",
                "You can't perform this operation on the secret because it was marked for deletion.".to_owned(),
            ),
            SecretLookup::NoVersion(id) => {
                (not_found, format!("Secrets Manager can't find the specified secret value for VersionId: {id}"))
            }
            SecretLookup::NoStage(stage) => {
                (not_found, format!("Secrets Manager can't find the specified secret value for staging label: {stage}"))
            }
            SecretLookup::StageNotOnVersion => (
                "InvalidRequestException",
                "You provided a VersionStage that is not associated to the provided VersionId.".to_owned(),
            ),
            SecretLookup::Found(..) => return None,
        })
    }
}

const SECRET_COLUMNS: &str =
    "id, name, arn, description, kms_key_id, created_ms, changed_ms, accessed_ms, deleted_ms, purge_ms, policy";

fn secret_of(row: &SqliteRow) -> Result<SecretRow> {
    Ok(SecretRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        arn: row.try_get("arn")?,
        description: row.try_get("description")?,
        kms_key_id: row.try_get("kms_key_id")?,
        created_ms: row.try_get("created_ms")?,
        changed_ms: row.try_get("changed_ms")?,
        accessed_ms: row.try_get("accessed_ms")?,
        deleted_ms: row.try_get("deleted_ms")?,
        purge_ms: row.try_get("purge_ms")?,
        policy: row.try_get("policy")?,
    })
}

fn value_of(row: &SqliteRow) -> Result<SecretValue> {
    let text: Option<String> = row.try_get("string")?;
    Ok(match text {
        Some(text) => SecretValue::Text(text),
        None => SecretValue::Binary(row.try_get::<Option<Vec<u8>>, _>("binary")?.unwrap_or_default()),
    })
}

fn columns_of(value: &SecretValue) -> (Option<&str>, Option<&[u8]>) {
    match value {
        SecretValue::Text(t) => (Some(t.as_str()), None),
        SecretValue::Binary(b) => (None, Some(b.as_slice())),
    }
}

async fn stages_in(conn: &mut SqliteConnection, secret_id: i64) -> Result<Stages> {
    let rows = sqlx::query("SELECT stage, version_id FROM secret_stages WHERE secret_id = ?")
        .bind(secret_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("stage")?, r.try_get("version_id")?))).collect()
}

async fn write_stages(conn: &mut SqliteConnection, secret_id: i64, stages: &Stages) -> Result<()> {
    sqlx::query("DELETE FROM secret_stages WHERE secret_id = ?").bind(secret_id).execute(&mut *conn).await?;
    for (stage, version) in stages {
        sqlx::query("INSERT INTO secret_stages (secret_id, stage, version_id) VALUES (?, ?, ?)")
            .bind(secret_id)
            .bind(stage)
            .bind(version)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Adds a version with `labels` to a secret inside the transaction of `conn`, unless it has
/// that version already; moves the labels, drops the oldest unlabelled versions past
/// [`KEPT_VERSIONS`] and stamps the secret changed.
async fn insert_version(
    conn: &mut SqliteConnection,
    secret_id: i64,
    version_id: &str,
    value: &SecretValue,
    labels: &[String],
    now_ms: i64,
) -> Result<PutVersion> {
    let existing = sqlx::query("SELECT string, binary FROM secret_versions WHERE secret_id = ? AND version_id = ?")
        .bind(secret_id)
        .bind(version_id)
        .fetch_optional(&mut *conn)
        .await?;
    let mut stages = stages_in(conn, secret_id).await?;
    if let Some(row) = existing {
        return Ok(if value_of(&row)? == *value {
            PutVersion::Same(secrets::labels_of(&stages, version_id))
        } else {
            PutVersion::Conflict
        });
    }
    let (text, binary) = columns_of(value);
    sqlx::query(
        "INSERT INTO secret_versions (secret_id, version_id, position, string, binary, created_ms) VALUES \
         (?1, ?2, (SELECT COALESCE(MAX(position), 0) + 1 FROM secret_versions WHERE secret_id = ?1), ?3, ?4, ?5)",
    )
    .bind(secret_id)
    .bind(version_id)
    .bind(text)
    .bind(binary)
    .bind(now_ms)
    .execute(&mut *conn)
    .await?;
    secrets::label_new_version(&mut stages, version_id, labels);
    write_stages(conn, secret_id, &stages).await?;
    sqlx::query(
        "DELETE FROM secret_versions WHERE secret_id = ?1 \
         AND version_id NOT IN (SELECT version_id FROM secret_stages WHERE secret_id = ?1) \
         AND version_id NOT IN (SELECT version_id FROM secret_versions WHERE secret_id = ?1 ORDER BY position DESC LIMIT ?2)",
    )
    .bind(secret_id)
    .bind(KEPT_VERSIONS)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE secrets SET changed_ms = ? WHERE id = ?")
        .bind(now_ms)
        .bind(secret_id)
        .execute(&mut *conn)
        .await?;
    Ok(PutVersion::Made(secrets::labels_of(&stages, version_id)))
}

impl Store {
    /// Stores a new secret, with its first version (labelled AWSCURRENT) when it has a value,
    /// and its tags; false if the region has a secret of that name (live or scheduled for
    /// deletion).
    ///
    /// # Errors
    /// On a database failure; then nothing was stored.
    pub async fn create_secret(
        &self,
        region: &str,
        secret: &SecretRow,
        first: Option<(&str, &SecretValue)>,
        tags: &[(String, String)],
    ) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO secrets (region, name, arn, description, kms_key_id, created_ms, changed_ms) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (region, name) DO NOTHING RETURNING id",
        )
        .bind(region)
        .bind(&secret.name)
        .bind(&secret.arn)
        .bind(&secret.description)
        .bind(&secret.kms_key_id)
        .bind(secret.created_ms)
        .bind(secret.changed_ms)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            return Ok(false);
        };
        if let Some((version_id, value)) = first {
            insert_version(&mut tx, id, version_id, value, &[secrets::CURRENT.to_owned()], secret.created_ms).await?;
        }
        insert_tags(&mut tx, &secret.arn, tags).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The secret a SecretId names in a region: its name, its ARN, or its ARN without the
    /// random suffix. Secrets whose deletion is due are deleted first.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn find_secret(&self, region: &str, secret_id: &str) -> Result<Option<SecretRow>> {
        self.purge_secrets(crate::domain::now_ms()).await?;
        let row = sqlx::query(&format!(
            "SELECT {SECRET_COLUMNS} FROM secrets WHERE region = ?1 AND (name = ?2 OR arn = ?2 \
             OR (length(arn) = length(?2) + 7 AND substr(arn, 1, length(?2) + 1) = ?2 || '-')) \
             ORDER BY name = ?2 DESC, arn = ?2 DESC LIMIT 1"
        ))
        .bind(region)
        .bind(secret_id)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(secret_of).transpose()
    }

    /// One version of a secret, as GetSecretValue and a task's `secrets` choose it: by id, by
    /// label (AWSCURRENT unless told), or by both, which must agree.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn secret_version(
        &self,
        region: &str,
        secret_id: &str,
        version_id: Option<&str>,
        stage: Option<&str>,
    ) -> Result<SecretLookup> {
        let Some(secret) = self.find_secret(region, secret_id).await? else { return Ok(SecretLookup::NoSecret) };
        if secret.deleted_ms.is_some() {
            return Ok(SecretLookup::Deleted);
        }
        let versions = self.secret_versions(secret.id).await?;
        let has = |v: &VersionRow, stage: &str| v.stages.iter().any(|s| s == stage);
        let found = match (version_id, stage) {
            (Some(id), stage) => match versions.into_iter().find(|v| v.version_id == id) {
                None => return Ok(SecretLookup::NoVersion(id.to_owned())),
                Some(v) if stage.is_some_and(|s| !has(&v, s)) => return Ok(SecretLookup::StageNotOnVersion),
                Some(v) => v,
            },
            (None, stage) => {
                let stage = stage.unwrap_or(secrets::CURRENT);
                match versions.into_iter().find(|v| has(v, stage)) {
                    None => return Ok(SecretLookup::NoStage(stage.to_owned())),
                    Some(v) => v,
                }
            }
        };
        Ok(SecretLookup::Found(Box::new(secret), found))
    }

    /// Every secret of a region, oldest first; those whose deletion is due are deleted first.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_secrets(&self, region: &str) -> Result<Vec<SecretRow>> {
        self.purge_secrets(crate::domain::now_ms()).await?;
        let rows =
            sqlx::query(&format!("SELECT {SECRET_COLUMNS} FROM secrets WHERE region = ? ORDER BY created_ms, id"))
                .bind(region)
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(secret_of).collect()
    }

    /// Deletes the secrets whose recovery window ended before `now_ms`, with their tags.
    ///
    /// # Errors
    /// On a database failure; then nothing was deleted.
    pub async fn purge_secrets(&self, now_ms: i64) -> Result<()> {
        let due: Vec<String> =
            sqlx::query_scalar("SELECT arn FROM secrets WHERE purge_ms IS NOT NULL AND purge_ms <= ?")
                .bind(now_ms)
                .fetch_all(&self.read)
                .await?;
        for arn in due {
            self.delete_secret(&arn).await?;
        }
        Ok(())
    }

    /// Deletes a secret now, with its tags; its versions and their labels go with it (the
    /// schema's ON DELETE CASCADE).
    ///
    /// # Errors
    /// On a database failure; then nothing was deleted.
    pub async fn delete_secret(&self, arn: &str) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM secrets WHERE arn = ?").bind(arn).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM tags WHERE resource_arn = ?").bind(arn).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Schedules a secret's deletion (`Some((deleted, purge))`) or cancels it (`None`).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn schedule_secret_deletion(&self, id: i64, when: Option<(i64, i64)>) -> Result<()> {
        sqlx::query("UPDATE secrets SET deleted_ms = ?, purge_ms = ? WHERE id = ?")
            .bind(when.map(|w| w.0))
            .bind(when.map(|w| w.1))
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Sets a secret's description and KMS key (each only when given), stamping it changed.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn update_secret(
        &self,
        id: i64,
        description: Option<&str>,
        kms_key_id: Option<&str>,
        now_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE secrets SET description = COALESCE(?, description), kms_key_id = COALESCE(?, kms_key_id), \
             changed_ms = ? WHERE id = ?",
        )
        .bind(description)
        .bind(kms_key_id)
        .bind(now_ms)
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Sets (or with `None` removes) a secret's resource policy.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn set_secret_policy(&self, id: i64, policy: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE secrets SET policy = ? WHERE id = ?").bind(policy).bind(id).execute(&self.write).await?;
        Ok(())
    }

    /// Adds a version labelled `labels` to a secret, or says it has that version already.
    ///
    /// # Errors
    /// On a database failure; then nothing changed.
    pub async fn put_secret_version(
        &self,
        id: i64,
        version_id: &str,
        value: &SecretValue,
        labels: &[String],
        now_ms: i64,
    ) -> Result<PutVersion> {
        let mut tx = self.write.begin().await?;
        let done = insert_version(&mut tx, id, version_id, value, labels, now_ms).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Every version of a secret, newest first, with its labels.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn secret_versions(&self, id: i64) -> Result<Vec<VersionRow>> {
        let rows = sqlx::query(
            "SELECT v.version_id, v.string, v.binary, v.created_ms, v.accessed_ms, \
             (SELECT json_group_array(stage) FROM (SELECT stage FROM secret_stages s \
              WHERE s.secret_id = v.secret_id AND s.version_id = v.version_id ORDER BY stage)) AS stages \
             FROM secret_versions v WHERE v.secret_id = ? ORDER BY v.position DESC",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let stages: String = r.try_get("stages")?;
                Ok(VersionRow {
                    version_id: r.try_get("version_id")?,
                    value: value_of(r)?,
                    created_ms: r.try_get("created_ms")?,
                    accessed_ms: r.try_get("accessed_ms")?,
                    stages: serde_json::from_str(&stages).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Applies `change` to a secret's labels inside one write transaction; its error leaves
    /// them as they were.
    ///
    /// # Errors
    /// On a database failure (outer) or when `change` refuses (inner).
    pub async fn change_secret_stages<E>(
        &self,
        id: i64,
        now_ms: i64,
        change: impl FnOnce(&mut Stages) -> std::result::Result<(), E>,
    ) -> Result<std::result::Result<(), E>> {
        let mut tx = self.write.begin().await?;
        let mut stages = stages_in(&mut tx, id).await?;
        if let Err(e) = change(&mut stages) {
            return Ok(Err(e));
        }
        write_stages(&mut tx, id, &stages).await?;
        sqlx::query("UPDATE secrets SET changed_ms = ? WHERE id = ?").bind(now_ms).bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Records that a version of a secret was read on the day starting at `day_ms`.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn secret_accessed(&self, id: i64, version_id: &str, day_ms: i64) -> Result<()> {
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE secrets SET accessed_ms = ?1 WHERE id = ?2 AND accessed_ms IS NOT ?1")
            .bind(day_ms)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE secret_versions SET accessed_ms = ?1 WHERE secret_id = ?2 AND version_id = ?3 AND accessed_ms IS NOT ?1",
        )
        .bind(day_ms)
        .bind(id)
        .bind(version_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(name: &str) -> SecretRow {
        SecretRow {
            id: 0,
            name: name.to_owned(),
            arn: format!("arn:aws:secretsmanager:us-east-1:000000000000:secret:{name}-AbCdEf"),
            description: None,
            kms_key_id: None,
            created_ms: 1,
            changed_ms: 1,
            accessed_ms: None,
            deleted_ms: None,
            purge_ms: None,
            policy: None,
        }
    }

    #[tokio::test]
    async fn versions_keep_their_labels_and_unlabelled_ones_past_the_limit_go() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let first = SecretValue::Text("v0".into());
        assert!(store.create_secret("us-east-1", &secret("db"), Some(("v0", &first)), &[]).await.unwrap());
        assert!(!store.create_secret("us-east-1", &secret("db"), None, &[]).await.unwrap(), "one name per region");
        let found = store.find_secret("us-east-1", "db").await.unwrap().unwrap();
        let partial = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db";
        assert_eq!(store.find_secret("us-east-1", partial).await.unwrap().as_ref(), Some(&found));
        assert_eq!(store.find_secret("us-east-1", &found.arn).await.unwrap().as_ref(), Some(&found));
        assert!(store.find_secret("us-west-2", "db").await.unwrap().is_none());
        let current = vec![secrets::CURRENT.to_owned()];
        for i in 1..=KEPT_VERSIONS + 5 {
            let value = SecretValue::Text(format!("v{i}"));
            let made = store.put_secret_version(found.id, &format!("v{i}"), &value, &current, 2).await.unwrap();
            assert_eq!(made, PutVersion::Made(current.clone()));
        }
        let same = SecretValue::Text(format!("v{KEPT_VERSIONS}"));
        let retry = store.put_secret_version(found.id, &format!("v{KEPT_VERSIONS}"), &same, &current, 3).await.unwrap();
        assert_eq!(retry, PutVersion::Same(vec![]), "an old version keeps no label");
        let other = SecretValue::Binary(vec![1, 2]);
        let clash =
            store.put_secret_version(found.id, &format!("v{KEPT_VERSIONS}"), &other, &current, 3).await.unwrap();
        assert_eq!(clash, PutVersion::Conflict);
        let versions = store.secret_versions(found.id).await.unwrap();
        assert_eq!(versions.len(), usize::try_from(KEPT_VERSIONS).unwrap());
        assert_eq!(versions[0].stages, current);
        assert_eq!(versions[1].stages, vec![secrets::PREVIOUS.to_owned()]);
        store.close().await;
    }
}
