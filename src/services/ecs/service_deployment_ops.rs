//! The service deployment operations: ListServiceDeployments, DescribeServiceDeployments,
//! DescribeServiceRevisions, StopServiceDeployment, over the records of
//! [`super::service_deployments`].

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ctx, clusters};
use crate::domain::arn::Arn;
use crate::error::Result;
use crate::store::ServiceRow;

use super::service_deployments::*;

/// The service a service deployment or revision ARN belongs to, and the ARN's last part.
async fn owner(ctx: &Ctx<'_>, arn: &str, kind: &str) -> Result<Option<(ServiceRow, String)>> {
    let Some(parsed) = Arn::parse(arn).filter(|a| a.resource_type == kind && a.region == ctx.region()) else {
        return Ok(None);
    };
    let mut parts = parsed.resource_id.splitn(3, '/');
    let (Some(cluster), Some(service), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(None);
    };
    let found = ctx.store.get_service(ctx.region(), cluster, service).await?;
    Ok(found.map(|row| (row, id.to_owned())))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListServiceDeploymentsInput {
    service: String,
    cluster: Option<String>,
    #[serde(default)]
    status: Vec<String>,
    created_at: Option<CreatedAt>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

#[derive(Deserialize)]
struct CreatedAt {
    before: Option<f64>,
    after: Option<f64>,
}

pub(super) async fn list_service_deployments(ctx: &Ctx<'_>, input: ListServiceDeploymentsInput) -> Result<Value> {
    const LIST: &str = "ListServiceDeployments";
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    let Some(row) = super::services::find(ctx, &cluster, &input.service).await? else {
        return Err(aws_error!(ServiceNotFoundException, "Service not found."));
    };
    let size = super::paging::page_size(input.max_results, 20, 100)?;
    let after = super::paging::decode(LIST, input.next_token.as_deref())?.and_then(|k| k.into_iter().next());
    let (before_t, after_t) = input.created_at.as_ref().map_or((None, None), |c| (c.before, c.after));
    let mut briefs: Vec<Value> = row
        .state
        .get(DEPLOYMENTS)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|e| {
            let created = e.get("createdAt").and_then(Value::as_f64).unwrap_or(0.0);
            let status = e.get("status").and_then(Value::as_str).unwrap_or_default();
            (input.status.is_empty() || input.status.iter().any(|s| s == status))
                && before_t.is_none_or(|b| created < b)
                && after_t.is_none_or(|a| created > a)
        })
        .skip_while(|e| {
            after.as_deref().is_some_and(|a| e.get("serviceDeploymentArn").and_then(Value::as_str) != Some(a))
        })
        .skip(usize::from(after.is_some()))
        .map(|e| {
            let mut brief = json!({});
            for key in [
                "serviceDeploymentArn",
                "serviceArn",
                "clusterArn",
                "startedAt",
                "createdAt",
                "finishedAt",
                "status",
                "statusReason",
            ] {
                if let Some(v) = e.get(key) {
                    brief[key] = v.clone();
                }
            }
            brief["targetServiceRevisionArn"] = e.pointer("/targetServiceRevision/arn").cloned().unwrap_or(Value::Null);
            brief
        })
        .collect();
    let next = super::paging::next_token(LIST, &mut briefs, size, |b| {
        vec![b.get("serviceDeploymentArn").and_then(Value::as_str).unwrap_or_default().to_owned()]
    });
    Ok(json!({"serviceDeployments": briefs, "nextToken": next}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeServiceDeploymentsInput {
    service_deployment_arns: Vec<String>,
}

pub(super) async fn describe_service_deployments(
    ctx: &Ctx<'_>,
    input: DescribeServiceDeploymentsInput,
) -> Result<Value> {
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for arn in &input.service_deployment_arns {
        let entry = owner(ctx, arn, "service-deployment").await?.and_then(|(row, _)| {
            row.state.get(DEPLOYMENTS).and_then(Value::as_array).and_then(|list| {
                list.iter().find(|e| e.get("serviceDeploymentArn").and_then(Value::as_str) == Some(arn)).cloned()
            })
        });
        match entry {
            Some(e) => found.push(e),
            None => failures.push(json!({"arn": arn, "reason": "MISSING"})),
        }
    }
    Ok(json!({"serviceDeployments": found, "failures": failures}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeServiceRevisionsInput {
    service_revision_arns: Vec<String>,
}

pub(super) async fn describe_service_revisions(ctx: &Ctx<'_>, input: DescribeServiceRevisionsInput) -> Result<Value> {
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for arn in &input.service_revision_arns {
        let revision = owner(ctx, arn, "service-revision")
            .await?
            .and_then(|(row, id)| row.state.get(REVISIONS).and_then(|r| r.get(&id)).cloned());
        match revision {
            Some(r) => found.push(r),
            None => failures.push(json!({"arn": arn, "reason": "MISSING"})),
        }
    }
    Ok(json!({"serviceRevisions": found, "failures": failures}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StopServiceDeploymentInput {
    service_deployment_arn: String,
    stop_type: Option<String>,
}

/// StopServiceDeployment with ROLLBACK (its only stop type): the deployment in progress rolls
/// back to the service's last completed deployment.
pub(super) async fn stop_service_deployment(ctx: &Ctx<'_>, input: StopServiceDeploymentInput) -> Result<Value> {
    let arn = input.service_deployment_arn;
    if input.stop_type.as_deref().is_some_and(|t| t != "ROLLBACK") {
        return Err(aws_error!(InvalidParameterException, "stopType must be ROLLBACK."));
    }
    let not_found = || aws_error!(ServiceDeploymentNotFoundException, "The service deployment {arn} does not exist.");
    let Some((row, _)) = owner(ctx, &arn, "service-deployment").await? else { return Err(not_found()) };
    let mut outcome = Err(not_found());
    ctx.store
        .update_service(ctx.region(), &row.cluster, &row.name, |s| {
            let entry = s
                .state
                .get(DEPLOYMENTS)
                .and_then(Value::as_array)
                .and_then(|l| l.iter().find(|e| e.get("serviceDeploymentArn").and_then(Value::as_str) == Some(&arn)))
                .cloned();
            let Some(entry) = entry else { return false };
            if entry.get("status") != Some(&json!("IN_PROGRESS")) {
                outcome = Err(aws_error!(
                    ConflictException,
                    "The service deployment {arn} is not in progress; only an IN_PROGRESS service deployment can be stopped."
                ));
                return false;
            }
            let Some(event) = super::services::roll_back(ctx, s, "Service deployment rolled back because of a stop request.")
            else {
                outcome = Err(aws_error!(
                    ConflictException,
                    "The service has no completed deployment to roll back to."
                ));
                return false;
            };
            super::services::add_events(&mut s.doc, vec![event]);
            outcome = Ok(());
            true
        })
        .await?;
    outcome?;
    Ok(json!({"serviceDeploymentArn": arn}))
}
