//! Tasks. Every change is a read-modify-write of one row inside the store's single write
//! connection, so a StopTask and the task's own driver never overwrite each other.

use std::collections::HashMap;

use serde_json::Value;
use sqlx::Row;

use super::client_tokens::{Claim, ClientToken};
use super::{Doc, Result, Store, doc_text, parse_doc};

/// A stored task's keys (the rest is in the document).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskKey {
    /// The region.
    pub region: String,
    /// The cluster's name.
    pub cluster: String,
    /// The task id.
    pub id: String,
}

impl std::fmt::Display for TaskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.region, self.cluster, self.id)
    }
}

/// What DescribeClusters counts for a cluster.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClusterCounts {
    /// Tasks RUNNING (and meant to).
    pub running_tasks: u64,
    /// Tasks on their way to RUNNING.
    pub pending_tasks: u64,
    /// ACTIVE and DRAINING container instances.
    pub registered_instances: u64,
    /// ACTIVE services.
    pub active_services: u64,
}

/// A task to store.
#[derive(Debug, Clone)]
pub struct NewTask {
    /// Its keys.
    pub key: TaskKey,
    /// The task as DescribeTasks returns it.
    pub doc: Doc,
    /// What it reserves on its container instance (EC2 tasks).
    pub reserved: Option<Reservation>,
    /// For a task waiting for capacity (no instance yet): what placing it needs, as JSON.
    pub awaiting: Option<String>,
    /// The service it belongs to, if any.
    pub service: Option<String>,
    /// Its tags, stored with it.
    pub tags: Vec<(String, String)>,
}

/// A task waiting for capacity.
#[derive(Debug, Clone)]
pub struct AwaitingTask {
    /// Its keys.
    pub key: TaskKey,
    /// The task.
    pub doc: Doc,
    /// What placing it needs (see [`NewTask::awaiting`]).
    pub awaiting: String,
}

/// What a task reserves on its container instance until it stops.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reservation {
    /// CPU units.
    pub cpu: i64,
    /// MiB.
    pub memory: i64,
    /// TCP host ports.
    pub tcp: Vec<u16>,
    /// UDP host ports.
    pub udp: Vec<u16>,
    /// Network interfaces (1 for an awsvpc task).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub eni: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// A task on a container instance, as placement and the instance's counts see it.
#[derive(Debug, Clone)]
pub struct InstanceTask {
    /// The container instance id.
    pub instance: String,
    /// The task's group.
    pub group: String,
    /// What it reserves.
    pub reserved: Reservation,
    /// Its desired status.
    pub desired_status: String,
    /// Its last status.
    pub last_status: String,
}

/// ListTasks' filters.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter<'a> {
    /// Only tasks of this family.
    pub family: Option<&'a str>,
    /// Only tasks started by this.
    pub started_by: Option<&'a str>,
    /// Only tasks with this launch type.
    pub launch_type: Option<&'a str>,
    /// RUNNING (the default) or STOPPED.
    pub desired_status: &'a str,
    /// Only tasks on this container instance (its id).
    pub container_instance: Option<&'a str>,
    /// Only tasks of this service (its name).
    pub service: Option<&'a str>,
    /// Only tasks of this task group (a daemon's tasks are in `daemon:<name>`).
    pub group: Option<&'a str>,
}

/// The SQL conditions of a filter's optional members (each ` AND column = ?`), with the values
/// to bind in order.
fn filter_clause<'a>(filter: &TaskFilter<'a>) -> (String, Vec<&'a str>) {
    let columns = [
        ("family", filter.family),
        ("started_by", filter.started_by),
        ("launch_type", filter.launch_type),
        ("container_instance", filter.container_instance),
        ("service", filter.service),
        ("task_group", filter.group),
    ];
    let mut clause = String::new();
    let mut values = Vec::new();
    for (column, value) in columns {
        if let Some(value) = value {
            clause.push_str(&format!(" AND {column} = ?"));
            values.push(value);
        }
    }
    (clause, values)
}

