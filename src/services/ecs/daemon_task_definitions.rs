//! Daemon task definitions, for ECS Managed Daemons: RegisterDaemonTaskDefinition,
//! DescribeDaemonTaskDefinition, ListDaemonTaskDefinitions and DeleteDaemonTaskDefinition.
//!
//! A revision is checked by the task definition rules ([`normalize_daemon`]) and stored as the
//! DaemonTaskDefinition shape: only that shape's members, and only the DaemonContainerDefinition
//! members in each container. Deleting moves an ACTIVE revision to DELETE_IN_PROGRESS, where it
//! stays (as berth keeps deleted task definitions); it can still be described by revision.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::tags::{Tag, check_tags, store_tags};
use super::task_definitions::{Reference, revision_after};
use super::{Ctx, paging};
use crate::domain::now;
use crate::domain::task_definition::{Rejection, normalize_daemon};
use crate::error::{ApiError, Code, Result};
use crate::store::{DaemonDefinitionFilter, Doc, TaskDefinitionKey};

const RESOURCE: &str = "daemon-task-definition";

/// `doc` with only the members of `shape`.
fn project(doc: Map<String, Value>, shape: &str) -> Map<String, Value> {
    let members: Vec<&str> = super::model().members(shape).collect();
    doc.into_iter().filter(|(k, _)| members.contains(&k.as_str())).collect()
}

pub(super) async fn register_daemon_task_definition(ctx: &Ctx<'_>, mut input: Map<String, Value>) -> Result<Value> {
    let tags: Vec<Tag> = match input.remove("tags") {
        Some(tags) => super::parse(tags)?,
        None => Vec::new(),
    };
    let tags = check_tags(&tags)?;
    let mut body = normalize_daemon(&input).map_err(|r| match r {
        Rejection::Client(m) => ApiError::new(Code::ClientException, m),
        Rejection::InvalidParameter(m) => ApiError::new(Code::InvalidParameterException, m),
    })?;
    let containers: Vec<Value> = match body.remove("containerDefinitions") {
        Some(Value::Array(list)) => list
            .into_iter()
            .map(|c| match c {
                Value::Object(c) => Value::Object(project(c, "DaemonContainerDefinition")),
                other => other,
            })
            .collect(),
        _ => Vec::new(),
    };
    let family = body.get("family").and_then(Value::as_str).unwrap_or_default().to_owned();
    // The ARN and revision come first, as on AWS; the store fills in their values.
    let mut doc = Map::new();
    doc.insert("daemonTaskDefinitionArn".into(), Value::Null);
    doc.insert("family".into(), json!(family));
    doc.insert("revision".into(), Value::Null);
    doc.insert("containerDefinitions".into(), Value::Array(containers));
    doc.extend(project(body, "DaemonTaskDefinition"));
    doc.insert("status".into(), json!("ACTIVE"));
    doc.insert("registeredAt".into(), json!(now()));
    doc.insert("registeredBy".into(), json!(ctx.scope.root_principal()));
    let prefix = ctx.scope.daemon_task_definition_prefix(&family);
    let doc = ctx.store.register_daemon_task_definition(ctx.region(), &family, &prefix, &doc).await?;
    let arn = arn_of(&doc);
    if !tags.is_empty() {
        store_tags(ctx, &arn, &tags).await?;
    }
    Ok(json!({"daemonTaskDefinitionArn": arn}))
}

