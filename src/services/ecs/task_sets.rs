//! Task sets, for services with the EXTERNAL deployment controller: CreateTaskSet,
//! UpdateTaskSet, DeleteTaskSet, DescribeTaskSets, UpdateServicePrimaryTaskSet.
//!
//! An external controller (a deployment tool) deploys by creating task sets, each a task
//! definition with its network and capacity and a `scale` (a percentage of the service's desired
//! count), and by choosing the PRIMARY one. The task sets live in the service's document (its
//! `taskSets`); the service scheduler keeps each one's computed desired count of tasks running
//! (see `reconcile_task_sets` in [`super::services`]).

use serde::Deserialize;
use serde_json::{Value, json};

use super::launch;
use super::services::{self, computed_desired_count, is_external};
use super::tags::{Tag, check_tags, store_tags, tags_json};
use super::{Ctx, clusters, task_definitions};
use crate::domain::{now, str_of};
use crate::error::Result;
use crate::store::{NamedRow, ServiceRow};

/// The ACTIVE EXTERNAL service a task set call names.
async fn service(ctx: &Ctx<'_>, cluster: &str, reference: &str) -> Result<(NamedRow, ServiceRow)> {
    let cluster = clusters::active_cluster(ctx, Some(cluster)).await?;
    let Some(row) = services::find(ctx, &cluster, reference).await? else {
        return Err(aws_error!(ServiceNotFoundException, "Service not found."));
    };
    if row.status != "ACTIVE" {
        return Err(aws_error!(ServiceNotActiveException, "Service was not ACTIVE."));
    }
    if !is_external(&row.doc) {
        return Err(aws_error!(
            InvalidParameterException,
            "Amazon ECS only supports task set management on services configured to use external deployment controllers."
        ));
    }
    Ok((cluster, row))
}

/// Whether `set` is the one a reference (id or ARN) names.
fn names(set: &Value, reference: &str) -> bool {
    str_of(set, "id") == Some(reference) || str_of(set, "taskSetArn") == Some(reference)
}