fn text(doc: &Doc, key: &str) -> String {
    doc.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

impl Store {
    /// Stores new tasks in one transaction, with the request's client token if it has one. When
    /// the token was seen before, nothing is stored and the earlier claim is returned instead.
    ///
    /// # Errors
    /// On a database failure; then nothing was stored.
    pub async fn insert_tasks(&self, tasks: &[NewTask], token: Option<&ClientToken<'_>>) -> Result<Option<Claim>> {
        let mut tx = self.write.begin().await?;
        if let Some(token) = token {
            if let Some(claim) = token.find(&mut tx).await? {
                return Ok(Some(claim));
            }
            let arns: Vec<String> = tasks.iter().map(|t| text(&t.doc, "taskArn")).collect();
            token.insert(&mut tx, &arns).await?;
        }
        for NewTask { key, doc, reserved, awaiting, service, tags } in tasks {
            let instance = doc
                .get("containerInstanceArn")
                .and_then(Value::as_str)
                .and_then(|arn| arn.rsplit('/').next())
                .map(str::to_owned);
            sqlx::query(
                "INSERT INTO tasks (region, cluster, id, arn, family, started_by, launch_type, desired_status, last_status, doc, \
                 container_instance, task_group, reserved, awaiting, service) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&key.region)
            .bind(&key.cluster)
            .bind(&key.id)
            .bind(text(doc, "taskArn"))
            .bind(family_of(doc))
            .bind(doc.get("startedBy").and_then(Value::as_str))
            .bind(text(doc, "launchType"))
            .bind(text(doc, "desiredStatus"))
            .bind(text(doc, "lastStatus"))
            .bind(doc_text(doc))
            .bind(instance)
            .bind(doc.get("group").and_then(Value::as_str))
            .bind(reserved.as_ref().map(|r| serde_json::to_string(r).unwrap_or_default()))
            .bind(awaiting)
            .bind(service)
            .execute(&mut *tx)
            .await?;
            super::tags::insert_tags(&mut tx, &text(doc, "taskArn"), tags).await?;
        }
        tx.commit().await?;
        for task in tasks {
            self.changed(task_change(&task.key, task.service.clone(), task.awaiting.is_some()));
        }
        Ok(None)
    }

    /// A task by ARN.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn get_task_by_arn(&self, arn: &str) -> Result<Option<Doc>> {
        let found: Option<String> =
            sqlx::query_scalar("SELECT doc FROM tasks WHERE arn = ?").bind(arn).fetch_optional(&self.read).await?;
        found.as_deref().map(parse_doc).transpose()
    }

    /// Forgets tasks that stopped before `cutoff` (seconds since the epoch) and their tags, and
    /// client tokens past their time to live. Returns how many tasks went.
    ///
    /// # Errors
    /// On a database failure; then nothing was deleted.
    pub async fn expire_stopped_tasks(&self, cutoff: f64) -> Result<u64> {
        let mut tx = self.write.begin().await?;
        let expired = "SELECT arn FROM tasks INDEXED BY tasks_stopped_at WHERE last_status = 'STOPPED' \
                       AND CAST(json_extract(doc, '$.stoppedAt') AS REAL) < ?";
        sqlx::query(&format!("DELETE FROM tags WHERE resource_arn IN ({expired})"))
            .bind(cutoff)
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query(&format!("DELETE FROM tasks WHERE arn IN ({expired})"))
            .bind(cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM client_tokens WHERE created_at < ?")
            .bind(crate::domain::now() - super::client_tokens::TOKEN_TTL_SECS)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(deleted)
    }

    /// Applies `edit` to a task's document and stores it, atomically. None if there is no such
    /// task.
    ///
    /// # Errors
    /// On a database failure; then nothing changed.
    pub async fn update_task(&self, key: &TaskKey, edit: impl FnOnce(&mut Doc)) -> Result<Option<Doc>> {
        let mut tx = self.write.begin().await?;
        let Some((mut doc, service, awaiting)) = doc_in(&mut tx, key, "").await? else { return Ok(None) };
        edit(&mut doc);
        sqlx::query(
            "UPDATE tasks SET desired_status = ?, last_status = ?, doc = ? WHERE region = ? AND cluster = ? AND id = ?",
        )
        .bind(text(&doc, "desiredStatus"))
        .bind(text(&doc, "lastStatus"))
        .bind(doc_text(&doc))
        .bind(&key.region)
        .bind(&key.cluster)
        .bind(&key.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.changed(task_change(key, service, awaiting));
        Ok(Some(doc))
    }

    /// A task by id.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn get_task(&self, key: &TaskKey) -> Result<Option<Doc>> {
        let found: Option<String> =
            sqlx::query_scalar("SELECT doc FROM tasks WHERE region = ? AND cluster = ? AND id = ?")
                .bind(&key.region)
                .bind(&key.cluster)
                .bind(&key.id)
                .fetch_optional(&self.read)
                .await?;
        found.as_deref().map(parse_doc).transpose()
    }

    /// The ARNs and documents of a cluster's tasks among `ids`, by id, in one read, the
    /// documents as the JSON text they are stored as (DescribeTasks passes them through).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn get_task_texts(
        &self,
        region: &str,
        cluster: &str,
        ids: &[&str],
    ) -> Result<HashMap<String, (String, String)>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let marks = vec!["?"; ids.len()].join(", ");
        let sql = format!("SELECT id, arn, doc FROM tasks WHERE region = ? AND cluster = ? AND id IN ({marks})");
        let mut query = sqlx::query(&sql).bind(region).bind(cluster);
        for id in ids {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(&self.read).await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, (r.try_get("arn")?, r.try_get("doc")?)))).collect()
    }

    /// Task ARNs of a cluster, filtered, in id order after `after`, at most `limit`.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_tasks(
        &self,
        region: &str,
        cluster: &str,
        filter: &TaskFilter<'_>,
        after: &str,
        limit: u32,
    ) -> Result<Vec<(String, String)>> {
        let (clause, values) = filter_clause(filter);
        // Without statistics SQLite would walk the primary key for the ORDER BY, through every
        // STOPPED task of the cluster; this index is the range the query asks for, in order.
        let sql = format!(
            "SELECT group_concat(arn, ' ' ORDER BY id) FROM (SELECT id, arn FROM tasks INDEXED BY tasks_by_desired_status \
             WHERE region = ? AND cluster = ? AND desired_status = ? AND id > ?{clause} ORDER BY id LIMIT ?)"
        );
        let mut query = sqlx::query(&sql).bind(region).bind(cluster).bind(filter.desired_status).bind(after);
        for value in values {
            query = query.bind(value);
        }
        // One row for the page, not a row per task: each row is a handoff from the connection's
        // thread. ARNs have no spaces, and a task's id is its ARN's last segment.
        let page: Option<String> = query.bind(limit).fetch_one(&self.read).await?.try_get(0)?;
        Ok(page
            .unwrap_or_default()
            .split(' ')
            .filter(|arn| !arn.is_empty())
            .map(|arn| (arn.rsplit('/').next().unwrap_or(arn).to_owned(), arn.to_owned()))
            .collect())
    }

    /// Every task of a cluster that `filter` matches, as (id, document text), for the few
    /// callers that look into the documents of a small set (a daemon's tasks, an agent's).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn matching_task_texts(
        &self,
        region: &str,
        cluster: &str,
        filter: &TaskFilter<'_>,
    ) -> Result<Vec<(String, String)>> {
        let (clause, values) = filter_clause(filter);
        let sql = format!(
            "SELECT id, doc FROM tasks INDEXED BY tasks_by_desired_status \
             WHERE region = ? AND cluster = ? AND desired_status = ?{clause} ORDER BY id"
        );
        let mut query = sqlx::query(&sql).bind(region).bind(cluster).bind(filter.desired_status);
        for value in values {
            query = query.bind(value);
        }
        let rows = query.fetch_all(&self.read).await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("doc")?))).collect()
    }

    /// What DescribeClusters counts for a cluster, in one read: its RUNNING and pending tasks
    /// (desired RUNNING), its ACTIVE and DRAINING container instances, its ACTIVE services.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn cluster_counts(&self, region: &str, cluster: &str) -> Result<ClusterCounts> {
        let row = sqlx::query(
            // The tasks through their desired-status index: without statistics SQLite would walk
            // every task the cluster ever had.
            "SELECT t.running, t.pending, \
               (SELECT COUNT(*) FROM container_instances \
                  WHERE region = ?1 AND cluster = ?2 AND status IN ('ACTIVE', 'DRAINING')) AS instances, \
               (SELECT COUNT(*) FROM services WHERE region = ?1 AND cluster = ?2 AND status = 'ACTIVE') AS services \
             FROM (SELECT COALESCE(SUM(last_status = 'RUNNING'), 0) AS running, \
                          COALESCE(SUM(last_status IN ('PROVISIONING', 'PENDING', 'ACTIVATING')), 0) AS pending \
                   FROM tasks INDEXED BY tasks_by_desired_status \
                   WHERE region = ?1 AND cluster = ?2 AND desired_status = 'RUNNING') AS t",
        )
        .bind(region)
        .bind(cluster)
        .fetch_one(&self.read)
        .await?;
        let count = |name: &str| -> Result<u64> { Ok(u64::try_from(row.try_get::<i64, _>(name)?).unwrap_or(0)) };
        Ok(ClusterCounts {
            running_tasks: count("running")?,
            pending_tasks: count("pending")?,
            registered_instances: count("instances")?,
            active_services: count("services")?,
        })
    }

    /// The unstopped tasks on a cluster's container instances.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn instance_tasks(&self, region: &str, cluster: &str) -> Result<Vec<InstanceTask>> {
        let rows = sqlx::query(
            "SELECT container_instance, task_group, reserved, desired_status, last_status \
             FROM tasks INDEXED BY tasks_placed_live \
             WHERE region = ? AND cluster = ? AND container_instance IS NOT NULL AND last_status != 'STOPPED'",
        )
        .bind(region)
        .bind(cluster)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let reserved: Option<String> = r.try_get("reserved")?;
                Ok(InstanceTask {
                    instance: r.try_get("container_instance")?,
                    group: r.try_get::<Option<String>, _>("task_group")?.unwrap_or_default(),
                    reserved: reserved.as_deref().map(serde_json::from_str).transpose()?.unwrap_or_default(),
                    desired_status: r.try_get("desired_status")?,
                    last_status: r.try_get("last_status")?,
                })
            })
            .collect()
    }

    /// Every task not yet STOPPED that has a place to run, in any region (for resuming after a
    /// restart; tasks waiting for capacity are the scaler's).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn unfinished_tasks(&self) -> Result<Vec<(TaskKey, String)>> {
        // Keys and ARNs only: a resync after a burst reads every unfinished task, and parsing
        // ten thousand documents to drop them cost tens of MiB and a stalled controller loop.
        let rows: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT region, cluster, id, arn FROM tasks WHERE last_status != 'STOPPED' AND awaiting IS NULL",
        )
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(|(region, cluster, id, arn)| (TaskKey { region, cluster, id }, arn)).collect())
    }
}

