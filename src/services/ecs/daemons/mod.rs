//! ECS Managed Daemons: CreateDaemon, UpdateDaemon, DeleteDaemon, DescribeDaemon, ListDaemons,
//! DescribeDaemonDeployments, ListDaemonDeployments, DescribeDaemonRevisions.
//!
//! A daemon runs one task of its daemon task definition on every container instance of the
//! Managed Instances providers it names (all of its cluster's). Each create or update makes a
//! revision (what to run where) and a deployment (getting there); a delete makes a deployment
//! that stops the daemon's tasks. The handlers only record; the daemons controller
//! ([`crate::controllers::daemons`]) places the tasks, replaces instances and moves deployments
//! on. Everything of a daemon is in its one stored document ([`crate::store::DaemonRow`]).
//!
//! A daemon's tasks are ordinary tasks (ListTasks, DescribeTasks) in the task group
//! `daemon:<name>`, started by `ecs-daemon/<revision id>`, of launch type MANAGED_INSTANCES.

use std::collections::HashSet;

mod reads;

pub(super) use reads::{
    describe_daemon, describe_daemon_deployments, describe_daemon_revisions, list_daemon_deployments, list_daemons,
};

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::tags::{Tag, check_tags, store_tags};
use super::{Ctx, clusters, daemon_task_definitions};
use crate::domain::arn::Arn;
use crate::domain::{is_valid_name, list_of, now, str_of};
use crate::error::Result;
use crate::store::{DaemonRow, Doc, Named, NamedRow, TaskFilter, TaskKey};

/// The start of a daemon's task group; the daemon's name follows.
pub(crate) const GROUP_PREFIX: &str = "daemon:";

/// The task group of daemon `name`'s tasks.
pub(crate) fn group_of(name: &str) -> String {
    format!("{GROUP_PREFIX}{name}")
}

/// What a daemon's tasks are started by: its revision's id.
pub(crate) fn started_by(revision_arn: &str) -> String {
    format!("ecs-daemon/{}", revision_arn.rsplit('/').next().unwrap_or_default())
}

/// The deployment statuses of a deployment still under way.
pub(crate) const UNDER_WAY: [&str; 2] = ["PENDING", "IN_PROGRESS"];

/// AWS's default share of instances drained at once, in percent.
const DEFAULT_DRAIN_PERCENT: f64 = 25.0;

/// A daemon ARN's cluster and name, when it is one of this region and account.
fn parse_arn<'a>(ctx: &Ctx<'_>, arn: &'a str) -> Option<(&'a str, &'a str)> {
    let parsed = Arn::parse(arn).filter(|a| a.service == "ecs" && a.resource_type == "daemon")?;
    let (cluster, name) = parsed.resource_id.split_once('/')?;
    (ctx.scope.arn(&format!("daemon/{cluster}/{name}")) == arn).then_some((cluster, name))
}

/// A daemon-deployment or daemon-revision ARN's cluster, daemon name and id.
fn parse_child_arn<'a>(ctx: &Ctx<'_>, arn: &'a str, resource_type: &str) -> Option<(&'a str, &'a str, &'a str)> {
    let parsed = Arn::parse(arn).filter(|a| a.service == "ecs" && a.resource_type == resource_type)?;
    let mut parts = parsed.resource_id.splitn(3, '/');
    let (cluster, name, id) = (parts.next()?, parts.next()?, parts.next()?);
    (ctx.scope.arn(&format!("{resource_type}/{cluster}/{name}/{id}")) == arn).then_some((cluster, name, id))
}

/// The daemon an ARN names, unless it is DELETED.
///
/// # Errors
/// `ServerException` if the store fails.
pub(crate) async fn find_by_arn(ctx: &Ctx<'_>, arn: &str) -> Result<Option<DaemonRow>> {
    let Some((cluster, name)) = parse_arn(ctx, arn) else { return Ok(None) };
    Ok(ctx.store.get_daemon(ctx.region(), cluster, name).await?.filter(|d| d.status != "DELETED" && d.arn == arn))
}

fn not_found() -> crate::error::ApiError {
    aws_error!(
        DaemonNotFoundException,
        "The specified daemon wasn't found. You can view your available daemons with ListDaemons. Amazon ECS daemons are cluster specific and Region specific."
    )
}

