//! Service deployments and service revisions, as the service's scheduler state records them
//! (the operations that read and stop them: [`super::service_deployment_ops`]).
//!
//! Each deployment a service starts (CreateService, an UpdateService that redeploys) is a
//! service deployment, from the revisions that ran to the revision it deploys: IN_PROGRESS, then
//! SUCCESSFUL when its deployment completes, STOPPED when a newer one replaces it or the circuit
//! breaker fails it, ROLLBACK_IN_PROGRESS and ROLLBACK_SUCCESSFUL when it is rolled back. A
//! revision's ARN ends with its deployment's digits (`ecs-svc/<digits>`), which is how tools
//! such as Terraform match a service's PRIMARY deployment to its service deployment.
//!
//! They live in the service's scheduler state (the newest [`MAX_KEPT`]), written in the same
//! transaction as the service change they record.

use serde_json::{Value, json};

use super::Ctx;
use crate::domain::now;
use crate::store::{Doc, ServiceRow};

/// Service deployments kept per service, newest first.
const MAX_KEPT: usize = 100;
pub(super) const DEPLOYMENTS: &str = "serviceDeployments";
pub(super) const REVISIONS: &str = "serviceRevisions";

/// The digits of a deployment id (`ecs-svc/<digits>`).
fn digits(deployment_id: &str) -> &str {
    deployment_id.rsplit('/').next().unwrap_or(deployment_id)
}

fn entries(state: &mut Doc) -> &mut Vec<Value> {
    let slot = state.entry(DEPLOYMENTS).or_insert_with(|| json!([]));
    if !slot.is_array() {
        *slot = json!([]);
    }
    match slot {
        Value::Array(list) => list,
        _ => unreachable!("just made an array"),
    }
}

/// The service deployment that deploys `deployment_id`'s revision (or rolls back to it).
fn entry_of<'a>(state: &'a mut Doc, deployment_id: &str) -> Option<&'a mut Value> {
    let target =
        state.get("rollbackFor").and_then(|r| r.get(digits(deployment_id))).and_then(Value::as_str).map(str::to_owned);
    let suffix = format!("/{}", digits(deployment_id));
    entries(state).iter_mut().find(|e| match &target {
        Some(arn) => e.get("serviceDeploymentArn").and_then(Value::as_str) == Some(arn.as_str()),
        None => {
            e.pointer("/targetServiceRevision/arn").and_then(Value::as_str).is_some_and(|arn| arn.ends_with(&suffix))
        }
    })
}

fn summary(arn: &str, deployment: &Value) -> Value {
    json!({
        "arn": arn,
        "requestedTaskCount": deployment.get("desiredCount").cloned().unwrap_or(json!(0)),
        "runningTaskCount": deployment.get("runningCount").cloned().unwrap_or(json!(0)),
        "pendingTaskCount": deployment.get("pendingCount").cloned().unwrap_or(json!(0)),
    })
}

/// Where a service's revisions and deployments live: `service-revision/CLUSTER/SERVICE/...`.
fn resource(ctx: &Ctx<'_>, kind: &str, service: &Doc, id: &str) -> String {
    let name = service.get("serviceName").and_then(Value::as_str).unwrap_or_default();
    let cluster = service.get("clusterArn").and_then(Value::as_str).and_then(|a| a.rsplit('/').next()).unwrap_or("");
    ctx.scope.arn(&format!("{kind}/{cluster}/{name}/{id}"))
}

/// The revision ARN of a deployment.
fn revision_arn(ctx: &Ctx<'_>, service: &Doc, deployment_id: &str) -> String {
    resource(ctx, "service-revision", service, digits(deployment_id))
}

