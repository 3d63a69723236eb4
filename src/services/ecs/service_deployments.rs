//! Service deployments and service revisions: ListServiceDeployments,
//! DescribeServiceDeployments, DescribeServiceRevisions, StopServiceDeployment.
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

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ctx, clusters};
use crate::domain::arn::Arn;
use crate::domain::now;
use crate::error::Result;
use crate::store::{Doc, ServiceRow};

/// Service deployments kept per service, newest first.
const MAX_KEPT: usize = 100;
const DEPLOYMENTS: &str = "serviceDeployments";
const REVISIONS: &str = "serviceRevisions";

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

/// The service a service deployment or revision ARN belongs to, and the ARN's last part.
async fn owner(ctx: &Ctx<'_>, arn: &str, kind: &str) -> Result<Option<(ServiceRow, String)>> {
    let Some(parsed) = Arn::parse(arn).filter(|a| a.resource_type == kind && a.region == ctx.region()) else {
        return Ok(None);
    };
    let mut parts = parsed.resource_id.splitn(3, '/');
    let (Some(cluster), Some(service), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(None);
    };
    let found = ctx.store.get_service(ctx.region(), cluster, service).await?;
    Ok(found.map(|row| (row, id.to_owned())))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListServiceDeploymentsInput {
    service: String,
    cluster: Option<String>,
    #[serde(default)]
    status: Vec<String>,
    created_at: Option<CreatedAt>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

#[derive(Deserialize)]
struct CreatedAt {
    before: Option<f64>,
    after: Option<f64>,
}

pub(super) async fn list_service_deployments(ctx: &Ctx<'_>, input: ListServiceDeploymentsInput) -> Result<Value> {
    const LIST: &str = "ListServiceDeployments";
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    let Some(row) = super::services::find(ctx, &cluster, &input.service).await? else {
        return Err(aws_error!(ServiceNotFoundException, "Service not found."));
    };
    let size = super::paging::page_size(input.max_results, 20, 100)?;
    let after = super::paging::decode(LIST, input.next_token.as_deref())?.and_then(|k| k.into_iter().next());
    let (before_t, after_t) = input.created_at.as_ref().map_or((None, None), |c| (c.before, c.after));
    let mut briefs: Vec<Value> = row
        .state
        .get(DEPLOYMENTS)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|e| {
            let created = e.get("createdAt").and_then(Value::as_f64).unwrap_or(0.0);
            let status = e.get("status").and_then(Value::as_str).unwrap_or_default();
            (input.status.is_empty() || input.status.iter().any(|s| s == status))
                && before_t.is_none_or(|b| created < b)
                && after_t.is_none_or(|a| created > a)
        })
        .skip_while(|e| {
            after.as_deref().is_some_and(|a| e.get("serviceDeploymentArn").and_then(Value::as_str) != Some(a))
        })
        .skip(usize::from(after.is_some()))
        .map(|e| {
            let mut brief = json!({});
            for key in [
                "serviceDeploymentArn",
                "serviceArn",
                "clusterArn",
                "startedAt",
                "createdAt",
                "finishedAt",
                "status",
                "statusReason",
            ] {
                if let Some(v) = e.get(key) {
                    brief[key] = v.clone();
                }
            }
            brief["targetServiceRevisionArn"] = e.pointer("/targetServiceRevision/arn").cloned().unwrap_or(Value::Null);
            brief
        })
        .collect();
    let next = super::paging::next_token(LIST, &mut briefs, size, |b| {
        vec![b.get("serviceDeploymentArn").and_then(Value::as_str).unwrap_or_default().to_owned()]
    });
    Ok(json!({"serviceDeployments": briefs, "nextToken": next}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeServiceDeploymentsInput {
    service_deployment_arns: Vec<String>,
}

pub(super) async fn describe_service_deployments(
    ctx: &Ctx<'_>,
    input: DescribeServiceDeploymentsInput,
) -> Result<Value> {
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for arn in &input.service_deployment_arns {
        let entry = owner(ctx, arn, "service-deployment").await?.and_then(|(row, _)| {
            row.state.get(DEPLOYMENTS).and_then(Value::as_array).and_then(|list| {
                list.iter().find(|e| e.get("serviceDeploymentArn").and_then(Value::as_str) == Some(arn)).cloned()
            })
        });
        match entry {
            Some(e) => found.push(e),
            None => failures.push(json!({"arn": arn, "reason": "MISSING"})),
        }
    }
    Ok(json!({"serviceDeployments": found, "failures": failures}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeServiceRevisionsInput {
    service_revision_arns: Vec<String>,
}

pub(super) async fn describe_service_revisions(ctx: &Ctx<'_>, input: DescribeServiceRevisionsInput) -> Result<Value> {
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for arn in &input.service_revision_arns {
        let revision = owner(ctx, arn, "service-revision")
            .await?
            .and_then(|(row, id)| row.state.get(REVISIONS).and_then(|r| r.get(&id)).cloned());
        match revision {
            Some(r) => found.push(r),
            None => failures.push(json!({"arn": arn, "reason": "MISSING"})),
        }
    }
    Ok(json!({"serviceRevisions": found, "failures": failures}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StopServiceDeploymentInput {
    service_deployment_arn: String,
    stop_type: Option<String>,
}

/// StopServiceDeployment with ROLLBACK (its only stop type): the deployment in progress rolls
/// back to the service's last completed deployment.
pub(super) async fn stop_service_deployment(ctx: &Ctx<'_>, input: StopServiceDeploymentInput) -> Result<Value> {
    let arn = input.service_deployment_arn;
    if input.stop_type.as_deref().is_some_and(|t| t != "ROLLBACK") {
        return Err(aws_error!(InvalidParameterException, "stopType must be ROLLBACK."));
    }
    let not_found = || aws_error!(ServiceDeploymentNotFoundException, "The service deployment {arn} does not exist.");
    let Some((row, _)) = owner(ctx, &arn, "service-deployment").await? else { return Err(not_found()) };
    let mut outcome = Err(not_found());
    ctx.store
        .update_service(ctx.region(), &row.cluster, &row.name, |s| {
            let entry = s
                .state
                .get(DEPLOYMENTS)
                .and_then(Value::as_array)
                .and_then(|l| l.iter().find(|e| e.get("serviceDeploymentArn").and_then(Value::as_str) == Some(&arn)))
                .cloned();
            let Some(entry) = entry else { return false };
            if entry.get("status") != Some(&json!("IN_PROGRESS")) {
                outcome = Err(aws_error!(
                    ConflictException,
                    "The service deployment {arn} is not in progress; only an IN_PROGRESS service deployment can be stopped."
                ));
                return false;
            }
            let Some(event) = super::services::roll_back(ctx, s, "Service deployment rolled back because of a stop request.")
            else {
                outcome = Err(aws_error!(
                    ConflictException,
                    "The service has no completed deployment to roll back to."
                ));
                return false;
            };
            super::services::add_events(&mut s.doc, vec![event]);
            outcome = Ok(());
            true
        })
        .await?;
    outcome?;
    Ok(json!({"serviceDeploymentArn": arn}))
}
