//! Starting tasks: what RunTask, StartTask, the service scheduler and the capacity scaler share.
//!
//! A [`Blueprint`] is everything about the tasks to start except where they run, built once from
//! the task definition and the request. [`capacity_plan`] splits a request's count over its
//! launch type or capacity provider strategy (base first, then by weight, as ECS does), and
//! [`launch`] places and stores the tasks and hands them to the task runtime:
//! - FARGATE and FARGATE_SPOT tasks run in the Fargate-like mode, with no instance.
//! - EC2 tasks are placed on the cluster's container instances (those of their capacity
//!   provider when they have one), one placement at a time, so two requests never take the same
//!   free memory.
//! - A task of an Auto Scaling group provider with managed scaling that fits nowhere waits in
//!   PROVISIONING, with what placing it needs, until the scaler ([`super::control`]) adds
//!   capacity for it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

mod capacity;

pub(crate) use capacity::{Capacity, StrategyItem, capacity_options, compatible_launch_type, split};

use super::{Ctx, container_instances, placement};
use crate::domain::now;
use crate::error::Result;
use crate::placement::{Candidate, Demand};
use crate::store::{Claim, ClientToken, Doc, NamedRow, NewTask, Reservation, TaskKey};

/// What starting tasks from a task definition needs besides where they go.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LaunchRequest {
    pub network_configuration: Option<Value>,
    pub overrides: Option<Map<String, Value>>,
    pub started_by: Option<String>,
    pub group: Option<String>,
    pub propagate_tags: Option<String>,
    #[serde(default)]
    pub enable_execute_command: bool,
    pub platform_version: Option<String>,
    pub placement_constraints: Option<Vec<Value>>,
    pub placement_strategy: Option<Vec<Value>>,
}

/// Everything about the tasks to start except where they run.
pub(crate) struct Blueprint {
    pub cluster: NamedRow,
    td: Doc,
    definitions: Vec<Map<String, Value>>,
    td_arn: String,
    pub group: String,
    network_mode: String,
    subnet: Option<String>,
    overrides: Map<String, Value>,
    started_by: Option<String>,
    enable_execute_command: bool,
    platform_version: Option<String>,
    placement_constraints: Vec<Value>,
    placement_strategy: Vec<Value>,
    /// The tags each task gets (the request's, and the task definition's when propagated).
    pub tags: Vec<(String, String)>,
    /// The service the tasks belong to.
    pub service: Option<String>,
}

impl Blueprint {
    /// Checks the request against the task definition and ECS's rules.
    ///
    /// # Errors
    /// InvalidParameterException for overrides of unknown containers or a missing awsvpc
    /// network configuration; ServerException if the store fails.
    pub async fn new(
        ctx: &Ctx<'_>,
        cluster: NamedRow,
        td: Doc,
        request: LaunchRequest,
        tags: Vec<(String, String)>,
    ) -> Result<Self> {
        let network_mode = td.get("networkMode").and_then(Value::as_str).unwrap_or("bridge").to_owned();
        let subnet = request
            .network_configuration
            .as_ref()
            .and_then(|n| n.get("awsvpcConfiguration"))
            .and_then(|a| a.get("subnets"))
            .and_then(Value::as_array)
            .and_then(|s| s.first())
            .and_then(Value::as_str)
            .map(str::to_owned);
        if network_mode == "awsvpc" && subnet.is_none() {
            return Err(aws_error!(
                InvalidParameterException,
                "Network Configuration must be provided when networkMode 'awsvpc' is specified."
            ));
        }
        let definitions: Vec<Map<String, Value>> = td
            .get("containerDefinitions")
            .and_then(Value::as_array)
            .map(|cs| cs.iter().filter_map(|c| c.as_object().cloned()).collect())
            .unwrap_or_default();
        let overrides = request.overrides.unwrap_or_default();
        for o in overrides.get("containerOverrides").and_then(Value::as_array).into_iter().flatten() {
            let name = o.get("name").and_then(Value::as_str).unwrap_or_default();
            if !definitions.iter().any(|d| d.get("name").and_then(Value::as_str) == Some(name)) {
                return Err(aws_error!(
                    InvalidParameterException,
                    "Override for container named {name} is not a container in the TaskDefinition."
                ));
            }
        }
        let td_arn = td.get("taskDefinitionArn").and_then(Value::as_str).unwrap_or_default().to_owned();
        let family = td.get("family").and_then(Value::as_str).unwrap_or_default();
        let group = request.group.unwrap_or_else(|| format!("family:{family}"));
        let mut tags = tags;
        if request.propagate_tags.as_deref() == Some("TASK_DEFINITION") {
            for (k, v) in ctx.store.get_tags(&td_arn).await? {
                if !tags.iter().any(|(existing, _)| *existing == k) {
                    tags.push((k, v));
                }
            }
        }
        Ok(Self {
            cluster,
            td,
            definitions,
            td_arn,
            group,
            network_mode,
            subnet,
            overrides,
            started_by: request.started_by,
            enable_execute_command: request.enable_execute_command,
            platform_version: request.platform_version,
            placement_constraints: request.placement_constraints.unwrap_or_default(),
            placement_strategy: request.placement_strategy.unwrap_or_default(),
            tags,
            service: None,
        })
    }