/// The daemon a request's `daemonArn` names, or AWS's errors.
async fn named_daemon(ctx: &Ctx<'_>, arn: &str) -> Result<DaemonRow> {
    let Some((cluster, _)) = parse_arn(ctx, arn) else {
        return Err(aws_error!(
            InvalidParameterException,
            "daemonArn '{arn}' is not a daemon ARN: arn:aws:ecs:<region>:<account>:daemon/<cluster>/<name>."
        ));
    };
    clusters::active_cluster(ctx, Some(cluster)).await?;
    find_by_arn(ctx, arn).await?.ok_or_else(not_found)
}

/// The names of the daemons of `cluster` whose current revision runs on provider `arn` (for
/// DeleteCapacityProvider).
///
/// # Errors
/// `ServerException` if the store fails.
pub(crate) async fn using_provider(ctx: &Ctx<'_>, cluster: &str, arn: &str) -> Result<Vec<String>> {
    let daemons = ctx.store.list_daemons(ctx.region(), Some(cluster), ("", ""), u32::MAX).await?;
    Ok(daemons.into_iter().filter(|d| provider_arns(&d.doc).contains(&arn)).map(|d| d.name).collect())
}

/// The instances of `provider` in `cluster` that do not run every daemon covering the provider
/// yet: nothing else is placed on them until they do.
///
/// # Errors
/// `ServerException` if the store fails.
pub(crate) async fn unready_instances(ctx: &Ctx<'_>, cluster: &str, provider: &str) -> Result<HashSet<String>> {
    let arn = ctx.scope.capacity_provider(provider);
    let covering: Vec<String> = ctx
        .store
        .list_daemons(ctx.region(), Some(cluster), ("", ""), u32::MAX)
        .await?
        .into_iter()
        .filter(|d| d.status == "ACTIVE" && provider_arns(&d.doc).contains(&arn.as_str()))
        .map(|d| group_of(&d.name))
        .collect();
    if covering.is_empty() {
        return Ok(HashSet::new());
    }
    let tasks = ctx.store.instance_tasks(ctx.region(), cluster).await?;
    let live = |instance: &str, group: &str| {
        tasks.iter().any(|t| t.instance == instance && t.group == group && t.desired_status == "RUNNING")
    };
    let instances = ctx.store.provider_instances(ctx.region(), cluster, provider, false).await?;
    Ok(instances.into_iter().filter(|i| covering.iter().any(|g| !live(&i.id, g))).map(|i| i.id).collect())
}

/// The provider ARNs a daemon's current revision runs on.
pub(crate) fn provider_arns(doc: &Doc) -> Vec<&str> {
    list_of(doc, "capacityProviderArns").iter().filter_map(Value::as_str).collect()
}

/// The daemon's revision an ARN names.
pub(crate) fn revision<'a>(doc: &'a Doc, arn: &str) -> Option<&'a Map<String, Value>> {
    list_of(doc, "revisions").iter().filter_map(Value::as_object).find(|r| str_of(r, "daemonRevisionArn") == Some(arn))
}

/// The provider ARNs revision `revision_arn` of a daemon runs on.
pub(crate) fn revision_provider_arns<'a>(doc: &'a Doc, revision_arn: &str) -> Vec<&'a str> {
    revision(doc, revision_arn)
        .map(|r| list_of(r, "capacityProviderArns").iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The revision of a daemon a task of it was started for (its `startedBy`).
pub(crate) fn revision_of_task<'a>(doc: &'a Doc, task: &Doc) -> Option<&'a str> {
    let by = str_of(task, "startedBy").unwrap_or_default();
    list_of(doc, "revisions").iter().filter_map(|r| str_of(r, "daemonRevisionArn")).find(|arn| started_by(arn) == by)
}

