//! Where a request's tasks run: its launch type, capacity provider strategy or the cluster's
//! default ([`capacity_options`]), checked as ECS checks strategies, split by base and weight
//! ([`split`]), and checked against the task definition's compatibilities.

use serde::Deserialize;
use serde_json::{Value, json};

use super::super::Ctx;
use crate::error::Result;
use crate::store::{Doc, NamedRow};

/// Where a share of a request's tasks runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Capacity {
    /// The Fargate-like mode, through FARGATE or FARGATE_SPOT when a strategy named it.
    Fargate(Option<String>),
    /// Container instances: any of the cluster's, or those of the named Auto Scaling group
    /// provider.
    Ec2(Option<String>),
    /// The cluster's external instances (ECS Anywhere): their own agents run the tasks and
    /// report their states (SubmitTaskStateChange); berth runs nothing for them.
    External,
    /// The instances of the cluster's ECS Managed Instances provider of this name (launch type
    /// MANAGED_INSTANCES), which ECS launches for the tasks.
    ManagedInstances(String),
}

impl Capacity {
    pub(super) fn launch_type(&self) -> &'static str {
        match self {
            Capacity::Fargate(_) => "FARGATE",
            Capacity::Ec2(_) => "EC2",
            Capacity::External => "EXTERNAL",
            Capacity::ManagedInstances(_) => "MANAGED_INSTANCES",
        }
    }

    pub(super) fn provider(&self) -> Option<&str> {
        match self {
            Capacity::Fargate(p) | Capacity::Ec2(p) => p.as_deref(),
            Capacity::ManagedInstances(p) => Some(p),
            Capacity::External => None,
        }
    }
}

/// One item of a capacity provider strategy, as requests and clusters give it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StrategyItem {
    pub capacity_provider: String,
    #[serde(default)]
    pub weight: i64,
    #[serde(default)]
    pub base: i64,
}

/// The capacity a request's tasks run on: its launch type, else its capacity provider strategy,
/// else the cluster's default strategy, else EC2. A strategy's providers must be the cluster's,
/// and cannot mix Fargate with Auto Scaling groups.
///
/// # Errors
/// InvalidParameterException for a strategy ECS refuses.
pub(crate) fn capacity_options(
    ctx: &Ctx<'_>,
    cluster: &NamedRow,
    launch_type: Option<&str>,
    strategy: Option<&[Value]>,
) -> Result<Vec<(Capacity, StrategyItem)>> {
    let strategy = strategy.filter(|s| !s.is_empty());
    let whole = |_: Capacity| StrategyItem { capacity_provider: String::new(), weight: 1, base: 0 };
    match (launch_type, strategy) {
        (Some(_), Some(_)) => Err(aws_error!(
            InvalidParameterException,
            "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again."
        )),
        (Some("FARGATE"), None) => Ok(vec![(Capacity::Fargate(None), whole(Capacity::Fargate(None)))]),
        (Some("EC2"), None) => Ok(vec![(Capacity::Ec2(None), whole(Capacity::Ec2(None)))]),
        (Some("EXTERNAL"), None) => Ok(vec![(Capacity::External, whole(Capacity::External))]),
        (Some(_), None) => Err(aws_error!(
            InvalidParameterException,
            "If you want to use Amazon ECS Managed Instances, you must use the capacityProviderStrategy request parameter and omit the launchType request parameter."
        )),
        (None, requested) => {
            let default = cluster.doc.get("defaultCapacityProviderStrategy").and_then(Value::as_array);
            let Some(items) = requested.or(default.map(Vec::as_slice)).filter(|s| !s.is_empty()) else {
                return Ok(vec![(Capacity::Ec2(None), whole(Capacity::Ec2(None)))]);
            };
            let attached = super::super::clusters::providers_of(cluster);
            let managed = super::super::clusters::managed_instances_providers_of(cluster);
            let mut out: Vec<(Capacity, StrategyItem)> = Vec::with_capacity(items.len());
            for item in items {
                let mut item: StrategyItem = super::super::parse(item.clone())?;
                let name = item.capacity_provider.rsplit('/').next().unwrap_or_default().to_owned();
                let arn_ok = !item.capacity_provider.starts_with("arn:")
                    || item.capacity_provider == ctx.scope.capacity_provider(&name);
                if !arn_ok || !attached.contains(&name.as_str()) {
                    return Err(aws_error!(
                        InvalidParameterException,
                        "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again."
                    ));
                }
                if out.iter().any(|(_, i)| i.capacity_provider == name) {
                    return Err(aws_error!(
                        InvalidParameterException,
                        "A capacity provider strategy cannot contain duplicate capacity providers."
                    ));
                }
                item.capacity_provider.clone_from(&name);
                let capacity = if matches!(name.as_str(), "FARGATE" | "FARGATE_SPOT") {
                    Capacity::Fargate(Some(name))
                } else if managed.contains(&name.as_str()) {
                    Capacity::ManagedInstances(name)
                } else {
                    Capacity::Ec2(Some(name))
                };
                out.push((capacity, item));
            }
            check_strategy(&out)?;
            Ok(out)
        }
    }
}

