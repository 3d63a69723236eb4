//! Services: CreateService, UpdateService, DeleteService, DescribeServices, ListServices and
//! ListServicesByNamespace, and the pieces of a service's document the scheduler shares with
//! them (events, roll back, DAEMON instances, task set shares).
//!
//! The handlers validate, store the service's desired state (its document, with its
//! deployments) and return; the store's change notification wakes the service scheduler
//! ([`crate::controllers::services`]), which makes it so with real tasks.

use serde::Deserialize;
use serde_json::{Value, json};

use super::service_settings::{
    ServiceSettings, apply_settings, check_daemon, deployment_configuration, new_deployment,
};
use super::tags::{Tag, check_tags, store_tags, tags_json};
use super::{Ctx, clusters, paging};
use crate::domain::{now, str_of};
use crate::error::Result;
use crate::store::{Doc, NamedRow, ServiceRow};

/// Events a service keeps, newest first, as ECS keeps.
const MAX_EVENTS: usize = 100;

fn service_not_found() -> crate::error::ApiError {
    aws_error!(ServiceNotFoundException, "Service not found.")
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
        let launch_type = settings.launch_type.get_or_insert_with(|| "EC2".into());
        let on_external = launch_type == "EXTERNAL";
        let instances = daemon_instances(ctx, &cluster, on_external).await?;
        settings.desired_count = Some(i64::try_from(instances.len()).unwrap_or(0));
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

/// Adds events to a service, newest first, keeping the last [`MAX_EVENTS`].
pub(crate) fn add_events(doc: &mut Doc, messages: Vec<String>) {
    let at = now();
    let mut all = doc.get("events").and_then(Value::as_array).cloned().unwrap_or_default();
    for message in messages {
        all.insert(0, json!({"id": uuid::Uuid::new_v4().to_string(), "createdAt": at, "message": message}));
    }
    all.truncate(MAX_EVENTS);
    doc.insert("events".into(), json!(all));
}

/// Why the circuit breaker fails a deployment.
pub(crate) const BREAKER_REASON: &str = "ECS deployment circuit breaker: tasks failed to start.";

/// Rolls the service back to its last completed deployment: a new PRIMARY deployment of that
/// revision, the current one ACTIVE (and drained). Answers the service event, or None when no
/// deployment ever completed.
pub(crate) fn roll_back(ctx: &Ctx<'_>, row: &mut ServiceRow, reason: &str) -> Option<String> {
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

/// Whether the service uses the EXTERNAL deployment controller (task sets).
pub(crate) fn is_external(doc: &Doc) -> bool {
    doc.get("deploymentController").and_then(|c| c.get("type")).and_then(Value::as_str) == Some("EXTERNAL")
}

/// A task set's share of the service: `desiredCount` times its scale, rounded up (none while it,
/// or the service, drains).
pub(crate) fn computed_desired_count(service: &ServiceRow, set: &Value) -> i64 {
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

/// The ARNs of the instances a DAEMON service runs on: the cluster's ACTIVE external ones for
/// launch type EXTERNAL, else its other ACTIVE ones (berth's own are provisioned on first use).
pub(crate) async fn daemon_instances(ctx: &Ctx<'_>, cluster: &NamedRow, external: bool) -> Result<Vec<String>> {
    if !external {
        let _placing = ctx.tasks.placement_lock().await;
        crate::services::ecs::container_instances::ensure_instances(ctx, cluster).await?;
    }
    let rows = ctx.store.list_instances(ctx.region(), &cluster.name, Some("ACTIVE"), "", u32::MAX).await?;
    Ok(rows.into_iter().filter(|r| super::container_instances::is_external(r) == external).map(|r| r.arn).collect())
}