/// The provider names of `references` (names or ARNs), each checked: a Managed Instances
/// provider of `cluster`. Answers their ARNs.
async fn check_providers(ctx: &Ctx<'_>, cluster: &NamedRow, references: &[String]) -> Result<Vec<String>> {
    if references.is_empty() {
        return Err(aws_error!(
            InvalidParameterException,
            "capacityProviderArns must name at least one capacity provider."
        ));
    }
    let own = clusters::managed_instances_providers_of(cluster);
    let mut arns: Vec<String> = Vec::with_capacity(references.len());
    for reference in references {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        let arn = ctx.scope.capacity_provider(name);
        if reference.starts_with("arn:") && *reference != arn {
            return Err(aws_error!(
                InvalidParameterException,
                "The capacity provider '{reference}' is not a capacity provider ARN of this Region and account."
            ));
        }
        if !own.contains(&name) {
            let exists = matches!(name, "FARGATE" | "FARGATE_SPOT")
                || ctx
                    .store
                    .get_named(Named::CapacityProvider, ctx.region(), name)
                    .await?
                    .is_some_and(|p| p.status == "ACTIVE");
            return Err(if exists {
                aws_error!(
                    UnsupportedFeatureException,
                    "ECS Managed Daemons is only supported for Amazon ECS Managed Instances Capacity Providers: '{name}' is not a Managed Instances capacity provider of cluster {}.",
                    cluster.name
                )
            } else {
                aws_error!(
                    InvalidParameterException,
                    "The specified capacity provider '{reference}' does not exist. Specify a valid capacity provider and try again."
                )
            });
        }
        if !arns.contains(&arn) {
            arns.push(arn);
        }
    }
    Ok(arns)
}

/// The ACTIVE daemon task definition a request names, as its ARN, with its document.
async fn check_definition(ctx: &Ctx<'_>, reference: &str) -> Result<(String, Doc)> {
    let Some(td) = daemon_task_definitions::find(ctx, reference).await? else {
        return Err(aws_error!(ClientException, "The specified daemon task definition does not exist."));
    };
    if str_of(&td, "status") != Some("ACTIVE") {
        return Err(aws_error!(
            ClientException,
            "The daemon task definition {reference} is not ACTIVE: a daemon runs an ACTIVE daemon task definition."
        ));
    }
    let arn = str_of(&td, "daemonTaskDefinitionArn").unwrap_or_default().to_owned();
    Ok((arn, td))
}

/// A deployment configuration with AWS's defaults where it is silent, checked.
fn deployment_configuration(given: Option<Map<String, Value>>) -> Result<Value> {
    let mut c = given.unwrap_or_default();
    let drain = c.get("drainPercent").and_then(Value::as_f64).unwrap_or(DEFAULT_DRAIN_PERCENT);
    if !(1.0..=100.0).contains(&drain) {
        return Err(aws_error!(InvalidParameterException, "drainPercent must be between 1.0 and 100.0, got {drain}."));
    }
    let bake = c.get("bakeTimeInMinutes").and_then(Value::as_i64).unwrap_or(0);
    if !(0..=1440).contains(&bake) {
        return Err(aws_error!(InvalidParameterException, "bakeTimeInMinutes must be between 0 and 1440, got {bake}."));
    }
    c.insert("drainPercent".into(), json!(drain));
    c.insert("bakeTimeInMinutes".into(), json!(bake));
    let alarms = c.entry("alarms").or_insert_with(|| json!({}));
    if let Value::Object(alarms) = alarms {
        alarms.entry("alarmNames").or_insert_with(|| json!([]));
        alarms.entry("enable").or_insert(json!(false));
    }
    Ok(Value::Object(c))
}

/// An id of `len` letters and digits, as ECS makes deployment ids.
fn random_id(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in uuid::Uuid::new_v4().as_bytes() {
            if out.len() < len {
                out.push(char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]));
            }
        }
    }
    out
}

/// What CreateDaemon and UpdateDaemon share: the settings of the daemon's next revision.
struct Settings {
    providers: Vec<String>,
    definition_arn: String,
    definition: Doc,
    deployment_configuration: Value,
    enable_ecs_managed_tags: bool,
    enable_execute_command: bool,
    propagate_tags: Option<String>,
}

