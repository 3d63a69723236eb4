//! TagResource, UntagResource, ListTagsForResource, and the tag helpers every resource uses.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Ctx;
use crate::domain::arn::{Arn, family_revision};
use crate::domain::str_of;
use crate::error::Result;
use crate::store::Named;

/// AWS's limit of tags per resource.
pub const MAX_TAGS: usize = 50;

/// A tag as the API sends it.
#[derive(Debug, Deserialize, Serialize, Clone)]
pub struct Tag {
    key: Option<String>,
    value: Option<String>,
}

/// Checks tags given to a create or tag call and returns them as (key, value) pairs.
/// Lengths, characters and the count per call were checked against the model already.
///
/// # Errors
/// `InvalidParameterException` for a missing key or a key with the reserved `aws:` prefix.
pub fn check_tags(tags: &[Tag]) -> Result<Vec<(String, String)>> {
    tags.iter()
        .map(|t| {
            let key = t.key.clone().filter(|k| !k.is_empty()).ok_or_else(|| {
                aws_error!(InvalidParameterException, "Tag keys must be between 1 and 128 characters long.")
            })?;
            if key.to_ascii_lowercase().starts_with("aws:") {
                return Err(aws_error!(
                    InvalidParameterException,
                    "Tag keys beginning with the 'aws:' prefix are reserved for AWS use and cannot be set: {key}"
                ));
            }
            Ok((key, t.value.clone().unwrap_or_default()))
        })
        .collect()
}

/// Adds tags to a resource, refusing the whole call if the resource would end up with more than
/// [`MAX_TAGS`].
///
/// # Errors
/// `ServerException` if the store fails.
pub async fn store_tags(ctx: &Ctx<'_>, arn: &str, tags: &[(String, String)]) -> Result<()> {
    if !tags.is_empty() {
        ctx.store.tag_resource(arn, tags, MAX_TAGS).await?.map_err(too_many_tags)?;
    }
    Ok(())
}

/// Refuses a call that would leave a resource with `count` tags, past [`MAX_TAGS`].
///
/// # Errors
/// `InvalidParameterException` past the limit.
pub fn check_tag_count(count: usize) -> Result<()> {
    if count > MAX_TAGS { Err(too_many_tags(count)) } else { Ok(()) }
}

fn too_many_tags(count: usize) -> crate::error::ApiError {
    aws_error!(InvalidParameterException, "A resource can have at most {MAX_TAGS} tags; this call would leave {count}.")
}

/// A resource's tags as the API returns them: `[{"key", "value"}]`.
///
/// # Errors
/// `ServerException` if the store fails.
pub async fn tags_json(ctx: &Ctx<'_>, arn: &str) -> Result<Value> {
    let tags = ctx.store.get_tags(arn).await?;
    Ok(Value::Array(tags.into_iter().map(|(key, value)| json!({"key": key, "value": value})).collect()))
}

/// Checks that `arn` names a taggable resource that exists.
async fn existing_resource(ctx: &Ctx<'_>, arn: &str) -> Result<()> {
    let parsed = Arn::parse(arn)
        .filter(|a| a.service == "ecs")
        .ok_or_else(|| aws_error!(InvalidParameterException, "The ARN '{arn}' is not a valid ECS resource ARN."))?;
    let exists = match parsed.resource_type {
        "cluster" => match ctx.find_named(Named::Cluster, arn).await? {
            Some(cluster) if cluster.status == "INACTIVE" => {
                return Err(aws_error!(
                    InvalidParameterException,
                    "The specified cluster is inactive. Specify an active cluster and try again."
                ));
            }
            found => found.is_some(),
        },
        "capacity-provider" => ctx.find_named(Named::CapacityProvider, arn).await?.is_some(),
        "task-definition" => match family_revision(parsed.resource_id) {
            Some((family, revision)) if ctx.scope.task_definition(family, revision) == arn => {
                ctx.store.get_task_definition(ctx.region(), family, Some(revision)).await?.is_some()
            }
            _ => false,
        },
        "daemon-task-definition" => match family_revision(parsed.resource_id) {
            Some((family, revision))
                if ctx.scope.daemon_task_definition_prefix(family) + &revision.to_string() == arn =>
            {
                ctx.store.get_daemon_task_definition(ctx.region(), family, Some(revision)).await?.is_some()
            }
            _ => false,
        },
        "daemon" => match parsed.resource_id.split_once('/') {
            Some((cluster, name)) => ctx
                .store
                .get_daemon(ctx.region(), cluster, name)
                .await?
                .is_some_and(|d| d.arn == arn && d.status != "DELETED"),
            None => false,
        },
        "task" => ctx.store.get_task_by_arn(arn).await?.is_some(),
        "container-instance" => match parsed.resource_id.split_once('/') {
            Some((cluster, id)) => {
                ctx.store.get_instance(ctx.region(), cluster, id).await?.is_some_and(|row| row.arn == arn)
            }
            None => false,
        },
        "service" => match parsed.resource_id.split_once('/') {
            Some((cluster, name)) => ctx
                .store
                .get_service(ctx.region(), cluster, name)
                .await?
                .is_some_and(|row| row.arn == arn && row.status != "INACTIVE"),
            None => false,
        },
        // task-set/<cluster>/<service>/ecs-svc/<digits>: a task set the service still has.
        "task-set" => match parsed.resource_id.splitn(3, '/').collect::<Vec<_>>()[..] {
            [cluster, service, _] => ctx.store.get_service(ctx.region(), cluster, service).await?.is_some_and(|row| {
                crate::domain::list_of(&row.doc, "taskSets").iter().any(|set| str_of(set, "taskSetArn") == Some(arn))
            }),
            _ => false,
        },
        other => {
            return Err(aws_error!(InvalidParameterException, "Resources of type '{other}' cannot be tagged."));
        }
    };
    if exists {
        Ok(())
    } else {
        Err(aws_error!(ResourceNotFoundException, "The specified resource could not be found."))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TagResourceInput {
    resource_arn: String,
    tags: Vec<Tag>,
}

pub(super) async fn tag_resource(ctx: &Ctx<'_>, input: TagResourceInput) -> Result<Value> {
    let tags = check_tags(&input.tags)?;
    existing_resource(ctx, &input.resource_arn).await?;
    store_tags(ctx, &input.resource_arn, &tags).await?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UntagResourceInput {
    resource_arn: String,
    tag_keys: Vec<String>,
}

pub(super) async fn untag_resource(ctx: &Ctx<'_>, input: UntagResourceInput) -> Result<Value> {
    existing_resource(ctx, &input.resource_arn).await?;
    ctx.store.untag_resource(&input.resource_arn, &input.tag_keys).await?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListTagsForResourceInput {
    resource_arn: String,
}

pub(super) async fn list_tags_for_resource(ctx: &Ctx<'_>, input: ListTagsForResourceInput) -> Result<Value> {
    existing_resource(ctx, &input.resource_arn).await?;
    Ok(json!({"tags": tags_json(ctx, &input.resource_arn).await?}))
}
