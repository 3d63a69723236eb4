//! Clusters: CreateCluster, DescribeClusters, ListClusters, UpdateCluster,
//! UpdateClusterSettings, PutClusterCapacityProviders, DeleteCluster.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::tags::{Tag, check_tags, store_tags, tags_json};
use super::{Ctx, account_settings, capacity_providers, paging};
use crate::domain::is_valid_name;
use crate::error::Result;
use crate::store::{Doc, Named, NamedRow};

/// The cluster every operation uses when none is named.
pub const DEFAULT_CLUSTER: &str = "default";

/// Which optional parts of a cluster to return (DescribeClusters' `include`).
#[derive(Debug, Default, Clone, Copy)]
struct Include {
    attachments: bool,
    configurations: bool,
    settings: bool,
    statistics: bool,
    tags: bool,
}

impl Include {
    /// What CreateCluster, UpdateCluster, PutClusterCapacityProviders and DeleteCluster return.
    const WRITE: Include =
        Include { attachments: false, configurations: true, settings: true, statistics: false, tags: true };

    fn from_fields(fields: &[String]) -> Self {
        let has = |f: &str| fields.iter().any(|x| x == f);
        Include {
            attachments: has("ATTACHMENTS"),
            configurations: has("CONFIGURATIONS"),
            settings: has("SETTINGS"),
            statistics: has("STATISTICS"),
            tags: has("TAGS"),
        }
    }
}

/// The Cluster shape for a stored cluster.
async fn cluster_json(ctx: &Ctx<'_>, row: &NamedRow, include: Include) -> Result<Value> {
    let c = ctx.store.cluster_counts(ctx.region(), &row.name).await?;
    let mut out = Map::new();
    out.insert("clusterArn".into(), json!(row.arn));
    out.insert("clusterName".into(), json!(row.name));
    out.insert("status".into(), json!(row.status));
    out.insert("registeredContainerInstancesCount".into(), json!(c.registered_instances));
    out.insert("runningTasksCount".into(), json!(c.running_tasks));
    out.insert("pendingTasksCount".into(), json!(c.pending_tasks));
    out.insert("activeServicesCount".into(), json!(c.active_services));
    let statistics = if include.statistics {
        json!([
            {"name": "runningEC2TasksCount", "value": "0"},
            {"name": "runningFargateTasksCount", "value": c.running_tasks.to_string()},
            {"name": "pendingEC2TasksCount", "value": "0"},
            {"name": "pendingFargateTasksCount", "value": c.pending_tasks.to_string()},
            {"name": "activeEC2ServiceCount", "value": "0"},
            {"name": "activeFargateServiceCount", "value": c.active_services.to_string()},
            {"name": "drainingEC2ServiceCount", "value": "0"},
            {"name": "drainingFargateServiceCount", "value": "0"},
        ])
    } else {
        json!([])
    };
    out.insert("statistics".into(), statistics);
    if include.tags {
        out.insert("tags".into(), tags_json(ctx, &row.arn).await?);
    }
    for key in ["capacityProviders", "defaultCapacityProviderStrategy"] {
        out.insert(key.into(), row.doc.get(key).cloned().unwrap_or_else(|| json!([])));
    }
    if include.settings {
        out.insert("settings".into(), row.doc.get("settings").cloned().unwrap_or_else(|| json!([])));
    }
    if include.configurations
        && let Some(configuration) = row.doc.get("configuration")
    {
        out.insert("configuration".into(), configuration.clone());
    }
    if let Some(defaults) = row.doc.get("serviceConnectDefaults") {
        out.insert("serviceConnectDefaults".into(), defaults.clone());
    }
    if include.attachments {
        out.insert("attachments".into(), json!([]));
    }
    Ok(Value::Object(out))
}

/// The cluster a request names (a name or an ARN; `default` when absent), if it exists in any
/// status.
pub(crate) async fn find(ctx: &Ctx<'_>, reference: Option<&str>) -> Result<Option<NamedRow>> {
    ctx.find_named(Named::Cluster, reference.unwrap_or(DEFAULT_CLUSTER)).await
}