/// The service's newest service deployment, and the revisions its live deployments run.
pub(super) fn current(ctx: &Ctx<'_>, row: &ServiceRow) -> (Option<String>, Vec<Value>) {
    let newest = row
        .state
        .get(DEPLOYMENTS)
        .and_then(Value::as_array)
        .and_then(|l| l.first())
        .and_then(|e| e.get("serviceDeploymentArn"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let revisions = crate::domain::list_of(&row.doc, "deployments")
        .iter()
        .filter_map(|d| Some(summary(&revision_arn(ctx, &row.doc, d.get("id")?.as_str()?), d)))
        .collect();
    (newest, revisions)
}

/// Records that `deployment` (just made PRIMARY) starts a service deployment from the
/// `previous` deployments: its revision, and a new IN_PROGRESS service deployment; an
/// unfinished earlier one is STOPPED.
pub(super) fn begin(ctx: &Ctx<'_>, state: &mut Doc, service: &Doc, deployment: &Value, previous: &[Value]) {
    let at = now();
    let id = deployment.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    let target = revision_arn(ctx, service, &id);
    let mut revision = json!({
        "serviceRevisionArn": target,
        "serviceArn": service.get("serviceArn"),
        "clusterArn": service.get("clusterArn"),
        "taskDefinition": deployment.get("taskDefinition"),
        "loadBalancers": service.get("loadBalancers").cloned().unwrap_or(json!([])),
        "serviceRegistries": service.get("serviceRegistries").cloned().unwrap_or(json!([])),
        "containerImages": [],
        "guardDutyEnabled": false,
        "createdAt": at,
    });
    for key in ["capacityProviderStrategy", "launchType", "platformVersion", "platformFamily", "networkConfiguration"] {
        if let Some(v) = deployment.get(key) {
            revision[key] = v.clone();
        }
    }
    let revisions = state.entry(REVISIONS).or_insert_with(|| json!({}));
    if let Value::Object(map) = revisions {
        map.insert(digits(&id).to_owned(), revision);
    }
    let sources: Vec<Value> =
        previous.iter().filter_map(|d| Some(summary(&revision_arn(ctx, service, d.get("id")?.as_str()?), d))).collect();
    let configuration = service.get("deploymentConfiguration").cloned().unwrap_or(json!({}));
    let breaker = configuration.get("deploymentCircuitBreaker").cloned().unwrap_or(json!({}));
    let enabled = breaker.get("enable").and_then(Value::as_bool) == Some(true);
    for e in entries(state).iter_mut() {
        if e.get("status") == Some(&json!("IN_PROGRESS")) {
            e["status"] = json!("STOPPED");
            e["statusReason"] = json!("Service deployment stopped: a newer service deployment started.");
            e["stoppedAt"] = json!(at);
            e["updatedAt"] = json!(at);
        }
    }
    let sd_id = uuid::Uuid::new_v4().simple().to_string()[..20].to_owned();
    let entry = json!({
        "serviceDeploymentArn": resource(ctx, "service-deployment", service, &sd_id),
        "serviceArn": service.get("serviceArn"),
        "clusterArn": service.get("clusterArn"),
        "createdAt": at,
        "startedAt": at,
        "updatedAt": at,
        "sourceServiceRevisions": sources,
        "targetServiceRevision": summary(&target, deployment),
        "status": "IN_PROGRESS",
        "deploymentConfiguration": configuration,
        "deploymentCircuitBreaker": {
            "status": if enabled { "MONITORING" } else { "DISABLED" },
            "failureCount": 0,
            "threshold": 0,
        },
    });
    let list = entries(state);
    list.insert(0, entry);
    list.truncate(MAX_KEPT);
}

/// Brings the service deployment of each live deployment up to date with its counts.
pub(crate) fn progress(state: &mut Doc, deployments: &[Value], threshold: i64) {
    let at = now();
    for d in deployments {
        let Some(id) = d.get("id").and_then(Value::as_str) else { continue };
        let Some(entry) = entry_of(state, id) else { continue };
        let arn = entry.pointer("/targetServiceRevision/arn").cloned().unwrap_or(Value::Null);
        let target = summary(arn.as_str().unwrap_or_default(), d);
        if entry.get("targetServiceRevision") != Some(&target) {
            entry["targetServiceRevision"] = target;
            entry["updatedAt"] = json!(at);
        }
        if entry.pointer("/deploymentCircuitBreaker/status") != Some(&json!("DISABLED")) {
            entry["deploymentCircuitBreaker"]["failureCount"] = d.get("failedTasks").cloned().unwrap_or(json!(0));
            entry["deploymentCircuitBreaker"]["threshold"] = json!(threshold);
        }
    }
}

/// The deployment `deployment_id` completed: its service deployment is SUCCESSFUL (or, for a
/// rollback's deployment, the rolled-back one is ROLLBACK_SUCCESSFUL).
pub(crate) fn completed(state: &mut Doc, deployment_id: &str) {
    let at = now();
    let Some(entry) = entry_of(state, deployment_id) else { return };
    let rolled_back = entry.get("status") == Some(&json!("ROLLBACK_IN_PROGRESS"));
    entry["status"] = json!(if rolled_back { "ROLLBACK_SUCCESSFUL" } else { "SUCCESSFUL" });
    entry["finishedAt"] = json!(at);
    entry["updatedAt"] = json!(at);
    if entry.pointer("/deploymentCircuitBreaker/status") == Some(&json!("MONITORING")) {
        entry["deploymentCircuitBreaker"]["status"] = json!("MONITORING_COMPLETE");
    }
}

/// The circuit breaker failed `deployment_id`: its service deployment is STOPPED, or rolls back
/// to the revision of `rollback_to` (a deployment) with the new deployment `rollback_id`.
pub(crate) fn failed(
    ctx: &Ctx<'_>,
    state: &mut Doc,
    service: &Doc,
    deployment_id: &str,
    rollback: Option<(&str, &str)>,
    reason: &str,
) {
    let at = now();
    let Some(entry) = entry_of(state, deployment_id) else { return };
    entry["deploymentCircuitBreaker"]["status"] = json!("TRIGGERED");
    entry["updatedAt"] = json!(at);
    let Some((rollback_to, rollback_id)) = rollback else {
        entry["status"] = json!("STOPPED");
        entry["statusReason"] = json!(reason);
        entry["stoppedAt"] = json!(at);
        return;
    };
    entry["status"] = json!("ROLLBACK_IN_PROGRESS");
    entry["statusReason"] = json!(reason);
    entry["rollback"] =
        json!({"reason": reason, "startedAt": at, "serviceRevisionArn": revision_arn(ctx, service, rollback_to)});
    let arn = entry.get("serviceDeploymentArn").cloned().unwrap_or(Value::Null);
    let map = state.entry("rollbackFor").or_insert_with(|| json!({}));
    if let Value::Object(map) = map {
        map.insert(digits(rollback_id).to_owned(), arn);
    }
}
