//! Log groups: CreateLogGroup, DeleteLogGroup, DescribeLogGroups, PutRetentionPolicy and
//! DeleteRetentionPolicy, with CloudWatch Logs' messages and codes.

use serde::Deserialize;
use serde_json::{Value, json};

use super::Ctx;
use crate::error::Result;
use crate::store::LogGroupRow;

/// The retention periods CloudWatch Logs accepts, in days (PutRetentionPolicy's documentation).
const RETENTION_DAYS: &[i64] =
    &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateLogGroupInput {
    log_group_name: String,
    kms_key_id: Option<String>,
    log_group_class: Option<String>,
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
pub(super) struct DescribeLogGroupsInput {
    log_group_name_prefix: Option<String>,
    log_group_name_pattern: Option<String>,
    limit: Option<usize>,
    next_token: Option<String>,
}

fn not_found() -> crate::error::ApiError {
    aws_error!(ResourceNotFoundException, "The specified log group does not exist.")
}

pub(super) async fn create_log_group(ctx: &Ctx<'_>, input: CreateLogGroupInput) -> Result<Value> {
    let created_ms = (crate::domain::now() * 1000.0) as i64;
    let group = LogGroupRow {
        name: input.log_group_name,
        created_ms,
        retention_days: None,
        kms_key_id: input.kms_key_id,
        class: input.log_group_class.unwrap_or_else(|| "STANDARD".to_owned()),
    };
    if !ctx.store.create_log_group(ctx.scope.region, &group).await? {
        return Err(aws_error!(ResourceAlreadyExistsException, "The specified log group already exists"));
    }
    Ok(json!({}))
}

pub(super) async fn delete_log_group(ctx: &Ctx<'_>, input: LogGroupNameInput) -> Result<Value> {
    if !ctx.store.delete_log_group(ctx.scope.region, &input.log_group_name).await? {
        return Err(not_found());
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
        return Err(not_found());
    }
    Ok(json!({}))
}

pub(super) async fn delete_retention_policy(ctx: &Ctx<'_>, input: LogGroupNameInput) -> Result<Value> {
    if !ctx.store.set_log_group_retention(ctx.scope.region, &input.log_group_name, None).await? {
        return Err(not_found());
    }
    Ok(json!({}))
}

pub(super) async fn describe_log_groups(ctx: &Ctx<'_>, input: DescribeLogGroupsInput) -> Result<Value> {
    if input.log_group_name_prefix.is_some() && input.log_group_name_pattern.is_some() {
        return Err(aws_error!(
            InvalidParameterException,
            "LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive"
        ));
    }
    let limit = input.limit.unwrap_or(50);
    // The token is the name of the last group of the page before.
    let after = input.next_token.unwrap_or_default();
    let pattern = input.log_group_name_pattern.map(|p| p.to_lowercase());
    let groups: Vec<LogGroupRow> = ctx
        .store
        .list_log_groups(ctx.scope.region, &after)
        .await?
        .into_iter()
        .filter(|g| input.log_group_name_prefix.as_ref().is_none_or(|p| g.name.starts_with(p.as_str())))
        .filter(|g| pattern.as_ref().is_none_or(|p| g.name.to_lowercase().contains(p.as_str())))
        .take(limit + 1)
        .collect();
    let next_token = (groups.len() > limit).then(|| groups[limit - 1].name.clone());
    let (region, account) = (ctx.scope.region, ctx.scope.account);
    let log_groups: Vec<Value> = groups
        .iter()
        .take(limit)
        .map(|g| {
            let arn = format!("arn:aws:logs:{region}:{account}:log-group:{}", g.name);
            json!({
                "logGroupName": g.name,
                "creationTime": g.created_ms,
                "retentionInDays": g.retention_days,
                "metricFilterCount": 0,
                "arn": format!("{arn}:*"),
                "logGroupArn": arn,
                "storedBytes": 0,
                "kmsKeyId": g.kms_key_id,
                "logGroupClass": g.class,
            })
        })
        .collect();
    Ok(json!({"logGroups": log_groups, "nextToken": next_token}))
}