/// The ACTIVE cluster a request names, or AWS's ClusterNotFoundException.
///
/// # Errors
/// `ClusterNotFoundException` when it does not exist or is INACTIVE.
pub async fn active_cluster(ctx: &Ctx<'_>, reference: Option<&str>) -> Result<NamedRow> {
    match find(ctx, reference).await? {
        Some(row) if row.status == "ACTIVE" => Ok(row),
        Some(_) => Err(aws_error!(ClusterNotFoundException, "The referenced cluster was inactive.")),
        None => Err(aws_error!(ClusterNotFoundException, "Cluster not found.")),
    }
}

#[derive(Deserialize, Debug, Clone)]
struct StrategyItem {
    #[serde(rename = "capacityProvider")]
    capacity_provider: String,
}

/// Checks a cluster's capacity providers and default strategy as AWS does, and returns both
/// with providers by name (a cluster lists its providers by name, even when given ARNs).
async fn check_capacity_providers(
    ctx: &Ctx<'_>,
    providers: &[String],
    strategy: Vec<Value>,
) -> Result<(Vec<String>, Vec<Value>)> {
    let mut names = Vec::with_capacity(providers.len());
    for reference in providers {
        let Some(name) = capacity_providers::usable(ctx, reference).await? else {
            return Err(aws_error!(
                InvalidParameterException,
                "The specified capacity provider '{reference}' does not exist. Specify a valid capacity provider and try again."
            ));
        };
        if names.contains(&name) {
            return Err(aws_error!(
                InvalidParameterException,
                "The capacity provider '{name}' is listed more than once."
            ));
        }
        names.push(name);
    }
    let mut seen = std::collections::HashSet::new();
    let mut items = Vec::with_capacity(strategy.len());
    for mut item in strategy {
        let given: StrategyItem = super::parse(item.clone())?;
        let name = match providers.iter().position(|p| *p == given.capacity_provider) {
            Some(i) => names[i].clone(),
            None if names.contains(&given.capacity_provider) => given.capacity_provider,
            None => {
                return Err(aws_error!(
                    InvalidParameterException,
                    "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again."
                ));
            }
        };
        if !seen.insert(name.clone()) {
            return Err(aws_error!(
                InvalidParameterException,
                "A capacity provider strategy cannot contain duplicate capacity providers."
            ));
        }
        item["capacityProvider"] = json!(name);
        items.push(item);
    }
    Ok((names, items))
}

/// Sets or (with an empty namespace, as the API documents) clears the Service Connect defaults.
fn set_service_connect_defaults(doc: &mut Doc, defaults: Value) {
    if defaults.get("namespace").and_then(Value::as_str).is_some_and(str::is_empty) {
        doc.remove("serviceConnectDefaults");
    } else {
        doc.insert("serviceConnectDefaults".into(), defaults);
    }
}

