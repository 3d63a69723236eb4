//! Tasks: RunTask, StopTask, DescribeTasks, ListTasks. The handlers store the task and hand it
//! to the scheduler, which runs its containers (see [`crate::runtime`]).
//!
//! FARGATE tasks run in the Fargate-like mode; EC2 tasks are placed on the cluster's container
//! instances by [`crate::placement`], atomically (one placement at a time).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::launch::{self, Blueprint, Capacity, LaunchRequest};
use super::tags::{Tag, check_tags, tags_json};
use super::{Ctx, Output, clusters, paging, placement, task_definitions};
use crate::error::{ApiError, Result};
use crate::store::{ClientToken, Doc, NamedRow, TaskFilter, TaskKey};

fn key(ctx: &Ctx<'_>, cluster: &NamedRow, id: &str) -> TaskKey {
    TaskKey { region: ctx.region().to_owned(), cluster: cluster.name.clone(), id: id.to_owned() }
}

/// The task id a reference names: the id itself or a task ARN of the cluster.
fn task_id<'a>(cluster: &NamedRow, reference: &'a str) -> Option<&'a str> {
    super::cluster_scoped_id(cluster, reference, "task")
}

/// The task of `cluster` a reference (its id or ARN) names, with its key; InvalidParameterException
/// "The referenced task was not found." when there is none.
///
/// # Errors
/// That, or `ServerException` if the store fails.
pub(super) async fn find(ctx: &Ctx<'_>, cluster: &NamedRow, reference: &str) -> Result<(TaskKey, Doc)> {
    let not_found = || aws_error!(InvalidParameterException, "The referenced task was not found.");
    let key = key(ctx, cluster, task_id(cluster, reference).ok_or_else(not_found)?);
    let doc = ctx.store.get_task(&key).await?.ok_or_else(not_found)?;
    Ok((key, doc))
}

/// What RunTask and StartTask share.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LaunchInput {
    cluster: Option<String>,
    task_definition: String,
    network_configuration: Option<Value>,
    overrides: Option<Map<String, Value>>,
    started_by: Option<String>,
    group: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    propagate_tags: Option<String>,
    #[serde(default)]
    enable_execute_command: bool,
    reference_id: Option<String>,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RunTaskInput {
    /// Not part of the request's fingerprint (see [`ClientToken`]).
    #[serde(skip_serializing)]
    client_token: Option<String>,
    #[serde(flatten)]
    launch: LaunchInput,
    count: Option<i64>,
    launch_type: Option<String>,
    capacity_provider_strategy: Option<Vec<Value>>,
    platform_version: Option<String>,
    placement_constraints: Option<Vec<Value>>,
    placement_strategy: Option<Vec<Value>>,
}

