//! Tags of log groups: TagResource, UntagResource and ListTagsForResource by ARN, and the older
//! TagLogGroup, UntagLogGroup and ListTagsLogGroup by name.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::Ctx;
use super::groups::MAX_TAGS;
use crate::error::{ApiError, Result};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TagResourceInput {
    resource_arn: String,
    tags: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UntagResourceInput {
    resource_arn: String,
    tag_keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ResourceInput {
    resource_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TagLogGroupInput {
    log_group_name: String,
    tags: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UntagLogGroupInput {
    log_group_name: String,
    tags: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LogGroupInput {
    log_group_name: String,
}

/// The canonical ARN of the log group `arn` names, once the group is known to exist: an ARN of
/// another account, of something other than a log group, or of a missing group is not found.
async fn group_of_arn(ctx: &Ctx<'_>, arn: &str) -> Result<String> {
    let not_found = || aws_error!(ResourceNotFoundException, "The specified resource does not exist: {arn}");
    let rest = arn.strip_prefix("arn:aws:logs:").ok_or_else(not_found)?;
    let mut parts = rest.splitn(4, ':');
    let (Some(region), Some(account), Some("log-group"), Some(name)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(not_found());
    };
    let name = name.strip_suffix(":*").unwrap_or(name);
    if account != ctx.scope.account || region != ctx.scope.region || name.contains(':') {
        return Err(not_found());
    }
    ctx.store.get_log_group(ctx.scope.region, name).await?.ok_or_else(not_found)?;
    Ok(ctx.group_arn(name))
}

async fn group_arn_of_name(ctx: &Ctx<'_>, name: &str) -> Result<String> {
    ctx.group(name).await?;
    Ok(ctx.group_arn(name))
}

async fn add(ctx: &Ctx<'_>, arn: &str, tags: BTreeMap<String, String>, too_many: fn(usize) -> ApiError) -> Result<()> {
    let tags: Vec<(String, String)> = tags.into_iter().collect();
    if let Err(count) = ctx.store.tag_resource(arn, &tags, MAX_TAGS).await? {
        return Err(too_many(count));
    }
    Ok(())
}

async fn listed(ctx: &Ctx<'_>, arn: &str) -> Result<Value> {
    let tags: Map<String, Value> =
        ctx.store.get_tags(arn).await?.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    Ok(json!({"tags": tags}))
}

pub(super) async fn tag_resource(ctx: &Ctx<'_>, input: TagResourceInput) -> Result<Value> {
    let arn = group_of_arn(ctx, &input.resource_arn).await?;
    let too_many = |count| {
        aws_error!(TooManyTagsException, "A resource can have no more than {MAX_TAGS} tags; it would have {count}.")
    };
    add(ctx, &arn, input.tags, too_many).await?;
    Ok(json!({}))
}

pub(super) async fn untag_resource(ctx: &Ctx<'_>, input: UntagResourceInput) -> Result<Value> {
    let arn = group_of_arn(ctx, &input.resource_arn).await?;
    ctx.store.untag_resource(&arn, &input.tag_keys).await?;
    Ok(json!({}))
}

pub(super) async fn list_tags_for_resource(ctx: &Ctx<'_>, input: ResourceInput) -> Result<Value> {
    let arn = group_of_arn(ctx, &input.resource_arn).await?;
    listed(ctx, &arn).await
}

pub(super) async fn tag_log_group(ctx: &Ctx<'_>, input: TagLogGroupInput) -> Result<Value> {
    let arn = group_arn_of_name(ctx, &input.log_group_name).await?;
    let too_many = |count| {
        aws_error!(
            InvalidParameterException,
            "A log group can have no more than {MAX_TAGS} tags; it would have {count}."
        )
    };
    add(ctx, &arn, input.tags, too_many).await?;
    Ok(json!({}))
}

pub(super) async fn untag_log_group(ctx: &Ctx<'_>, input: UntagLogGroupInput) -> Result<Value> {
    let arn = group_arn_of_name(ctx, &input.log_group_name).await?;
    ctx.store.untag_resource(&arn, &input.tags).await?;
    Ok(json!({}))
}

pub(super) async fn list_tags_log_group(ctx: &Ctx<'_>, input: LogGroupInput) -> Result<Value> {
    let arn = group_arn_of_name(ctx, &input.log_group_name).await?;
    listed(ctx, &arn).await
}
