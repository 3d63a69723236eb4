//! Container instances: RegisterContainerInstance, DescribeContainerInstances,
//! ListContainerInstances (status and the cluster query language), UpdateContainerInstancesState
//! (DRAINING hands service tasks to the scheduler), DeregisterContainerInstance.
//!
//! Each cluster gets berth's own instances on first use (`--instances`, two t3.medium by
//! default), virtual EC2 instances backed by berth's Docker engine and spread over the region's
//! zones; they report what the ECS agent reports.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ctx, capacity_providers, clusters, paging};
use crate::domain::instance::{self, AGENT_VERSION, RESERVED_PORTS};
use crate::domain::now;
use crate::error::Result;
use crate::placement::{Candidate, query};
use crate::store::{AttributeFilter, AttributeRow, Doc, InstanceRow, InstanceTask, NamedRow, TaskFilter, TaskKey};

/// Gives the cluster berth's instances on first use: `--instances` of them on each engine
/// unless the cluster uses Auto Scaling group providers (or has, or had, instances); and for
/// each of its providers without managed scaling, a group of `--instances` instances. Callers
/// hold the placement lock, so two first uses do not both provision.
///
/// # Errors
/// `ServerException` if the store fails.
pub(super) async fn ensure_instances(ctx: &Ctx<'_>, cluster: &NamedRow) -> Result<()> {
    let providers: Vec<String> = clusters::providers_of(cluster)
        .into_iter()
        .filter(|p| !matches!(*p, "FARGATE" | "FARGATE_SPOT"))
        .map(str::to_owned)
        .collect();
    let engines: Vec<usize> = (0..ctx.tasks.engine_count()).collect();
    if providers.is_empty() {
        let (registered, _) = ctx.store.count_instances(ctx.region(), &cluster.name).await?;
        if registered == 0 && ctx.fleet.count > 0 {
            let per_engine = ctx.fleet.count as usize;
            let rows = new_instances(ctx, cluster, &engines, per_engine, &ctx.fleet.instance_type, None, 0).await;
            ctx.store.provision_instances(ctx.region(), &cluster.name, &rows).await?;
        }
        return Ok(());
    }
    for provider in providers {
        let Some(group) = capacity_providers::group(ctx, &provider).await? else { continue };
        if group.scaling.is_some() {
            continue;
        }
        let had = ctx.store.provider_instances(ctx.region(), &cluster.name, &provider, true).await?;
        if had.is_empty() && ctx.fleet.count > 0 {
            let per_engine = ctx.fleet.count as usize;
            let rows =
                new_instances(ctx, cluster, &engines, per_engine, &group.instance_type, Some(&provider), 0).await;
            ctx.store.add_instances(ctx.region(), &cluster.name, &rows).await?;
        }
    }
    Ok(())
}

/// New instances of berth's for `cluster` (not stored): `per_engine` of `instance_type` on each
/// of `engines`, in `provider`'s group if given, zones going round from the `first`th.
pub(crate) async fn new_instances(
    ctx: &Ctx<'_>,
    cluster: &NamedRow,
    engines: &[usize],
    per_engine: usize,
    instance_type: &str,
    provider: Option<&str>,
    first: usize,
) -> Vec<InstanceRow> {
    let Some((cpu, memory)) = instance::resources(instance_type) else { return Vec::new() };
    let zones = instance::zones(ctx.region());
    let ports: Vec<String> = RESERVED_PORTS.iter().map(|p| (*p).to_owned()).collect();
    let registered_at = now();
    let mut rows = Vec::new();
    for &engine in engines {
        let version = match ctx.tasks.docker_at(engine).await {
            Ok(docker) => docker.version().await.ok(),
            Err(_) => None,
        };
        let (docker_version, arch) = version.clone().unwrap_or_default();
        for _ in 0..per_engine {
            let zone = &zones[(first + rows.len()) % zones.len()];
            let id = uuid::Uuid::new_v4().simple().to_string();
            let arn = ctx.scope.arn(&format!("container-instance/{}/{id}", cluster.name));
            let ec2 = format!("i-{}", &uuid::Uuid::new_v4().simple().to_string()[..17]);
            let agent = Agent {
                version_info: version_info(&docker_version),
                resources: vec![
                    instance::integer_resource("CPU", cpu),
                    instance::integer_resource("MEMORY", memory),
                    instance::ports_resource("PORTS", &ports),
                    instance::ports_resource("PORTS_UDP", &[]),
                ],
                attributes: instance::agent_attributes(instance_type, zone, &arch),
                // Registered; whether it is connected follows its engine (see `Usage`).
                connected: true,
            };
            let mut doc = instance_doc(&arn, &ec2, agent, registered_at);
            if let Some(p) = provider {
                doc.insert("capacityProviderName".into(), json!(p));
            }
            rows.push(InstanceRow { id, arn, status: "ACTIVE".into(), engine, doc });
        }
    }
    rows
}

