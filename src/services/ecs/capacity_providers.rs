//! Capacity providers: the built-in FARGATE and FARGATE_SPOT, Auto Scaling group providers and
//! ECS Managed Instances providers (CreateCapacityProvider, DescribeCapacityProviders,
//! UpdateCapacityProvider, DeleteCapacityProvider). Both kinds stand for a group of berth's
//! virtual instances ([`group`]): RunTask and services place tasks on it through a strategy,
//! and with managed scaling [`crate::controllers::capacity`] grows and shrinks it. A Managed
//! Instances provider belongs to the cluster it is created in (it is in that cluster's
//! providers until it is deleted, and its ARN has no cluster in it); ECS scales it always,
//! launching instances when tasks need them and ending them when they stay idle, and its
//! instances are where daemons run ([`super::daemons`]).

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::tags::{Tag, check_tags, store_tags, tags_json};
use super::{Ctx, clusters, container_instances, paging};
use crate::domain::is_valid_name;
use crate::error::Result;
use crate::store::{Doc, Named, NamedRow};

/// The providers every account has.
const BUILT_IN: [&str; 2] = ["FARGATE", "FARGATE_SPOT"];

/// The built-in provider `reference` names (by name, or by its ARN in this region), if any.
fn built_in(ctx: &Ctx<'_>, reference: &str) -> Option<&'static str> {
    BUILT_IN.iter().copied().find(|n| *n == reference || ctx.scope.capacity_provider(n) == reference)
}

/// The name of the capacity provider `reference` (a name or ARN) names, if a cluster can use
/// it: a built-in one or an ACTIVE one of the region.
///
/// # Errors
/// `ServerException` if the store fails.
pub async fn usable(ctx: &Ctx<'_>, reference: &str) -> Result<Option<String>> {
    if let Some(name) = built_in(ctx, reference) {
        return Ok(Some(name.to_owned()));
    }
    Ok(find(ctx, reference).await?.filter(|r| r.status == "ACTIVE").map(|r| r.name))
}

/// Managed scaling's settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scaling {
    /// The percentage of the group's instances that should run tasks (1-100).
    pub target_capacity: i64,
    /// At least this many instances are added at once.
    pub min_step: i64,
    /// At most this many instances are added or removed at once.
    pub max_step: i64,
}

/// An Auto Scaling group provider as berth runs it: a group of virtual instances.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    /// Managed scaling, when ENABLED: the group grows for tasks waiting in PROVISIONING and
    /// shrinks when instances stay empty. Without it, the group is `--instances` instances.
    pub scaling: Option<Scaling>,
    /// The instances' type: the provider's `berth:instance-type` tag, else `--instances`'.
    pub instance_type: String,
}

/// The tag a provider can carry to choose its instances' type (berth's own; an Auto Scaling
/// group's launch template is not something berth can read).
pub const INSTANCE_TYPE_TAG: &str = "berth:instance-type";

/// The group an ACTIVE Auto Scaling group or Managed Instances provider stands for; None for
/// FARGATE, FARGATE_SPOT or a provider that does not exist.
///
/// A Managed Instances provider is a group ECS scales itself: always with managed scaling (a
/// target of 100%), of the smallest of berth's instance types that meets its
/// `instanceRequirements` (or its `berth:instance-type` tag).
///
/// # Errors
/// `ServerException` if the store fails.
pub(crate) async fn group(ctx: &Ctx<'_>, name: &str) -> Result<Option<Group>> {
    if BUILT_IN.contains(&name) {
        return Ok(None);
    }
    let Some(row) = ctx.store.get_named(Named::CapacityProvider, ctx.region(), name).await? else { return Ok(None) };
    if row.status != "ACTIVE" {
        return Ok(None);
    }
    let tags = ctx.store.get_tags(&row.arn).await?;
    let tagged =
        tags.into_iter().find(|(k, v)| k == INSTANCE_TYPE_TAG && crate::domain::instance::resources(v).is_some());
    if let Some(managed) = row.doc.get("managedInstancesProvider") {
        let instance_type = tagged
            .map(|(_, v)| v)
            .or_else(|| required_type(managed).map(str::to_owned))
            .unwrap_or_else(|| ctx.fleet.instance_type.clone());
        let scaling = Scaling { target_capacity: 100, min_step: 1, max_step: 10_000 };
        return Ok(Some(Group { scaling: Some(scaling), instance_type }));
    }
    let scaling = row.doc.get("autoScalingGroupProvider").and_then(|a| a.get("managedScaling"));
    let setting = |key: &str, default: i64| scaling.and_then(|m| m.get(key)).and_then(Value::as_i64).unwrap_or(default);
    let enabled = scaling.and_then(|m| m.get("status")).and_then(Value::as_str) == Some("ENABLED");
    let instance_type = tagged.map_or_else(|| ctx.fleet.instance_type.clone(), |(_, v)| v);
    Ok(Some(Group {
        scaling: enabled.then(|| Scaling {
            target_capacity: setting("targetCapacity", 100).clamp(1, 100),
            min_step: setting("minimumScalingStepSize", 1).max(1),
            max_step: setting("maximumScalingStepSize", 10_000).max(1),
        }),
        instance_type,
    }))
}

