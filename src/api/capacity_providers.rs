//! Capacity providers: the built-in FARGATE and FARGATE_SPOT, and Auto Scaling group providers
//! (CreateCapacityProvider, DescribeCapacityProviders, UpdateCapacityProvider,
//! DeleteCapacityProvider). They are stored with their settings; the EC2-mode issue gives
//! them behaviour.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::tags::{Tag, check_tags, store_tags, tags_json};
use super::{Ctx, clusters, paging};
use crate::domain::arn::NameOrArn;
use crate::domain::is_valid_name;
use crate::error::Result;
use crate::store::{Doc, Named, NamedRow};

/// The providers every account has.
const BUILT_IN: [&str; 2] = ["FARGATE", "FARGATE_SPOT"];

/// True if `name` (or ARN) is a capacity provider a cluster can use: a built-in one or an
/// ACTIVE one of the region.
///
/// # Errors
/// `ServerException` if the store fails.
pub async fn usable(ctx: &Ctx<'_>, reference: &str) -> Result<bool> {
    if BUILT_IN.contains(&reference) {
        return Ok(true);
    }
    Ok(find(ctx, reference).await?.is_some_and(|r| r.status == "ACTIVE"))
}

async fn find(ctx: &Ctx<'_>, reference: &str) -> Result<Option<NamedRow>> {
    Ok(match NameOrArn::parse(reference, "capacity-provider") {
        NameOrArn::Name(name) => ctx.store.get_named(Named::CapacityProvider, ctx.region(), name, None).await?,
        NameOrArn::Arn { arn, name } => {
            ctx.store.get_named(Named::CapacityProvider, ctx.region(), name, Some(arn)).await?
        }
        NameOrArn::Invalid => None,
    })
}