fn arn_of(doc: &Doc) -> String {
    doc.get("daemonTaskDefinitionArn").and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// The daemon task definition a reference names (the latest ACTIVE revision when no revision is
/// given), for DescribeDaemon... and the daemons that use it.
///
/// # Errors
/// `ServerException` if the store fails.
pub(crate) async fn find(ctx: &Ctx<'_>, reference: &str) -> Result<Option<Doc>> {
    let Some(r) = Reference::parse_of(ctx, reference, RESOURCE) else { return Ok(None) };
    Ok(ctx.store.get_daemon_task_definition(ctx.region(), &r.family, r.revision).await?)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DaemonTaskDefinitionInput {
    daemon_task_definition: String,
}

fn not_found() -> ApiError {
    aws_error!(ClientException, "The specified daemon task definition does not exist.")
}

pub(super) async fn describe_daemon_task_definition(ctx: &Ctx<'_>, input: DaemonTaskDefinitionInput) -> Result<Value> {
    let doc = find(ctx, &input.daemon_task_definition).await?.ok_or_else(not_found)?;
    Ok(json!({"daemonTaskDefinition": doc}))
}

pub(super) async fn delete_daemon_task_definition(ctx: &Ctx<'_>, input: DaemonTaskDefinitionInput) -> Result<Value> {
    let reference = &input.daemon_task_definition;
    let key = match Reference::parse_of(ctx, reference, RESOURCE) {
        Some(Reference { family, revision: Some(revision) }) => TaskDefinitionKey { family, revision },
        Some(Reference { revision: None, .. }) => {
            return Err(aws_error!(
                ClientException,
                "The daemon task definition '{reference}' must name a revision: family:revision or the full ARN."
            ));
        }
        None => return Err(not_found()),
    };
    let at = now();
    let outcome = ctx
        .store
        .retire_daemon_task_definition(ctx.region(), &key, "DELETE_IN_PROGRESS", |doc| {
            doc.insert("deleteRequestedAt".into(), json!(at));
        })
        .await?;
    match outcome {
        Some(Ok(doc)) => Ok(json!({"daemonTaskDefinitionArn": arn_of(&doc)})),
        Some(Err(_)) => Err(aws_error!(
            ClientException,
            "The daemon task definition {reference} is not ACTIVE: only an ACTIVE daemon task definition can be deleted."
        )),
        None => Err(not_found()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListDaemonTaskDefinitionsInput {
    family: Option<String>,
    family_prefix: Option<String>,
    revision: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

pub(super) async fn list_daemon_task_definitions(
    ctx: &Ctx<'_>,
    input: ListDaemonTaskDefinitionsInput,
) -> Result<Value> {
    const LIST: &str = "ListDaemonTaskDefinitions";
    let size = paging::page_size(input.max_results, 100, 100)?;
    let after = revision_after(LIST, input.next_token.as_deref())?;
    let filter = DaemonDefinitionFilter {
        family: input.family.as_deref().filter(|f| !f.is_empty()),
        family_prefix: input.family_prefix.as_deref().filter(|f| !f.is_empty()),
        status: match input.status.as_deref() {
            Some("ALL") => None,
            Some(status) => Some(status),
            None => Some("ACTIVE"),
        },
        last_registered: input.revision.as_deref() == Some("LAST_REGISTERED"),
        descending: input.sort.as_deref() == Some("DESC"),
    };
    let mut docs = ctx.store.list_daemon_task_definitions(ctx.region(), &filter, after.as_ref(), size + 1).await?;
    let next = paging::next_token(LIST, &mut docs, size, |d| {
        let family = d.get("family").and_then(Value::as_str).unwrap_or_default().to_owned();
        let revision = d.get("revision").and_then(Value::as_i64).unwrap_or_default();
        vec![family, revision.to_string()]
    });
    let summaries: Vec<Value> = docs
        .into_iter()
        .map(|mut d| {
            let mut summary = Map::new();
            summary.insert("arn".into(), d.remove("daemonTaskDefinitionArn").unwrap_or(Value::Null));
            for member in ["registeredAt", "registeredBy", "status", "deleteRequestedAt"] {
                if let Some(v) = d.remove(member) {
                    summary.insert(member.into(), v);
                }
            }
            Value::Object(summary)
        })
        .collect();
    Ok(json!({"daemonTaskDefinitions": summaries, "nextToken": next}))
}
