//! A service's settings as CreateService and UpdateService take them: checked against ECS's
//! rules (deployment configuration, DAEMON limits, launch type or capacity providers, network
//! configuration, platform version) and applied to the service's document, and its deployments.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::launch::{self, Capacity};
use super::{Ctx, task_definitions};
use crate::domain::{now, str_of};
use crate::error::Result;
use crate::store::{Doc, NamedRow};

/// The Fargate platform version LATEST stands for.
const FARGATE_PLATFORM_VERSION: &str = "1.4.0";

/// Inputs CreateService and UpdateService share.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(super) struct ServiceSettings {
    pub task_definition: Option<String>,
    pub desired_count: Option<i64>,
    pub launch_type: Option<String>,
    pub capacity_provider_strategy: Option<Vec<Value>>,
    pub platform_version: Option<String>,
    pub deployment_configuration: Option<Map<String, Value>>,
    pub placement_constraints: Option<Vec<Value>>,
    pub placement_strategy: Option<Vec<Value>>,
    pub network_configuration: Option<Value>,
    pub health_check_grace_period_seconds: Option<i64>,
    pub load_balancers: Option<Vec<Value>>,
    pub service_registries: Option<Vec<Value>>,
    pub enable_ecs_managed_tags: Option<bool>,
    pub propagate_tags: Option<String>,
    pub enable_execute_command: Option<bool>,
    pub availability_zone_rebalancing: Option<String>,
    pub service_connect_configuration: Option<Value>,
    pub volume_configurations: Option<Vec<Value>>,
}

/// The deployment configuration with ECS's defaults filled in.
pub(super) fn deployment_configuration(given: Option<&Map<String, Value>>, daemon: bool) -> Result<Value> {
    let mut c = given.cloned().unwrap_or_default();
    let breaker = c.entry("deploymentCircuitBreaker").or_insert_with(|| json!({"enable": false, "rollback": false}));
    if let Value::Object(b) = breaker {
        b.entry("enable").or_insert(json!(false));
        b.entry("rollback").or_insert(json!(false));
    }
    c.entry("maximumPercent").or_insert(json!(if daemon { 100 } else { 200 }));
    c.entry("minimumHealthyPercent").or_insert(json!(if daemon { 0 } else { 100 }));
    let max = c.get("maximumPercent").and_then(Value::as_i64).unwrap_or(200);
    let min = c.get("minimumHealthyPercent").and_then(Value::as_i64).unwrap_or(100);
    if max < min {
        return Err(aws_error!(
            InvalidParameterException,
            "maximumPercent must be greater than or equal to minimumHealthyPercent."
        ));
    }
    if !(0..=100).contains(&min) || max < 100 && !daemon {
        return Err(aws_error!(
            InvalidParameterException,
            "minimumHealthyPercent must be between 0 and 100 and maximumPercent at least 100."
        ));
    }
    Ok(Value::Object(c))
}

/// What a DAEMON service cannot have, refused with AWS's messages.
pub(super) fn check_daemon(s: &ServiceSettings) -> Result<()> {
    if s.desired_count.is_some() {
        return Err(aws_error!(
            InvalidParameterException,
            "The daemon scheduling strategy does not support a desired count for services. Remove the desired count value and try again"
        ));
    }
    if s.placement_strategy.as_ref().is_some_and(|p| !p.is_empty()) {
        return Err(aws_error!(
            InvalidParameterException,
            "The daemon scheduling strategy does not support placement strategies. Remove the placement strategy and try again"
        ));
    }
    if s.capacity_provider_strategy.as_ref().is_some_and(|p| !p.is_empty()) {
        return Err(aws_error!(
            InvalidParameterException,
            "Specifying a capacity provider strategy is not supported when you create a service using the DAEMON scheduling strategy."
        ));
    }
    let max = s.deployment_configuration.as_ref().and_then(|c| c.get("maximumPercent")).and_then(Value::as_i64);
    if max.is_some_and(|m| m > 100) {
        return Err(aws_error!(
            InvalidParameterException,
            "The daemon scheduling strategy does not support values above 100 for maximumPercent"
        ));
    }
    Ok(())
}