/// Records a new revision with `settings` and a deployment to it (stopping the one under way),
/// in the daemon's document. Answers the deployment's ARN.
fn deploy(ctx: &Ctx<'_>, daemon: &mut DaemonRow, settings: Settings, at: f64) -> String {
    let (cluster, name) = (daemon.cluster.clone(), daemon.name.clone());
    let digits = uuid::Uuid::new_v4().as_u64_pair().0 % 9_000_000_000_000_000_000 + 1_000_000_000_000_000_000;
    let revision_arn = ctx.scope.arn(&format!("daemon-revision/{cluster}/{name}/{digits}"));
    let images: Vec<Value> = list_of(&settings.definition, "containerDefinitions")
        .iter()
        .map(|c| json!({"containerName": c.get("name"), "image": c.get("image")}))
        .collect();
    let mut revision = json!({
        "daemonRevisionArn": revision_arn,
        "clusterArn": ctx.scope.cluster(&cluster),
        "daemonArn": daemon.arn,
        "daemonTaskDefinitionArn": settings.definition_arn,
        "createdAt": at,
        "containerImages": images,
        "enableECSManagedTags": settings.enable_ecs_managed_tags,
        "enableExecuteCommand": settings.enable_execute_command,
        "capacityProviderArns": settings.providers,
    });
    if let Some(p) = &settings.propagate_tags {
        revision["propagateTags"] = json!(p);
    }
    let deployment_arn =
        new_deployment(ctx, daemon, Some(&revision_arn), settings.deployment_configuration.clone(), at);
    let doc = &mut daemon.doc;
    doc.insert("capacityProviderArns".into(), json!(settings.providers));
    doc.insert("daemonTaskDefinitionArn".into(), json!(settings.definition_arn));
    doc.insert("deploymentConfiguration".into(), settings.deployment_configuration);
    doc.insert("currentRevisionArn".into(), json!(revision_arn));
    if let Some(Value::Array(revisions)) = doc.get_mut("revisions") {
        revisions.push(revision);
    } else {
        doc.insert("revisions".into(), json!([revision]));
    }
    deployment_arn
}

/// Records a deployment to `target` (None: the daemon's deletion), stopping the one under way.
fn new_deployment(ctx: &Ctx<'_>, daemon: &mut DaemonRow, target: Option<&str>, config: Value, at: f64) -> String {
    let arn = ctx.scope.arn(&format!("daemon-deployment/{}/{}/{}", daemon.cluster, daemon.name, random_id(21)));
    let source: Vec<Value> = str_of(&daemon.doc, "currentRevisionArn").map(|a| json!(a)).into_iter().collect();
    if let Some(Value::Array(deployments)) = daemon.doc.get_mut("deployments") {
        for d in deployments.iter_mut() {
            if UNDER_WAY.contains(&str_of(d, "status").unwrap_or_default()) {
                d["status"] = json!("STOPPED");
                d["statusReason"] = json!("A newer deployment of the daemon replaced this one.");
                d["stoppedAt"] = json!(at);
            }
        }
    }
    let mut deployment = json!({
        "daemonDeploymentArn": arn,
        "clusterArn": ctx.scope.cluster(&daemon.cluster),
        "status": "PENDING",
        "sourceDaemonRevisionArns": source,
        "circuitBreaker": {"failureCount": 0, "status": "MONITORING", "threshold": 10},
        "alarms": {"status": "DISABLED", "alarmNames": [], "triggeredAlarmNames": []},
        "deploymentConfiguration": config,
        "createdAt": at,
    });
    if let Some(target) = target {
        deployment["targetDaemonRevisionArn"] = json!(target);
    }
    match daemon.doc.get_mut("deployments") {
        Some(Value::Array(deployments)) => deployments.push(deployment),
        _ => {
            daemon.doc.insert("deployments".into(), json!([deployment]));
        }
    }
    daemon.doc.insert("deploymentArn".into(), json!(arn));
    daemon.doc.insert("updatedAt".into(), json!(at));
    arn
}

/// What CreateDaemon and UpdateDaemon both take: the daemon's next revision.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RevisionInput {
    daemon_task_definition_arn: String,
    capacity_provider_arns: Vec<String>,
    deployment_configuration: Option<Map<String, Value>>,
    #[serde(rename = "enableECSManagedTags", default)]
    enable_ecs_managed_tags: bool,
    #[serde(default)]
    enable_execute_command: bool,
    propagate_tags: Option<String>,
}