impl Store {
    /// Tasks waiting for capacity, in any cluster, oldest first.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn awaiting_tasks(&self) -> Result<Vec<AwaitingTask>> {
        let rows = sqlx::query(
            "SELECT region, cluster, id, doc, awaiting FROM tasks WHERE awaiting IS NOT NULL \
             ORDER BY CAST(json_extract(doc, '$.createdAt') AS REAL), id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AwaitingTask {
                    key: TaskKey { region: r.try_get("region")?, cluster: r.try_get("cluster")?, id: r.try_get("id")? },
                    doc: parse_doc(r.try_get("doc")?)?,
                    awaiting: r.try_get("awaiting")?,
                })
            })
            .collect()
    }

    /// Gives a task that waits for capacity its container instance (`instance`, an id) and
    /// reservation, and applies `edit` to its document; or, when it is to stop, records it
    /// STOPPED with `edit_stopped`. None if it no longer waits (stopped, or placed before).
    ///
    /// # Errors
    /// On a database failure; then nothing changed.
    pub async fn settle_awaiting_task(
        &self,
        key: &TaskKey,
        placed: Option<(&str, &Reservation)>,
        edit: impl FnOnce(&mut Doc),
    ) -> Result<Option<Doc>> {
        let mut tx = self.write.begin().await?;
        let Some((mut doc, service, _)) = doc_in(&mut tx, key, " AND awaiting IS NOT NULL").await? else {
            return Ok(None);
        };
        edit(&mut doc);
        sqlx::query(
            "UPDATE tasks SET desired_status = ?, last_status = ?, doc = ?, awaiting = NULL, container_instance = ?, \
             reserved = ? WHERE region = ? AND cluster = ? AND id = ?",
        )
        .bind(text(&doc, "desiredStatus"))
        .bind(text(&doc, "lastStatus"))
        .bind(doc_text(&doc))
        .bind(placed.map(|(instance, _)| instance))
        .bind(placed.map(|(_, r)| serde_json::to_string(r).unwrap_or_default()))
        .bind(&key.region)
        .bind(&key.cluster)
        .bind(&key.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.changed(task_change(key, service, false));
        Ok(Some(doc))
    }

    /// A service's tasks: those not yet STOPPED, and those that stopped after `stopped_after`
    /// (seconds since the epoch).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn service_tasks(
        &self,
        region: &str,
        cluster: &str,
        service: &str,
        stopped_after: f64,
    ) -> Result<Vec<ServiceTask>> {
        let rows = sqlx::query(
            "SELECT t.id, t.doc, p.expires_at FROM tasks t LEFT JOIN task_protection p \
             ON p.region = t.region AND p.cluster = t.cluster AND p.id = t.id \
             WHERE t.region = ? AND t.cluster = ? AND t.service = ? \
             AND (t.last_status != 'STOPPED' OR CAST(json_extract(t.doc, '$.stoppedAt') AS REAL) > ?)",
        )
        .bind(region)
        .bind(cluster)
        .bind(service)
        .bind(stopped_after)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let key = TaskKey { region: region.to_owned(), cluster: cluster.to_owned(), id: r.try_get("id")? };
                Ok(ServiceTask { key, doc: parse_doc(r.try_get("doc")?)?, protected_until: r.try_get("expires_at")? })
            })
            .collect()
    }

    /// Protects a cluster's tasks among `ids` until `until` (seconds since the epoch), or ends
    /// their protection (None), in one transaction; the tasks' service scheduler hears of it.
    /// Answers the tasks that exist as [`Store::task_protection`] reads them, by id. Only tasks
    /// of a service that are not stopping are protected (the others are answered, unchanged).
    ///
    /// # Errors
    /// On a database failure; then nothing changed.
    pub async fn protect_tasks(
        &self,
        region: &str,
        cluster: &str,
        ids: &[&str],
        until: Option<f64>,
    ) -> Result<HashMap<String, TaskProtection>> {
        let mut tx = self.write.begin().await?;
        let mut found = HashMap::new();
        for id in ids {
            let Some(mut task) = protection_in(&mut tx, region, cluster, id).await? else { continue };
            if task.service.is_some() && !task.stopping {
                let write = match until {
                    Some(until) => sqlx::query(
                        "INSERT INTO task_protection (region, cluster, id, expires_at) VALUES (?, ?, ?, ?) \
                         ON CONFLICT (region, cluster, id) DO UPDATE SET expires_at = excluded.expires_at",
                    )
                    .bind(region)
                    .bind(cluster)
                    .bind(id)
                    .bind(until),
                    None => sqlx::query("DELETE FROM task_protection WHERE region = ? AND cluster = ? AND id = ?")
                        .bind(region)
                        .bind(cluster)
                        .bind(id),
                };
                write.execute(&mut *tx).await?;
                task.until = until;
            }
            found.insert((*id).to_owned(), task);
        }
        tx.commit().await?;
        for (id, task) in &found {
            if task.service.is_some() {
                let key = TaskKey { region: region.to_owned(), cluster: cluster.to_owned(), id: id.clone() };
                self.changed(task_change(&key, task.service.clone(), false));
            }
        }
        Ok(found)
    }

    /// A cluster's tasks among `ids` that exist, by id, with their protection.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn task_protection(
        &self,
        region: &str,
        cluster: &str,
        ids: &[&str],
    ) -> Result<HashMap<String, TaskProtection>> {
        let mut conn = self.read.acquire().await?;
        let mut found = HashMap::new();
        for id in ids {
            if let Some(task) = protection_in(&mut conn, region, cluster, id).await? {
                found.insert((*id).to_owned(), task);
            }
        }
        Ok(found)
    }
}

