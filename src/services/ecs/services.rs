//! Services: CreateService, UpdateService, DeleteService, DescribeServices, ListServices, and
//! the service scheduler that keeps each service's promise with real tasks.
//!
//! The handlers store the service's desired state (its document, with its deployments); the
//! store's change notification wakes [`crate::controllers::services`], whose [`reconcile`] then compares each
//! ACTIVE or DRAINING service with its tasks and acts, as the ECS service scheduler does:
//! - REPLICA services keep `desiredCount` tasks of the PRIMARY deployment, started through the
//!   same launch path as RunTask (placement, capacity providers), with `startedBy` the
//!   deployment id and group `service:NAME`.
//! - A rolling update starts new tasks while the total stays within `maximumPercent` of the
//!   desired count and stops old ones while RUNNING tasks stay at or above
//!   `minimumHealthyPercent`; tasks on DRAINING container instances are replaced the same way.
//! - Tasks that stop on their own are replaced; tasks that fail to start count as the
//!   deployment's `failedTasks`, and with the deployment circuit breaker on, enough of them fail
//!   the deployment (and roll back to the last completed one when asked).
//! - `events`, `runningCount`, `pendingCount` and the deployments' counts and rolloutState are
//!   what `aws ecs wait services-stable` and Terraform's wait_for_steady_state read.
//!
//! Not yet: DAEMON scheduling, the EXTERNAL and CODE_DEPLOY deployment controllers (task sets),
//! load balancer health checks.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::launch::{self, Blueprint, Capacity, LaunchRequest, StrategyItem};
use super::tags::{Tag, check_tags, store_tags, tags_json};
use super::{Ctx, clusters, paging, task_definitions};
use crate::domain::deployment::{self, Replica, StopReason};
use crate::domain::now;
use crate::error::Result;
use crate::store::{Doc, NamedRow, ServiceRow, TaskKey};

/// The Fargate platform version LATEST stands for.
const FARGATE_PLATFORM_VERSION: &str = "1.4.0";
/// Events a service keeps, newest first, as ECS keeps.
const MAX_EVENTS: usize = 100;
/// How long the scheduler remembers stopped tasks it has accounted for (seconds).
const SEEN_WINDOW: f64 = 120.0;

fn str_of<'a>(doc: &'a Doc, key: &str) -> Option<&'a str> {
    doc.get(key).and_then(Value::as_str)
}

fn service_not_found() -> crate::error::ApiError {
    aws_error!(ServiceNotFoundException, "Service not found.")
}

/// A deployment id as ECS makes them: `ecs-svc/` and 19 digits.
fn deployment_id() -> String {
    let n = uuid::Uuid::new_v4().as_u64_pair().0 % 9_000_000_000_000_000_000 + 1_000_000_000_000_000_000;
    format!("ecs-svc/{n}")
}

/// The service a reference (name or ARN) names in a cluster, in any status.
pub(super) async fn find(ctx: &Ctx<'_>, cluster: &NamedRow, reference: &str) -> Result<Option<ServiceRow>> {
    let name = if reference.starts_with("arn:") {
        match super::cluster_scoped_id(cluster, reference, "service") {
            Some(name) => name,
            // The short ARN form, service/NAME, of services created before cluster-scoped ARNs.
            None => match crate::domain::arn::Arn::parse(reference) {
                Some(a) if a.resource_type == "service" && !a.resource_id.contains('/') => a.resource_id,
                _ => return Ok(None),
            },
        }
    } else {
        reference
    };
    Ok(ctx.store.get_service(ctx.region(), &cluster.name, name).await?)
}

