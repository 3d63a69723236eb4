//! Tasks: RunTask, StopTask, DescribeTasks, ListTasks. The handlers store the task and hand it
//! to the scheduler, which runs its containers (see [`crate::scheduler`]).
//!
//! FARGATE tasks run in the Fargate-like mode; EC2 tasks are placed on the cluster's container
//! instances by [`crate::placement`], atomically (one placement at a time).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::tags::{Tag, check_tags, store_tags, tags_json};
use super::{Ctx, clusters, container_instances, paging, placement, task_definitions};
use crate::domain::now;
use crate::error::Result;
use crate::placement::{Candidate, Demand};
use crate::store::{ClientToken, Doc, NamedRow, NewTask, Reservation, TaskFilter, TaskKey};

fn key(ctx: &Ctx<'_>, cluster: &NamedRow, id: &str) -> TaskKey {
    TaskKey { region: ctx.region().to_owned(), cluster: cluster.name.clone(), id: id.to_owned() }
}

/// The task id a reference names: the id itself or a task ARN of the cluster.
fn task_id<'a>(cluster: &NamedRow, reference: &'a str) -> Option<&'a str> {
    super::cluster_scoped_id(cluster, reference, "task")
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

/// The launch type a RunTask asks for: its own, its strategy's, or the cluster's default
/// strategy's (FARGATE_SPOT runs as FARGATE), else EC2.
fn launch_type(input: &RunTaskInput, cluster: &NamedRow) -> (String, Option<String>) {
    if let Some(lt) = &input.launch_type {
        return (lt.clone(), None);
    }
    let strategy = input
        .capacity_provider_strategy
        .clone()
        .or_else(|| cluster.doc.get("defaultCapacityProviderStrategy").and_then(Value::as_array).cloned())
        .unwrap_or_default();
    match strategy.first().and_then(|s| s.get("capacityProvider")).and_then(Value::as_str) {
        Some(p @ ("FARGATE" | "FARGATE_SPOT")) => ("FARGATE".to_owned(), Some(p.to_owned())),
        _ => ("EC2".to_owned(), None),
    }
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
        return Err(ecs_error!(InvalidParameterException, "containerInstances must name 1 to 10 container instances."));
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
        return Err(ecs_error!(InvalidParameterException, "count must be between 1 and 10, got {count}."));
    }
    let Some(td) = task_definitions::find(ctx, &input.launch.task_definition).await? else {
        return Err(ecs_error!(ClientException, "TaskDefinition not found."));
    };
    if td.get("status").and_then(Value::as_str) != Some("ACTIVE") {
        return Err(ecs_error!(ClientException, "TaskDefinition is inactive."));
    }
    let tags = check_tags(&input.launch.tags)?;
    let (launch_type, capacity_provider) = launch_type(&input, &cluster);
    let fargate = launch_type == "FARGATE";
    if !matches!(launch_type.as_str(), "FARGATE" | "EC2") {
        return Err(ecs_error!(
            InvalidParameterException,
            "berth runs tasks with launchType FARGATE or EC2, not {launch_type}."
        ));
    }
    let compatible =
        td.get("compatibilities").and_then(Value::as_array).is_some_and(|c| c.iter().any(|x| *x == json!(launch_type)));
    if !compatible {
        return Err(ecs_error!(
            InvalidParameterException,
            "Task definition does not support launch_type {launch_type}."
        ));
    }
    // EC2 tasks default to bridge; Fargate ones are always awsvpc.
    let network_mode = td.get("networkMode").and_then(Value::as_str).unwrap_or("bridge").to_owned();
    let subnet = input
        .launch
        .network_configuration
        .as_ref()
        .and_then(|n| n.get("awsvpcConfiguration"))
        .and_then(|a| a.get("subnets"))
        .and_then(Value::as_array)
        .and_then(|s| s.first())
        .and_then(Value::as_str)
        .map(str::to_owned);
    if network_mode == "awsvpc" && subnet.is_none() {
        return Err(ecs_error!(
            InvalidParameterException,
            "Network Configuration must be provided when networkMode 'awsvpc' is specified."
        ));
    }
    if fargate && (input.placement_constraints.is_some() || input.placement_strategy.is_some()) {
        return Err(ecs_error!(
            InvalidParameterException,
            "Task placement constraints and strategies are not supported for tasks with launch type FARGATE."
        ));
    }
    let definitions: Vec<Map<String, Value>> = td
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .map(|cs| cs.iter().filter_map(|c| c.as_object().cloned()).collect())
        .unwrap_or_default();
    // The request minus its token (serialising typed input cannot fail).
    let fingerprint = serde_json::to_string(&input).unwrap_or_default();
    let overrides = input.launch.overrides.clone().unwrap_or_default();
    for o in overrides.get("containerOverrides").and_then(Value::as_array).into_iter().flatten() {
        let name = o.get("name").and_then(Value::as_str).unwrap_or_default();
        if !definitions.iter().any(|d| d.get("name").and_then(Value::as_str) == Some(name)) {
            return Err(ecs_error!(
                InvalidParameterException,
                "Override for container named {name} is not a container in the TaskDefinition."
            ));
        }
    }
    let td_arn = td.get("taskDefinitionArn").and_then(Value::as_str).unwrap_or_default().to_owned();
    let family = td.get("family").and_then(Value::as_str).unwrap_or_default();
    let group = input.launch.group.clone().unwrap_or_else(|| format!("family:{family}"));
    let mut task_tags = tags.clone();
    if input.launch.propagate_tags.as_deref() == Some("TASK_DEFINITION") {
        for (k, v) in ctx.store.get_tags(&td_arn).await? {
            if !task_tags.iter().any(|(existing, _)| *existing == k) {
                task_tags.push((k, v));
            }
        }
    }
    let new_task = |instance: Option<&Candidate>, reserved: Option<Reservation>| {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let arn = ctx.scope.arn(&format!("task/{}/{id}", cluster.name));
        let containers: Vec<Value> = definitions
            .iter()
            .map(|d| {
                let name = d.get("name").and_then(Value::as_str).unwrap_or_default();
                let mut c = json!({
                    "containerArn": ctx.scope.arn(&format!("container/{}/{id}/{}", cluster.name, uuid::Uuid::new_v4())),
                    "taskArn": arn,
                    "name": name,
                    "image": d.get("image").cloned().unwrap_or(Value::Null),
                    "lastStatus": "PENDING",
                    "networkInterfaces": [],
                    "healthStatus": "UNKNOWN",
                    "cpu": d.get("cpu").and_then(Value::as_i64).unwrap_or(0).to_string(),
                });
                if let Some(m) = d.get("memory").and_then(Value::as_i64) {
                    c["memory"] = json!(m.to_string());
                }
                if let Some(m) = d.get("memoryReservation").and_then(Value::as_i64) {
                    c["memoryReservation"] = json!(m.to_string());
                }
                c
            })
            .collect();
        let mut doc = Doc::new();
        doc.insert("taskArn".into(), json!(arn));
        doc.insert("clusterArn".into(), json!(cluster.arn));
        doc.insert("taskDefinitionArn".into(), json!(td_arn));
        doc.insert("containers".into(), json!(containers));
        doc.insert("lastStatus".into(), json!("PROVISIONING"));
        doc.insert("desiredStatus".into(), json!("RUNNING"));
        doc.insert("createdAt".into(), json!(now()));
        doc.insert("launchType".into(), json!(launch_type));
        if let Some(p) = &capacity_provider {
            doc.insert("capacityProviderName".into(), json!(p));
        }
        let zone = match instance {
            Some(c) => c.attributes.get("ecs.availability-zone").cloned().flatten().unwrap_or_default(),
            None => format!("{}a", ctx.region()),
        };
        doc.insert("availabilityZone".into(), json!(zone));
        if let Some(c) = instance {
            doc.insert("containerInstanceArn".into(), json!(c.arn));
        } else {
            doc.insert(
                "platformVersion".into(),
                json!(match input.platform_version.as_deref() {
                    None | Some("LATEST") => "1.4.0",
                    Some(v) => v,
                }),
            );
            doc.insert("platformFamily".into(), json!("Linux"));
            // Fargate's default 20 GiB, or what the definition asks for (not enforced: see README).
            let storage = td.get("ephemeralStorage").and_then(|e| e.get("sizeInGiB")).cloned().unwrap_or(json!(20));
            doc.insert("ephemeralStorage".into(), json!({"sizeInGiB": storage}));
            doc.insert("fargateEphemeralStorage".into(), json!({"sizeInGiB": storage}));
        }
        doc.insert("cpu".into(), td.get("cpu").cloned().unwrap_or(Value::Null));
        doc.insert("memory".into(), td.get("memory").cloned().unwrap_or(Value::Null));
        doc.insert("group".into(), json!(group));
        if let Some(by) = &input.launch.started_by {
            doc.insert("startedBy".into(), json!(by));
        }
        let mut task_overrides = overrides.clone();
        task_overrides.entry("containerOverrides").or_insert(json!([]));
        task_overrides.entry("inferenceAcceleratorOverrides").or_insert(json!([]));
        doc.insert("overrides".into(), Value::Object(task_overrides));
        doc.insert("enableExecuteCommand".into(), json!(input.launch.enable_execute_command));
        doc.insert("healthStatus".into(), json!("UNKNOWN"));
        doc.insert("version".into(), json!(1));
        let attachments = match &subnet {
            Some(subnet) if network_mode == "awsvpc" => json!([{
                "id": uuid::Uuid::new_v4().to_string(),
                "type": "ElasticNetworkInterface",
                "status": "PRECREATED",
                "details": [{"name": "subnetId", "value": subnet}],
            }]),
            _ => json!([]),
        };
        doc.insert("attachments".into(), attachments);
        doc.retain(|_, v| !v.is_null());
        NewTask { key: key(ctx, &cluster, &id), doc, reserved }
    };

    let token = input.client_token.as_deref().map(|token| ClientToken {
        region: ctx.region(),
        operation: "RunTask",
        scope: &cluster.name,
        token,
        fingerprint: fingerprint.clone(),
    });
    let (created, failures, claim) = if fargate {
        let created: Vec<NewTask> = (0..count).map(|_| new_task(None, None)).collect();
        let claim = ctx.store.insert_tasks(&created, token.as_ref()).await?;
        (created, Vec::new(), claim)
    } else {
        let demand = demand(&td, &definitions, &overrides, &network_mode, &group);
        let constraints = placement::constraints(&td, input.placement_constraints.as_deref())?;
        let strategies = placement::strategies(input.placement_strategy.as_deref())?;
        container_instances::ensure_instances(ctx, &cluster).await?;
        // One placement at a time, from reading the instances to storing the tasks: two
        // RunTasks never both take an instance's last free memory.
        let _placing = ctx.tasks.placement_lock().await;
        let (registered, _) = ctx.store.count_instances(ctx.region(), &cluster.name).await?;
        if registered == 0 {
            return Err(ecs_error!(InvalidParameterException, "No Container Instances were found in your cluster."));
        }
        let usage = container_instances::usage(ctx, &cluster).await?;
        let (candidates, placed, mut unplaced) = match &chosen {
            None => {
                let rows = ctx.store.list_instances(ctx.region(), &cluster.name, Some("ACTIVE"), "", u32::MAX).await?;
                let mut candidates: Vec<Candidate> =
                    rows.iter().map(|r| container_instances::candidate(r, &usage)).collect();
                let mut random = || uuid::Uuid::new_v4().as_u64_pair().0;
                let placed = crate::placement::place(
                    &mut candidates,
                    &demand,
                    &constraints,
                    &strategies,
                    usize::try_from(count).unwrap_or(1),
                    &mut random,
                );
                (candidates, placed, Vec::new())
            }
            Some(references) => {
                let mut candidates = Vec::new();
                let mut placed = crate::placement::Placement::default();
                let mut failures = Vec::new();
                for reference in references {
                    match container_instances::find(ctx, &cluster, reference).await? {
                        None => failures.push(super::missing(reference, |id| {
                            ctx.scope.arn(&format!("container-instance/{}/{id}", cluster.name))
                        })),
                        Some(row) if row.status == "INACTIVE" => {
                            failures.push(json!({"arn": row.arn, "reason": "INACTIVE"}));
                        }
                        Some(row) => {
                            let mut c = container_instances::candidate(&row, &usage);
                            match crate::placement::refusal(&c, &demand, &constraints) {
                                Some(reason) => failures.push(json!({"arn": row.arn, "reason": reason.as_str()})),
                                None => {
                                    c.task_groups.push(demand.group.clone());
                                    placed.placed.push(candidates.len());
                                    candidates.push(c);
                                }
                            }
                        }
                    }
                }
                (candidates, placed, failures)
            }
        };
        let reservation = Reservation {
            cpu: demand.cpu,
            memory: demand.memory,
            tcp: demand.tcp_ports.clone(),
            udp: demand.udp_ports.clone(),
        };
        let created: Vec<NewTask> =
            placed.placed.iter().map(|&i| new_task(candidates.get(i), Some(reservation.clone()))).collect();
        let mut failures: Vec<Value> =
            placed.failures.iter().map(|(arn, reason)| json!({"arn": arn, "reason": reason.as_str()})).collect();
        failures.append(&mut unplaced);
        let claim = ctx.store.insert_tasks(&created, token.as_ref()).await?;
        (created, failures, claim)
    };
    if let Some(claim) = claim {
        // A retry: answer the tasks the first request started, as they are now.
        if !claim.same_request {
            return Err(ecs_error!(
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
    for NewTask { key: task_key, mut doc, .. } in created {
        let arn = doc.get("taskArn").and_then(Value::as_str).unwrap_or_default().to_owned();
        store_tags(ctx, &arn, &task_tags).await?;
        ctx.tasks.spawn(task_key, arn.clone());
        doc.insert("tags".into(), tags_json(ctx, &arn).await?);
        tasks.push(Value::Object(doc));
    }
    Ok(json!({"tasks": tasks, "failures": failures}))
}

/// What a task needs from a container instance: the task's cpu and memory when it sets them,
/// else its containers' (memory, else memoryReservation, as ECS reserves), with overrides; and
/// the static host ports of bridge and host mode.
fn demand(
    td: &Doc,
    definitions: &[Map<String, Value>],
    overrides: &Map<String, Value>,
    network_mode: &str,
    group: &str,
) -> Demand {
    let container_override = |name: &str, field: &str| {
        overrides
            .get("containerOverrides")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|o| o.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|o| o.get(field))
            .and_then(Value::as_i64)
    };
    let task_level = |field: &str| {
        overrides.get(field).or_else(|| td.get(field)).and_then(Value::as_str).and_then(|v| v.parse::<i64>().ok())
    };
    let per_container = |field: &str, fallback: Option<&str>| -> i64 {
        definitions
            .iter()
            .map(|d| {
                let name = d.get("name").and_then(Value::as_str).unwrap_or_default();
                container_override(name, field)
                    .or_else(|| d.get(field).and_then(Value::as_i64))
                    .or_else(|| {
                        fallback.and_then(|f| container_override(name, f).or_else(|| d.get(f).and_then(Value::as_i64)))
                    })
                    .unwrap_or(0)
            })
            .sum()
    };
    let mut out = Demand {
        cpu: task_level("cpu").unwrap_or_else(|| per_container("cpu", None)),
        memory: task_level("memory").unwrap_or_else(|| per_container("memory", Some("memoryReservation"))),
        group: group.to_owned(),
        ..Demand::default()
    };
    if matches!(network_mode, "bridge" | "host") {
        for m in definitions
            .iter()
            .flat_map(|d| d.get("portMappings").and_then(Value::as_array).cloned().unwrap_or_default())
        {
            let host =
                m.get("hostPort").and_then(Value::as_u64).filter(|p| *p > 0).or_else(|| {
                    (network_mode == "host").then(|| m.get("containerPort").and_then(Value::as_u64)).flatten()
                });
            let Some(port) = host.and_then(|p| u16::try_from(p).ok()) else { continue };
            if m.get("protocol").and_then(Value::as_str) == Some("udp") {
                out.udp_ports.push(port);
            } else {
                out.tcp_ports.push(port);
            }
        }
    }
    out.attributes = td
        .get("requiresAttributes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            Some((a.get("name")?.as_str()?.to_owned(), a.get("value").and_then(Value::as_str).map(str::to_owned)))
        })
        .collect();
    out
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
    let not_found = || ecs_error!(InvalidParameterException, "The referenced task was not found.");
    let id = task_id(&cluster, &input.task).ok_or_else(not_found)?;
    let reason = input.reason.unwrap_or_else(|| "Task stopped by user".to_owned());
    let at = now();
    let updated = ctx
        .store
        .update_task(&key(ctx, &cluster, id), |doc| {
            if doc.get("desiredStatus").and_then(Value::as_str) != Some("STOPPED") {
                doc.insert("desiredStatus".into(), json!("STOPPED"));
                doc.insert("stopCode".into(), json!("UserInitiated"));
                doc.insert("stoppedReason".into(), json!(reason));
                doc.insert("stoppingAt".into(), json!(at));
            }
        })
        .await?
        .ok_or_else(not_found)?;
    let arn = updated.get("taskArn").and_then(Value::as_str).unwrap_or_default().to_owned();
    ctx.tasks.signal_stop(&arn);
    Ok(json!({"task": updated}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeTasksInput {
    cluster: Option<String>,
    tasks: Vec<String>,
    #[serde(default)]
    include: Vec<String>,
}

pub(super) async fn describe_tasks(ctx: &Ctx<'_>, input: DescribeTasksInput) -> Result<Value> {
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    if input.tasks.is_empty() {
        return Err(ecs_error!(InvalidParameterException, "Tasks cannot be empty."));
    }
    if input.tasks.len() > 100 {
        return Err(ecs_error!(InvalidParameterException, "tasks can have at most 100 items."));
    }
    let with_tags = input.include.iter().any(|f| f == "TAGS");
    let mut tasks = Vec::new();
    let mut failures = Vec::new();
    for reference in &input.tasks {
        let found = match task_id(&cluster, reference) {
            Some(id) => ctx.store.get_task(&key(ctx, &cluster, id)).await?,
            None => None,
        };
        match found {
            Some(mut doc) => {
                if with_tags {
                    let arn = doc.get("taskArn").and_then(Value::as_str).unwrap_or_default().to_owned();
                    doc.insert("tags".into(), tags_json(ctx, &arn).await?);
                }
                tasks.push(Value::Object(doc));
            }
            None => {
                failures.push(super::missing(reference, |id| ctx.scope.arn(&format!("task/{}/{id}", cluster.name))))
            }
        }
    }
    Ok(json!({"tasks": tasks, "failures": failures}))
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
    container_instance: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

pub(super) async fn list_tasks(ctx: &Ctx<'_>, input: ListTasksInput) -> Result<Value> {
    const LIST: &str = "ListTasks";
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    let size = paging::page_size(input.max_results, 100, 100)?;
    // No services exist yet: nothing runs for one.
    if input.service_name.is_some() {
        return Ok(json!({"taskArns": []}));
    }
    let instance = match input.container_instance.as_deref() {
        Some(reference) => match super::cluster_scoped_id(&cluster, reference, "container-instance") {
            Some(id) => Some(id.to_owned()),
            None => return Ok(json!({"taskArns": []})),
        },
        None => None,
    };
    let filter = TaskFilter {
        family: input.family.as_deref(),
        started_by: input.started_by.as_deref(),
        launch_type: input.launch_type.as_deref(),
        desired_status: input.desired_status.as_deref().unwrap_or("RUNNING"),
        container_instance: instance.as_deref(),
    };
    let after =
        paging::decode(LIST, input.next_token.as_deref())?.and_then(|k| k.into_iter().next()).unwrap_or_default();
    let mut rows = ctx.store.list_tasks(ctx.region(), &cluster.name, &filter, &after, size + 1).await?;
    let next = paging::next_token(LIST, &mut rows, size, |(id, _)| vec![id.clone()]);
    let arns: Vec<&str> = rows.iter().map(|(_, arn)| arn.as_str()).collect();
    Ok(json!({"taskArns": arns, "nextToken": next}))
}
