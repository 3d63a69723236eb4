//! Log groups: CreateLogGroup, DeleteLogGroup, DescribeLogGroups, PutRetentionPolicy,
//! DeleteRetentionPolicy and PutLogGroupDeletionProtection, with CloudWatch Logs' messages and
//! codes.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ctx, group_not_found, name_of_identifier};
use crate::error::Result;
use crate::store::LogGroupRow;

/// The retention periods CloudWatch Logs accepts, in days (PutRetentionPolicy's documentation).
const RETENTION_DAYS: &[i64] =
    &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/// Tags a log group may have.
pub(super) const MAX_TAGS: usize = 50;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateLogGroupInput {
    log_group_name: String,
    kms_key_id: Option<String>,
    log_group_class: Option<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    deletion_protection_enabled: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LogGroupNameInput {
    log_group_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PutRetentionPolicyInput {
    log_group_name: String,
    retention_in_days: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeletionProtectionInput {
    log_group_identifier: String,
    deletion_protection_enabled: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeLogGroupsInput {
    log_group_name_prefix: Option<String>,
    log_group_name_pattern: Option<String>,
    log_group_identifiers: Option<Vec<String>>,
    log_group_class: Option<String>,
    limit: Option<usize>,
    next_token: Option<String>,
}

pub(super) async fn create_log_group(ctx: &Ctx<'_>, input: CreateLogGroupInput) -> Result<Value> {
    if input.tags.len() > MAX_TAGS {
        return Err(aws_error!(
            InvalidParameterException,
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to {MAX_TAGS}"
        ));
    }
    let created_ms = crate::domain::now_ms();
    let group = LogGroupRow {
        id: 0,
        name: input.log_group_name,
        created_ms,
        retention_days: None,
        kms_key_id: input.kms_key_id,
        class: input.log_group_class.unwrap_or_else(|| "STANDARD".to_owned()),
        deletion_protection: input.deletion_protection_enabled,
        stored_bytes: 0,
        metric_filters: 0,
    };
    let tags: Vec<(String, String)> = input.tags.into_iter().collect();
    let arn = ctx.group_arn(&group.name);
    if !ctx.store.create_log_group(ctx.scope.region, &group, &arn, &tags).await? {
        return Err(aws_error!(ResourceAlreadyExistsException, "The specified log group already exists"));
    }
    Ok(json!({}))
}

pub(super) async fn delete_log_group(ctx: &Ctx<'_>, input: LogGroupNameInput) -> Result<Value> {
    let group = ctx.group(&input.log_group_name).await?;
    if group.deletion_protection {
        return Err(aws_error!(
            ValidationException,
            "Cannot delete log group with deletion protection enabled. Disable deletion protection first."
        ));
    }
    let arn = ctx.group_arn(&group.name);
    if !ctx.store.delete_log_group(ctx.scope.region, &group.name, &arn).await? {
        return Err(group_not_found());
    }
    Ok(json!({}))
}

pub(super) async fn put_retention_policy(ctx: &Ctx<'_>, input: PutRetentionPolicyInput) -> Result<Value> {
    if !RETENTION_DAYS.contains(&input.retention_in_days) {
        let days = input.retention_in_days;
        return Err(aws_error!(
            InvalidParameterException,
            "1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: {RETENTION_DAYS:?}"
        ));
    }
    let (region, name) = (ctx.scope.region, &input.log_group_name);
    if !ctx.store.set_log_group_retention(region, name, Some(input.retention_in_days)).await? {
        return Err(group_not_found());
    }
    Ok(json!({}))
}

pub(super) async fn delete_retention_policy(ctx: &Ctx<'_>, input: LogGroupNameInput) -> Result<Value> {
    if !ctx.store.set_log_group_retention(ctx.scope.region, &input.log_group_name, None).await? {
        return Err(group_not_found());
    }
    Ok(json!({}))
}

pub(super) async fn put_deletion_protection(ctx: &Ctx<'_>, input: DeletionProtectionInput) -> Result<Value> {
    let name = name_of_identifier(&input.log_group_identifier);
    let on = input.deletion_protection_enabled;
    if !ctx.store.set_log_group_deletion_protection(ctx.scope.region, &name, on).await? {
        return Err(group_not_found());
    }
    Ok(json!({}))
}

pub(super) async fn describe_log_groups(ctx: &Ctx<'_>, input: DescribeLogGroupsInput) -> Result<Value> {
    let selectors = [
        input.log_group_name_prefix.is_some(),
        input.log_group_name_pattern.is_some(),
        input.log_group_identifiers.is_some(),
    ];
    if selectors.iter().filter(|s| **s).count() > 1 {
        return Err(aws_error!(
            InvalidParameterException,
            "LogGroupIdentifiers, LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive; specify only one of them."
        ));
    }
    let limit = input.limit.unwrap_or(50);
    // The token is the name of the last group of the page before.
    let after = input.next_token.unwrap_or_default();
    let pattern = input.log_group_name_pattern.map(|p| p.to_lowercase());
    let identifiers: Option<Vec<String>> =
        input.log_group_identifiers.map(|ids| ids.iter().map(|i| name_of_identifier(i)).collect());
    let groups: Vec<LogGroupRow> = ctx
        .store
        .list_log_groups(ctx.scope.region, &after)
        .await?
        .into_iter()
        .filter(|g| input.log_group_name_prefix.as_ref().is_none_or(|p| g.name.starts_with(p.as_str())))
        .filter(|g| pattern.as_ref().is_none_or(|p| g.name.to_lowercase().contains(p.as_str())))
        .filter(|g| identifiers.as_ref().is_none_or(|ids| ids.contains(&g.name)))
        .filter(|g| input.log_group_class.as_ref().is_none_or(|c| *c == g.class))
        .take(limit + 1)
        .collect();
    let next_token = (groups.len() > limit).then(|| groups[limit - 1].name.clone());
    let log_groups: Vec<Value> = groups
        .iter()
        .take(limit)
        .map(|g| {
            let arn = ctx.group_arn(&g.name);
            json!({
                "logGroupName": g.name,
                "creationTime": g.created_ms,
                "retentionInDays": g.retention_days,
                "metricFilterCount": g.metric_filters,
                "arn": format!("{arn}:*"),
                "logGroupArn": arn,
                "storedBytes": g.stored_bytes,
                "kmsKeyId": g.kms_key_id,
                "logGroupClass": g.class,
                "deletionProtectionEnabled": g.deletion_protection,
            })
        })
        .collect();
    Ok(json!({"logGroups": log_groups, "nextToken": next_token}))
}
