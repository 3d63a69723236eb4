//! Task definitions: RegisterTaskDefinition, DescribeTaskDefinition, ListTaskDefinitions,
//! ListTaskDefinitionFamilies, DeregisterTaskDefinition, DeleteTaskDefinitions.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::tags::{Tag, check_tags, store_tags, tags_json};
use super::{Ctx, paging};
use crate::domain::arn::{Arn, family_revision};
use crate::domain::now;
use crate::domain::task_definition::{Rejection, normalize};
use crate::error::{ApiError, Result};
use crate::store::{Doc, FamilyStatus, TaskDefinitionKey};

/// A reference to a task definition as clients give it: `family`, `family:revision` or the ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The family.
    pub family: String,
    /// The revision, if given (an ARN always has one).
    pub revision: Option<i64>,
}

impl Reference {
    /// Parses a reference; None when it is neither a family[:revision] nor a task definition ARN
    /// of this region.
    #[must_use]
    pub fn parse(ctx: &Ctx<'_>, s: &str) -> Option<Self> {
        Self::parse_of(ctx, s, "task-definition")
    }

    /// Parses a reference to a revision of a resource with families: ARNs of `resource_type`.
    #[must_use]
    pub fn parse_of(ctx: &Ctx<'_>, s: &str, resource_type: &str) -> Option<Self> {
        let body = if s.starts_with("arn:") {
            let arn = Arn::parse(s).filter(|a| a.service == "ecs" && a.resource_type == resource_type)?;
            if arn.region != ctx.region() || arn.account != ctx.scope.account {
                return None;
            }
            // An ARN always names a revision.
            arn.resource_id
        } else if !s.contains(':') {
            return Some(Reference { family: s.to_owned(), revision: None });
        } else {
            s
        };
        let (family, revision) = family_revision(body)?;
        Some(Reference { family: family.to_owned(), revision: Some(revision) })
    }
}

/// The task definition a reference names (the latest ACTIVE revision when no revision is given).
///
/// # Errors
/// `ServerException` if the store fails.
pub async fn find(ctx: &Ctx<'_>, reference: &str) -> Result<Option<Doc>> {
    let Some(r) = Reference::parse(ctx, reference) else { return Ok(None) };
    Ok(ctx.store.get_task_definition(ctx.region(), &r.family, r.revision).await?)
}

fn arn_of(doc: &Doc) -> String {
    doc.get("taskDefinitionArn").and_then(Value::as_str).unwrap_or_default().to_owned()
}