/// The attribute an agent in external mode registers with.
const EXTERNAL_CAPABILITY: &str = "ecs.capability.external";

/// Whether an instance is an external one (ECS Anywhere): its id is the Systems Manager managed
/// instance id (`mi-...`) its agent registered with, not an EC2 instance id. Its own agent runs
/// its tasks; berth only records what the agent reports.
pub(crate) fn is_external(row: &InstanceRow) -> bool {
    row.doc.get("ec2InstanceId").and_then(Value::as_str).is_some_and(|id| id.starts_with("mi-"))
}

/// The Auto Scaling group provider an instance belongs to, if any.
pub(crate) fn provider_of(row: &InstanceRow) -> Option<&str> {
    row.doc.get("capacityProviderName").and_then(Value::as_str)
}

/// Ends one of berth's instances (a group shrinking, its provider deleted, a Managed Instances
/// instance replaced): the tasks still on it are stopped (`TerminationNotice`, with `reason`)
/// and it goes INACTIVE, its agent disconnected.
///
/// # Errors
/// `ServerException` if the store fails.
pub(crate) async fn terminate(ctx: &Ctx<'_>, cluster: &str, row: &InstanceRow, reason: &str) -> Result<()> {
    let filter = TaskFilter { desired_status: "RUNNING", container_instance: Some(&row.id), ..TaskFilter::default() };
    for (id, _) in ctx.store.list_tasks(ctx.region(), cluster, &filter, "", u32::MAX).await? {
        let key = TaskKey { region: ctx.region().to_owned(), cluster: cluster.to_owned(), id };
        super::launch::stop(ctx, &key, "TerminationNotice", reason).await?;
    }
    let mut gone = row.clone();
    gone.status = "INACTIVE".into();
    gone.doc.insert("status".into(), json!("INACTIVE"));
    gone.doc.insert("agentConnected".into(), json!(false));
    ctx.store.put_instance(ctx.region(), cluster, &gone).await?;
    Ok(())
}

/// What a cluster's instances carry besides their own documents: the unstopped tasks on them
/// and the custom attributes PutAttributes gave them.
#[derive(Default)]
pub(crate) struct Usage {
    tasks: Vec<InstanceTask>,
    custom: Vec<AttributeRow>,
    /// Which of berth's Docker engines answer: an instance's agent is connected while its
    /// engine is.
    engines_up: Vec<bool>,
}

impl Usage {
    /// Whether an instance (by id) has unstopped tasks other than daemon tasks (an instance
    /// that runs only its daemons is idle).
    pub(crate) fn has_tasks(&self, instance: &str) -> bool {
        self.tasks.iter().any(|t| t.instance == instance && !t.group.starts_with(super::daemons::GROUP_PREFIX))
    }
}

/// Reads a cluster's [`Usage`].
///
/// # Errors
/// `ServerException` if the store fails.
pub(crate) async fn usage(ctx: &Ctx<'_>, cluster: &NamedRow) -> Result<Usage> {
    let tasks = ctx.store.instance_tasks(ctx.region(), &cluster.name).await?;
    let filter = AttributeFilter { cluster: &cluster.name, target_type: "container-instance", name: None, value: None };
    let custom = ctx.store.list_attributes(ctx.region(), filter, None, u32::MAX).await?;
    let engines_up = ctx.tasks.engines_up().await;
    Ok(Usage { tasks, custom, engines_up })
}

/// What an agent registers.
struct Agent {
    version_info: Value,
    resources: Vec<Value>,
    attributes: Vec<Value>,
    connected: bool,
}

fn version_info(docker_version: &str) -> Value {
    json!({
        "agentVersion": AGENT_VERSION,
        "agentHash": "berth",
        "dockerVersion": format!("DockerVersion: {}", if docker_version.is_empty() { "unknown" } else { docker_version }),
    })
}

