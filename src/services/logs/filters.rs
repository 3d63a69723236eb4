//! Metric filters (PutMetricFilter, DescribeMetricFilters, DeleteMetricFilter), stored with
//! their patterns checked; turning matches into CloudWatch metrics comes with the metrics work.
//! Subscription filters: DescribeSubscriptionFilters answers a group's (always empty) list.

use serde::Deserialize;
use serde_json::{Value, json};

use super::Ctx;
use crate::domain::log_filter::FilterPattern;
use crate::error::Result;
use crate::store::MetricFilterRow;

/// Metric filters a log group may have (CloudWatch Logs' quota).
const MAX_METRIC_FILTERS: i64 = 100;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PutMetricFilterInput {
    log_group_name: String,
    filter_name: String,
    filter_pattern: String,
    metric_transformations: Vec<Value>,
    #[serde(default)]
    apply_on_transformed_logs: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeMetricFiltersInput {
    log_group_name: Option<String>,
    filter_name_prefix: Option<String>,
    metric_name: Option<String>,
    metric_namespace: Option<String>,
    limit: Option<usize>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeleteMetricFilterInput {
    log_group_name: String,
    filter_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeSubscriptionFiltersInput {
    log_group_name: String,
}

pub(super) async fn put_metric_filter(ctx: &Ctx<'_>, input: PutMetricFilterInput) -> Result<Value> {
    FilterPattern::parse(&input.filter_pattern).map_err(|e| aws_error!(InvalidParameterException, "{e}"))?;
    let group = ctx.group(&input.log_group_name).await?;
    let filter = MetricFilterRow {
        group: group.name.clone(),
        name: input.filter_name,
        pattern: input.filter_pattern,
        transformations: Value::Array(input.metric_transformations).to_string(),
        created_ms: crate::domain::now_ms(),
        apply_on_transformed: input.apply_on_transformed_logs,
    };
    if !ctx.store.put_metric_filter(group.id, &filter, MAX_METRIC_FILTERS).await? {
        return Err(aws_error!(
            LimitExceededException,
            "Resource limit exceeded: a log group can have at most {MAX_METRIC_FILTERS} metric filters."
        ));
    }
    Ok(json!({}))
}

pub(super) async fn delete_metric_filter(ctx: &Ctx<'_>, input: DeleteMetricFilterInput) -> Result<Value> {
    let group = ctx.group(&input.log_group_name).await?;
    if !ctx.store.delete_metric_filter(group.id, &input.filter_name).await? {
        return Err(aws_error!(ResourceNotFoundException, "The specified metric filter does not exist."));
    }
    Ok(json!({}))
}

pub(super) async fn describe_metric_filters(ctx: &Ctx<'_>, input: DescribeMetricFiltersInput) -> Result<Value> {
    if input.filter_name_prefix.is_some() && input.log_group_name.is_none() {
        return Err(aws_error!(
            InvalidParameterException,
            "If you specify filterNamePrefix, you must also specify logGroupName."
        ));
    }
    if input.metric_name.is_some() != input.metric_namespace.is_some() {
        return Err(aws_error!(
            InvalidParameterException,
            "metricName and metricNamespace must be specified together."
        ));
    }
    let group_id = match &input.log_group_name {
        Some(name) => Some(ctx.group(name).await?.id),
        None => None,
    };
    let offset = match input.next_token.as_deref() {
        None => 0,
        Some(token) => token
            .strip_prefix("m/")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| aws_error!(InvalidParameterException, "The specified nextToken is invalid."))?,
    };
    let limit = input.limit.unwrap_or(50);
    let names_metric = |f: &MetricFilterRow| {
        let (Some(name), Some(namespace)) = (&input.metric_name, &input.metric_namespace) else {
            return true;
        };
        let transformations: Vec<Value> = serde_json::from_str(&f.transformations).unwrap_or_default();
        transformations.iter().any(|t| t["metricName"] == name.as_str() && t["metricNamespace"] == namespace.as_str())
    };
    let filters: Vec<MetricFilterRow> = ctx
        .store
        .list_metric_filters(ctx.scope.region, group_id)
        .await?
        .into_iter()
        .filter(|f| input.filter_name_prefix.as_ref().is_none_or(|p| f.name.starts_with(p.as_str())))
        .filter(names_metric)
        .skip(offset)
        .take(limit + 1)
        .collect();
    let next_token = (filters.len() > limit).then(|| format!("m/{}", offset + limit));
    let metric_filters: Vec<Value> = filters
        .iter()
        .take(limit)
        .map(|f| {
            let transformations: Value = serde_json::from_str(&f.transformations).unwrap_or_else(|_| json!([]));
            json!({
                "filterName": f.name,
                "filterPattern": f.pattern,
                "metricTransformations": transformations,
                "creationTime": f.created_ms,
                "logGroupName": f.group,
                "applyOnTransformedLogs": f.apply_on_transformed,
            })
        })
        .collect();
    Ok(json!({"metricFilters": metric_filters, "nextToken": next_token}))
}

pub(super) async fn describe_subscription_filters(
    ctx: &Ctx<'_>,
    input: DescribeSubscriptionFiltersInput,
) -> Result<Value> {
    ctx.group(&input.log_group_name).await?;
    Ok(json!({"subscriptionFilters": []}))
}