/// Inputs CreateService and UpdateService share.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub(super) struct ServiceSettings {
    task_definition: Option<String>,
    desired_count: Option<i64>,
    launch_type: Option<String>,
    capacity_provider_strategy: Option<Vec<Value>>,
    platform_version: Option<String>,
    deployment_configuration: Option<Map<String, Value>>,
    placement_constraints: Option<Vec<Value>>,
    placement_strategy: Option<Vec<Value>>,
    network_configuration: Option<Value>,
    health_check_grace_period_seconds: Option<i64>,
    load_balancers: Option<Vec<Value>>,
    service_registries: Option<Vec<Value>>,
    enable_ecs_managed_tags: Option<bool>,
    propagate_tags: Option<String>,
    enable_execute_command: Option<bool>,
    availability_zone_rebalancing: Option<String>,
    service_connect_configuration: Option<Value>,
    volume_configurations: Option<Vec<Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateServiceInput {
    cluster: Option<String>,
    service_name: String,
    #[serde(flatten)]
    settings: ServiceSettings,
    scheduling_strategy: Option<String>,
    deployment_controller: Option<Value>,
    role: Option<String>,
    client_token: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

/// The deployment configuration with ECS's defaults filled in.
fn deployment_configuration(given: Option<&Map<String, Value>>, daemon: bool) -> Result<Value> {
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
fn check_daemon(s: &ServiceSettings) -> Result<()> {
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
fn new_deployment(doc: &Doc, status: &str) -> Value {
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
async fn apply_settings(ctx: &Ctx<'_>, cluster: &NamedRow, doc: &mut Doc, s: &ServiceSettings) -> Result<()> {
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
        if constraints.is_some_and(|c| !c.is_empty()) || strategies.is_some_and(|s| !s.is_empty()) {
            return Err(aws_error!(
                InvalidParameterException,
                "Task placement constraints and strategies are not supported for services with launch type FARGATE."
            ));
        }
    }
    if td.is_empty() {
        // An EXTERNAL service without a task definition: its task sets bring theirs.
        return Ok(());
    }
    let compatible = if fargate { "FARGATE" } else { "EC2" };
    if !td.get("compatibilities").and_then(Value::as_array).is_some_and(|c| c.iter().any(|x| *x == json!(compatible))) {
        return Err(aws_error!(
            InvalidParameterException,
            "Task definition does not support launch_type {compatible}."
        ));
    }
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

/// Whether the service's tasks run in the Fargate-like mode.
fn uses_fargate(ctx: &Ctx<'_>, cluster: &NamedRow, doc: &Doc) -> Result<bool> {
    let strategy: Option<Vec<Value>> = doc.get("capacityProviderStrategy").and_then(Value::as_array).cloned();
    let options = launch::capacity_options(ctx, cluster, str_of(doc, "launchType"), strategy.as_deref())?;
    Ok(options.iter().any(|(c, _)| matches!(c, Capacity::Fargate(_))))
}

pub(super) async fn create_service(ctx: &Ctx<'_>, input: CreateServiceInput) -> Result<Value> {
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    let name = input.service_name.clone();
    if !crate::domain::is_valid_name(&name) {
        return Err(aws_error!(
            InvalidParameterException,
            "Service names can have up to 255 characters, letters (upper and lowercase), numbers, underscores, and hyphens."
        ));
    }
    let daemon = match input.scheduling_strategy.as_deref() {
        None | Some("REPLICA") => false,
        Some("DAEMON") => {
            check_daemon(&input.settings)?;
            if input.settings.launch_type.as_deref() == Some("FARGATE") {
                return Err(aws_error!(
                    InvalidParameterException,
                    "The daemon scheduling strategy does not support the FARGATE launch type. Change the launch type and try again"
                ));
            }
            true
        }
        Some(other) => return Err(aws_error!(InvalidParameterException, "Unknown schedulingStrategy {other}.")),
    };
    let controller = input.deployment_controller.clone().unwrap_or(json!({"type": "ECS"}));
    let external = match controller.get("type").and_then(Value::as_str) {
        Some("ECS") => false,
        Some("EXTERNAL") => true,
        _ => {
            return Err(aws_error!(
                UnsupportedFeatureException,
                "berth supports the ECS and EXTERNAL deployment controllers; CODE_DEPLOY is not built yet."
            ));
        }
    };
    if input.settings.task_definition.is_none() && !external {
        return Err(aws_error!(InvalidParameterException, "TaskDefinition must be specified."));
    }
    if external && daemon {
        return Err(aws_error!(
            InvalidParameterException,
            "The daemon scheduling strategy does not support the EXTERNAL deployment controller."
        ));
    }
    let tags = check_tags(&input.tags)?;
    let arn = ctx.scope.arn(&format!("service/{}/{name}", cluster.name));
    let mut doc = Doc::new();
    doc.insert("serviceArn".into(), json!(arn));
    doc.insert("serviceName".into(), json!(name));
    doc.insert("clusterArn".into(), json!(cluster.arn));
    doc.insert("loadBalancers".into(), json!([]));
    doc.insert("serviceRegistries".into(), json!([]));
    doc.insert("status".into(), json!("ACTIVE"));
    doc.insert("desiredCount".into(), json!(1));
    doc.insert("runningCount".into(), json!(0));
    doc.insert("pendingCount".into(), json!(0));
    let mut settings = input.settings.clone();
    if daemon {
        // Daemons run on container instances, whatever the cluster's default strategy says;
        // their desired count is how many instances there are.
        settings.launch_type.get_or_insert_with(|| "EC2".into());
        settings.desired_count = Some(i64::try_from(daemon_instances(ctx, &cluster).await?.len()).unwrap_or(0));
    } else if !external && settings.launch_type.is_none() && settings.capacity_provider_strategy.is_none() {
        let default = cluster.doc.get("defaultCapacityProviderStrategy").and_then(Value::as_array);
        if default.is_none_or(Vec::is_empty) {
            settings.launch_type = Some("EC2".into());
        } else {
            settings.capacity_provider_strategy = default.cloned();
        }
    }
    apply_settings(ctx, &cluster, &mut doc, &settings).await?;
    doc.insert(
        "deploymentConfiguration".into(),
        deployment_configuration(input.settings.deployment_configuration.as_ref(), daemon)?,
    );
    doc.entry("placementConstraints").or_insert(json!([]));
    doc.entry("placementStrategy").or_insert(json!([]));
    doc.insert(
        "roleArn".into(),
        json!(format!(
            "arn:aws:iam::{}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
            ctx.scope.account
        )),
    );
    if let Some(role) = &input.role {
        doc.insert("roleArn".into(), json!(role));
    }
    doc.insert("events".into(), json!([]));
    doc.insert("createdAt".into(), json!(now()));
    doc.insert("schedulingStrategy".into(), json!(if daemon { "DAEMON" } else { "REPLICA" }));
    doc.insert("deploymentController".into(), controller);
    doc.insert("createdBy".into(), json!(format!("arn:aws:iam::{}:root", ctx.scope.account)));
    doc.entry("enableECSManagedTags").or_insert(json!(false));
    doc.entry("propagateTags").or_insert(json!("NONE"));
    doc.entry("enableExecuteCommand").or_insert(json!(false));
    // AWS's default for new services since 2025.
    doc.entry("availabilityZoneRebalancing").or_insert(json!("ENABLED"));
    doc.entry("healthCheckGracePeriodSeconds").or_insert(json!(0));
    let mut state = Doc::new();
    if external {
        // An external controller deploys with task sets, not deployments.
        doc.insert("taskSets".into(), json!([]));
        doc.insert("deployments".into(), json!([]));
    } else {
        let deployment = new_deployment(&doc, "PRIMARY");
        doc.insert("deployments".into(), json!([deployment]));
        super::service_deployments::begin(ctx, &mut state, &doc, &deployment, &[]);
    }
    if let Some(token) = &input.client_token {
        state.insert("clientToken".into(), json!(token));
    }
    let row = ServiceRow {
        region: ctx.region().to_owned(),
        cluster: cluster.name.clone(),
        name: name.clone(),
        arn: arn.clone(),
        status: "ACTIVE".into(),
        doc,
        state,
    };
    if let Some(existing) = ctx.store.create_service(&row).await? {
        if existing.status == "DRAINING" {
            return Err(aws_error!(InvalidParameterException, "Unable to Start a service that is still Draining."));
        }
        // A retry of the same request (same client token) answers the service it created.
        let same_token =
            input.client_token.is_some() && existing.state.get("clientToken") == row.state.get("clientToken");
        if same_token {
            return Ok(json!({"service": service_json(ctx, &existing, true).await?}));
        }
        return Err(aws_error!(InvalidParameterException, "Creation of service was not idempotent."));
    }
    ctx.store.delete_tags(&arn).await?;
    store_tags(ctx, &arn, &tags).await?;
    Ok(json!({"service": service_json(ctx, &row, true).await?}))
}

/// The Service shape: the stored document, with tags when asked.
async fn service_json(ctx: &Ctx<'_>, row: &ServiceRow, with_tags: bool) -> Result<Value> {
    let mut out = row.doc.clone();
    out.insert("status".into(), json!(row.status));
    // Kept for the deployments they belong to; the Service shape has no such members.
    out.remove("serviceConnectConfiguration");
    out.remove("volumeConfigurations");
    let (current, revisions) = super::service_deployments::current(ctx, row);
    if let Some(arn) = current {
        out.insert("currentServiceDeployment".into(), json!(arn));
    }
    out.insert("currentServiceRevisions".into(), json!(revisions));
    if with_tags {
        out.insert("tags".into(), tags_json(ctx, &row.arn).await?);
    }
    Ok(Value::Object(out))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UpdateServiceInput {
    cluster: Option<String>,
    service: String,
    #[serde(flatten)]
    settings: ServiceSettings,
    #[serde(default)]
    force_new_deployment: bool,
}

pub(super) async fn update_service(ctx: &Ctx<'_>, input: UpdateServiceInput) -> Result<Value> {
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    let Some(current) = find(ctx, &cluster, &input.service).await? else { return Err(service_not_found()) };
    if current.status != "ACTIVE" {
        return Err(aws_error!(ServiceNotActiveException, "Service was not ACTIVE."));
    }
    let daemon = str_of(&current.doc, "schedulingStrategy") == Some("DAEMON");
    if daemon {
        check_daemon(&input.settings)?;
    }
    let mut doc = current.doc.clone();
    apply_settings(ctx, &cluster, &mut doc, &input.settings).await?;
    if let Some(given) = &input.settings.deployment_configuration {
        let mut merged = doc.get("deploymentConfiguration").and_then(Value::as_object).cloned().unwrap_or_default();
        merged.extend(given.clone());
        doc.insert("deploymentConfiguration".into(), deployment_configuration(Some(&merged), daemon)?);
    }
    // What a deployment carries: a change to any of it starts a new deployment.
    const DEPLOYED: [&str; 6] = [
        "taskDefinition",
        "launchType",
        "capacityProviderStrategy",
        "platformVersion",
        "networkConfiguration",
        "volumeConfigurations",
    ];
    // An EXTERNAL service's controller deploys with task sets instead.
    let redeploy = !is_external(&current.doc)
        && (input.force_new_deployment || DEPLOYED.iter().any(|k| doc.get(*k) != current.doc.get(*k)));
    let name = current.name.clone();
    let updated = ctx
        .store
        .update_service(ctx.region(), &cluster.name, &name, |row| {
            if row.status != "ACTIVE" {
                return false;
            }
            let mut deployments = row.doc.get("deployments").and_then(Value::as_array).cloned().unwrap_or_default();
            // Counts and events are the scheduler's: keep the stored ones.
            for key in ["runningCount", "pendingCount", "events", "deployments"] {
                if let Some(v) = row.doc.get(key) {
                    doc.insert(key.into(), v.clone());
                }
            }
            if redeploy {
                for d in &mut deployments {
                    if d.get("status").and_then(Value::as_str) == Some("PRIMARY") {
                        d["status"] = json!("ACTIVE");
                        d["updatedAt"] = json!(now());
                    }
                }
                let next = new_deployment(&doc, "PRIMARY");
                super::service_deployments::begin(ctx, &mut row.state, &doc, &next, &deployments);
                deployments.insert(0, next);
            } else if let Some(primary) = deployments.first_mut() {
                primary["desiredCount"] = doc.get("desiredCount").cloned().unwrap_or(json!(0));
                primary["updatedAt"] = json!(now());
            }
            doc.insert("deployments".into(), json!(deployments));
            row.doc = doc;
            row.state.remove("steady");
            true
        })
        .await?;
    let Some(updated) = updated.filter(|r| r.status == "ACTIVE") else {
        return Err(aws_error!(ServiceNotActiveException, "Service was not ACTIVE."));
    };
    Ok(json!({"service": service_json(ctx, &updated, false).await?}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeleteServiceInput {
    cluster: Option<String>,
    service: String,
    #[serde(default)]
    force: bool,
}

pub(super) async fn delete_service(ctx: &Ctx<'_>, input: DeleteServiceInput) -> Result<Value> {
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    let Some(current) = find(ctx, &cluster, &input.service).await? else { return Err(service_not_found()) };
    if current.status == "INACTIVE" {
        return Err(aws_error!(ServiceNotActiveException, "Service was not ACTIVE."));
    }
    let desired = current.doc.get("desiredCount").and_then(Value::as_i64).unwrap_or(0);
    if current.status == "ACTIVE" && desired > 0 && !input.force {
        return Err(aws_error!(InvalidParameterException, "The service cannot be stopped while it is scaled above 0."));
    }
    let updated = ctx
        .store
        .update_service(ctx.region(), &cluster.name, &current.name, |row| {
            if row.status == "INACTIVE" {
                return false;
            }
            row.status = "DRAINING".into();
            row.doc.insert("status".into(), json!("DRAINING"));
            row.doc.insert("desiredCount".into(), json!(0));
            if let Some(Value::Array(deployments)) = row.doc.get_mut("deployments") {
                for d in deployments {
                    d["desiredCount"] = json!(0);
                }
            }
            row.state.remove("steady");
            true
        })
        .await?
        .ok_or_else(service_not_found)?;
    Ok(json!({"service": service_json(ctx, &updated, false).await?}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeServicesInput {
    cluster: Option<String>,
    services: Vec<String>,
    #[serde(default)]
    include: Vec<String>,
}

pub(super) async fn describe_services(ctx: &Ctx<'_>, input: DescribeServicesInput) -> Result<Value> {
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    if input.services.is_empty() || input.services.len() > 10 {
        return Err(aws_error!(InvalidParameterException, "services must name 1 to 10 services."));
    }
    let with_tags = input.include.iter().any(|i| i == "TAGS");
    let mut services = Vec::new();
    let mut failures = Vec::new();
    for reference in &input.services {
        match find(ctx, &cluster, reference).await? {
            Some(row) => services.push(service_json(ctx, &row, with_tags).await?),
            None => failures
                .push(super::missing(reference, |name| ctx.scope.arn(&format!("service/{}/{name}", cluster.name)))),
        }
    }
    Ok(json!({"services": services, "failures": failures}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListServicesInput {
    cluster: Option<String>,
    launch_type: Option<String>,
    scheduling_strategy: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

pub(super) async fn list_services(ctx: &Ctx<'_>, input: ListServicesInput) -> Result<Value> {
    const LIST: &str = "ListServices";
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    let size = paging::page_size(input.max_results, 10, 100)?;
    let mut after =
        paging::decode(LIST, input.next_token.as_deref())?.and_then(|k| k.into_iter().next()).unwrap_or_default();
    let wanted = |row: &ServiceRow| {
        input.launch_type.as_deref().is_none_or(|lt| str_of(&row.doc, "launchType") == Some(lt))
            && input.scheduling_strategy.as_deref().is_none_or(|s| str_of(&row.doc, "schedulingStrategy") == Some(s))
    };
    // Filters apply after reading, so read on until a page is full or the rows end.
    let mut rows = Vec::new();
    loop {
        let batch = ctx.store.list_services(ctx.region(), &cluster.name, &after, size + 1).await?;
        let done = batch.len() <= usize::try_from(size).unwrap_or(usize::MAX);
        if let Some(last) = batch.last() {
            after.clone_from(&last.name);
        }
        rows.extend(batch.into_iter().filter(wanted));
        if done || rows.len() > usize::try_from(size).unwrap_or(usize::MAX) {
            break;
        }
    }
    let next = paging::next_token(LIST, &mut rows, size, |r| vec![r.name.clone()]);
    let arns: Vec<&str> = rows.iter().map(|r| r.arn.as_str()).collect();
    Ok(json!({"serviceArns": arns, "nextToken": next}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListServicesByNamespaceInput {
    namespace: String,
    next_token: Option<String>,
    max_results: Option<i64>,
}

/// ListServicesByNamespace: the region's ACTIVE services whose Service Connect configuration
/// names the namespace (or, enabled without one, whose cluster's default namespace it is). berth
/// has no Cloud Map: a namespace no cluster or service names does not exist.
pub(super) async fn list_services_by_namespace(ctx: &Ctx<'_>, input: ListServicesByNamespaceInput) -> Result<Value> {
    const LIST: &str = "ListServicesByNamespace";
    let size = paging::page_size(input.max_results, 10, 100)?;
    let after = paging::decode(LIST, input.next_token.as_deref())?.and_then(|k| k.into_iter().next());
    let wanted = input.namespace.as_str();
    let clusters = ctx.store.all_named(crate::store::Named::Cluster, ctx.region()).await?;
    let default_of = |cluster: &str| {
        clusters
            .iter()
            .find(|c| c.name == cluster)
            .and_then(|c| c.doc.get("serviceConnectDefaults"))
            .and_then(|d| d.get("namespace"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let known = clusters.iter().any(|c| default_of(&c.name).as_deref() == Some(wanted));
    let mut arns: Vec<String> = Vec::new();
    let mut named = known;
    for row in ctx.store.live_services().await? {
        if row.region != ctx.region() || row.status != "ACTIVE" {
            continue;
        }
        let Some(config) = row.doc.get("serviceConnectConfiguration") else { continue };
        let namespace = config
            .get("namespace")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| (config.get("enabled") == Some(&json!(true))).then(|| default_of(&row.cluster)).flatten());
        if namespace.as_deref() == Some(wanted) {
            named = true;
            arns.push(row.arn);
        }
    }
    if !named {
        return Err(aws_error!(NamespaceNotFoundException, "The specified namespace {wanted} was not found."));
    }
    arns.sort();
    if let Some(after) = after {
        arns.retain(|a| *a > after);
    }
    let next = paging::next_token(LIST, &mut arns, size, |a| vec![a.clone()]);
    Ok(json!({"serviceArns": arns, "nextToken": next}))
}

// ---------------------------------------------------------------------------------------------
// The scheduler.

/// A service's task as the scheduler sees it.
struct Member {
    key: TaskKey,
    arn: String,
    deployment: String,
    last: String,
    desired_running: bool,
    /// Its container instance ARN (EC2), or empty.
    instance: String,
    /// The capacity provider it runs on, if it was launched through one.
    provider: Option<String>,
    /// On a DRAINING container instance: to be replaced.
    draining: bool,
    /// RUNNING, and HEALTHY when its task definition has health checks.
    healthy: bool,
    /// RUNNING, UNHEALTHY and past the service's health check grace period: to be replaced.
    unhealthy: bool,
    started_at: f64,
}

/// What one pass decided, applied to the service document afterwards.
#[derive(Default)]
struct Outcome {
    events: Vec<String>,
    failed: HashMap<String, i64>,
    /// Tasks seen ending for the first time.
    seen: Vec<String>,
}

fn short_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Tasks as service events name them: `(task ID) (task ID)`.
fn task_refs<'a>(arns: impl Iterator<Item = &'a str>) -> String {
    arns.map(|a| format!("(task {})", short_id(a))).collect::<Vec<_>>().join(" ")
}

/// Brings one service's tasks to what it promises, then records counts, events and rollout.
///
/// # Errors
/// `ServerException` if the store fails; the controller retries.
pub(crate) async fn reconcile(ctx: &Ctx<'_>, row: ServiceRow, settle: f64) -> Result<()> {
    let Some(cluster) = clusters::find(ctx, Some(&row.cluster)).await? else { return Ok(()) };
    let name = row.name.clone();
    let seen: HashMap<String, f64> = row
        .state
        .get("seen")
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_f64()?))).collect())
        .unwrap_or_default();
    let horizon = now() - SEEN_WINDOW;
    let tasks = ctx.store.service_tasks(ctx.region(), &row.cluster, &name, horizon).await?;
    let draining_instances: Vec<String> = ctx
        .store
        .list_instances(ctx.region(), &row.cluster, Some("DRAINING"), "", u32::MAX)
        .await?
        .into_iter()
        .map(|r| r.arn)
        .collect();
    let mut outcome = Outcome::default();
    let mut members = Vec::new();
    let mut checks = HashMap::new();
    let grace = row.doc.get("healthCheckGracePeriodSeconds").and_then(Value::as_f64).unwrap_or(0.0);
    for (key, doc) in tasks {
        let arn = str_of(&doc, "taskArn").unwrap_or_default().to_owned();
        let deployment = str_of(&doc, "startedBy").unwrap_or_default().to_owned();
        let last = str_of(&doc, "lastStatus").unwrap_or_default().to_owned();
        let ending = str_of(&doc, "desiredStatus") == Some("STOPPED");
        if ending && !seen.contains_key(&arn) {
            outcome.seen.push(arn.clone());
            // A task that ends on its own (it failed to start, its essential container exited
            // or turned unhealthy), not stopped by the scheduler or a user, failed: it counts
            // against its deployment (the circuit breaker's count) and backs the scheduler off.
            let stopped_by = str_of(&doc, "stopCode");
            if !matches!(stopped_by, Some("ServiceSchedulerInitiated" | "UserInitiated")) {
                *outcome.failed.entry(deployment.clone()).or_default() += 1;
            }
            // An essential container that turned UNHEALTHY stopped it (see the task runtime).
            if str_of(&doc, "stoppedReason") == Some(crate::runtime::UNHEALTHY_REASON) {
                outcome
                    .events
                    .push(format!("(service {name}) (task {}) failed container health checks.", short_id(&arn)));
            }
        }
        if last == "STOPPED" {
            continue;
        }
        let instance = str_of(&doc, "containerInstanceArn").unwrap_or_default();
        members.push(Member {
            key,
            arn,
            deployment,
            desired_running: str_of(&doc, "desiredStatus") == Some("RUNNING"),
            healthy: last == "RUNNING" && healthy(&doc, checked(ctx, &mut checks, &doc).await?, settle),
            unhealthy: last == "RUNNING"
                && str_of(&doc, "healthStatus") == Some("UNHEALTHY")
                && now() - doc.get("startedAt").and_then(Value::as_f64).unwrap_or(0.0) >= grace,
            draining: !instance.is_empty() && draining_instances.iter().any(|d| d == instance),
            instance: instance.to_owned(),
            provider: str_of(&doc, "capacityProviderName").map(str::to_owned),
            started_at: doc.get("startedAt").and_then(Value::as_f64).unwrap_or(0.0),
            last,
        });
    }
    let daemon = str_of(&row.doc, "schedulingStrategy") == Some("DAEMON");
    let backoff_until = row.state.get("backoffUntil").and_then(Value::as_f64).unwrap_or(0.0);
    // Tasks that just failed to start back the scheduler off before it tries again.
    let may_start = outcome.failed.values().sum::<i64>() == 0 && now() >= backoff_until;
    if is_external(&row.doc) {
        return reconcile_task_sets(ctx, &cluster, &row, &members, outcome, may_start).await;
    }
    let plan = if daemon {
        plan_daemon(ctx, &cluster, &row, &members, may_start).await?
    } else {
        plan_replica(&row, &members, may_start)
    };
    let Plan { mut to_stop, start, desired } = plan;
    // Tasks failing their health checks past the grace period are replaced (the next pass
    // starts their replacements; the event comes when they end).
    for m in members.iter().filter(|m| m.desired_running && m.unhealthy) {
        if !to_stop.iter().any(|(s, _)| s.arn == m.arn) {
            to_stop.push((m, crate::runtime::UNHEALTHY_REASON.to_owned()));
        }
    }
    let primary_id = primary_of(&row.doc);
    stop_members(ctx, &name, &to_stop, &mut outcome.events).await?;
    let mut started_now = 0;
    if start.count() > 0 {
        let staying: Vec<&Member> =
            members.iter().filter(|m| m.desired_running && !to_stop.iter().any(|(s, _)| s.arn == m.arn)).collect();
        match start_tasks(ctx, &cluster, &row, &primary_id, &start, &staying).await {
            Ok((started, failure)) => {
                started_now = started.len();
                if !started.is_empty() {
                    let tasks = task_refs(started.iter().map(String::as_str));
                    outcome.events.push(format!("(service {name}) has started {} tasks: {tasks}.", started.len()));
                }
                if let Some(message) = failure {
                    outcome.events.push(format!("(service {name}) {message}"));
                }
            }
            Err(e) => outcome.events.push(format!("(service {name}) failed to launch a task with ({}).", e.message)),
        }
    }
    record(ctx, &row, &members, &to_stop, started_now, outcome, desired).await
}

/// What one pass does: tasks to stop (with why), tasks to start, and the count it aims at.
struct Plan<'m> {
    to_stop: Vec<(&'m Member, String)>,
    start: Start,
    desired: usize,
}

/// Tasks to start: placed by the service's strategies, or one on each instance named.
enum Start {
    Count(usize),
    On(Vec<String>),
}

impl Start {
    fn count(&self) -> usize {
        match self {
            Start::Count(n) => *n,
            Start::On(instances) => instances.len(),
        }
    }
}

/// The PRIMARY deployment's id.
fn primary_of(doc: &Doc) -> String {
    doc.get("deployments")
        .and_then(Value::as_array)
        .and_then(|d| d.first())
        .and_then(|d| d.get("id"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Whether the circuit breaker failed the PRIMARY deployment (it then starts nothing).
fn primary_failed(doc: &Doc) -> bool {
    doc.get("deployments").and_then(Value::as_array).and_then(|d| d.first()).and_then(|d| d.get("rolloutState"))
        == Some(&json!("FAILED"))
}

/// The service's deployment bounds for `desired` tasks.
fn bounds(doc: &Doc, desired: usize) -> deployment::Bounds {
    let config = doc.get("deploymentConfiguration").cloned().unwrap_or(Value::Null);
    let max_percent = config.get("maximumPercent").and_then(Value::as_i64).unwrap_or(200);
    let min_percent = config.get("minimumHealthyPercent").and_then(Value::as_i64).unwrap_or(100);
    deployment::bounds(desired, max_percent, min_percent)
}

/// The live members as the deployment rules see them, with the members they stand for.
fn replicas<'m>(members: &'m [Member], primary_id: &str) -> (Vec<&'m Member>, Vec<Replica>) {
    let live: Vec<&Member> = members.iter().filter(|m| m.desired_running).collect();
    let replicas = live
        .iter()
        .map(|m| Replica {
            primary: m.deployment == primary_id,
            running: m.last == "RUNNING",
            healthy: m.healthy,
            draining: m.draining,
            started_at: m.started_at,
            instance: m.instance.clone(),
        })
        .collect();
    (live, replicas)
}

/// The members a step stops, with their stoppedReason.
fn stops<'m>(live: &[&'m Member], stop: Vec<(usize, StopReason)>, primary_id: &str) -> Vec<(&'m Member, String)> {
    stop.into_iter()
        .map(|(i, why)| {
            let reason = match why {
                StopReason::Draining => {
                    "Container instance is in DRAINING state; task stopped by the service scheduler".to_owned()
                }
                StopReason::Scaling => format!("Scaling activity initiated by (deployment {primary_id})"),
            };
            (live[i], reason)
        })
        .collect()
}

/// A REPLICA service's pass: `desiredCount` tasks of the PRIMARY deployment, rolled within
/// maximumPercent and minimumHealthyPercent ([`deployment::replica_step`]).
fn plan_replica<'m>(row: &ServiceRow, members: &'m [Member], may_start: bool) -> Plan<'m> {
    let primary_id = primary_of(&row.doc);
    let desired = if row.status == "ACTIVE" {
        usize::try_from(row.doc.get("desiredCount").and_then(Value::as_i64).unwrap_or(0)).unwrap_or(0)
    } else {
        0
    };
    let (live, replicas) = replicas(members, &primary_id);
    let may_start = may_start && !primary_failed(&row.doc);
    let step = deployment::replica_step(&replicas, desired, bounds(&row.doc, desired), may_start);
    Plan { to_stop: stops(&live, step.stop, &primary_id), start: Start::Count(step.start), desired }
}

/// The ARNs of the instances a daemon runs on: the cluster's ACTIVE ones (berth's own are
/// provisioned on first use).
async fn daemon_instances(ctx: &Ctx<'_>, cluster: &NamedRow) -> Result<Vec<String>> {
    {
        let _placing = ctx.tasks.placement_lock().await;
        super::container_instances::ensure_instances(ctx, cluster).await?;
    }
    let rows = ctx.store.list_instances(ctx.region(), &cluster.name, Some("ACTIVE"), "", u32::MAX).await?;
    Ok(rows.into_iter().map(|r| r.arn).collect())
}

/// A DAEMON service's pass: one task of the PRIMARY deployment on each ACTIVE container
/// instance; none on others. An instance's old task goes before its new one starts (within
/// minimumHealthyPercent), since daemons never exceed one task per instance.
async fn plan_daemon<'m>(
    ctx: &Ctx<'_>,
    cluster: &NamedRow,
    row: &ServiceRow,
    members: &'m [Member],
    may_start: bool,
) -> Result<Plan<'m>> {
    let active = if row.status == "ACTIVE" { daemon_instances(ctx, cluster).await? } else { Vec::new() };
    let desired = active.len();
    let primary_id = primary_of(&row.doc);
    let (live, replicas) = replicas(members, &primary_id);
    let may_start = may_start && !primary_failed(&row.doc);
    let step = deployment::daemon_step(&replicas, &active, bounds(&row.doc, desired).min_healthy, may_start);
    let start = step.start_on.into_iter().map(|a| active[a].clone()).collect();
    Ok(Plan { to_stop: stops(&live, step.stop, &primary_id), start: Start::On(start), desired })
}

/// Whether the service uses the EXTERNAL deployment controller (task sets).
pub(super) fn is_external(doc: &Doc) -> bool {
    doc.get("deploymentController").and_then(|c| c.get("type")).and_then(Value::as_str) == Some("EXTERNAL")
}

/// A task set's share of the service: `desiredCount` times its scale, rounded up (none while it,
/// or the service, drains).
pub(super) fn computed_desired_count(service: &ServiceRow, set: &Value) -> i64 {
    if service.status != "ACTIVE" || set.get("status") == Some(&json!("DRAINING")) {
        return 0;
    }
    let desired = service.doc.get("desiredCount").and_then(Value::as_f64).unwrap_or(0.0);
    let percent = set.pointer("/scale/value").and_then(Value::as_f64).unwrap_or(100.0);
    // Whole tasks: the product is small and non-negative, so the cast is exact.
    #[allow(clippy::cast_possible_truncation)]
    let count = (desired * percent / 100.0).ceil() as i64;
    count.max(0)
}

/// A pass of an EXTERNAL service: each task set keeps its computed desired count of tasks of
/// its own task definition (no rolling between them: the external controller decides that with
/// CreateTaskSet, UpdateTaskSet and DeleteTaskSet); tasks of no task set stop.
async fn reconcile_task_sets(
    ctx: &Ctx<'_>,
    cluster: &NamedRow,
    row: &ServiceRow,
    members: &[Member],
    mut outcome: Outcome,
    may_start: bool,
) -> Result<()> {
    let name = row.name.clone();
    let sets = crate::domain::list_of(&row.doc, "taskSets").to_vec();
    let ids: Vec<&str> = sets.iter().filter_map(|t| t.get("id").and_then(Value::as_str)).collect();
    let live: Vec<&Member> = members.iter().filter(|m| m.desired_running).collect();
    let mut to_stop: Vec<(&Member, String)> = Vec::new();
    for m in live.iter().filter(|m| !ids.contains(&m.deployment.as_str())) {
        to_stop.push((m, "Task set deleted".to_owned()));
    }
    let mut started: HashMap<String, usize> = HashMap::new();
    for set in &sets {
        let Some(id) = set.get("id").and_then(Value::as_str) else { continue };
        let want = usize::try_from(computed_desired_count(row, set)).unwrap_or(0);
        let mut mine: Vec<&Member> = live.iter().copied().filter(|m| m.deployment == id).collect();
        if mine.len() > want {
            // Pending ones first, then the newest.
            mine.sort_by(|a, b| {
                (a.last == "RUNNING").cmp(&(b.last == "RUNNING")).then(b.started_at.total_cmp(&a.started_at))
            });
            let extra = mine.len() - want;
            for m in mine.into_iter().take(extra) {
                to_stop.push((m, format!("Scaling activity initiated by (deployment {id})")));
            }
        } else if mine.len() < want && may_start {
            // The task set's own definition, network and capacity, with the service's placement.
            let mut as_service = row.clone();
            for key in
                ["taskDefinition", "networkConfiguration", "launchType", "capacityProviderStrategy", "platformVersion"]
            {
                match set.get(key) {
                    Some(v) => as_service.doc.insert(key.into(), v.clone()),
                    None => as_service.doc.remove(key),
                };
            }
            match start_tasks(ctx, cluster, &as_service, id, &Start::Count(want - mine.len()), &mine).await {
                Ok((arns, failure)) => {
                    if !arns.is_empty() {
                        let tasks = task_refs(arns.iter().map(String::as_str));
                        outcome
                            .events
                            .push(format!("(service {name}, taskSet {id}) has started {} tasks: {tasks}.", arns.len()));
                    }
                    started.insert(id.to_owned(), arns.len());
                    if let Some(message) = failure {
                        outcome.events.push(format!("(service {name}) {message}"));
                    }
                }
                Err(e) => {
                    outcome.events.push(format!("(service {name}) failed to launch a task with ({}).", e.message))
                }
            }
        }
    }
    stop_members(ctx, &name, &to_stop, &mut outcome.events).await?;
    let stopped: Vec<&str> = to_stop.iter().map(|(m, _)| m.arn.as_str()).collect();
    let kept: Vec<&Member> = live.into_iter().filter(|m| !stopped.contains(&m.arn.as_str())).collect();
    let Outcome { events, failed, seen } = outcome;
    let remaining = members.len() + started.values().sum::<usize>();
    let at = now();
    ctx.store
        .update_service(ctx.region(), &row.cluster, &row.name, |svc| {
            let snapshot = svc.clone();
            let mut changed = false;
            let mut running_total = 0;
            let mut pending_total = 0;
            let mut sets = crate::domain::list_of(&svc.doc, "taskSets").to_vec();
            sets.retain_mut(|set| {
                let id = set.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
                let running = kept.iter().filter(|m| m.deployment == id && m.last == "RUNNING").count();
                let pending = kept.iter().filter(|m| m.deployment == id && m.last != "RUNNING").count()
                    + started.get(&id).copied().unwrap_or(0);
                let left =
                    members.iter().filter(|m| m.deployment == id).count() + started.get(&id).copied().unwrap_or(0);
                if set.get("status") == Some(&json!("DRAINING")) && left == 0 {
                    changed = true;
                    return false;
                }
                running_total += running;
                pending_total += pending;
                let computed = computed_desired_count(&snapshot, set);
                let stability = if i64::try_from(running).unwrap_or(0) == computed && pending == 0 {
                    "STEADY_STATE"
                } else {
                    "STABILIZING"
                };
                let now_counts = json!([computed, running, pending, stability]);
                let before = json!([
                    set["computedDesiredCount"],
                    set["runningCount"],
                    set["pendingCount"],
                    set["stabilityStatus"]
                ]);
                if now_counts != before {
                    set["computedDesiredCount"] = json!(computed);
                    set["runningCount"] = json!(running);
                    set["pendingCount"] = json!(pending);
                    set["stabilityStatus"] = json!(stability);
                    set["stabilityStatusAt"] = json!(at);
                    set["updatedAt"] = json!(at);
                    changed = true;
                }
                true
            });
            svc.doc.insert("taskSets".into(), json!(sets));
            for (key, value) in [("runningCount", running_total), ("pendingCount", pending_total)] {
                if svc.doc.get(key) != Some(&json!(value)) {
                    svc.doc.insert(key.into(), json!(value));
                    changed = true;
                }
            }
            if !events.is_empty() {
                add_events(&mut svc.doc, events.clone());
                changed = true;
            }
            changed |= bookkeeping(svc, &seen, failed.values().sum(), running_total > 0, remaining);
            changed
        })
        .await?;
    Ok(())
}

/// Whether a task's definition has container health checks (looked up once per pass).
async fn checked(ctx: &Ctx<'_>, cache: &mut HashMap<String, bool>, task: &Doc) -> Result<bool> {
    let arn = str_of(task, "taskDefinitionArn").unwrap_or_default().to_owned();
    if let Some(known) = cache.get(&arn) {
        return Ok(*known);
    }
    let td = task_definitions::find(ctx, &arn).await?.unwrap_or_default();
    let has = crate::domain::list_of(&td, "containerDefinitions").iter().any(|c| c.get("healthCheck").is_some());
    cache.insert(arn, has);
    Ok(has)
}

/// Whether a RUNNING task counts as healthy for deployments: HEALTHY with health checks;
/// without them, once it has run for `settle` seconds (so that a container that exits at once
/// never completes a deployment; ECS waits 40 s).
fn healthy(task: &Doc, has_checks: bool, settle: f64) -> bool {
    match str_of(task, "healthStatus") {
        Some("HEALTHY") => true,
        Some("UNHEALTHY") => false,
        _ => !has_checks && now() - task.get("startedAt").and_then(Value::as_f64).unwrap_or(f64::MAX) >= settle,
    }
}

/// Stops a task of the service for the scheduler.
/// Stops the tasks the scheduler chose, with their reasons, and records the event ECS writes.
async fn stop_members(
    ctx: &Ctx<'_>,
    name: &str,
    to_stop: &[(&Member, String)],
    events: &mut Vec<String>,
) -> Result<()> {
    if to_stop.is_empty() {
        return Ok(());
    }
    for (m, reason) in to_stop {
        launch::stop(ctx, &m.key, "ServiceSchedulerInitiated", reason).await?;
    }
    let tasks = task_refs(to_stop.iter().map(|(m, _)| m.arn.as_str()));
    events.push(format!("(service {name}) has stopped {} running tasks: {tasks}.", to_stop.len()));
    Ok(())
}

/// Starts `count` tasks of the primary deployment. Answers their ARNs and, when some could not
/// be placed, the event that says why.
async fn start_tasks(
    ctx: &Ctx<'_>,
    cluster: &NamedRow,
    row: &ServiceRow,
    deployment: &str,
    start: &Start,
    staying: &[&Member],
) -> Result<(Vec<String>, Option<String>)> {
    let count = start.count();
    let doc = &row.doc;
    let td_arn = str_of(doc, "taskDefinition").unwrap_or_default();
    let Some(td) = task_definitions::find(ctx, td_arn).await? else {
        return Ok((Vec::new(), Some(format!("was unable to start tasks: task definition {td_arn} not found."))));
    };
    let mut tags = Vec::new();
    if doc.get("enableECSManagedTags").and_then(Value::as_bool) == Some(true) {
        tags.push(("aws:ecs:serviceName".to_owned(), row.name.clone()));
        tags.push(("aws:ecs:clusterName".to_owned(), row.cluster.clone()));
    }
    if str_of(doc, "propagateTags") == Some("SERVICE") {
        tags.extend(ctx.store.get_tags(&row.arn).await?);
    }
    let request = LaunchRequest {
        network_configuration: doc.get("networkConfiguration").cloned(),
        overrides: None,
        started_by: Some(deployment.to_owned()),
        group: Some(format!("service:{}", row.name)),
        propagate_tags: (str_of(doc, "propagateTags") == Some("TASK_DEFINITION")).then(|| "TASK_DEFINITION".into()),
        enable_execute_command: doc.get("enableExecuteCommand").and_then(Value::as_bool).unwrap_or(false),
        platform_version: str_of(doc, "platformVersion").map(str::to_owned),
        placement_constraints: doc.get("placementConstraints").and_then(Value::as_array).cloned(),
        placement_strategy: doc.get("placementStrategy").and_then(Value::as_array).cloned(),
    };
    let mut blueprint = Blueprint::new(ctx, cluster.clone(), td, request, tags).await?;
    blueprint.service = Some(row.name.clone());
    let strategy: Option<Vec<Value>> = doc.get("capacityProviderStrategy").and_then(Value::as_array).cloned();
    let options = launch::capacity_options(ctx, cluster, str_of(doc, "launchType"), strategy.as_deref())?;
    let items: Vec<StrategyItem> = options.iter().map(|(_, i)| i.clone()).collect();
    // What each provider already runs for the service, so that base and weight hold over all
    // of its tasks, not each batch.
    let existing: Vec<usize> = items
        .iter()
        .map(|i| staying.iter().filter(|m| m.provider.as_deref() == Some(i.capacity_provider.as_str())).count())
        .collect();
    let counts = launch::split(&items, &existing, count);
    let plan: Vec<(Capacity, usize)> = options.into_iter().map(|(c, _)| c).zip(counts).collect();
    let chosen = match start {
        Start::Count(_) => None,
        Start::On(instances) => Some(instances.as_slice()),
    };
    let launched = launch::launch(ctx, &blueprint, &plan, chosen, None).await?;
    let arns: Vec<String> = launched.tasks.iter().filter_map(|t| str_of(t, "taskArn").map(str::to_owned)).collect();
    let failure = (arns.len() < count).then(|| unplaceable(&launched.failures));
    Ok((arns, failure))
}

/// The event ECS writes when a service's task fits no container instance.
fn unplaceable(failures: &[Value]) -> String {
    let closest = failures.first();
    let instance = closest.and_then(|f| f.get("arn")).and_then(Value::as_str).map_or("", short_id);
    let why = match closest.and_then(|f| f.get("reason")).and_then(Value::as_str) {
        Some("RESOURCE:MEMORY") => "has insufficient memory available",
        Some("RESOURCE:CPU") => "has insufficient CPU units available",
        Some("RESOURCE:PORTS") => "is already using a port required by your task",
        Some("AGENT") => "is not connected or not ACTIVE",
        Some("ATTRIBUTE") => "is missing an attribute required by your task",
        Some(_) => "does not meet your task's placement constraints",
        None => {
            return "was unable to place a task because no container instance met all of its requirements. Reason: No Container Instances were found in your cluster. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.".to_owned();
        }
    };
    format!(
        "was unable to place a task because no container instance met all of its requirements. The closest matching (container-instance {instance}) {why}. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
    )
}

/// Adds events to a service, newest first, keeping the last [`MAX_EVENTS`].
pub(super) fn add_events(doc: &mut Doc, messages: Vec<String>) {
    let at = now();
    let mut all = doc.get("events").and_then(Value::as_array).cloned().unwrap_or_default();
    for message in messages {
        all.insert(0, json!({"id": uuid::Uuid::new_v4().to_string(), "createdAt": at, "message": message}));
    }
    all.truncate(MAX_EVENTS);
    doc.insert("events".into(), json!(all));
}

/// Why the circuit breaker fails a deployment.
const BREAKER_REASON: &str = "ECS deployment circuit breaker: tasks failed to start.";

/// Rolls the service back to its last completed deployment: a new PRIMARY deployment of that
/// revision, the current one ACTIVE (and drained). Answers the service event, or None when no
/// deployment ever completed.
pub(super) fn roll_back(ctx: &Ctx<'_>, row: &mut ServiceRow, reason: &str) -> Option<String> {
    let Some(Value::Object(last)) = row.state.get("lastCompleted").cloned() else { return None };
    let mut deployments = row.doc.get("deployments").and_then(Value::as_array).cloned().unwrap_or_default();
    let failing = deployments.first().and_then(|d| d.get("id")).and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut d = new_deployment(&row.doc, "PRIMARY");
    for key in ["taskDefinition", "launchType", "capacityProviderStrategy", "platformVersion", "networkConfiguration"] {
        match last.get(key) {
            Some(v) => d[key] = v.clone(),
            None => {
                if let Some(o) = d.as_object_mut() {
                    o.remove(key);
                }
            }
        }
    }
    if let Some(td) = last.get("taskDefinition") {
        row.doc.insert("taskDefinition".into(), td.clone());
    }
    let target = last.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
    let new_id = d["id"].as_str().unwrap_or_default().to_owned();
    d["rolloutStateReason"] = json!(format!("ECS deployment circuit breaker: rolling back to deploymentId {target}."));
    if let Some(first) = deployments.first_mut() {
        first["status"] = json!("ACTIVE");
    }
    deployments.insert(0, d);
    row.doc.insert("deployments".into(), json!(deployments));
    let service = row.doc.clone();
    super::service_deployments::failed(ctx, &mut row.state, &service, &failing, Some((&target, &new_id)), reason);
    row.state.remove("steady");
    Some(format!("(service {}) rolling back to deployment {target}.", row.name))
}

/// Writes what a pass observed and did into the service: counts per deployment, events,
/// rollout state, steady state, and for a DRAINING service with no tasks left, INACTIVE.
async fn record(
    ctx: &Ctx<'_>,
    before: &ServiceRow,
    members: &[Member],
    stopped: &[(&Member, String)],
    started: usize,
    outcome: Outcome,
    desired: usize,
) -> Result<()> {
    let stopped_arns: Vec<&str> = stopped.iter().map(|(m, _)| m.arn.as_str()).collect();
    let live: Vec<&Member> =
        members.iter().filter(|m| m.desired_running && !stopped_arns.contains(&m.arn.as_str())).collect();
    let count = |deployment: Option<&str>, running: bool| {
        live.iter()
            .filter(|m| deployment.is_none_or(|d| m.deployment == d))
            .filter(|m| if running { m.last == "RUNNING" } else { m.last != "RUNNING" })
            .count()
    };
    let pending_total = count(None, false) + started;
    let running_total = count(None, true);
    let at = now();
    let Outcome { mut events, failed, seen } = outcome;
    let name = before.name.clone();
    // Every task not yet STOPPED: a deleted service is DRAINING until they all are.
    let remaining = members.len() + started;
    let primary_started = started;
    ctx.store
        .update_service(ctx.region(), &before.cluster, &name, |row| {
            let mut changed = false;
            let mut deployments = row.doc.get("deployments").and_then(Value::as_array).cloned().unwrap_or_default();
            let primary_id =
                deployments.first().and_then(|d| d.get("id")).and_then(Value::as_str).unwrap_or_default().to_owned();
            for d in &mut deployments {
                let id = d.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
                let extra = if id == primary_id { primary_started } else { 0 };
                let running = count(Some(&id), true);
                let pending = count(Some(&id), false) + extra;
                let failed_now = failed.get(&id).copied().unwrap_or(0);
                let prev = (d["runningCount"].clone(), d["pendingCount"].clone());
                d["runningCount"] = json!(running);
                d["pendingCount"] = json!(pending);
                // Failures count while the deployment rolls out; a completed one has proved its
                // tasks run, and its count stays at zero.
                if failed_now > 0 && d["rolloutState"] == json!("IN_PROGRESS") {
                    d["failedTasks"] = json!(d["failedTasks"].as_i64().unwrap_or(0) + failed_now);
                }
                if prev != (d["runningCount"].clone(), d["pendingCount"].clone()) || failed_now > 0 {
                    d["updatedAt"] = json!(at);
                    changed = true;
                }
            }
            // The circuit breaker: too many of the primary's tasks failed to start.
            let breaker = row.doc.get("deploymentConfiguration").and_then(|c| c.get("deploymentCircuitBreaker"));
            let enabled = breaker.and_then(|b| b.get("enable")).and_then(Value::as_bool) == Some(true);
            let rollback = breaker.and_then(|b| b.get("rollback")).and_then(Value::as_bool) == Some(true);
            let threshold = deployment::failure_threshold(desired);
            let mut tripped = false;
            if let Some(primary) = deployments.first_mut() {
                let failed_tasks = primary["failedTasks"].as_i64().unwrap_or(0);
                let in_progress = primary["rolloutState"] == json!("IN_PROGRESS");
                if enabled && in_progress && deployment::breaker_trips(failed_tasks, desired) {
                    primary["rolloutState"] = json!("FAILED");
                    primary["rolloutStateReason"] = json!(BREAKER_REASON);
                    primary["updatedAt"] = json!(at);
                    events.push(format!(
                        "(service {name}) (deployment {primary_id}) deployment failed: tasks failed to start."
                    ));
                    changed = true;
                    tripped = true;
                }
            }
            super::service_deployments::progress(&mut row.state, &deployments, threshold);
            row.doc.insert("deployments".into(), json!(deployments));
            if tripped {
                let rolled_back = if rollback { roll_back(ctx, row, BREAKER_REASON) } else { None };
                match rolled_back {
                    Some(event) => events.push(event),
                    None => {
                        let service = row.doc.clone();
                        super::service_deployments::failed(
                            ctx,
                            &mut row.state,
                            &service,
                            &primary_id,
                            None,
                            BREAKER_REASON,
                        );
                    }
                }
            }
            let mut deployments = row.doc.get("deployments").and_then(Value::as_array).cloned().unwrap_or_default();
            // Old deployments with no tasks left are done.
            let before_len = deployments.len();
            let mut i = 0;
            deployments.retain(|d| {
                i += 1;
                i == 1 || d["runningCount"] != json!(0) || d["pendingCount"] != json!(0)
            });
            changed |= before_len != deployments.len();
            // A primary with all its tasks RUNNING and nothing else left: the deployment completed.
            if let Some(primary) = deployments.first_mut() {
                let healthy = live.iter().filter(|m| m.deployment == primary_id && m.healthy).count();
                let done = live.iter().all(|m| m.deployment == primary_id && !m.draining)
                    && healthy == desired
                    && primary["pendingCount"] == json!(0);
                if done && primary["rolloutState"] == json!("IN_PROGRESS") {
                    let id = primary["id"].as_str().unwrap_or_default().to_owned();
                    primary["rolloutState"] = json!("COMPLETED");
                    primary["failedTasks"] = json!(0);
                    primary["rolloutStateReason"] = json!(format!("ECS deployment {id} completed."));
                    primary["updatedAt"] = json!(at);
                    events.push(format!("(service {name}) (deployment {id}) deployment completed."));
                    row.state.insert("lastCompleted".into(), primary.clone());
                    super::service_deployments::completed(&mut row.state, &id);
                    changed = true;
                }
            }
            if row.doc.get("schedulingStrategy") == Some(&json!("DAEMON"))
                && row.doc.get("desiredCount") != Some(&json!(desired))
            {
                // A daemon's desired count is the number of instances it should run on.
                row.doc.insert("desiredCount".into(), json!(desired));
                if let Some(primary) = deployments.first_mut() {
                    primary["desiredCount"] = json!(desired);
                }
                changed = true;
            }
            // Steady: one deployment, done, with every task RUNNING.
            let steady = deployments.len() == 1
                && deployments.first().and_then(|d| d.get("rolloutState")) == Some(&json!("COMPLETED"))
                && running_total == desired
                && pending_total == 0;
            let was_steady = row.state.get("steady").and_then(Value::as_bool) == Some(true);
            if steady && !was_steady && row.status == "ACTIVE" {
                events.push(format!("(service {name}) has reached a steady state."));
            }
            if steady != was_steady {
                row.state.insert("steady".into(), json!(steady));
                changed = true;
            }
            for (key, value) in [("runningCount", running_total), ("pendingCount", pending_total)] {
                if row.doc.get(key) != Some(&json!(value)) {
                    row.doc.insert(key.into(), json!(value));
                    changed = true;
                }
            }
            row.doc.insert("deployments".into(), json!(deployments));
            if !events.is_empty() {
                add_events(&mut row.doc, std::mem::take(&mut events));
                changed = true;
            }
            let any_running = count(Some(&primary_id), true) > 0;
            changed |= bookkeeping(row, &seen, failed.values().sum(), any_running, remaining);
            changed
        })
        .await?;
    Ok(())
}

/// What every pass records besides counts and events: the ended tasks it has seen, the back-off
/// after failures (1, 2, 4 ... up to 60 seconds, as ECS throttles a service whose tasks keep
/// failing to start; cleared once a task of the service runs), and a DRAINING service with no
/// task left turning INACTIVE. Answers whether anything changed.
fn bookkeeping(row: &mut ServiceRow, seen: &[String], failures: i64, any_running: bool, remaining: usize) -> bool {
    let at = now();
    let mut changed = false;
    if !seen.is_empty() {
        let mut kept: Map<String, Value> = row
            .state
            .get("seen")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, t)| t.as_f64().unwrap_or(0.0) > at - 3.0 * SEEN_WINDOW)
            .collect();
        for arn in seen {
            kept.insert(arn.clone(), json!(at));
        }
        row.state.insert("seen".into(), Value::Object(kept));
        changed = true;
    }
    if failures > 0 {
        let streak = row.state.get("failStreak").and_then(Value::as_i64).unwrap_or(0) + failures;
        let delay = 2_f64.powi(i32::try_from(streak.min(6)).unwrap_or(6) - 1).min(60.0);
        row.state.insert("failStreak".into(), json!(streak));
        row.state.insert("backoffUntil".into(), json!(at + delay));
        changed = true;
    } else if any_running && row.state.contains_key("failStreak") {
        row.state.remove("failStreak");
        row.state.remove("backoffUntil");
        changed = true;
    }
    if row.status == "DRAINING" && remaining == 0 {
        row.status = "INACTIVE".into();
        row.doc.insert("status".into(), json!("INACTIVE"));
        changed = true;
    }
    changed
}