/// A task's protection as UpdateTaskProtection and GetTaskProtection answer it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskProtection {
    /// The task's ARN.
    pub arn: String,
    /// The service it belongs to, if any (only a service's tasks can be protected).
    pub service: Option<String>,
    /// Until when it is protected (seconds since the epoch; possibly past), if it was.
    pub until: Option<f64>,
    /// Its desired status is STOPPED: it can no longer be protected.
    pub stopping: bool,
}

async fn protection_in(
    conn: &mut sqlx::SqliteConnection,
    region: &str,
    cluster: &str,
    id: &str,
) -> Result<Option<TaskProtection>> {
    let found: Option<(String, Option<String>, Option<f64>, bool)> = sqlx::query_as(
        "SELECT t.arn, t.service, p.expires_at, t.desired_status = 'STOPPED' FROM tasks t LEFT JOIN task_protection p \
         ON p.region = t.region AND p.cluster = t.cluster AND p.id = t.id \
         WHERE t.region = ? AND t.cluster = ? AND t.id = ?",
    )
    .bind(region)
    .bind(cluster)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.map(|(arn, service, until, stopping)| TaskProtection { arn, service, until, stopping }))
}

/// A service's task as its scheduler reads it.
#[derive(Debug, Clone)]
pub struct ServiceTask {
    /// Its keys.
    pub key: TaskKey,
    /// The task.
    pub doc: Doc,
    /// Until when it is protected from scale-in (seconds since the epoch), if it was protected.
    pub protected_until: Option<f64>,
}