pub(super) async fn register_task_definition(ctx: &Ctx<'_>, mut input: Map<String, Value>) -> Result<Value> {
    let tags: Vec<Tag> = match input.remove("tags") {
        Some(tags) => super::parse(tags)?,
        None => Vec::new(),
    };
    let tags = check_tags(&tags)?;
    let body = normalize(&input).map_err(|r| match r {
        Rejection::Client(m) => ApiError::new(crate::error::Code::ClientException, m),
        Rejection::InvalidParameter(m) => ApiError::new(crate::error::Code::InvalidParameterException, m),
    })?;
    let family = body.get("family").and_then(Value::as_str).unwrap_or_default().to_owned();
    // taskDefinitionArn and revision come first, as on AWS; the store fills in their values.
    let mut doc = Map::new();
    doc.insert("taskDefinitionArn".into(), Value::Null);
    doc.extend(body);
    doc.insert("revision".into(), Value::Null);
    doc.insert("status".into(), json!("ACTIVE"));
    doc.insert("registeredAt".into(), json!(now()));
    doc.insert("registeredBy".into(), json!(ctx.scope.root_principal()));
    let prefix = ctx.scope.task_definition_prefix(&family);
    let doc = ctx.store.register_task_definition(ctx.region(), &family, &prefix, doc).await?;
    let arn = arn_of(&doc);
    // A new revision has no tags but those given here.
    let tags = if tags.is_empty() {
        json!([])
    } else {
        store_tags(ctx, &arn, &tags).await?;
        tags_json(ctx, &arn).await?
    };
    Ok(json!({"taskDefinition": doc, "tags": tags}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeTaskDefinitionInput {
    task_definition: String,
    #[serde(default)]
    include: Vec<String>,
}

pub(super) async fn describe_task_definition(ctx: &Ctx<'_>, input: DescribeTaskDefinitionInput) -> Result<Value> {
    let Some(doc) = find(ctx, &input.task_definition).await? else {
        return Err(aws_error!(ClientException, "Unable to describe task definition."));
    };
    let mut out = json!({"taskDefinition": doc});
    if input.include.iter().any(|f| f == "TAGS") {
        out["tags"] = tags_json(ctx, &arn_of(&doc)).await?;
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListTaskDefinitionsInput {
    family_prefix: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

/// The revision a `list` of revisions (family, revision) resumes after, from its nextToken.
///
/// # Errors
/// InvalidParameterException for a token this list did not issue.
pub(super) fn revision_after(list: &str, token: Option<&str>) -> Result<Option<TaskDefinitionKey>> {
    let invalid = || aws_error!(InvalidParameterException, "Invalid nextToken.");
    match paging::decode(list, token)?.as_deref() {
        Some([family, revision]) => {
            Ok(Some(TaskDefinitionKey { family: family.clone(), revision: revision.parse().map_err(|_| invalid())? }))
        }
        Some(_) => Err(invalid()),
        None => Ok(None),
    }
}

pub(super) async fn list_task_definitions(ctx: &Ctx<'_>, input: ListTaskDefinitionsInput) -> Result<Value> {
    const LIST: &str = "ListTaskDefinitions";
    let size = paging::page_size(input.max_results, 100, 100)?;
    let status = input.status.as_deref().unwrap_or("ACTIVE");
    let descending = input.sort.as_deref() == Some("DESC");
    let after = revision_after(LIST, input.next_token.as_deref())?;
    // familyPrefix is the full family name here (unlike ListTaskDefinitionFamilies).
    let family = input.family_prefix.as_deref().filter(|f| !f.is_empty());
    let mut keys =
        ctx.store.list_task_definitions(ctx.region(), family, status, descending, after.as_ref(), size + 1).await?;
    let next = paging::next_token(LIST, &mut keys, size, |k| vec![k.family.clone(), k.revision.to_string()]);
    let arns: Vec<String> = keys.iter().map(|k| ctx.scope.task_definition(&k.family, k.revision)).collect();
    Ok(json!({"taskDefinitionArns": arns, "nextToken": next}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListTaskDefinitionFamiliesInput {
    family_prefix: Option<String>,
    status: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

pub(super) async fn list_task_definition_families(
    ctx: &Ctx<'_>,
    input: ListTaskDefinitionFamiliesInput,
) -> Result<Value> {
    const LIST: &str = "ListTaskDefinitionFamilies";
    let size = paging::page_size(input.max_results, 100, 100)?;
    let status = match input.status.as_deref() {
        Some("ACTIVE") => FamilyStatus::Active,
        Some("INACTIVE") => FamilyStatus::Inactive,
        _ => FamilyStatus::All,
    };
    let after =
        paging::decode(LIST, input.next_token.as_deref())?.and_then(|k| k.into_iter().next()).unwrap_or_default();
    let prefix = input.family_prefix.unwrap_or_default();
    let mut families = ctx.store.list_task_definition_families(ctx.region(), &prefix, status, &after, size + 1).await?;
    let next = paging::next_token(LIST, &mut families, size, |f| vec![f.clone()]);
    Ok(json!({"families": families, "nextToken": next}))
}

/// The family and revision of a reference that must name one revision exactly.
fn exact_revision(ctx: &Ctx<'_>, reference: &str) -> Result<TaskDefinitionKey> {
    match Reference::parse(ctx, reference) {
        Some(Reference { family, revision: Some(revision) }) => Ok(TaskDefinitionKey { family, revision }),
        Some(Reference { revision: None, .. }) => Err(aws_error!(
            ClientException,
            "The task definition '{reference}' must name a revision: family:revision or the full ARN."
        )),
        None => Err(aws_error!(ClientException, "The specified task definition does not exist.")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeregisterTaskDefinitionInput {
    task_definition: String,
}

pub(super) async fn deregister_task_definition(ctx: &Ctx<'_>, input: DeregisterTaskDefinitionInput) -> Result<Value> {
    let key = exact_revision(ctx, &input.task_definition)?;
    let at = now();
    let outcome = ctx
        .store
        .transition_task_definition(ctx.region(), &key, &["ACTIVE"], "INACTIVE", |doc| {
            doc.insert("deregisteredAt".into(), json!(at));
        })
        .await?;
    match outcome {
        Some(Ok(doc)) => Ok(json!({"taskDefinition": doc})),
        // Deregistering an INACTIVE revision again answers it as it is.
        Some(Err(status)) if status == "INACTIVE" => Ok(
            json!({"taskDefinition": ctx.store.get_task_definition(ctx.region(), &key.family, Some(key.revision)).await?}),
        ),
        Some(Err(_)) => Err(aws_error!(
            ClientException,
            "The task definition could not be deregistered because it is in the process of being deleted."
        )),
        None => Err(aws_error!(ClientException, "The specified task definition does not exist.")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeleteTaskDefinitionsInput {
    task_definitions: Vec<String>,
}

pub(super) async fn delete_task_definitions(ctx: &Ctx<'_>, input: DeleteTaskDefinitionsInput) -> Result<Value> {
    if input.task_definitions.is_empty() {
        return Err(aws_error!(
            InvalidParameterException,
            "size of TaskDefinition references list must be greater than 0"
        ));
    }
    if input.task_definitions.len() > 10 {
        return Err(aws_error!(InvalidParameterException, "Size of TaskDefinition references list cannot exceed 10"));
    }
    let mut deleted = Vec::new();
    let mut failures = Vec::new();
    for reference in &input.task_definitions {
        let Ok(key) = exact_revision(ctx, reference) else {
            failures.push(json!({
                "arn": reference,
                "reason": "The specified task definition identifier is invalid. Specify a valid name or ARN and try again.",
            }));
            continue;
        };
        let arn = ctx.scope.task_definition(&key.family, key.revision);
        let at = now();
        let outcome = ctx
            .store
            .transition_task_definition(ctx.region(), &key, &["INACTIVE"], "DELETE_IN_PROGRESS", |doc| {
                doc.insert("deleteRequestedAt".into(), json!(at));
            })
            .await?;
        match outcome {
            Some(Ok(doc)) => deleted.push(Value::Object(doc)),
            Some(Err(status)) if status == "ACTIVE" => failures.push(json!({
                "arn": arn,
                "reason": "The specified task definition is still in ACTIVE status. Please deregister the target and try again.",
            })),
            Some(Err(_)) => failures.push(json!({"arn": arn, "reason": "The specified task definition is already being deleted."})),
            None => failures.push(json!({
                "arn": arn,
                "reason": "The specified task definition does not exist. Specify a valid account, family, revision and try again.",
            })),
        }
    }
    Ok(json!({"taskDefinitions": deleted, "failures": failures}))
}