/// The minimum vCPUs and MiB a Managed Instances provider's `instanceRequirements` ask for.
fn requirements(managed: &Value) -> (i64, i64) {
    let requirements = managed.get("instanceLaunchTemplate").and_then(|t| t.get("instanceRequirements"));
    let min = |key: &str| {
        requirements.and_then(|r| r.get(key)).and_then(|c| c.get("min")).and_then(Value::as_i64).unwrap_or(0)
    };
    (min("vCpuCount"), min("memoryMiB"))
}

/// The instance type a Managed Instances provider launches, if berth has one large enough.
fn required_type(managed: &Value) -> Option<&'static str> {
    let (vcpus, memory) = requirements(managed);
    crate::domain::instance::smallest_type(vcpus, memory)
}

/// Whether provider `name` has managed scaling ENABLED.
///
/// # Errors
/// `ServerException` if the store fails.
pub(super) async fn managed_scaling(ctx: &Ctx<'_>, name: &str) -> Result<bool> {
    Ok(group(ctx, name).await?.is_some_and(|g| g.scaling.is_some()))
}

/// The stored provider a name or ARN refers to, in any status.
async fn find(ctx: &Ctx<'_>, reference: &str) -> Result<Option<NamedRow>> {
    ctx.find_named(Named::CapacityProvider, reference).await
}

fn built_in_json(ctx: &Ctx<'_>, name: &str, with_tags: bool) -> Value {
    let mut out = json!({
        "capacityProviderArn": ctx.scope.capacity_provider(name),
        "name": name,
        "status": "ACTIVE",
        "type": name,
    });
    if with_tags {
        out["tags"] = json!([]);
    }
    out
}

async fn provider_json(ctx: &Ctx<'_>, row: &NamedRow, with_tags: bool) -> Result<Value> {
    let mut out = Map::new();
    out.insert("capacityProviderArn".into(), json!(row.arn));
    out.insert("name".into(), json!(row.name));
    out.insert("status".into(), json!(row.status));
    out.extend(row.doc.clone());
    if with_tags {
        out.insert("tags".into(), tags_json(ctx, &row.arn).await?);
    }
    Ok(Value::Object(out))
}

/// AWS's defaults for an Auto Scaling group provider's settings, filled in where not given.
fn with_defaults(mut provider: Map<String, Value>) -> Map<String, Value> {
    let scaling = provider.entry("managedScaling").or_insert_with(|| json!({"status": "DISABLED"}));
    if let Value::Object(scaling) = scaling {
        scaling.entry("status").or_insert_with(|| json!("ENABLED"));
        scaling.entry("targetCapacity").or_insert_with(|| json!(100));
        scaling.entry("minimumScalingStepSize").or_insert_with(|| json!(1));
        scaling.entry("maximumScalingStepSize").or_insert_with(|| json!(10000));
        scaling.entry("instanceWarmupPeriod").or_insert_with(|| json!(300));
    }
    provider.entry("managedTerminationProtection").or_insert_with(|| json!("DISABLED"));
    provider.entry("managedDraining").or_insert_with(|| json!("ENABLED"));
    provider
}