impl RevisionInput {
    /// The revision's settings, checked against `cluster`.
    async fn check(self, ctx: &Ctx<'_>, cluster: &NamedRow) -> Result<Settings> {
        let providers = check_providers(ctx, cluster, &self.capacity_provider_arns).await?;
        let (definition_arn, definition) = check_definition(ctx, &self.daemon_task_definition_arn).await?;
        Ok(Settings {
            providers,
            definition_arn,
            definition,
            deployment_configuration: deployment_configuration(self.deployment_configuration)?,
            enable_ecs_managed_tags: self.enable_ecs_managed_tags,
            enable_execute_command: self.enable_execute_command,
            propagate_tags: self.propagate_tags,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateDaemonInput {
    cluster_arn: Option<String>,
    daemon_name: String,
    #[serde(flatten)]
    revision: RevisionInput,
    client_token: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

fn write_answer(daemon: &DaemonRow, with_updated: bool) -> Value {
    let mut out = json!({
        "daemonArn": daemon.arn,
        "status": daemon.status,
        "createdAt": daemon.doc.get("createdAt"),
        "deploymentArn": daemon.doc.get("deploymentArn"),
    });
    if with_updated {
        out["updatedAt"] = daemon.doc.get("updatedAt").cloned().unwrap_or(Value::Null);
    }
    out
}

pub(super) async fn create_daemon(ctx: &Ctx<'_>, input: CreateDaemonInput) -> Result<Value> {
    let cluster = clusters::active_cluster(ctx, input.cluster_arn.as_deref()).await?;
    let name = input.daemon_name;
    if !is_valid_name(&name) {
        return Err(aws_error!(
            InvalidParameterException,
            "Daemon name is invalid: up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed."
        ));
    }
    let tags = check_tags(&input.tags)?;
    if let Some(existing) = ctx.store.get_daemon(ctx.region(), &cluster.name, &name).await?
        && existing.status != "DELETED"
    {
        // The same request again (its client token) answers what the first one did.
        if input.client_token.is_some()
            && existing.doc.get("clientToken") == input.client_token.as_ref().map(|t| json!(t)).as_ref()
        {
            return Ok(write_answer(&existing, false));
        }
        return Err(aws_error!(
            InvalidParameterException,
            "A daemon named {name} already exists in cluster {}. Update it with UpdateDaemon, or choose another name.",
            cluster.name
        ));
    }
    let settings = input.revision.check(ctx, &cluster).await?;
    let at = now();
    let arn = ctx.scope.arn(&format!("daemon/{}/{name}", cluster.name));
    let mut doc = Doc::new();
    doc.insert("daemonArn".into(), json!(arn));
    doc.insert("clusterArn".into(), json!(cluster.arn));
    doc.insert("createdAt".into(), json!(at));
    if let Some(token) = &input.client_token {
        doc.insert("clientToken".into(), json!(token));
    }
    let mut daemon = DaemonRow {
        region: ctx.region().to_owned(),
        cluster: cluster.name.clone(),
        name,
        arn,
        status: "ACTIVE".into(),
        doc,
    };
    deploy(ctx, &mut daemon, settings, at);
    // A daemon created again under a deleted one's name has none of its tags.
    ctx.store.delete_tags(&daemon.arn).await?;
    if !ctx.store.create_daemon(&daemon).await? {
        return Err(aws_error!(
            InvalidParameterException,
            "A daemon named {} already exists in cluster {}.",
            daemon.name,
            cluster.name
        ));
    }
    store_tags(ctx, &daemon.arn, &tags).await?;
    Ok(write_answer(&daemon, false))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UpdateDaemonInput {
    daemon_arn: String,
    #[serde(flatten)]
    revision: RevisionInput,
}

fn not_active() -> crate::error::ApiError {
    aws_error!(
        DaemonNotActiveException,
        "The specified daemon isn't active. You can't update a daemon that's inactive. If you have previously deleted a daemon, you can re-create it with CreateDaemon."
    )
}

/// UpdateDaemon: a new revision and a deployment to it. As on AWS, what the request leaves out
/// goes back to its default rather than staying as it was.
pub(super) async fn update_daemon(ctx: &Ctx<'_>, input: UpdateDaemonInput) -> Result<Value> {
    let daemon = named_daemon(ctx, &input.daemon_arn).await?;
    if daemon.status != "ACTIVE" {
        return Err(not_active());
    }
    let cluster = clusters::active_cluster(ctx, Some(&daemon.cluster)).await?;
    let settings = input.revision.check(ctx, &cluster).await?;
    let at = now();
    let updated = ctx
        .store
        .update_daemon(ctx.region(), &daemon.cluster, &daemon.name, |d| {
            if d.status != "ACTIVE" {
                return None;
            }
            deploy(ctx, d, settings, at);
            Some(write_answer(d, true))
        })
        .await?;
    match updated {
        Some(Some(answer)) => Ok(answer),
        Some(None) => Err(not_active()),
        None => Err(not_found()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DaemonArnInput {
    daemon_arn: String,
}

/// DeleteDaemon: DELETE_IN_PROGRESS, with a deployment that stops the daemon's tasks; once they
/// have all stopped the daemon is gone.
pub(super) async fn delete_daemon(ctx: &Ctx<'_>, input: DaemonArnInput) -> Result<Value> {
    let daemon = named_daemon(ctx, &input.daemon_arn).await?;
    if daemon.status != "ACTIVE" {
        return Err(not_active());
    }
    let at = now();
    let deleted = ctx
        .store
        .update_daemon(ctx.region(), &daemon.cluster, &daemon.name, |d| {
            if d.status != "ACTIVE" {
                return None;
            }
            let config = d.doc.get("deploymentConfiguration").cloned().unwrap_or_else(|| json!({}));
            new_deployment(ctx, d, None, config, at);
            d.status = "DELETE_IN_PROGRESS".into();
            Some(write_answer(d, true))
        })
        .await?;
    match deleted {
        Some(Some(answer)) => Ok(answer),
        Some(None) => Err(not_active()),
        None => Err(not_found()),
    }
}

/// A daemon's live tasks (desired RUNNING), as stored.
///
/// # Errors
/// `ServerException` if the store fails.
pub(crate) async fn live_tasks(ctx: &Ctx<'_>, cluster: &str, name: &str) -> Result<Vec<(TaskKey, Doc)>> {
    let group = group_of(name);
    let filter = TaskFilter { desired_status: "RUNNING", group: Some(&group), ..TaskFilter::default() };
    let texts = ctx.store.matching_task_texts(ctx.region(), cluster, &filter).await?;
    let mut out = Vec::with_capacity(texts.len());
    for (id, text) in texts {
        let Ok(doc) = serde_json::from_str::<Doc>(&text) else { continue };
        out.push((TaskKey { region: ctx.region().to_owned(), cluster: cluster.to_owned(), id }, doc));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_configuration_takes_aws_defaults_and_refuses_out_of_range() {
        let c = deployment_configuration(None).unwrap_or_default();
        assert_eq!(
            c,
            json!({"drainPercent": 25.0, "bakeTimeInMinutes": 0, "alarms": {"alarmNames": [], "enable": false}})
        );
        let given = json!({"drainPercent": 50.0, "alarms": {"enable": true, "alarmNames": ["a"]}});
        let c = deployment_configuration(given.as_object().cloned()).unwrap_or_default();
        assert_eq!(c["drainPercent"], json!(50.0));
        assert_eq!(c["alarms"], json!({"enable": true, "alarmNames": ["a"]}));
        for bad in [json!({"drainPercent": 0.5}), json!({"drainPercent": 101.0}), json!({"bakeTimeInMinutes": 1441})] {
            assert!(deployment_configuration(bad.as_object().cloned()).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_have_the_length_and_alphabet_asked_for() {
        let id = random_id(21);
        assert_eq!(id.len(), 21);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(random_id(21), id);
    }

    #[test]
    fn a_daemon_task_names_its_revision() {
        assert_eq!(started_by("arn:aws:ecs:r:1:daemon-revision/c/d/123"), "ecs-daemon/123");
        assert_eq!(group_of("d"), "daemon:d");
    }
}