/// A container instance's stored document (without what derives from its tasks).
fn instance_doc(arn: &str, ec2_instance_id: &str, agent: Agent, registered_at: f64) -> Doc {
    let mut doc = Doc::new();
    doc.insert("containerInstanceArn".into(), json!(arn));
    doc.insert("ec2InstanceId".into(), json!(ec2_instance_id));
    doc.insert("version".into(), json!(1));
    doc.insert("versionInfo".into(), agent.version_info);
    doc.insert("registeredResources".into(), json!(agent.resources));
    doc.insert("status".into(), json!("ACTIVE"));
    doc.insert("agentConnected".into(), json!(agent.connected));
    doc.insert("attributes".into(), json!(agent.attributes));
    doc.insert("registeredAt".into(), json!(registered_at));
    doc.insert("attachments".into(), json!([]));
    doc
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RegisterContainerInstanceInput {
    cluster: Option<String>,
    instance_identity_document: Option<String>,
    total_resources: Option<Vec<Value>>,
    version_info: Option<Value>,
    container_instance_arn: Option<String>,
    #[serde(default)]
    attributes: Vec<Value>,
    #[serde(default)]
    tags: Vec<super::tags::Tag>,
}

/// RegisterContainerInstance, as an ECS agent (or a script standing in for one) calls it: the
/// instance's identity document names its instance id, type and zone; its resources default to
/// those of its type; a `containerInstanceArn` re-registers an instance of the cluster.
pub(super) async fn register_container_instance(ctx: &Ctx<'_>, input: RegisterContainerInstanceInput) -> Result<Value> {
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    let tags = super::tags::check_tags(&input.tags)?;
    let identity: Value = match input.instance_identity_document.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            aws_error!(InvalidParameterException, "instanceIdentityDocument is not a JSON document: {e}")
        })?,
        None => json!({}),
    };
    let field = |name: &str| identity.get(name).and_then(Value::as_str).map(str::to_owned);
    let instance_type = field("instanceType").unwrap_or_else(|| ctx.fleet.instance_type.clone());
    let zone = field("availabilityZone").unwrap_or_else(|| format!("{}a", ctx.region()));
    // An agent in external mode (ECS Anywhere) sends an empty identity document and the
    // ecs.capability.external attribute; its instance is named by a Systems Manager id.
    let external = input.attributes.iter().any(|a| a.get("name").and_then(Value::as_str) == Some(EXTERNAL_CAPABILITY))
        || field("instanceId").is_some_and(|id| id.starts_with("mi-"));
    let prefix = if external { "mi" } else { "i" };
    let ec2 =
        field("instanceId").unwrap_or_else(|| format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..17]));
    let (id, arn) = match &input.container_instance_arn {
        Some(reference) => {
            let Some(existing) = find(ctx, &cluster, reference).await? else {
                return Err(aws_error!(InvalidParameterException, "The referenced container instance was not found."));
            };
            (existing.id, existing.arn)
        }
        None => {
            let id = uuid::Uuid::new_v4().simple().to_string();
            let arn = ctx.scope.arn(&format!("container-instance/{}/{id}", cluster.name));
            (id, arn)
        }
    };
    let resources = match input.total_resources {
        Some(given) if !given.is_empty() => given,
        _ => {
            let (cpu, memory) = instance::resources(&instance_type).unwrap_or((2048, 3933));
            let ports: Vec<String> = RESERVED_PORTS.iter().map(|p| (*p).to_owned()).collect();
            vec![
                instance::integer_resource("CPU", cpu),
                instance::integer_resource("MEMORY", memory),
                instance::ports_resource("PORTS", &ports),
                instance::ports_resource("PORTS_UDP", &[]),
            ]
        }
    };
    let mut attributes = instance::agent_attributes(&instance_type, &zone, "amd64");
    if external {
        // What the agent leaves out in external mode: task ENIs (no awsvpc) and EC2's own facts.
        attributes.retain(|a| {
            let name = a.get("name").and_then(Value::as_str).unwrap_or_default();
            let ec2_only = ["ecs.instance-type", "ecs.ami-id", "ecs.vpc-id", "ecs.subnet-id"].contains(&name);
            !ec2_only && !name.starts_with("ecs.capability.task-eni")
        });
        attributes.push(json!({"name": EXTERNAL_CAPABILITY}));
    }
    for a in input.attributes {
        let name = a.get("name").cloned();
        attributes.retain(|existing| existing.get("name") != name.as_ref());
        attributes.push(json!({"name": a.get("name"), "value": a.get("value")}));
    }
    let agent = Agent {
        version_info: input.version_info.unwrap_or_else(|| version_info("")),
        resources,
        attributes,
        connected: true,
    };
    let row = InstanceRow {
        id,
        arn: arn.clone(),
        status: "ACTIVE".into(),
        engine: 0,
        doc: instance_doc(&arn, &ec2, agent, now()),
    };
    ctx.store.register_instance(ctx.region(), &cluster.name, &row).await?;
    super::tags::store_tags(ctx, &arn, &tags).await?;
    let usage = usage(ctx, &cluster).await?;
    // Daemon services and services with tasks on a draining instance react.
    Ok(json!({"containerInstance": instance_json(&row, &usage)}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UpdateContainerAgentInput {
    cluster: Option<String>,
    container_instance: String,
}

/// UpdateContainerAgent: berth's agents are current, so there is never an update, as AWS
/// answers for an agent at the latest version.
pub(super) async fn update_container_agent(ctx: &Ctx<'_>, input: UpdateContainerAgentInput) -> Result<Value> {
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    ensure_instances(ctx, &cluster).await?;
    match find(ctx, &cluster, &input.container_instance).await? {
        Some(row) if row.status != "INACTIVE" => {
            Err(aws_error!(NoUpdateAvailableException, "There is no update available for your container agent."))
        }
        _ => Err(aws_error!(InvalidParameterException, "The referenced container instance was not found.")),
    }
}

/// An instance as placement sees it: registered resources less what its unstopped tasks
/// reserve, its ports in use, the groups of its tasks meant to run, its agent's and its custom
/// attributes.
pub(crate) fn candidate(row: &InstanceRow, usage: &Usage) -> Candidate {
    let resources = row.doc.get("registeredResources").and_then(Value::as_array).cloned().unwrap_or_default();
    let integer = |name: &str| {
        resources
            .iter()
            .find(|r| r.get("name") == Some(&json!(name)))
            .and_then(|r| r.get("integerValue"))
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    let ports = |name: &str| -> BTreeSet<u16> {
        resources
            .iter()
            .find(|r| r.get("name") == Some(&json!(name)))
            .and_then(|r| r.get("stringSetValue"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str()?.parse().ok())
            .collect()
    };
    let mut c = Candidate {
        arn: row.arn.clone(),
        ec2_instance_id: row.doc.get("ec2InstanceId").and_then(Value::as_str).unwrap_or_default().to_owned(),
        active: row.status == "ACTIVE",
        agent_connected: row.doc.get("agentConnected").and_then(Value::as_bool).unwrap_or(false)
            && usage.engines_up.get(row.engine).copied().unwrap_or(true),
        agent_version: AGENT_VERSION.to_owned(),
        registered_at: row
            .doc
            .get("registeredAt")
            .and_then(Value::as_f64)
            .map(crate::domain::rfc3339)
            .unwrap_or_default(),
        attributes: row
            .doc
            .get("attributes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|a| {
                Some((a.get("name")?.as_str()?.to_owned(), a.get("value").and_then(Value::as_str).map(str::to_owned)))
            })
            .collect(),
        remaining_cpu: integer("CPU"),
        remaining_memory: integer("MEMORY"),
        used_tcp_ports: ports("PORTS"),
        used_udp_ports: ports("PORTS_UDP"),
        remaining_enis: i64::MAX,
        task_groups: Vec::new(),
    };
    // An instance of a known type has its interfaces; one registered by a client without a
    // type berth knows is not limited.
    if let Some(enis) = c.attributes.get("ecs.instance-type").cloned().flatten().and_then(|t| instance::task_enis(&t)) {
        c.remaining_enis = enis;
    }
    for a in usage.custom.iter().filter(|a| a.target_id == row.arn) {
        c.attributes.insert(a.name.clone(), a.value.clone());
    }
    for t in usage.tasks.iter().filter(|t| t.instance == row.id) {
        c.remaining_cpu -= t.reserved.cpu;
        c.remaining_memory -= t.reserved.memory;
        c.used_tcp_ports.extend(&t.reserved.tcp);
        c.used_udp_ports.extend(&t.reserved.udp);
        c.remaining_enis -= t.reserved.eni;
        if t.desired_status == "RUNNING" {
            c.task_groups.push(t.group.clone());
        }
    }
    c
}

/// The ContainerInstance shape: the stored document plus what derives from its tasks
/// (remainingResources, runningTasksCount, pendingTasksCount).
fn instance_json(row: &InstanceRow, usage: &Usage) -> Value {
    let c = candidate(row, usage);
    let mut out = row.doc.clone();
    if let Some(Value::Array(attributes)) = out.get_mut("attributes") {
        for a in usage.custom.iter().filter(|a| a.target_id == row.arn) {
            attributes.push(json!({"name": a.name, "value": a.value}));
        }
    }
    let strings = |ports: &BTreeSet<u16>| ports.iter().map(ToString::to_string).collect::<Vec<_>>();
    out.insert("status".into(), json!(row.status));
    out.insert("agentConnected".into(), json!(c.agent_connected));
    out.insert(
        "remainingResources".into(),
        json!([
            instance::integer_resource("CPU", c.remaining_cpu),
            instance::integer_resource("MEMORY", c.remaining_memory),
            instance::ports_resource("PORTS", &strings(&c.used_tcp_ports)),
            instance::ports_resource("PORTS_UDP", &strings(&c.used_udp_ports)),
        ]),
    );
    let mine = || usage.tasks.iter().filter(|t| t.instance == row.id);
    out.insert("runningTasksCount".into(), json!(mine().filter(|t| t.last_status == "RUNNING").count()));
    out.insert(
        "pendingTasksCount".into(),
        json!(mine().filter(|t| matches!(t.last_status.as_str(), "PROVISIONING" | "PENDING" | "ACTIVATING")).count()),
    );
    Value::Object(out)
}

/// The instance a reference (id or ARN) names in the cluster, in any status.
pub(super) async fn find(ctx: &Ctx<'_>, cluster: &NamedRow, reference: &str) -> Result<Option<InstanceRow>> {
    match super::cluster_scoped_id(cluster, reference, "container-instance") {
        Some(id) => Ok(ctx.store.get_instance(ctx.region(), &cluster.name, id).await?),
        None => Ok(None),
    }
}

fn missing(ctx: &Ctx<'_>, cluster: &NamedRow, reference: &str) -> Value {
    super::missing(reference, |id| ctx.scope.arn(&format!("container-instance/{}/{id}", cluster.name)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeContainerInstancesInput {
    cluster: Option<String>,
    container_instances: Vec<String>,
    #[serde(default)]
    include: Vec<String>,
}

pub(super) async fn describe_container_instances(
    ctx: &Ctx<'_>,
    input: DescribeContainerInstancesInput,
) -> Result<Value> {
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    if input.container_instances.is_empty() {
        return Err(aws_error!(InvalidParameterException, "Container instances cannot be empty."));
    }
    if input.container_instances.len() > 100 {
        return Err(aws_error!(InvalidParameterException, "containerInstances can have at most 100 items."));
    }
    ensure_instances(ctx, &cluster).await?;
    let usage = usage(ctx, &cluster).await?;
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for reference in &input.container_instances {
        match find(ctx, &cluster, reference).await? {
            Some(row) => {
                let mut out = instance_json(&row, &usage);
                if input.include.iter().any(|i| i == "TAGS") {
                    out["tags"] = super::tags::tags_json(ctx, &row.arn).await?;
                }
                if input.include.iter().any(|i| i == "CONTAINER_INSTANCE_HEALTH") {
                    out["healthStatus"] = json!({"overallStatus": "OK", "details": [
                        {"type": "CONTAINER_RUNTIME", "status": "OK", "lastUpdated": now(), "lastStatusChange": row.doc.get("registeredAt").cloned().unwrap_or(json!(0))}
                    ]});
                }
                found.push(out);
            }
            None => failures.push(missing(ctx, &cluster, reference)),
        }
    }
    Ok(json!({"containerInstances": found, "failures": failures}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListContainerInstancesInput {
    cluster: Option<String>,
    filter: Option<String>,
    status: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

pub(super) async fn list_container_instances(ctx: &Ctx<'_>, input: ListContainerInstancesInput) -> Result<Value> {
    const LIST: &str = "ListContainerInstances";
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    let size = paging::page_size(input.max_results, 100, 100)?;
    let filter = match input.filter.as_deref() {
        Some(text) => Some(query::parse(text).map_err(|e| aws_error!(InvalidParameterException, "{e}"))?),
        None => None,
    };
    ensure_instances(ctx, &cluster).await?;
    // A filter may ask about tasks, attributes and engines: read them only for one.
    let filter = match filter {
        Some(expr) => Some((expr, usage(ctx, &cluster).await?)),
        None => None,
    };
    let status = input.status.as_deref().map(|s| if s == "DEREGISTERING" { "INACTIVE" } else { s });
    let mut after =
        paging::decode(LIST, input.next_token.as_deref())?.and_then(|k| k.into_iter().next()).unwrap_or_default();
    // A filter drops rows after the range query: read on until a page is full or rows run out.
    let mut rows = Vec::new();
    loop {
        let batch = ctx.store.list_instances(ctx.region(), &cluster.name, status, &after, size + 1).await?;
        let exhausted = batch.len() <= usize::try_from(size).unwrap_or(usize::MAX);
        if let Some(last) = batch.last() {
            after.clone_from(&last.id);
        }
        rows.extend(
            batch.into_iter().filter(|r| filter.as_ref().is_none_or(|(f, usage)| f.matches(&candidate(r, usage)))),
        );
        if exhausted || rows.len() > usize::try_from(size).unwrap_or(usize::MAX) {
            break;
        }
    }
    let next = paging::next_token(LIST, &mut rows, size, |r| vec![r.id.clone()]);
    let arns: Vec<&str> = rows.iter().map(|r| r.arn.as_str()).collect();
    Ok(json!({"containerInstanceArns": arns, "nextToken": next}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UpdateContainerInstancesStateInput {
    cluster: Option<String>,
    container_instances: Vec<String>,
    status: String,
}

pub(super) async fn update_container_instances_state(
    ctx: &Ctx<'_>,
    input: UpdateContainerInstancesStateInput,
) -> Result<Value> {
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    if !matches!(input.status.as_str(), "ACTIVE" | "DRAINING") {
        return Err(aws_error!(
            InvalidParameterException,
            "Container instances can only be set to ACTIVE or DRAINING, not {}.",
            input.status
        ));
    }
    ensure_instances(ctx, &cluster).await?;
    let usage = usage(ctx, &cluster).await?;
    let mut updated = Vec::new();
    let mut failures = Vec::new();
    for reference in &input.container_instances {
        match find(ctx, &cluster, reference).await? {
            Some(row) if row.status == "INACTIVE" => failures.push(json!({"arn": row.arn, "reason": "INACTIVE"})),
            Some(mut row) => {
                if row.status != input.status {
                    row.status.clone_from(&input.status);
                    let version = row.doc.get("version").and_then(Value::as_i64).unwrap_or(1);
                    row.doc.insert("version".into(), json!(version + 1));
                    ctx.store.put_instance(ctx.region(), &cluster.name, &row).await?;
                }
                updated.push(instance_json(&row, &usage));
            }
            None => failures.push(missing(ctx, &cluster, reference)),
        }
    }
    // Daemon services and services with tasks on a draining instance react.
    Ok(json!({"containerInstances": updated, "failures": failures}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeregisterContainerInstanceInput {
    cluster: Option<String>,
    container_instance: String,
    force: Option<bool>,
}

pub(super) async fn deregister_container_instance(
    ctx: &Ctx<'_>,
    input: DeregisterContainerInstanceInput,
) -> Result<Value> {
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    let Some(mut row) = find(ctx, &cluster, &input.container_instance).await? else {
        return Err(aws_error!(InvalidParameterException, "The referenced container instance was not found."));
    };
    // Tasks on it keep running either way (as on AWS, until the instance goes); without
    // `force`, an instance with tasks stays registered.
    let usage = usage(ctx, &cluster).await?;
    if !input.force.unwrap_or(false) && usage.tasks.iter().any(|t| t.instance == row.id) {
        return Err(aws_error!(
            InvalidParameterException,
            "The container instance {} has tasks; stop them first or deregister with force.",
            row.arn
        ));
    }
    if row.status != "INACTIVE" {
        row.status = "INACTIVE".into();
        row.doc.insert("agentConnected".into(), json!(false));
        let version = row.doc.get("version").and_then(Value::as_i64).unwrap_or(1);
        row.doc.insert("version".into(), json!(version + 1));
        ctx.store.put_instance(ctx.region(), &cluster.name, &row).await?;
    }
    // Daemon services and services with tasks on a draining instance react.
    Ok(json!({"containerInstance": instance_json(&row, &usage)}))
}