fn not_found() -> crate::error::ApiError {
    aws_error!(TaskSetNotFoundException, "The specified task set does not exist.")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Scale {
    value: Option<f64>,
    unit: Option<String>,
}

fn scale_json(scale: Option<&Scale>) -> Result<Value> {
    let value = scale.and_then(|s| s.value).unwrap_or(100.0);
    if !(0.0..=100.0).contains(&value) {
        return Err(aws_error!(InvalidParameterException, "scale value must be between 0 and 100."));
    }
    Ok(json!({"value": value, "unit": scale.and_then(|s| s.unit.clone()).unwrap_or_else(|| "PERCENT".into())}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateTaskSetInput {
    service: String,
    cluster: String,
    external_id: Option<String>,
    task_definition: String,
    network_configuration: Option<Value>,
    load_balancers: Option<Vec<Value>>,
    service_registries: Option<Vec<Value>>,
    launch_type: Option<String>,
    capacity_provider_strategy: Option<Vec<Value>>,
    platform_version: Option<String>,
    scale: Option<Scale>,
    client_token: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

pub(super) async fn create_task_set(ctx: &Ctx<'_>, input: CreateTaskSetInput) -> Result<Value> {
    let (cluster, row) = service(ctx, &input.cluster, &input.service).await?;
    let tags = check_tags(&input.tags)?;
    let Some(td) = task_definitions::find(ctx, &input.task_definition).await? else {
        return Err(aws_error!(ClientException, "TaskDefinition not found."));
    };
    if td.get("status") != Some(&json!("ACTIVE")) {
        return Err(aws_error!(ClientException, "TaskDefinition is inactive."));
    }
    // A retry with the same client token answers the task set it created.
    if let Some(token) = &input.client_token
        && let Some(existing) = crate::domain::list_of(&row.doc, "taskSets")
            .iter()
            .find(|s| row.state.get("taskSetTokens").and_then(|t| t.get(token)) == s.get("id"))
    {
        let mut out = existing.clone();
        out["tags"] = tags_json(ctx, str_of(existing, "taskSetArn").unwrap_or_default()).await?;
        return Ok(json!({"taskSet": out}));
    }
    let (launch_type, strategy) = match (&input.launch_type, &input.capacity_provider_strategy) {
        (None, None) => (row.doc.get("launchType").and_then(Value::as_str).map(str::to_owned), None),
        (lt, s) => (lt.clone(), s.clone()),
    };
    let options = launch::capacity_options(ctx, &cluster, launch_type.as_deref(), strategy.as_deref())?;
    let fargate = launch::compatible_launch_type(&td, &options)? == "FARGATE";
    let awsvpc = td.get("networkMode") == Some(&json!("awsvpc"));
    if awsvpc && input.network_configuration.as_ref().and_then(|n| n.get("awsvpcConfiguration")).is_none() {
        return Err(aws_error!(
            InvalidParameterException,
            "Network Configuration must be provided when networkMode 'awsvpc' is specified."
        ));
    }
    let digits = uuid::Uuid::new_v4().as_u64_pair().0 % 9_000_000_000_000_000_000 + 1_000_000_000_000_000_000;
    let id = format!("ecs-svc/{digits}");
    let arn = ctx.scope.arn(&format!("task-set/{}/{}/{id}", cluster.name, row.name));
    let at = now();
    let mut set = json!({
        "id": id,
        "taskSetArn": arn,
        "serviceArn": row.arn,
        "clusterArn": cluster.arn,
        "status": "ACTIVE",
        "taskDefinition": td.get("taskDefinitionArn"),
        "computedDesiredCount": 0,
        "pendingCount": 0,
        "runningCount": 0,
        "createdAt": at,
        "updatedAt": at,
        "loadBalancers": input.load_balancers.clone().unwrap_or_default(),
        "serviceRegistries": input.service_registries.clone().unwrap_or_default(),
        "scale": scale_json(input.scale.as_ref())?,
        "stabilityStatus": "STABILIZING",
        "stabilityStatusAt": at,
    });
    if let Some(external) = &input.external_id {
        set["externalId"] = json!(external);
        set["startedBy"] = json!(external);
    }
    // The capacity the set runs on, as resolved: a launch type, else a strategy (the request's
    // or the cluster's default), so that an unspecified one reads as what it became.
    match (&launch_type, &strategy) {
        (Some(lt), _) => set["launchType"] = json!(lt),
        (None, Some(items)) => set["capacityProviderStrategy"] = json!(items),
        (None, None) => match cluster.doc.get("defaultCapacityProviderStrategy").and_then(Value::as_array) {
            Some(items) if !items.is_empty() => set["capacityProviderStrategy"] = json!(items),
            _ => set["launchType"] = json!("EC2"),
        },
    }
    if fargate {
        set["platformVersion"] = json!(input.platform_version.as_deref().unwrap_or("LATEST"));
        set["platformFamily"] = json!("Linux");
    }
    if let Some(network) = &input.network_configuration {
        set["networkConfiguration"] = network.clone();
    }
    set["computedDesiredCount"] = json!(computed_desired_count(&row, &set));
    let token = input.client_token.clone();
    let stored = set.clone();
    ctx.store
        .update_service(ctx.region(), &row.cluster, &row.name, move |svc| {
            let mut sets = crate::domain::list_of(&svc.doc, "taskSets").to_vec();
            sets.push(stored);
            svc.doc.insert("taskSets".into(), json!(sets));
            if let Some(token) = token {
                let tokens = svc.state.entry("taskSetTokens").or_insert_with(|| json!({}));
                tokens[token] = json!(id);
            }
            true
        })
        .await?;
    store_tags(ctx, &arn, &tags).await?;
    set["tags"] = tags_json(ctx, &arn).await?;
    Ok(json!({"taskSet": set}))
}

/// Applies `edit` to the task set a reference names (its index in the service's task sets),
/// brings every task set's computed desired count up to date, and answers it as stored.
async fn edit_task_set(
    ctx: &Ctx<'_>,
    row: &ServiceRow,
    reference: &str,
    edit: impl FnOnce(&mut ServiceRow, usize) -> Result<()>,
) -> Result<Value> {
    let mut outcome = Err(not_found());
    ctx.store
        .update_service(ctx.region(), &row.cluster, &row.name, |svc| {
            let Some(i) = crate::domain::list_of(&svc.doc, "taskSets").iter().position(|s| names(s, reference)) else {
                return false;
            };
            if let Err(e) = edit(svc, i) {
                outcome = Err(e);
                return false;
            }
            let snapshot = svc.clone();
            if let Some(Value::Array(sets)) = svc.doc.get_mut("taskSets") {
                for set in sets.iter_mut() {
                    set["computedDesiredCount"] = json!(computed_desired_count(&snapshot, set));
                }
                sets[i]["updatedAt"] = json!(now());
                outcome = Ok(sets[i].clone());
            }
            true
        })
        .await?;
    let set = outcome?;
    Ok(set)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UpdateTaskSetInput {
    cluster: String,
    service: String,
    task_set: String,
    scale: Scale,
}

pub(super) async fn update_task_set(ctx: &Ctx<'_>, input: UpdateTaskSetInput) -> Result<Value> {
    let (_, row) = service(ctx, &input.cluster, &input.service).await?;
    let scale = scale_json(Some(&input.scale))?;
    let set = edit_task_set(ctx, &row, &input.task_set, |svc, i| {
        if let Some(Value::Array(sets)) = svc.doc.get_mut("taskSets") {
            sets[i]["scale"] = scale;
        }
        Ok(())
    })
    .await?;
    Ok(json!({"taskSet": set}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeleteTaskSetInput {
    cluster: String,
    service: String,
    task_set: String,
    #[serde(default)]
    force: bool,
}

/// DeleteTaskSet: the task set drains (its tasks stop) and then leaves the service. Without
/// `force`, only one scaled down to zero tasks can go.
pub(super) async fn delete_task_set(ctx: &Ctx<'_>, input: DeleteTaskSetInput) -> Result<Value> {
    let (_, row) = service(ctx, &input.cluster, &input.service).await?;
    let force = input.force;
    let set = edit_task_set(ctx, &row, &input.task_set, |svc, i| {
        let snapshot = svc.clone();
        let Some(Value::Array(sets)) = svc.doc.get_mut("taskSets") else { return Ok(()) };
        if !force && computed_desired_count(&snapshot, &sets[i]) > 0 {
            return Err(aws_error!(
                InvalidParameterException,
                "The task set cannot be deleted while it is scaled above 0. Scale it to 0 or use force."
            ));
        }
        sets[i]["status"] = json!("DRAINING");
        Ok(())
    })
    .await?;
    Ok(json!({"taskSet": set}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeTaskSetsInput {
    cluster: String,
    service: String,
    task_sets: Option<Vec<String>>,
    #[serde(default)]
    include: Vec<String>,
}

pub(super) async fn describe_task_sets(ctx: &Ctx<'_>, input: DescribeTaskSetsInput) -> Result<Value> {
    let (_, row) = service(ctx, &input.cluster, &input.service).await?;
    let all = crate::domain::list_of(&row.doc, "taskSets");
    let mut found: Vec<Value> = Vec::new();
    let mut failures = Vec::new();
    match &input.task_sets {
        None => found.extend(all.iter().cloned()),
        Some(references) => {
            for reference in references {
                match all.iter().find(|s| names(s, reference)) {
                    Some(set) => found.push(set.clone()),
                    None => failures.push(json!({"arn": reference, "reason": "MISSING"})),
                }
            }
        }
    }
    if input.include.iter().any(|i| i == "TAGS") {
        for set in &mut found {
            set["tags"] = tags_json(ctx, str_of(set, "taskSetArn").unwrap_or_default()).await?;
        }
    }
    Ok(json!({"taskSets": found, "failures": failures}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UpdateServicePrimaryTaskSetInput {
    cluster: String,
    service: String,
    primary_task_set: String,
}

/// UpdateServicePrimaryTaskSet: the task set becomes PRIMARY (the one before it ACTIVE), and
/// the service takes its task definition, network and capacity.
pub(super) async fn update_service_primary_task_set(
    ctx: &Ctx<'_>,
    input: UpdateServicePrimaryTaskSetInput,
) -> Result<Value> {
    let (_, row) = service(ctx, &input.cluster, &input.service).await?;
    let set = edit_task_set(ctx, &row, &input.primary_task_set, |svc, i| {
        let Some(Value::Array(sets)) = svc.doc.get_mut("taskSets") else { return Ok(()) };
        if sets[i].get("status") == Some(&json!("DRAINING")) {
            return Err(aws_error!(InvalidParameterException, "A DRAINING task set cannot be made PRIMARY."));
        }
        let at = now();
        for (j, set) in sets.iter_mut().enumerate() {
            let status = if j == i {
                "PRIMARY"
            } else if set["status"] == json!("PRIMARY") {
                "ACTIVE"
            } else {
                continue;
            };
            set["status"] = json!(status);
            set["updatedAt"] = json!(at);
        }
        let primary = sets[i].clone();
        for key in
            ["taskDefinition", "launchType", "capacityProviderStrategy", "platformVersion", "networkConfiguration"]
        {
            match primary.get(key) {
                Some(v) => svc.doc.insert(key.into(), v.clone()),
                None => svc.doc.remove(key),
            };
        }
        Ok(())
    })
    .await?;
    Ok(json!({"taskSet": set}))
}
