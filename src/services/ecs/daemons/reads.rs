//! The daemon operations that only read: DescribeDaemon, ListDaemons,
//! DescribeDaemonDeployments, ListDaemonDeployments, DescribeDaemonRevisions; with the counts
//! of where a daemon's tasks run.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{
    DaemonArnInput, live_tasks, named_daemon, parse_child_arn, provider_arns, revision, revision_of_task,
    revision_provider_arns,
};
use crate::domain::{list_of, str_of};
use crate::error::Result;
use crate::services::ecs::{Ctx, clusters, paging};
use crate::store::DaemonRow;

/// Where a daemon's tasks are: by revision ARN and provider name, the instances (ids) running
/// one and whether each instance is DRAINING.
struct Placements {
    /// (revision ARN, provider name, instance id, instance draining, task RUNNING).
    rows: Vec<(String, String, String, bool, bool)>,
}

async fn placements(ctx: &Ctx<'_>, daemon: &DaemonRow) -> Result<Placements> {
    let instances = ctx.store.list_instances(ctx.region(), &daemon.cluster, None, "", u32::MAX).await?;
    let mut rows = Vec::new();
    for (_, task) in live_tasks(ctx, &daemon.cluster, &daemon.name).await? {
        let Some(instance_arn) = str_of(&task, "containerInstanceArn") else { continue };
        let Some(instance) = instances.iter().find(|i| i.arn == instance_arn) else { continue };
        let Some(revision) = revision_of_task(&daemon.doc, &task) else { continue };
        let provider = str_of(&task, "capacityProviderName").unwrap_or_default();
        let running = str_of(&task, "lastStatus") == Some("RUNNING");
        rows.push((
            revision.to_owned(),
            provider.to_owned(),
            instance.id.clone(),
            instance.status == "DRAINING",
            running,
        ));
    }
    Ok(Placements { rows })
}

impl Placements {
    /// DaemonRevisionDetail: the revision's running tasks by provider.
    fn revision_detail(&self, ctx: &Ctx<'_>, revision: &str, providers: &[&str]) -> Value {
        let mut total = 0;
        let per: Vec<Value> = providers
            .iter()
            .map(|arn| {
                let name = arn.rsplit('/').next().unwrap_or_default();
                let n = self.rows.iter().filter(|r| r.0 == revision && r.1 == name && r.4).count();
                total += n;
                json!({"arn": ctx.scope.capacity_provider(name), "runningCount": n})
            })
            .collect();
        json!({"arn": revision, "capacityProviders": per, "totalRunningCount": total})
    }

    /// DaemonDeploymentRevisionDetail: the instances running the revision, and draining, by
    /// provider.
    fn deployment_detail(&self, ctx: &Ctx<'_>, revision: &str, providers: &[&str]) -> Value {
        let (mut running, mut draining) = (0, 0);
        let per: Vec<Value> = providers
            .iter()
            .map(|arn| {
                let name = arn.rsplit('/').next().unwrap_or_default();
                let of =
                    |drain: bool| self.rows.iter().filter(|r| r.0 == revision && r.1 == name && r.3 == drain).count();
                let (r, d) = (of(false), of(true));
                running += r;
                draining += d;
                json!({"arn": ctx.scope.capacity_provider(name), "runningInstanceCount": r, "drainingInstanceCount": d})
            })
            .collect();
        json!({
            "arn": revision,
            "capacityProviders": per,
            "totalRunningInstanceCount": running,
            "totalDrainingInstanceCount": draining,
        })
    }
}

fn revision_providers(daemon: &DaemonRow, revision_arn: &str) -> Vec<String> {
    revision_provider_arns(&daemon.doc, revision_arn).into_iter().map(str::to_owned).collect()
}