    /// What one task needs from a container instance.
    pub(crate) fn demand(&self) -> Demand {
        demand(&self.td, &self.definitions, &self.overrides, &self.network_mode, &self.group)
    }

    /// A new task, PROVISIONING, on `instance` (EC2) or none (Fargate, or waiting for capacity).
    fn task(
        &self,
        ctx: &Ctx<'_>,
        capacity: &Capacity,
        instance: Option<&Candidate>,
        reserved: Option<Reservation>,
    ) -> NewTask {
        let cluster = &self.cluster;
        // A Fargate-like task may take a holder started for it in advance (see scheduler::warm).
        let warm = match capacity {
            Capacity::Fargate(_) => {
                ctx.tasks.take_warm_holder(ctx.region(), &cluster.name, &self.network_mode, &self.definitions)
            }
            Capacity::Ec2(_) | Capacity::External | Capacity::ManagedInstances(_) => None,
        };
        let id = warm.unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        let arn = ctx.scope.arn(&format!("task/{}/{id}", cluster.name));
        let containers: Vec<Value> = self
            .definitions
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
        let td = &self.td;
        let mut doc = Doc::new();
        doc.insert("taskArn".into(), json!(arn));
        doc.insert("clusterArn".into(), json!(cluster.arn));
        doc.insert("taskDefinitionArn".into(), json!(self.td_arn));
        doc.insert("containers".into(), json!(containers));
        doc.insert("lastStatus".into(), json!("PROVISIONING"));
        doc.insert("desiredStatus".into(), json!("RUNNING"));
        doc.insert("createdAt".into(), json!(now()));
        doc.insert("launchType".into(), json!(capacity.launch_type()));
        if let Some(p) = capacity.provider() {
            doc.insert("capacityProviderName".into(), json!(p));
        }
        if let Some(c) = instance {
            place_on(&mut doc, c);
        } else if matches!(capacity, Capacity::Fargate(_)) {
            doc.insert("availabilityZone".into(), json!(format!("{}a", ctx.region())));
            doc.insert(
                "platformVersion".into(),
                json!(match self.platform_version.as_deref() {
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
        // The task-level size, when the definition has one (an EC2 definition need not).
        for size in ["cpu", "memory"] {
            if let Some(value) = td.get(size) {
                doc.insert(size.into(), value.clone());
            }
        }
        doc.insert("group".into(), json!(self.group));
        if let Some(by) = &self.started_by {
            doc.insert("startedBy".into(), json!(by));
        }
        let mut task_overrides = self.overrides.clone();
        task_overrides.entry("containerOverrides").or_insert(json!([]));
        task_overrides.entry("inferenceAcceleratorOverrides").or_insert(json!([]));
        doc.insert("overrides".into(), Value::Object(task_overrides));
        doc.insert("enableExecuteCommand".into(), json!(self.enable_execute_command));
        doc.insert("healthStatus".into(), json!("UNKNOWN"));
        doc.insert("version".into(), json!(1));
        let attachments = match &self.subnet {
            Some(subnet) if self.network_mode == "awsvpc" => json!([{
                "id": uuid::Uuid::new_v4().to_string(),
                "type": "ElasticNetworkInterface",
                "status": "PRECREATED",
                "details": [{"name": "subnetId", "value": subnet}],
            }]),
            _ => json!([]),
        };
        doc.insert("attachments".into(), attachments);
        doc.retain(|_, v| !v.is_null());
        let key = TaskKey { region: ctx.region().to_owned(), cluster: cluster.name.clone(), id };
        NewTask { key, doc, reserved, awaiting: None, service: self.service.clone(), tags: self.tags.clone() }
    }
}

/// Records in a task where it runs: its container instance and that instance's zone.
pub(crate) fn place_on(doc: &mut Doc, instance: &Candidate) {
    doc.insert("containerInstanceArn".into(), json!(instance.arn));
    let zone = instance.attributes.get("ecs.availability-zone").cloned().flatten().unwrap_or_default();
    doc.insert("availabilityZone".into(), json!(zone));
}

/// Asks a task to stop: desired STOPPED with `code` and `reason` (unless it is stopping
/// already), its driver woken; a task still waiting for capacity has nothing to stop and is
/// STOPPED at once. Answers the task as stored, None if there is no such task.
///
/// # Errors
/// `ServerException` if the store fails.
pub(crate) async fn stop(ctx: &Ctx<'_>, key: &TaskKey, code: &str, reason: &str) -> Result<Option<Doc>> {
    let at = now();
    let updated = ctx
        .store
        .update_task(key, |doc| {
            if doc.get("desiredStatus").and_then(Value::as_str) != Some("STOPPED") {
                doc.insert("desiredStatus".into(), json!("STOPPED"));
                doc.insert("stopCode".into(), json!(code));
                doc.insert("stoppedReason".into(), json!(reason));
                doc.insert("stoppingAt".into(), json!(at));
            }
        })
        .await?;
    let Some(updated) = updated else { return Ok(None) };
    ctx.tasks.signal_stop(updated.get("taskArn").and_then(Value::as_str).unwrap_or_default());
    // Only an EC2 or Managed Instances task still PROVISIONING without an instance can be waiting for capacity.
    let may_wait = updated.get("lastStatus").and_then(Value::as_str) == Some("PROVISIONING")
        && matches!(updated.get("launchType").and_then(Value::as_str), Some("EC2" | "MANAGED_INSTANCES"))
        && updated.get("containerInstanceArn").is_none();
    if may_wait && let Some(stopped) = ctx.store.settle_awaiting_task(key, None, stopped_waiting).await? {
        return Ok(Some(stopped));
    }
    Ok(Some(updated))
}

/// Records a task that waited for capacity as STOPPED (its desired status says why).
pub(crate) fn stopped_waiting(doc: &mut Doc) {
    let at = now();
    doc.insert("lastStatus".into(), json!("STOPPED"));
    doc.insert("desiredStatus".into(), json!("STOPPED"));
    doc.entry("stoppingAt").or_insert(json!(at));
    doc.insert("stoppedAt".into(), json!(at));
    doc.insert("executionStoppedAt".into(), json!(at));
}

/// What a task waiting for capacity keeps until the scaler places it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Awaiting {
    pub provider: String,
    pub demand: Reservation,
    pub attributes: Vec<(String, Option<String>)>,
    pub group: String,
    pub constraints: Vec<Value>,
    pub strategies: Vec<Value>,
}

impl Awaiting {
    /// The demand it places with.
    pub fn demand(&self) -> Demand {
        Demand {
            cpu: self.demand.cpu,
            memory: self.demand.memory,
            tcp_ports: self.demand.tcp.clone(),
            udp_ports: self.demand.udp.clone(),
            eni: self.demand.eni,
            attributes: self.attributes.clone(),
            group: self.group.clone(),
        }
    }
}

fn reservation(demand: &Demand) -> Reservation {
    Reservation {
        cpu: demand.cpu,
        memory: demand.memory,
        tcp: demand.tcp_ports.clone(),
        udp: demand.udp_ports.clone(),
        eni: demand.eni,
    }
}

/// What [`launch`] did.
pub(crate) struct Launched {
    /// The tasks stored (and handed to the runtime), as DescribeTasks shows them.
    pub tasks: Vec<Doc>,
    /// RunTask's failures: the instances refused, with why.
    pub failures: Vec<Value>,
    /// When the client token was seen before: the earlier request's claim (nothing started).
    pub claim: Option<Claim>,
}

/// Places, stores and starts tasks of `blueprint`: `count` on each capacity of `plan`, or (and
/// then `plan` is ignored) one on each of the `chosen` instances (StartTask).
///
/// # Errors
/// InvalidParameterException for a constraint or strategy ECS refuses, or EC2 tasks in a
/// cluster without instances; ServerException if the store fails.
pub(crate) async fn launch(
    ctx: &Ctx<'_>,
    blueprint: &Blueprint,
    plan: &[(Capacity, usize)],
    chosen: Option<&[String]>,
    token: Option<&ClientToken<'_>>,
) -> Result<Launched> {
    let cluster = &blueprint.cluster;
    // The tags are stored with the tasks, all in one transaction: refused here, not after.
    let keys: std::collections::HashSet<&str> = blueprint.tags.iter().map(|(k, _)| k.as_str()).collect();
    super::tags::check_tag_count(keys.len())?;
    let plan = if chosen.is_some() { &[] } else { plan };
    let mut created = Vec::new();
    let mut failures = Vec::new();
    let on_instances = |c: &Capacity| !matches!(c, Capacity::Fargate(_));
    let ec2 = plan.iter().any(|(c, n)| on_instances(c) && *n > 0) || chosen.is_some();
    let only_external = plan.iter().all(|(c, n)| matches!(c, Capacity::External) || *n == 0) && chosen.is_none();
    // One placement at a time, from reading the instances to storing the tasks: two launches
    // never both take an instance's last free memory.
    let _placing = if ec2 { Some(ctx.tasks.placement_lock().await) } else { None };
    if ec2 {
        // berth's own instances stand in for EC2 ones; external instances register themselves.
        if !only_external {
            container_instances::ensure_instances(ctx, cluster).await?;
        }
        let (registered, _) = ctx.store.count_instances(ctx.region(), &cluster.name).await?;
        if registered == 0 && !plan.iter().any(|(c, _)| c.provider().is_some()) {
            return Err(aws_error!(InvalidParameterException, "No Container Instances were found in your cluster."));
        }
    }
    let demand = blueprint.demand();
    let reserved = reservation(&demand);
    for (capacity, count) in plan.iter().filter(|(_, n)| *n > 0) {
        let (provider, external) = match capacity {
            Capacity::Ec2(provider) => (provider.as_deref(), false),
            Capacity::ManagedInstances(provider) => (Some(provider.as_str()), false),
            Capacity::External => (None, true),
            Capacity::Fargate(_) => {
                created.extend((0..*count).map(|_| blueprint.task(ctx, capacity, None, None)));
                continue;
            }
        };
        let constraints = placement::constraints(&blueprint.td, Some(&blueprint.placement_constraints))?;
        let strategies = placement::strategies(Some(&blueprint.placement_strategy))?;
        let usage = container_instances::usage(ctx, cluster).await?;
        let rows = ctx.store.list_instances(ctx.region(), &cluster.name, Some("ACTIVE"), "", u32::MAX).await?;
        // A Managed Instances instance takes tasks once it runs its daemons.
        let unready = match capacity {
            Capacity::ManagedInstances(p) => super::daemons::unready_instances(ctx, &cluster.name, p).await?,
            _ => std::collections::HashSet::new(),
        };
        let mut candidates: Vec<Candidate> = rows
            .iter()
            .filter(|r| container_instances::is_external(r) == external && !unready.contains(&r.id))
            .filter(|r| provider.is_none() || container_instances::provider_of(r) == provider)
            .map(|r| container_instances::candidate(r, &usage))
            .collect();
        if external && candidates.is_empty() {
            // berth's own instances are not external: without one, EXTERNAL has nowhere to go.
            return Err(aws_error!(InvalidParameterException, "No Container Instances were found in your cluster."));
        }
        let mut random = || uuid::Uuid::new_v4().as_u64_pair().0;
        let placed = crate::placement::place(&mut candidates, &demand, &constraints, &strategies, *count, &mut random);
        for &i in &placed.placed {
            created.push(blueprint.task(ctx, capacity, candidates.get(i), Some(reserved.clone())));
        }
        let unplaced = count - placed.placed.len();
        let scaling = match provider {
            Some(p) => super::capacity_providers::managed_scaling(ctx, p).await?,
            None => false,
        };
        if unplaced > 0 && scaling {
            // Cluster auto scaling: the rest wait in PROVISIONING for the scaler to add capacity.
            let awaiting = Awaiting {
                provider: provider.unwrap_or_default().to_owned(),
                demand: reserved.clone(),
                attributes: demand.attributes.clone(),
                group: demand.group.clone(),
                constraints: blueprint.placement_constraints.clone(),
                strategies: blueprint.placement_strategy.clone(),
            };
            let text = serde_json::to_string(&awaiting).unwrap_or_default();
            for _ in 0..unplaced {
                let mut task = blueprint.task(ctx, capacity, None, None);
                task.awaiting = Some(text.clone());
                created.push(task);
            }
        } else {
            failures.extend(placed.failures.iter().map(|(arn, reason)| json!({"arn": arn, "reason": reason.as_str()})));
        }
    }
    if let Some(references) = chosen {
        let usage = container_instances::usage(ctx, cluster).await?;
        let constraints = placement::constraints(&blueprint.td, None)?;
        for reference in references {
            match container_instances::find(ctx, cluster, reference).await? {
                None => failures.push(super::missing(reference, |id| {
                    ctx.scope.arn(&format!("container-instance/{}/{id}", cluster.name))
                })),
                Some(row) if row.status == "INACTIVE" => {
                    failures.push(json!({"arn": row.arn, "reason": "INACTIVE"}));
                }
                Some(row) => {
                    let c = container_instances::candidate(&row, &usage);
                    match crate::placement::refusal(&c, &demand, &constraints) {
                        Some(reason) => failures.push(json!({"arn": row.arn, "reason": reason.as_str()})),
                        None => {
                            let managed = super::clusters::managed_instances_providers_of(cluster);
                            let capacity = match container_instances::provider_of(&row) {
                                _ if container_instances::is_external(&row) => Capacity::External,
                                Some(p) if managed.contains(&p) => Capacity::ManagedInstances(p.to_owned()),
                                _ => Capacity::Ec2(None),
                            };
                            created.push(blueprint.task(ctx, &capacity, Some(&c), Some(reserved.clone())));
                        }
                    }
                }
            }
        }
    }
    // The tasks controller starts the stored tasks, but not those that wait for capacity (the
    // capacity controller places them first), nor those of external instances (their agents do).
    let external = |t: &NewTask| t.doc.get("launchType").and_then(Value::as_str) == Some("EXTERNAL");
    let starting = || created.iter().filter(|t| t.awaiting.is_none() && !external(t)).map(|t| t.key.id.as_str());
    ctx.tasks.will_start(starting());
    let claim = match ctx.store.insert_tasks(&created, token).await {
        Ok(None) => None,
        stored => {
            // Not stored (a replay of an earlier request's token, or a failed write): the warm
            // holders some of these tasks took go back.
            ctx.tasks.forget_starts(starting());
            let ids = created.iter().map(|t| t.key.id.as_str());
            ctx.tasks.give_back_warm_holders(ctx.region(), &cluster.name, ids).await;
            stored?
        }
    };
    if claim.is_some() {
        return Ok(Launched { tasks: Vec::new(), failures: Vec::new(), claim });
    }
    let tasks = created.into_iter().map(|NewTask { doc, .. }| doc).collect();
    Ok(Launched { tasks, failures, claim: None })
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
    if network_mode == "awsvpc" {
        out.eni = 1;
    }
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