pub(super) async fn run_task(ctx: &Ctx<'_>, input: RunTaskInput) -> Result<Value> {
    launch(ctx, input, None).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StartTaskInput {
    #[serde(flatten)]
    launch: LaunchInput,
    container_instances: Vec<String>,
}

/// StartTask: one task on each of the container instances named, where it fits (an EC2 task;
/// no strategies, and the task definition's constraints still apply).
pub(super) async fn start_task(ctx: &Ctx<'_>, input: StartTaskInput) -> Result<Value> {
    if input.container_instances.is_empty() || input.container_instances.len() > 10 {
        return Err(aws_error!(InvalidParameterException, "containerInstances must name 1 to 10 container instances."));
    }
    let run = RunTaskInput {
        client_token: None,
        launch: input.launch,
        count: None,
        launch_type: Some("EC2".to_owned()),
        capacity_provider_strategy: None,
        platform_version: None,
        placement_constraints: None,
        placement_strategy: None,
    };
    launch(ctx, run, Some(input.container_instances)).await
}

/// Starts tasks: on Fargate, placed on the cluster's instances, or (`chosen`) on the instances
/// a StartTask names.
async fn launch(ctx: &Ctx<'_>, input: RunTaskInput, chosen: Option<Vec<String>>) -> Result<Value> {
    let cluster = clusters::active_cluster(ctx, input.launch.cluster.as_deref()).await?;
    let count = input.count.unwrap_or(1);
    if !(1..=10).contains(&count) {
        return Err(aws_error!(InvalidParameterException, "count must be between 1 and 10, got {count}."));
    }
    let Some(td) = task_definitions::find(ctx, &input.launch.task_definition).await? else {
        return Err(aws_error!(ClientException, "TaskDefinition not found."));
    };
    if td.get("status").and_then(Value::as_str) != Some("ACTIVE") {
        return Err(aws_error!(ClientException, "TaskDefinition is inactive."));
    }
    let tags = check_tags(&input.launch.tags)?;
    let options = launch::capacity_options(
        ctx,
        &cluster,
        input.launch_type.as_deref(),
        input.capacity_provider_strategy.as_deref(),
    )?;
    let launch_type = launch::compatible_launch_type(&td, &options)?;
    let fargate = launch_type == "FARGATE";
    if fargate {
        placement::refuse_on_fargate(input.placement_constraints.as_deref(), input.placement_strategy.as_deref())?;
    }
    // The request minus its token (serialising typed input cannot fail).
    let fingerprint = serde_json::to_string(&input).unwrap_or_default();
    let request = LaunchRequest {
        network_configuration: input.launch.network_configuration,
        overrides: input.launch.overrides,
        started_by: input.launch.started_by,
        group: input.launch.group,
        propagate_tags: input.launch.propagate_tags,
        enable_execute_command: input.launch.enable_execute_command,
        platform_version: input.platform_version,
        placement_constraints: input.placement_constraints,
        placement_strategy: input.placement_strategy,
    };
    let blueprint = Blueprint::new(ctx, cluster, td, request, tags).await?;
    let items: Vec<_> = options.iter().map(|(_, item)| item.clone()).collect();
    let counts = launch::split(&items, &[], usize::try_from(count).unwrap_or(1));
    let plan: Vec<(Capacity, usize)> = options.into_iter().map(|(c, _)| c).zip(counts).collect();
    let token = input.client_token.as_deref().map(|token| ClientToken {
        region: ctx.region(),
        operation: "RunTask",
        scope: &blueprint.cluster.name,
        token,
        fingerprint: fingerprint.clone(),
    });
    let launched = launch::launch(ctx, &blueprint, &plan, chosen.as_deref(), token.as_ref()).await?;
    if let Some(claim) = launched.claim {
        // A retry: answer the tasks the first request started, as they are now.
        if !claim.same_request {
            return Err(aws_error!(
                ConflictException,
                "The RunTask request could not be processed due to conflicts. The provided clientToken is already in use with a different RunTask request."
            )
            .with("resourceIds", json!(claim.resources)));
        }
        let mut tasks = Vec::new();
        for arn in &claim.resources {
            if let Some(mut doc) = ctx.store.get_task_by_arn(arn).await? {
                doc.insert("tags".into(), tags_json(ctx, arn).await?);
                tasks.push(Value::Object(doc));
            }
        }
        return Ok(json!({"tasks": tasks, "failures": []}));
    }
    let mut tasks = Vec::new();
    for mut doc in launched.tasks {
        let arn = doc.get("taskArn").and_then(Value::as_str).unwrap_or_default().to_owned();
        doc.insert("tags".into(), tags_json(ctx, &arn).await?);
        tasks.push(Value::Object(doc));
    }
    Ok(json!({"tasks": tasks, "failures": launched.failures}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StopTaskInput {
    cluster: Option<String>,
    task: String,
    reason: Option<String>,
}

pub(super) async fn stop_task(ctx: &Ctx<'_>, input: StopTaskInput) -> Result<Value> {
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    let not_found = || aws_error!(InvalidParameterException, "The referenced task was not found.");
    let id = task_id(&cluster, &input.task).ok_or_else(not_found)?;
    let reason = input.reason.unwrap_or_else(|| "Task stopped by user".to_owned());
    let stopped = launch::stop(ctx, &key(ctx, &cluster, id), "UserInitiated", &reason).await?.ok_or_else(not_found)?;
    Ok(json!({"task": stopped}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeTasksInput {
    cluster: Option<String>,
    tasks: Vec<String>,
    #[serde(default)]
    include: Vec<String>,
}

pub(super) async fn describe_tasks(ctx: &Ctx<'_>, input: DescribeTasksInput) -> Result<Output> {
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    if input.tasks.is_empty() {
        return Err(aws_error!(InvalidParameterException, "Tasks cannot be empty."));
    }
    if input.tasks.len() > 100 {
        return Err(aws_error!(InvalidParameterException, "tasks can have at most 100 items."));
    }
    let with_tags = input.include.iter().any(|f| f == "TAGS");
    let ids: Vec<Option<&str>> = input.tasks.iter().map(|r| task_id(&cluster, r)).collect();
    let known: Vec<&str> = ids.iter().flatten().copied().collect();
    let found = ctx.store.get_task_texts(ctx.region(), &cluster.name, &known).await?;
    // The answer is written around the stored documents, which go out as they are stored.
    let mut answer = String::with_capacity(found.values().map(|(_, doc)| doc.len()).sum::<usize>() + 64);
    answer.push_str(r#"{"tasks":["#);
    let mut failures = Vec::new();
    for (reference, id) in input.tasks.iter().zip(&ids) {
        let Some((arn, doc)) = id.and_then(|id| found.get(id)) else {
            failures.push(super::missing(reference, |id| ctx.scope.arn(&format!("task/{}/{id}", cluster.name))));
            continue;
        };
        if !answer.ends_with('[') {
            answer.push(',');
        }
        // A document with a null member (an EC2 task's absent task-level cpu, say) goes the long
        // way, since answers carry no nulls.
        let doc = if doc.contains("null") { Cow::Owned(without_nulls(doc)?) } else { Cow::Borrowed(doc.as_str()) };
        if with_tags {
            answer.push_str(&with_member(&doc, "tags", &tags_json(ctx, arn).await?));
        } else {
            answer.push_str(&doc);
        }
    }
    answer.push_str(r#"],"failures":"#);
    answer.push_str(&Value::Array(failures).to_string());
    answer.push('}');
    Ok(Output::Text(answer))
}

/// A stored document's text without its null members.
fn without_nulls(doc: &str) -> Result<String> {
    let mut value: Value = serde_json::from_str(doc).map_err(ApiError::internal)?;
    crate::protocol::strip_nulls(&mut value);
    Ok(value.to_string())
}

/// A JSON object's text with one more member (the object has no member of that name).
fn with_member(object: &str, name: &str, value: &Value) -> String {
    let body = object.trim_end().strip_suffix('}').unwrap_or(object).trim_end();
    let comma = if body.ends_with('{') { "" } else { "," };
    format!("{body}{comma}{}:{value}}}", Value::from(name))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListTasksInput {
    cluster: Option<String>,
    family: Option<String>,
    started_by: Option<String>,
    launch_type: Option<String>,
    desired_status: Option<String>,
    service_name: Option<String>,
    daemon_name: Option<String>,
    container_instance: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

pub(super) async fn list_tasks(ctx: &Ctx<'_>, input: ListTasksInput) -> Result<Value> {
    const LIST: &str = "ListTasks";
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    let size = paging::page_size(input.max_results, 100, 100)?;
    // A service by name or ARN (`service/CLUSTER/NAME`).
    let service = input.service_name.as_deref().map(|s| s.rsplit('/').next().unwrap_or(s));
    let instance = match input.container_instance.as_deref() {
        Some(reference) => match super::cluster_scoped_id(&cluster, reference, "container-instance") {
            Some(id) => Some(id.to_owned()),
            None => return Ok(json!({"taskArns": []})),
        },
        None => None,
    };
    let daemon_group = input.daemon_name.as_deref().map(super::daemons::group_of);
    let filter = TaskFilter {
        group: daemon_group.as_deref(),
        family: input.family.as_deref(),
        started_by: input.started_by.as_deref(),
        launch_type: input.launch_type.as_deref(),
        desired_status: input.desired_status.as_deref().unwrap_or("RUNNING"),
        container_instance: instance.as_deref(),
        service,
    };
    let after =
        paging::decode(LIST, input.next_token.as_deref())?.and_then(|k| k.into_iter().next()).unwrap_or_default();
    let mut rows = ctx.store.list_tasks(ctx.region(), &cluster.name, &filter, &after, size + 1).await?;
    let next = paging::next_token(LIST, &mut rows, size, |(id, _)| vec![id.clone()]);
    let arns: Vec<&str> = rows.iter().map(|(_, arn)| arn.as_str()).collect();
    Ok(json!({"taskArns": arns, "nextToken": next}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_member_adds_a_member_to_an_object_text() {
        let tags = json!([{"key": "k", "value": "v"}]);
        let added = with_member(r#"{"taskArn":"a"}"#, "tags", &tags);
        assert_eq!(serde_json::from_str::<Value>(&added).ok(), Some(json!({"taskArn": "a", "tags": tags})));
        let added = with_member("{ }", "tags", &tags);
        assert_eq!(serde_json::from_str::<Value>(&added).ok(), Some(json!({"tags": tags})));
    }
}