/// A task's document inside a write transaction, if the task exists and meets `condition` (an
/// SQL `AND ...` on its row, or empty).
/// A task's document, its service and whether it waits for capacity, read in `tx`.
async fn doc_in(
    tx: &mut sqlx::SqliteConnection,
    key: &TaskKey,
    condition: &str,
) -> Result<Option<(Doc, Option<String>, bool)>> {
    let found: Option<(String, Option<String>, bool)> = sqlx::query_as(&format!(
        "SELECT doc, service, awaiting IS NOT NULL FROM tasks WHERE region = ? AND cluster = ? AND id = ?{condition}"
    ))
    .bind(&key.region)
    .bind(&key.cluster)
    .bind(&key.id)
    .fetch_optional(&mut *tx)
    .await?;
    found.map(|(doc, service, awaiting)| Ok((parse_doc(&doc)?, service, awaiting))).transpose()
}

/// The notification of a change to the task `key`.
fn task_change(key: &TaskKey, service: Option<String>, awaiting: bool) -> super::Change {
    super::Change::Task {
        region: key.region.clone(),
        cluster: key.cluster.clone(),
        id: key.id.clone(),
        service,
        awaiting,
    }
}

/// The family of a task's task definition ARN (`.../task-definition/FAMILY:REV`).
fn family_of(doc: &Doc) -> String {
    let arn = text(doc, "taskDefinitionArn");
    crate::domain::arn::task_definition_parts(&arn).map(|(family, _)| family.to_owned()).unwrap_or_default()
}