fn check_strategy(items: &[(Capacity, StrategyItem)]) -> Result<()> {
    let fargate = items.iter().filter(|(c, _)| matches!(c, Capacity::Fargate(_))).count();
    if fargate > 0 && fargate < items.len() {
        return Err(aws_error!(
            InvalidParameterException,
            "A capacity provider strategy cannot contain a mix of capacity providers using Auto Scaling groups and Fargate providers. Specify one or the other and try again."
        ));
    }
    let managed = items.iter().filter(|(c, _)| matches!(c, Capacity::ManagedInstances(_))).count();
    if managed > 0 && managed < items.len() {
        return Err(aws_error!(
            InvalidParameterException,
            "A capacity provider strategy cannot contain a mix of Amazon ECS Managed Instances capacity providers and other capacity providers. Specify one type or the other and try again."
        ));
    }
    if items.iter().filter(|(_, i)| i.base > 0).count() > 1 {
        return Err(aws_error!(
            InvalidParameterException,
            "A capacity provider strategy can have only one capacity provider with a base value defined."
        ));
    }
    if items.iter().any(|(_, i)| !(0..=1000).contains(&i.weight) || !(0..=100_000).contains(&i.base)) {
        return Err(aws_error!(
            InvalidParameterException,
            "A capacity provider strategy's weight must be between 0 and 1000 and its base between 0 and 100000."
        ));
    }
    if items.iter().all(|(_, i)| i.weight == 0) {
        return Err(aws_error!(
            InvalidParameterException,
            "At least one capacity provider in a capacity provider strategy must have a weight greater than zero."
        ));
    }
    Ok(())
}

/// The launch type a request's tasks get on `options` (what [`capacity_options`] chose), checked
/// against the task definition's `compatibilities`.
///
/// # Errors
/// InvalidParameterException when the task definition cannot run with that launch type.
pub(crate) fn compatible_launch_type(td: &Doc, options: &[(Capacity, StrategyItem)]) -> Result<&'static str> {
    let launch_type = options.first().map_or("EC2", |(c, _)| c.launch_type());
    if !crate::domain::list_of(td, "compatibilities").contains(&json!(launch_type)) {
        return Err(aws_error!(
            InvalidParameterException,
            "Task definition does not support launch_type {launch_type}."
        ));
    }
    Ok(launch_type)
}

/// Splits `count` new tasks over a strategy's items (see [`crate::domain::capacity::split`]).
pub(crate) fn split(items: &[StrategyItem], existing: &[usize], count: usize) -> Vec<usize> {
    let shares: Vec<(i64, i64)> = items.iter().map(|i| (i.base, i.weight)).collect();
    crate::domain::capacity::split(&shares, existing, count)
}