/// A new deployment of the service's current settings.
pub(super) fn new_deployment(doc: &Doc, status: &str) -> Value {
    let id = deployment_id();
    let at = now();
    let mut d = json!({
        "id": id,
        "status": status,
        "taskDefinition": doc.get("taskDefinition"),
        "desiredCount": doc.get("desiredCount").cloned().unwrap_or(json!(0)),
        "pendingCount": 0,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": at,
        "updatedAt": at,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": format!("ECS deployment {id} in progress."),
    });
    for key in [
        "launchType",
        "capacityProviderStrategy",
        "platformVersion",
        "platformFamily",
        "networkConfiguration",
        "serviceConnectConfiguration",
        "volumeConfigurations",
    ] {
        if let Some(v) = doc.get(key) {
            d[key] = v.clone();
        }
    }
    // The service keeps LATEST; its deployments show the version it resolved to.
    if d.get("platformVersion") == Some(&json!("LATEST")) {
        d["platformVersion"] = json!(FARGATE_PLATFORM_VERSION);
    }
    d
}

/// Checks a service's task definition, network and capacity settings against ECS's rules and
/// writes them into `doc`.
pub(super) async fn apply_settings(
    ctx: &Ctx<'_>,
    cluster: &NamedRow,
    doc: &mut Doc,
    s: &ServiceSettings,
) -> Result<()> {
    if let Some(reference) = &s.task_definition {
        let Some(td) = task_definitions::find(ctx, reference).await? else {
            return Err(aws_error!(ClientException, "TaskDefinition not found."));
        };
        if str_of(&td, "status") != Some("ACTIVE") {
            return Err(aws_error!(ClientException, "TaskDefinition is inactive."));
        }
        doc.insert("taskDefinition".into(), td.get("taskDefinitionArn").cloned().unwrap_or(Value::Null));
    }
    if let Some(n) = s.desired_count {
        if n < 0 {
            return Err(aws_error!(InvalidParameterException, "desiredCount cannot be negative."));
        }
        doc.insert("desiredCount".into(), json!(n));
    }
    if s.launch_type.is_some() || s.capacity_provider_strategy.is_some() {
        doc.remove("launchType");
        doc.remove("capacityProviderStrategy");
        let options =
            launch::capacity_options(ctx, cluster, s.launch_type.as_deref(), s.capacity_provider_strategy.as_deref())?;
        match (&s.launch_type, &s.capacity_provider_strategy) {
            (Some(lt), _) => {
                doc.insert("launchType".into(), json!(lt));
            }
            (None, Some(strategy)) if !strategy.is_empty() => {
                let items: Vec<Value> = options
                    .iter()
                    .map(|(_, i)| json!({"capacityProvider": i.capacity_provider, "weight": i.weight, "base": i.base}))
                    .collect();
                doc.insert("capacityProviderStrategy".into(), json!(items));
            }
            _ => {}
        }
    }
    for (key, value) in [
        ("platformVersion", s.platform_version.as_ref().map(|v| json!(v))),
        ("placementConstraints", s.placement_constraints.as_ref().map(|v| json!(v))),
        ("placementStrategy", s.placement_strategy.as_ref().map(|v| json!(v))),
        ("networkConfiguration", s.network_configuration.clone()),
        ("healthCheckGracePeriodSeconds", s.health_check_grace_period_seconds.map(|v| json!(v))),
        ("loadBalancers", s.load_balancers.as_ref().map(|v| json!(v))),
        ("serviceRegistries", s.service_registries.as_ref().map(|v| json!(v))),
        ("enableECSManagedTags", s.enable_ecs_managed_tags.map(|v| json!(v))),
        ("propagateTags", s.propagate_tags.as_ref().map(|v| json!(v))),
        ("enableExecuteCommand", s.enable_execute_command.map(|v| json!(v))),
        ("availabilityZoneRebalancing", s.availability_zone_rebalancing.as_ref().map(|v| json!(v))),
        ("serviceConnectConfiguration", s.service_connect_configuration.clone()),
        ("volumeConfigurations", s.volume_configurations.as_ref().map(|v| json!(v))),
    ] {
        if let Some(v) = value {
            doc.insert(key.into(), v);
        }
    }
    // Strategies and constraints parse now, so that a bad one is the caller's error.
    let td = match str_of(doc, "taskDefinition") {
        Some(arn) => task_definitions::find(ctx, arn).await?.unwrap_or_default(),
        None => Doc::new(),
    };
    let constraints: Option<Vec<Value>> = doc.get("placementConstraints").and_then(Value::as_array).cloned();
    super::placement::constraints(&td, constraints.as_deref())?;
    let strategies: Option<Vec<Value>> = doc.get("placementStrategy").and_then(Value::as_array).cloned();
    super::placement::strategies(strategies.as_deref())?;
    let fargate = uses_fargate(ctx, cluster, doc)?;
    if fargate {
        doc.entry("platformVersion").or_insert(json!("LATEST"));
        doc.insert("platformFamily".into(), json!("Linux"));
        super::placement::refuse_on_fargate(constraints.as_deref(), strategies.as_deref())?;
    }
    if td.is_empty() {
        // An EXTERNAL service without a task definition: its task sets bring theirs.
        return Ok(());
    }
    let strategy: Option<Vec<Value>> = doc.get("capacityProviderStrategy").and_then(Value::as_array).cloned();
    let options = launch::capacity_options(ctx, cluster, str_of(doc, "launchType"), strategy.as_deref())?;
    launch::compatible_launch_type(&td, &options)?;
    let awsvpc = str_of(&td, "networkMode") == Some("awsvpc");
    if !awsvpc && doc.get("networkConfiguration").is_some() {
        return Err(aws_error!(
            InvalidParameterException,
            "Network Configuration is not valid for the given networkMode of this task definition."
        ));
    }
    if awsvpc && doc.get("networkConfiguration").and_then(|n| n.get("awsvpcConfiguration")).is_none() {
        return Err(aws_error!(
            InvalidParameterException,
            "Network Configuration must be provided when networkMode 'awsvpc' is specified."
        ));
    }
    Ok(())
}