/// The default `settings` of a new cluster: Container Insights as the account setting says.
async fn default_settings(ctx: &Ctx<'_>) -> Result<Value> {
    let insights = account_settings::effective(ctx, "containerInsights").await?;
    Ok(json!([{"name": "containerInsights", "value": insights}]))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateClusterInput {
    cluster_name: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    settings: Option<Vec<Value>>,
    configuration: Option<Value>,
    #[serde(default)]
    capacity_providers: Vec<String>,
    #[serde(default)]
    default_capacity_provider_strategy: Vec<Value>,
    service_connect_defaults: Option<Value>,
}

pub(super) async fn create_cluster(ctx: &Ctx<'_>, input: CreateClusterInput) -> Result<Value> {
    let name = input.cluster_name.unwrap_or_else(|| DEFAULT_CLUSTER.to_owned());
    if let Some(settings) = &input.settings {
        check_settings(settings)?;
    }
    if !is_valid_name(&name) {
        return Err(aws_error!(
            InvalidParameterException,
            "Cluster name must be 1 to 255 letters, numbers, hyphens and underscores: '{name}'."
        ));
    }
    let tags = check_tags(&input.tags)?;
    let (providers, strategy) =
        check_capacity_providers(ctx, &input.capacity_providers, input.default_capacity_provider_strategy).await?;
    let previous = ctx.store.get_named(Named::Cluster, ctx.region(), &name).await?;
    if let Some(existing) = &previous
        && existing.status == "ACTIVE"
    {
        // CreateCluster is idempotent on the name: the existing cluster comes back unchanged,
        // unless the request asks for something else than what the cluster has.
        let stored_tags = ctx.store.get_tags(&existing.arn).await?;
        let differs = |key: &str, given: Option<Value>| given.is_some_and(|g| existing.doc.get(key) != Some(&g));
        let inconsistent = differs("settings", input.settings.map(Value::Array))
            || differs("configuration", input.configuration)
            || differs("serviceConnectDefaults", input.service_connect_defaults)
            || (!providers.is_empty() && differs("capacityProviders", Some(json!(providers))))
            || (!tags.is_empty() && tags != stored_tags);
        if inconsistent {
            return Err(aws_error!(
                InvalidParameterException,
                "Arguments on this idempotent request are inconsistent with arguments used in previous request(s)."
            ));
        }
        return Ok(json!({"cluster": cluster_json(ctx, existing, Include::WRITE).await?}));
    }
    let arn = ctx.scope.cluster(&name);
    if previous.is_some() {
        // Created again after a delete: same ARN, none of the old cluster's tags.
        ctx.store.delete_tags(&arn).await?;
    }
    let mut doc = Doc::new();
    let settings = match input.settings {
        Some(settings) => Value::Array(settings),
        None => default_settings(ctx).await?,
    };
    doc.insert("settings".into(), settings);
    doc.insert("capacityProviders".into(), json!(providers));
    doc.insert("defaultCapacityProviderStrategy".into(), Value::Array(strategy));
    if let Some(configuration) = input.configuration {
        doc.insert("configuration".into(), configuration);
    }
    if let Some(defaults) = input.service_connect_defaults {
        set_service_connect_defaults(&mut doc, defaults);
    }
    let row = NamedRow { name, arn, status: "ACTIVE".into(), doc };
    ctx.store.put_named(Named::Cluster, ctx.region(), &row).await?;
    store_tags(ctx, &row.arn, &tags).await?;
    Ok(json!({"cluster": cluster_json(ctx, &row, Include::WRITE).await?}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeClustersInput {
    clusters: Option<Vec<String>>,
    #[serde(default)]
    include: Vec<String>,
}

pub(super) async fn describe_clusters(ctx: &Ctx<'_>, input: DescribeClustersInput) -> Result<Value> {
    let include = Include::from_fields(&input.include);
    let references = input.clusters.unwrap_or_else(|| vec![DEFAULT_CLUSTER.to_owned()]);
    if references.iter().any(String::is_empty) {
        return Err(aws_error!(InvalidParameterException, "Clusters can not be blank."));
    }
    if references.len() > 100 {
        return Err(aws_error!(InvalidParameterException, "clusters can have at most 100 entries."));
    }
    let mut clusters = Vec::new();
    let mut failures = Vec::new();
    for reference in &references {
        match find(ctx, Some(reference)).await? {
            Some(row) => clusters.push(cluster_json(ctx, &row, include).await?),
            None => failures.push(super::missing(reference, |name| ctx.scope.cluster(name))),
        }
    }
    Ok(json!({"clusters": clusters, "failures": failures}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListClustersInput {
    next_token: Option<String>,
    max_results: Option<i64>,
}

pub(super) async fn list_clusters(ctx: &Ctx<'_>, input: ListClustersInput) -> Result<Value> {
    const LIST: &str = "ListClusters";
    let size = paging::page_size(input.max_results, 100, 100)?;
    let after =
        paging::decode(LIST, input.next_token.as_deref())?.and_then(|k| k.into_iter().next()).unwrap_or_default();
    let mut rows = ctx.store.list_named(Named::Cluster, ctx.region(), &after, size + 1).await?;
    let next = paging::next_token(LIST, &mut rows, size, |r| vec![r.name.clone()]);
    let arns: Vec<&str> = rows.iter().map(|r| r.arn.as_str()).collect();
    Ok(json!({"clusterArns": arns, "nextToken": next}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UpdateClusterInput {
    cluster: String,
    settings: Option<Vec<Value>>,
    configuration: Option<Value>,
    service_connect_defaults: Option<Value>,
}

pub(super) async fn update_cluster(ctx: &Ctx<'_>, input: UpdateClusterInput) -> Result<Value> {
    let mut row = active_cluster(ctx, Some(&input.cluster)).await?;
    if let Some(settings) = input.settings {
        check_settings(&settings)?;
        merge_settings(&mut row.doc, settings);
    }
    if let Some(configuration) = input.configuration {
        row.doc.insert("configuration".into(), configuration);
    }
    if let Some(defaults) = input.service_connect_defaults {
        set_service_connect_defaults(&mut row.doc, defaults);
    }
    ctx.store.put_named(Named::Cluster, ctx.region(), &row).await?;
    Ok(json!({"cluster": cluster_json(ctx, &row, Include::WRITE).await?}))
}

/// Checks cluster settings: the only one is containerInsights (its name is an enum the model
/// checked), whose value must be one of AWS's.
fn check_settings(settings: &[Value]) -> Result<()> {
    for setting in settings {
        let value = setting.get("value").and_then(Value::as_str);
        if !matches!(value, Some("enabled" | "disabled" | "enhanced")) {
            return Err(aws_error!(
                InvalidParameterException,
                "Invalid setting 'value': containerInsights takes enabled, disabled or enhanced, got {}.",
                value.unwrap_or("nothing")
            ));
        }
    }
    Ok(())
}

/// Replaces settings by name, keeping the others.
fn merge_settings(doc: &mut Doc, settings: Vec<Value>) {
    let mut current = match doc.remove("settings") {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    for setting in settings {
        let name = setting.get("name").cloned();
        match current.iter_mut().find(|s| s.get("name") == name.as_ref()) {
            Some(slot) => *slot = setting,
            None => current.push(setting),
        }
    }
    doc.insert("settings".into(), Value::Array(current));
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UpdateClusterSettingsInput {
    cluster: String,
    settings: Vec<Value>,
}

pub(super) async fn update_cluster_settings(ctx: &Ctx<'_>, input: UpdateClusterSettingsInput) -> Result<Value> {
    let mut row = active_cluster(ctx, Some(&input.cluster)).await?;
    check_settings(&input.settings)?;
    merge_settings(&mut row.doc, input.settings);
    ctx.store.put_named(Named::Cluster, ctx.region(), &row).await?;
    Ok(json!({"cluster": cluster_json(ctx, &row, Include::WRITE).await?}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PutClusterCapacityProvidersInput {
    cluster: String,
    capacity_providers: Vec<String>,
    default_capacity_provider_strategy: Vec<Value>,
}

pub(super) async fn put_cluster_capacity_providers(
    ctx: &Ctx<'_>,
    input: PutClusterCapacityProvidersInput,
) -> Result<Value> {
    let mut row = active_cluster(ctx, Some(&input.cluster)).await?;
    let own: Vec<String> = managed_instances_providers_of(&row).into_iter().map(str::to_owned).collect();
    for reference in &input.capacity_providers {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        if own.iter().any(|p| p == name) {
            continue;
        }
        let other = ctx.store.get_named(Named::CapacityProvider, ctx.region(), name).await?;
        if other.is_some_and(|p| p.status == "ACTIVE" && p.doc.contains_key("managedInstancesProvider")) {
            return Err(aws_error!(
                InvalidParameterException,
                "Cannot associate Managed Instances capacity provider to clusters using this API. Managed Instances capacity providers are already associated with the cluster they were created in."
            ));
        }
    }
    // A cluster's own Managed Instances providers stay its own, listed or not.
    let mut given = input.capacity_providers;
    given.retain(|r| !own.iter().any(|p| p == r.rsplit('/').next().unwrap_or(r)));
    let mut all: Vec<String> = own.clone();
    all.extend(given);
    let (providers, strategy) = check_capacity_providers(ctx, &all, input.default_capacity_provider_strategy).await?;
    row.doc.insert("capacityProviders".into(), json!(providers));
    row.doc.insert("defaultCapacityProviderStrategy".into(), Value::Array(strategy));
    ctx.store.put_named(Named::Cluster, ctx.region(), &row).await?;
    Ok(json!({"cluster": cluster_json(ctx, &row, Include::WRITE).await?}))
}

/// The capacity providers a cluster uses, by name.
pub(super) fn providers_of(cluster: &NamedRow) -> Vec<&str> {
    crate::domain::list_of(&cluster.doc, "capacityProviders").iter().filter_map(Value::as_str).collect()
}

/// Where a cluster keeps the names of its Managed Instances providers (berth's own member, not
/// in the Cluster shape): they are in its `capacityProviders` from their creation to their
/// deletion, whatever PutClusterCapacityProviders says.
const MANAGED_INSTANCES_PROVIDERS: &str = "managedInstancesProviders";

/// The Managed Instances providers created in a cluster, by name.
pub(super) fn managed_instances_providers_of(cluster: &NamedRow) -> Vec<&str> {
    crate::domain::list_of(&cluster.doc, MANAGED_INSTANCES_PROVIDERS).iter().filter_map(Value::as_str).collect()
}

/// Adds a new Managed Instances provider to its cluster's providers (`attach`), or takes a
/// deleted one away.
///
/// # Errors
/// `ServerException` if the store fails.
pub(super) async fn set_managed_instances_provider(
    ctx: &Ctx<'_>,
    cluster: &str,
    provider: &str,
    attach: bool,
) -> Result<()> {
    let Some(mut row) = find(ctx, Some(cluster)).await? else { return Ok(()) };
    for key in ["capacityProviders", MANAGED_INSTANCES_PROVIDERS] {
        let mut names: Vec<Value> = crate::domain::list_of(&row.doc, key).to_vec();
        names.retain(|n| n.as_str() != Some(provider));
        if attach {
            names.push(json!(provider));
        }
        row.doc.insert(key.into(), Value::Array(names));
    }
    if !attach && let Some(Value::Array(strategy)) = row.doc.get_mut("defaultCapacityProviderStrategy") {
        strategy.retain(|i| i.get("capacityProvider").and_then(Value::as_str) != Some(provider));
    }
    ctx.store.put_named(Named::Cluster, ctx.region(), &row).await?;
    Ok(())
}

/// The names of the ACTIVE clusters in the region that use capacity provider `provider` (by
/// name: clusters store their providers by name).
pub(super) async fn clusters_using(ctx: &Ctx<'_>, provider: &str) -> Result<Vec<String>> {
    let rows = ctx.store.all_named(Named::Cluster, ctx.region()).await?;
    Ok(rows.into_iter().filter(|r| providers_of(r).contains(&provider)).map(|r| r.name).collect())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeleteClusterInput {
    cluster: String,
}

pub(super) async fn delete_cluster(ctx: &Ctx<'_>, input: DeleteClusterInput) -> Result<Value> {
    let Some(mut row) = find(ctx, Some(&input.cluster)).await? else {
        return Err(aws_error!(ClusterNotFoundException, "Cluster not found."));
    };
    if row.status == "INACTIVE" {
        // Deleting a deleted cluster answers it again, as AWS does.
        return Ok(json!({"cluster": cluster_json(ctx, &row, Include::WRITE).await?}));
    }
    let c = ctx.store.cluster_counts(ctx.region(), &row.name).await?;
    // berth's own instances go with the cluster; instances a client registered keep it.
    let (_, registered_by_clients) = ctx.store.count_instances(ctx.region(), &row.name).await?;
    if registered_by_clients > 0 {
        return Err(aws_error!(
            ClusterContainsContainerInstancesException,
            "The Cluster cannot be deleted while Container Instances are active or draining."
        ));
    }
    if c.active_services > 0 {
        return Err(aws_error!(
            ClusterContainsServicesException,
            "The Cluster cannot be deleted while Services are active."
        ));
    }
    if c.running_tasks + c.pending_tasks > 0 {
        return Err(aws_error!(ClusterContainsTasksException, "The Cluster cannot be deleted while Tasks are active."));
    }
    ctx.store.remove_managed_instances(ctx.region(), &row.name).await?;
    ctx.tasks.drop_warm_holders(ctx.region(), &row.name).await;
    row.status = "INACTIVE".into();
    ctx.store.put_named(Named::Cluster, ctx.region(), &row).await?;
    Ok(json!({"cluster": cluster_json(ctx, &row, Include::WRITE).await?}))
}