fn built_in_json(ctx: &Ctx<'_>, name: &str) -> Value {
    json!({
        "capacityProviderArn": ctx.scope.capacity_provider(name),
        "name": name,
        "status": "ACTIVE",
        "type": name,
    })
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateCapacityProviderInput {
    name: String,
    auto_scaling_group_provider: Option<Map<String, Value>>,
    managed_instances_provider: Option<Value>,
    #[serde(default)]
    tags: Vec<Tag>,
}

pub(super) async fn create_capacity_provider(ctx: &Ctx<'_>, input: CreateCapacityProviderInput) -> Result<Value> {
    let name = input.name;
    if !is_valid_name(&name) {
        return Err(ecs_error!(
            ClientException,
            "The capacity provider name must be 1 to 255 letters, numbers, hyphens and underscores: '{name}'."
        ));
    }
    let lower = name.to_ascii_lowercase();
    if ["aws", "ecs", "fargate"].iter().any(|p| lower.starts_with(p)) {
        return Err(ecs_error!(
            ClientException,
            "Invalid capacity provider name: '{name}'. Capacity provider names cannot start with 'aws', 'ecs' or 'fargate'."
        ));
    }
    if input.managed_instances_provider.is_some() {
        return Err(ecs_error!(
            UnsupportedFeatureException,
            "Managed instances capacity providers are not supported by berth; use an Auto Scaling group provider."
        ));
    }
    let Some(asg) = input.auto_scaling_group_provider else {
        return Err(ecs_error!(ClientException, "autoScalingGroupProvider is required."));
    };
    let tags = check_tags(&input.tags)?;
    if let Some(existing) = ctx.store.get_named(Named::CapacityProvider, ctx.region(), &name, None).await?
        && existing.status == "ACTIVE"
    {
        return Err(ecs_error!(
            ClientException,
            "The specified capacity provider already exists. To change the configuration of an existing capacity provider, update the capacity provider."
        ));
    }
    let mut doc = Doc::new();
    doc.insert("autoScalingGroupProvider".into(), Value::Object(with_defaults(asg)));
    doc.insert("type".into(), json!("EC2_AUTOSCALING"));
    let row = NamedRow { arn: ctx.scope.capacity_provider(&name), name, status: "ACTIVE".into(), doc };
    ctx.store.put_named(Named::CapacityProvider, ctx.region(), &row).await?;
    store_tags(ctx, &row.arn, &tags).await?;
    Ok(json!({"capacityProvider": provider_json(ctx, &row, true).await?}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeCapacityProvidersInput {
    capacity_providers: Option<Vec<String>>,
    #[serde(default)]
    include: Vec<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

pub(super) async fn describe_capacity_providers(
    ctx: &Ctx<'_>,
    input: DescribeCapacityProvidersInput,
) -> Result<Value> {
    const LIST: &str = "DescribeCapacityProviders";
    let with_tags = input.include.iter().any(|f| f == "TAGS");
    let mut providers = Vec::new();
    let mut failures = Vec::new();
    if let Some(references) = input.capacity_providers {
        for reference in &references {
            if BUILT_IN.contains(&reference.as_str()) {
                providers.push(built_in_json(ctx, reference));
            } else if let Some(row) = find(ctx, reference).await? {
                providers.push(provider_json(ctx, &row, with_tags).await?);
            } else {
                let arn = if reference.starts_with("arn:") { reference.clone() } else { ctx.scope.capacity_provider(reference) };
                failures.push(json!({"arn": arn, "reason": "MISSING"}));
            }
        }
        return Ok(json!({"capacityProviders": providers, "failures": failures}));
    }
    // Every provider: the built-in ones first, then the region's ACTIVE ones by name. The
    // token holds the last name returned ("" before the built-ins are done).
    let size = paging::page_size(input.max_results, 10, 10)?;
    let after = paging::decode(LIST, input.next_token.as_deref())?.and_then(|k| k.into_iter().next());
    let mut names: Vec<Value> = Vec::new();
    if after.is_none() {
        names.extend(BUILT_IN.iter().map(|n| built_in_json(ctx, n)));
    }
    let rows = ctx.store.list_named(Named::CapacityProvider, ctx.region(), after.as_deref().unwrap_or(""), size + 1).await?;
    for row in &rows {
        names.push(provider_json(ctx, row, with_tags).await?);
    }
    let next = paging::next_token(LIST, &mut names, size, |v| {
        vec![v.get("name").and_then(Value::as_str).filter(|n| !BUILT_IN.contains(n)).unwrap_or("").to_owned()]
    });
    Ok(json!({"capacityProviders": names, "failures": failures, "nextToken": next}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UpdateCapacityProviderInput {
    name: String,
    auto_scaling_group_provider: Option<Map<String, Value>>,
    managed_instances_provider: Option<Value>,
}

pub(super) async fn update_capacity_provider(ctx: &Ctx<'_>, input: UpdateCapacityProviderInput) -> Result<Value> {
    if BUILT_IN.contains(&input.name.as_str()) {
        return Err(ecs_error!(ClientException, "The {} capacity provider cannot be updated.", input.name));
    }
    let Some(mut row) = find(ctx, &input.name).await?.filter(|r| r.status == "ACTIVE") else {
        return Err(ecs_error!(ClientException, "The specified capacity provider does not exist."));
    };
    if input.managed_instances_provider.is_some() {
        return Err(ecs_error!(UnsupportedFeatureException, "Managed instances capacity providers are not supported by berth."));
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
}

pub(super) async fn delete_capacity_provider(ctx: &Ctx<'_>, input: DeleteCapacityProviderInput) -> Result<Value> {
    if BUILT_IN.contains(&input.capacity_provider.as_str()) {
        return Err(ecs_error!(ClientException, "The {} capacity provider cannot be deleted.", input.capacity_provider));
    }
    let Some(mut row) = find(ctx, &input.capacity_provider).await?.filter(|r| r.status == "ACTIVE") else {
        return Err(ecs_error!(ClientException, "The specified capacity provider does not exist."));
    };
    let users = clusters::clusters_using(ctx, &row.name).await?;
    if !users.is_empty() {
        return Err(ecs_error!(
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
