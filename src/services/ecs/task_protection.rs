//! Task scale-in protection: UpdateTaskProtection and GetTaskProtection.
//!
//! A service's task can be protected for 1 to 2,880 minutes (120 by default): until then the
//! service scheduler stops it neither to scale in nor to deploy (see
//! [`crate::domain::deployment`]); an unprotected sibling goes instead, or the service runs more
//! than its desired count until the protection ends. Only a service's tasks can be protected.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ctx, clusters};
use crate::domain::now;
use crate::error::Result;
use crate::store::{NamedRow, TaskProtection};

/// The most tasks one call names: UpdateTaskProtection, GetTaskProtection.
const MAX_UPDATE: usize = 10;
const MAX_GET: usize = 100;
/// expiresInMinutes: its default and bounds.
const DEFAULT_MINUTES: i64 = 120;
const MAX_MINUTES: i64 = 2880;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UpdateTaskProtectionInput {
    cluster: String,
    tasks: Vec<String>,
    protection_enabled: bool,
    expires_in_minutes: Option<i64>,
}

pub(super) async fn update_task_protection(ctx: &Ctx<'_>, input: UpdateTaskProtectionInput) -> Result<Value> {
    check_count(&input.tasks, MAX_UPDATE)?;
    let minutes = input.expires_in_minutes.unwrap_or(DEFAULT_MINUTES);
    if input.protection_enabled && !(1..=MAX_MINUTES).contains(&minutes) {
        return Err(aws_error!(
            InvalidParameterException,
            "expiresInMinutes must be between 1 and {MAX_MINUTES} minutes, but was {minutes}."
        ));
    }
    let cluster = clusters::active_cluster(ctx, Some(&input.cluster)).await?;
    let ids = ids(&cluster, &input.tasks);
    // Only protecting can be refused, and only that needs the tasks read first: the write
    // answers the tasks it was given.
    let (mut found, blocked, until) = if input.protection_enabled {
        let found = ctx.store.task_protection(ctx.region(), &cluster.name, &known(&ids)).await?;
        let blocked = beyond_desired(ctx, &cluster, &ids, &found).await?;
        (found, blocked, Some(now() + 60.0 * minutes as f64))
    } else {
        (HashMap::new(), HashSet::new(), None)
    };
    let protect: Vec<&str> = known(&ids).into_iter().filter(|id| !blocked.contains(*id)).collect();
    found.extend(ctx.store.protect_tasks(ctx.region(), &cluster.name, &protect, until).await?);
    Ok(answer(ctx, &cluster, &input.tasks, &ids, &found, &blocked))
}

/// The tasks named that protecting would leave their service with more protected tasks than
/// its desired count: AWS refuses those (`DEPLOYMENT_BLOCKED`), in the request's order.
async fn beyond_desired(
    ctx: &Ctx<'_>,
    cluster: &NamedRow,
    ids: &[Option<&str>],
    found: &HashMap<String, TaskProtection>,
) -> Result<HashSet<String>> {
    let at = now();
    let mut protected: HashMap<String, (HashSet<String>, usize)> = HashMap::new();
    let mut blocked = HashSet::new();
    for id in ids.iter().flatten() {
        let Some(task) = found.get(*id) else { continue };
        let Some(service) = task.service.as_deref().filter(|_| !task.stopping) else { continue };
        if !protected.contains_key(service) {
            let desired = ctx
                .store
                .get_service(ctx.region(), &cluster.name, service)
                .await?
                .and_then(|row| row.doc.get("desiredCount").and_then(Value::as_u64))
                .unwrap_or(0);
            let now_protected = ctx
                .store
                .service_tasks(ctx.region(), &cluster.name, service, at)
                .await?
                .into_iter()
                .filter(|t| t.protected_until.is_some_and(|until| until > at))
                .map(|t| t.key.id)
                .collect();
            protected.insert(service.to_owned(), (now_protected, usize::try_from(desired).unwrap_or(usize::MAX)));
        }
        let Some((ids, desired)) = protected.get_mut(service) else { continue };
        if !ids.contains(*id) {
            if ids.len() >= *desired {
                blocked.insert((*id).to_owned());
            } else {
                ids.insert((*id).to_owned());
            }
        }
    }
    Ok(blocked)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GetTaskProtectionInput {
    cluster: String,
    tasks: Option<Vec<String>>,
}

pub(super) async fn get_task_protection(ctx: &Ctx<'_>, input: GetTaskProtectionInput) -> Result<Value> {
    let tasks = input.tasks.unwrap_or_default();
    check_count(&tasks, MAX_GET)?;
    let cluster = clusters::active_cluster(ctx, Some(&input.cluster)).await?;
    let ids = ids(&cluster, &tasks);
    let found = ctx.store.task_protection(ctx.region(), &cluster.name, &known(&ids)).await?;
    Ok(answer(ctx, &cluster, &tasks, &ids, &found, &HashSet::new()))
}

fn check_count(tasks: &[String], most: usize) -> Result<()> {
    if tasks.is_empty() {
        return Err(aws_error!(InvalidParameterException, "Tasks cannot be empty."));
    }
    if tasks.len() > most {
        return Err(aws_error!(
            InvalidParameterException,
            "tasks can have at most {most} items, but had {}.",
            tasks.len()
        ));
    }
    Ok(())
}

/// The task id each reference names in the cluster (None: an ARN of another cluster or kind).
fn ids<'a>(cluster: &NamedRow, references: &'a [String]) -> Vec<Option<&'a str>> {
    references.iter().map(|r| super::cluster_scoped_id(cluster, r, "task")).collect()
}

fn known<'a>(ids: &[Option<&'a str>]) -> Vec<&'a str> {
    ids.iter().flatten().copied().collect()
}

/// Each task named, in the request's order: its protection, or why it has none.
fn answer(
    ctx: &Ctx<'_>,
    cluster: &NamedRow,
    references: &[String],
    ids: &[Option<&str>],
    found: &HashMap<String, TaskProtection>,
    blocked: &HashSet<String>,
) -> Value {
    let mut protected = Vec::new();
    let mut failures = Vec::new();
    for (reference, id) in references.iter().zip(ids) {
        let Some(task) = id.and_then(|id| found.get(id)) else {
            failures.push(super::missing(reference, |id| ctx.scope.arn(&format!("task/{}/{id}", cluster.name))));
            continue;
        };
        // A standalone task, or one already stopping: AWS gives no detail.
        if task.service.is_none() || task.stopping {
            failures.push(json!({"arn": task.arn, "reason": "TASK_NOT_VALID"}));
            continue;
        }
        if id.is_some_and(|id| blocked.contains(id)) {
            failures.push(json!({
                "arn": task.arn,
                "reason": "DEPLOYMENT_BLOCKED",
                "detail": "Protecting this task would leave its service with more protected tasks than its desired count."
            }));
            continue;
        }
        let mut item = json!({"taskArn": task.arn, "protectionEnabled": false});
        if let Some(until) = task.until.filter(|until| *until > now()) {
            item["protectionEnabled"] = json!(true);
            item["expirationDate"] = json!(until);
        }
        protected.push(item);
    }
    json!({"protectedTasks": protected, "failures": failures})
}