pub(crate) async fn describe_daemon(ctx: &Ctx<'_>, input: DaemonArnInput) -> Result<Value> {
    let daemon = named_daemon(ctx, &input.daemon_arn).await?;
    let placed = placements(ctx, &daemon).await?;
    // The revisions with tasks, and the one the daemon is going to.
    let mut revisions: Vec<String> = Vec::new();
    for arn in
        placed.rows.iter().map(|r| r.0.clone()).chain(str_of(&daemon.doc, "currentRevisionArn").map(str::to_owned))
    {
        if !revisions.contains(&arn) {
            revisions.push(arn);
        }
    }
    let current: Vec<Value> = revisions
        .iter()
        .map(|arn| {
            let providers = revision_providers(&daemon, arn);
            let providers: Vec<&str> = providers.iter().map(String::as_str).collect();
            placed.revision_detail(ctx, arn, &providers)
        })
        .collect();
    Ok(json!({"daemon": {
        "daemonArn": daemon.arn,
        "clusterArn": daemon.doc.get("clusterArn"),
        "status": daemon.status,
        "currentRevisions": current,
        "deploymentArn": daemon.doc.get("deploymentArn"),
        "createdAt": daemon.doc.get("createdAt"),
        "updatedAt": daemon.doc.get("updatedAt"),
    }}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListDaemonsInput {
    cluster_arn: Option<String>,
    #[serde(default)]
    capacity_provider_arns: Vec<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

/// ListDaemons: of one cluster, or of every cluster when none is named.
pub(crate) async fn list_daemons(ctx: &Ctx<'_>, input: ListDaemonsInput) -> Result<Value> {
    const LIST: &str = "ListDaemons";
    let cluster = match &input.cluster_arn {
        Some(reference) => Some(clusters::active_cluster(ctx, Some(reference)).await?.name),
        None => None,
    };
    let size = paging::page_size(input.max_results, 100, 100)?;
    let after = paging::decode(LIST, input.next_token.as_deref())?.unwrap_or_default();
    let (after_cluster, after_name) = match &after[..] {
        [c, n] => (c.as_str(), n.as_str()),
        _ => ("", ""),
    };
    let wanted: Vec<String> = input
        .capacity_provider_arns
        .iter()
        .map(|r| ctx.scope.capacity_provider(r.rsplit('/').next().unwrap_or(r)))
        .collect();
    let mut rows = Vec::new();
    let mut from = (after_cluster.to_owned(), after_name.to_owned());
    // Filtered by provider after reading: read pages until this one is full.
    loop {
        let page = ctx.store.list_daemons(ctx.region(), cluster.as_deref(), (&from.0, &from.1), size + 1).await?;
        let read = page.len();
        if let Some(last) = page.last() {
            from = (last.cluster.clone(), last.name.clone());
        }
        rows.extend(
            page.into_iter()
                .filter(|d| wanted.is_empty() || provider_arns(&d.doc).iter().any(|p| wanted.iter().any(|w| w == p))),
        );
        if rows.len() > size as usize || read <= size as usize {
            break;
        }
    }
    let next = paging::next_token(LIST, &mut rows, size, |d| vec![d.cluster.clone(), d.name.clone()]);
    let summaries: Vec<Value> = rows
        .iter()
        .map(|d| {
            json!({
                "daemonArn": d.arn,
                "status": d.status,
                "createdAt": d.doc.get("createdAt"),
                "updatedAt": d.doc.get("updatedAt"),
            })
        })
        .collect();
    Ok(json!({"daemonSummariesList": summaries, "nextToken": next}))
}

/// A daemon's deployment by ARN, with the daemon (in any status: a finished deletion's
/// deployment can still be described).
async fn deployment(ctx: &Ctx<'_>, arn: &str) -> Result<Option<(DaemonRow, Map<String, Value>)>> {
    let Some((cluster, name, _)) = parse_child_arn(ctx, arn, "daemon-deployment") else { return Ok(None) };
    let Some(daemon) = ctx.store.get_daemon(ctx.region(), cluster, name).await? else { return Ok(None) };
    let found = list_of(&daemon.doc, "deployments")
        .iter()
        .filter_map(Value::as_object)
        .find(|d| str_of(d, "daemonDeploymentArn") == Some(arn))
        .cloned();
    Ok(found.map(|d| (daemon, d)))
}

fn check_arn_count(arns: &[String], member: &str) -> Result<()> {
    if arns.is_empty() || arns.len() > 20 {
        return Err(aws_error!(InvalidParameterException, "{member} must have between 1 and 20 entries."));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeDaemonDeploymentsInput {
    daemon_deployment_arns: Vec<String>,
}

pub(crate) async fn describe_daemon_deployments(ctx: &Ctx<'_>, input: DescribeDaemonDeploymentsInput) -> Result<Value> {
    check_arn_count(&input.daemon_deployment_arns, "daemonDeploymentArns")?;
    let mut out = Vec::new();
    let mut failures = Vec::new();
    for arn in &input.daemon_deployment_arns {
        let Some((daemon, d)) = deployment(ctx, arn).await? else {
            failures.push(json!({"arn": arn, "reason": "MISSING"}));
            continue;
        };
        let placed = placements(ctx, &daemon).await?;
        let detail = |revision: &str| {
            let providers = revision_providers(&daemon, revision);
            let providers: Vec<&str> = providers.iter().map(String::as_str).collect();
            placed.deployment_detail(ctx, revision, &providers)
        };
        let mut shown = Map::new();
        for key in ["daemonDeploymentArn", "clusterArn", "status", "statusReason"] {
            if let Some(v) = d.get(key) {
                shown.insert(key.into(), v.clone());
            }
        }
        if let Some(target) = str_of(&d, "targetDaemonRevisionArn") {
            shown.insert("targetDaemonRevision".into(), detail(target));
        }
        let sources: Vec<Value> =
            list_of(&d, "sourceDaemonRevisionArns").iter().filter_map(Value::as_str).map(detail).collect();
        shown.insert("sourceDaemonRevisions".into(), Value::Array(sources));
        for key in
            ["circuitBreaker", "alarms", "deploymentConfiguration", "createdAt", "startedAt", "stoppedAt", "finishedAt"]
        {
            if let Some(v) = d.get(key) {
                shown.insert(key.into(), v.clone());
            }
        }
        out.push(Value::Object(shown));
    }
    Ok(json!({"daemonDeployments": out, "failures": failures}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListDaemonDeploymentsInput {
    daemon_arn: String,
    #[serde(default)]
    status: Vec<String>,
    created_at: Option<CreatedAt>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
struct CreatedAt {
    before: Option<f64>,
    after: Option<f64>,
}

/// ListDaemonDeployments: newest first.
pub(crate) async fn list_daemon_deployments(ctx: &Ctx<'_>, input: ListDaemonDeploymentsInput) -> Result<Value> {
    const LIST: &str = "ListDaemonDeployments";
    let daemon = named_daemon(ctx, &input.daemon_arn).await?;
    let size = paging::page_size(input.max_results, 20, 100)?;
    let after = paging::decode(LIST, input.next_token.as_deref())?.and_then(|k| k.into_iter().next());
    let mut rows: Vec<&Map<String, Value>> = list_of(&daemon.doc, "deployments")
        .iter()
        .rev()
        .filter_map(Value::as_object)
        .filter(|d| input.status.is_empty() || input.status.iter().any(|s| Some(s.as_str()) == str_of(d, "status")))
        .filter(|d| {
            let at = d.get("createdAt").and_then(Value::as_f64).unwrap_or(0.0);
            input.created_at.as_ref().is_none_or(|c| c.before.is_none_or(|b| at < b) && c.after.is_none_or(|a| at > a))
        })
        .collect();
    if let Some(after) = after {
        match rows.iter().position(|d| str_of(d, "daemonDeploymentArn") == Some(after.as_str())) {
            Some(i) => {
                rows.drain(..=i);
            }
            None => rows.clear(),
        }
    }
    let next = paging::next_token(LIST, &mut rows, size, |d| {
        vec![str_of(d, "daemonDeploymentArn").unwrap_or_default().to_owned()]
    });
    let summaries: Vec<Value> = rows
        .iter()
        .map(|d| {
            let mut s = Map::new();
            s.insert("daemonArn".into(), json!(daemon.arn));
            for key in [
                "daemonDeploymentArn",
                "clusterArn",
                "status",
                "statusReason",
                "targetDaemonRevisionArn",
                "createdAt",
                "startedAt",
                "stoppedAt",
                "finishedAt",
            ] {
                if let Some(v) = d.get(key) {
                    s.insert(key.into(), v.clone());
                }
            }
            Value::Object(s)
        })
        .collect();
    Ok(json!({"daemonDeployments": summaries, "nextToken": next}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeDaemonRevisionsInput {
    daemon_revision_arns: Vec<String>,
}

pub(crate) async fn describe_daemon_revisions(ctx: &Ctx<'_>, input: DescribeDaemonRevisionsInput) -> Result<Value> {
    check_arn_count(&input.daemon_revision_arns, "daemonRevisionArns")?;
    let mut out = Vec::new();
    let mut failures = Vec::new();
    for arn in &input.daemon_revision_arns {
        let daemon = match parse_child_arn(ctx, arn, "daemon-revision") {
            Some((cluster, name, _)) => ctx.store.get_daemon(ctx.region(), cluster, name).await?,
            None => None,
        };
        match daemon.as_ref().and_then(|d| revision(&d.doc, arn)) {
            Some(r) => {
                let mut shown = r.clone();
                // Berth's own record of where the revision runs is the daemon's, not the shape's.
                shown.remove("capacityProviderArns");
                out.push(Value::Object(shown));
            }
            None => failures.push(json!({"arn": arn, "reason": "MISSING"})),
        }
    }
    Ok(json!({"daemonRevisions": out, "failures": failures}))
}