/// Whether the service's tasks run in the Fargate-like mode (checking what an EXTERNAL service,
/// whose tasks external instances' agents run, cannot have).
pub(super) fn uses_fargate(ctx: &Ctx<'_>, cluster: &NamedRow, doc: &Doc) -> Result<bool> {
    let strategy: Option<Vec<Value>> = doc.get("capacityProviderStrategy").and_then(Value::as_array).cloned();
    let options = launch::capacity_options(ctx, cluster, str_of(doc, "launchType"), strategy.as_deref())?;
    if options.iter().any(|(c, _)| matches!(c, Capacity::External)) {
        // ECS Anywhere has neither service load balancing nor service discovery.
        for (member, what) in [("loadBalancers", "Load balancers"), ("serviceRegistries", "Service registries")] {
            if !crate::domain::list_of(doc, member).is_empty() {
                return Err(aws_error!(
                    InvalidParameterException,
                    "{what} are not supported for services with the EXTERNAL launch type."
                ));
            }
        }
    }
    Ok(options.iter().any(|(c, _)| matches!(c, Capacity::Fargate(_))))
}

/// A deployment id as ECS makes them: `ecs-svc/` and 19 digits.
pub(super) fn deployment_id() -> String {
    let n = uuid::Uuid::new_v4().as_u64_pair().0 % 9_000_000_000_000_000_000 + 1_000_000_000_000_000_000;
    format!("ecs-svc/{n}")
}