/// AWS's defaults for a Managed Instances provider's settings, filled in where not given.
fn managed_instances_defaults(mut provider: Map<String, Value>) -> Map<String, Value> {
    if let Some(Value::Object(template)) = provider.get_mut("instanceLaunchTemplate") {
        template.entry("capacityOptionType").or_insert_with(|| json!("ON_DEMAND"));
    }
    provider
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateCapacityProviderInput {
    name: String,
    cluster: Option<String>,
    auto_scaling_group_provider: Option<Map<String, Value>>,
    managed_instances_provider: Option<Map<String, Value>>,
    #[serde(default)]
    tags: Vec<Tag>,
}

pub(super) async fn create_capacity_provider(ctx: &Ctx<'_>, input: CreateCapacityProviderInput) -> Result<Value> {
    let name = input.name;
    let lower = name.to_ascii_lowercase();
    if !is_valid_name(&name) || ["aws", "ecs", "fargate"].iter().any(|p| lower.starts_with(p)) {
        return Err(aws_error!(
            ClientException,
            "The specified capacity provider name is invalid. Up to 255 characters are allowed, including letters (upper and lowercase), numbers, underscores, and hyphens. The name cannot be prefixed with \"aws\", \"ecs\", or \"fargate\". Specify a valid name and try again."
        ));
    }
    let tags = check_tags(&input.tags)?;
    let previous = ctx.store.get_named(Named::CapacityProvider, ctx.region(), &name).await?;
    if let Some(existing) = &previous
        && existing.status == "ACTIVE"
    {
        return Err(aws_error!(
            ClientException,
            "The specified capacity provider already exists. To change the configuration of an existing capacity provider, update the capacity provider."
        ));
    }
    let (doc, cluster) = match (input.auto_scaling_group_provider, input.managed_instances_provider) {
        (Some(_), Some(_)) => {
            return Err(aws_error!(
                InvalidParameterException,
                "A capacity provider has either an autoScalingGroupProvider or a managedInstancesProvider, not both."
            ));
        }
        (None, None) => {
            return Err(aws_error!(
                ClientException,
                "autoScalingGroupProvider or managedInstancesProvider is required."
            ));
        }
        (Some(asg), None) => {
            if input.cluster.is_some() {
                return Err(aws_error!(
                    InvalidParameterException,
                    "cluster can only be given for a Managed Instances capacity provider: an Auto Scaling group provider is associated with clusters by PutClusterCapacityProviders."
                ));
            }
            (auto_scaling_group_doc(ctx, asg).await?, None)
        }
        (None, Some(managed)) => {
            let Some(reference) = input.cluster else {
                return Err(aws_error!(
                    InvalidParameterException,
                    "cluster is required for a Managed Instances capacity provider: it is available only within the cluster it is created in."
                ));
            };
            let cluster = clusters::active_cluster(ctx, Some(&reference)).await?;
            let managed = Value::Object(managed_instances_defaults(managed));
            if required_type(&managed).is_none() {
                let (vcpus, memory) = requirements(&managed);
                return Err(aws_error!(
                    InvalidParameterException,
                    "No instance type berth can stand in for has {vcpus} vCPUs and {memory} MiB of memory; the largest has 16 vCPUs and 65536 MiB."
                ));
            }
            let mut doc = Doc::new();
            doc.insert("cluster".into(), json!(cluster.name));
            doc.insert("managedInstancesProvider".into(), managed);
            doc.insert("type".into(), json!("MANAGED_INSTANCES"));
            (doc, Some(cluster.name))
        }
    };
    let row = NamedRow { arn: ctx.scope.capacity_provider(&name), name, status: "ACTIVE".into(), doc };
    if previous.is_some() {
        // Created again after a delete: same ARN, none of the old provider's tags.
        ctx.store.delete_tags(&row.arn).await?;
    }
    ctx.store.put_named(Named::CapacityProvider, ctx.region(), &row).await?;
    store_tags(ctx, &row.arn, &tags).await?;
    if let Some(cluster) = cluster {
        clusters::set_managed_instances_provider(ctx, &cluster, &row.name, true).await?;
    }
    Ok(json!({"capacityProvider": provider_json(ctx, &row, true).await?}))
}

/// A new Auto Scaling group provider's document, checked: one group backs one provider.
async fn auto_scaling_group_doc(ctx: &Ctx<'_>, asg: Map<String, Value>) -> Result<Doc> {
    let asg_arn = asg.get("autoScalingGroupArn");
    let providers = ctx.store.all_named(Named::CapacityProvider, ctx.region()).await?;
    if providers
        .iter()
        .any(|p| p.doc.get("autoScalingGroupProvider").and_then(|a| a.get("autoScalingGroupArn")) == asg_arn)
    {
        return Err(aws_error!(
            ClientException,
            "The specified Auto Scaling group ARN is already being used by another capacity provider. Specify a unique Auto Scaling group ARN and try again."
        ));
    }
    let mut doc = Doc::new();
    doc.insert("autoScalingGroupProvider".into(), Value::Object(with_defaults(asg)));
    doc.insert("type".into(), json!("EC2_AUTOSCALING"));
    Ok(doc)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeCapacityProvidersInput {
    capacity_providers: Option<Vec<String>>,
    cluster: Option<String>,
    #[serde(default)]
    include: Vec<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

pub(super) async fn describe_capacity_providers(ctx: &Ctx<'_>, input: DescribeCapacityProvidersInput) -> Result<Value> {
    const LIST: &str = "DescribeCapacityProviders";
    let with_tags = input.include.iter().any(|f| f == "TAGS");
    if let Some(reference) = &input.cluster {
        // Only the providers associated with the cluster, its Managed Instances ones included.
        let cluster = clusters::active_cluster(ctx, Some(reference)).await?;
        let mut providers = Vec::new();
        for name in clusters::providers_of(&cluster) {
            let wanted = input
                .capacity_providers
                .as_ref()
                .is_none_or(|r| r.iter().any(|r| r == name || *r == ctx.scope.capacity_provider(name)));
            if !wanted {
                continue;
            }
            if let Some(name) = built_in(ctx, name) {
                providers.push(built_in_json(ctx, name, with_tags));
            } else if let Some(row) = find(ctx, name).await? {
                providers.push(provider_json(ctx, &row, with_tags).await?);
            }
        }
        return Ok(json!({"capacityProviders": providers, "failures": []}));
    }
    let mut providers = Vec::new();
    let mut failures = Vec::new();
    if let Some(references) = input.capacity_providers {
        if references.len() > 100 {
            return Err(aws_error!(InvalidParameterException, "capacityProviders can have at most 100 entries."));
        }
        for reference in &references {
            if let Some(name) = built_in(ctx, reference) {
                providers.push(built_in_json(ctx, name, with_tags));
            } else if let Some(row) = find(ctx, reference).await? {
                providers.push(provider_json(ctx, &row, with_tags).await?);
            } else {
                failures.push(super::missing(reference, |name| ctx.scope.capacity_provider(name)));
            }
        }
        return Ok(json!({"capacityProviders": providers, "failures": failures}));
    }
    // Every provider: the region's ACTIVE ones by name, then the built-in ones, as AWS lists
    // them. The token holds the last name returned; no stored provider can be called like a
    // built-in one (their names cannot start with "fargate"), so the name says where to resume.
    let size = paging::page_size(input.max_results, 10, 10)?;
    let after = paging::decode(LIST, input.next_token.as_deref())?.and_then(|k| k.into_iter().next());
    let (after_row, built_ins): (Option<&str>, &[&str]) = match after.as_deref() {
        None => (Some(""), &BUILT_IN),
        Some(last) => match BUILT_IN.iter().position(|n| *n == last) {
            Some(i) => (None, &BUILT_IN[i + 1..]),
            None => (Some(last), &BUILT_IN),
        },
    };
    let mut page: Vec<Value> = Vec::new();
    if let Some(after_row) = after_row {
        for row in ctx.store.list_named(Named::CapacityProvider, ctx.region(), after_row, size + 1).await? {
            page.push(provider_json(ctx, &row, with_tags).await?);
        }
    }
    page.extend(built_ins.iter().map(|n| built_in_json(ctx, n, with_tags)));
    let next = paging::next_token(LIST, &mut page, size, |v| {
        vec![v.get("name").and_then(Value::as_str).unwrap_or_default().to_owned()]
    });
    Ok(json!({"capacityProviders": page, "failures": failures, "nextToken": next}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UpdateCapacityProviderInput {
    name: String,
    cluster: Option<String>,
    auto_scaling_group_provider: Option<Map<String, Value>>,
    managed_instances_provider: Option<Map<String, Value>>,
}

/// A Managed Instances provider's cluster, checked against the one a request names: such a
/// provider is updated and deleted within its cluster.
async fn check_own_cluster(ctx: &Ctx<'_>, row: &NamedRow, reference: Option<&str>) -> Result<()> {
    let (Some(own), Some(reference)) = (row.doc.get("cluster").and_then(Value::as_str), reference) else {
        return Ok(());
    };
    let cluster = clusters::active_cluster(ctx, Some(reference)).await?;
    if cluster.name != own {
        return Err(aws_error!(
            InvalidParameterException,
            "The capacity provider {} belongs to cluster {own}: Managed Instances capacity providers are cluster-scoped.",
            row.name
        ));
    }
    Ok(())
}

pub(super) async fn update_capacity_provider(ctx: &Ctx<'_>, input: UpdateCapacityProviderInput) -> Result<Value> {
    if let Some(name) = built_in(ctx, &input.name) {
        return Err(aws_error!(ClientException, "The {name} capacity provider cannot be updated."));
    }
    let Some(mut row) = find(ctx, &input.name).await?.filter(|r| r.status == "ACTIVE") else {
        return Err(aws_error!(ClientException, "The specified capacity provider does not exist."));
    };
    check_own_cluster(ctx, &row, input.cluster.as_deref()).await?;
    let managed = row.doc.contains_key("managedInstancesProvider");
    if (managed && input.auto_scaling_group_provider.is_some())
        || (!managed && input.managed_instances_provider.is_some())
    {
        return Err(aws_error!(
            InvalidParameterException,
            "The update does not match the capacity provider's type {}.",
            row.doc.get("type").and_then(Value::as_str).unwrap_or_default()
        ));
    }
    if let Some(update) = input.managed_instances_provider {
        let mut current = match row.doc.remove("managedInstancesProvider") {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        for (k, v) in update {
            current.insert(k, v);
        }
        let current = Value::Object(managed_instances_defaults(current));
        if required_type(&current).is_none() {
            let (vcpus, memory) = requirements(&current);
            return Err(aws_error!(
                InvalidParameterException,
                "No instance type berth can stand in for has {vcpus} vCPUs and {memory} MiB of memory; the largest has 16 vCPUs and 65536 MiB."
            ));
        }
        row.doc.insert("managedInstancesProvider".into(), current);
    }
    if let Some(update) = input.auto_scaling_group_provider {
        let mut asg = match row.doc.remove("autoScalingGroupProvider") {
            Some(Value::Object(asg)) => asg,
            _ => Map::new(),
        };
        // Each given setting replaces the stored one whole; defaults fill what it leaves out.
        for (k, v) in update {
            asg.insert(k, v);
        }
        row.doc.insert("autoScalingGroupProvider".into(), Value::Object(with_defaults(asg)));
    }
    row.doc.insert("updateStatus".into(), json!("UPDATE_COMPLETE"));
    ctx.store.put_named(Named::CapacityProvider, ctx.region(), &row).await?;
    Ok(json!({"capacityProvider": provider_json(ctx, &row, false).await?}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeleteCapacityProviderInput {
    capacity_provider: String,
    cluster: Option<String>,
}

pub(super) async fn delete_capacity_provider(ctx: &Ctx<'_>, input: DeleteCapacityProviderInput) -> Result<Value> {
    if let Some(name) = built_in(ctx, &input.capacity_provider) {
        return Err(aws_error!(ClientException, "The {name} capacity provider cannot be deleted."));
    }
    let Some(mut row) = find(ctx, &input.capacity_provider).await?.filter(|r| r.status == "ACTIVE") else {
        return Err(aws_error!(ClientException, "The specified capacity provider does not exist."));
    };
    check_own_cluster(ctx, &row, input.cluster.as_deref()).await?;
    if let Some(own) = row.doc.get("cluster").and_then(Value::as_str).map(str::to_owned) {
        let daemons = super::daemons::using_provider(ctx, &own, &row.arn).await?;
        if !daemons.is_empty() {
            return Err(aws_error!(
                ResourceInUseException,
                "The specified capacity provider is in use by daemon(s) {} and cannot be deleted. Delete the daemons or update them to other capacity providers first.",
                daemons.join(", ")
            ));
        }
        // Its instances end with it, and the tasks on them.
        for instance in ctx.store.provider_instances(ctx.region(), &own, &row.name, false).await? {
            let reason = "The container instance was terminated: its capacity provider was deleted.";
            container_instances::terminate(ctx, &own, &instance, reason).await?;
        }
        clusters::set_managed_instances_provider(ctx, &own, &row.name, false).await?;
    }
    let users = clusters::clusters_using(ctx, &row.name).await?;
    if !users.is_empty() {
        return Err(aws_error!(
            ResourceInUseException,
            "The specified capacity provider is in use by cluster(s) {} and cannot be deleted. Remove it from their capacity providers first.",
            users.join(", ")
        ));
    }
    // Deletion is immediate locally: the provider goes straight to INACTIVE / DELETE_COMPLETE,
    // which is where AWS's waiters (and Terraform) wait for it to end up.
    row.status = "INACTIVE".into();
    row.doc.insert("updateStatus".into(), json!("DELETE_COMPLETE"));
    ctx.store.put_named(Named::CapacityProvider, ctx.region(), &row).await?;
    Ok(json!({"capacityProvider": provider_json(ctx, &row, false).await?}))
}
