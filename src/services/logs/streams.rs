//! Log streams: CreateLogStream, DeleteLogStream and DescribeLogStreams.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ctx, group_name, stream_not_found};
use crate::error::Result;
use crate::store::LogStreamRow;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct StreamInput {
    log_group_name: String,
    log_stream_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeLogStreamsInput {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name_prefix: Option<String>,
    order_by: Option<String>,
    #[serde(default)]
    descending: bool,
    limit: Option<i64>,
    next_token: Option<String>,
}

/// The sequence token a stream would hand out: CloudWatch Logs ignores them since 2023 but
/// still returns one, and older clients read it.
pub(super) fn sequence_token(stream: &LogStreamRow) -> String {
    format!("{:056}", stream.last_ingestion_ms.unwrap_or(stream.created_ms))
}

pub(super) async fn create_log_stream(ctx: &Ctx<'_>, input: StreamInput) -> Result<Value> {
    check_stream_name(&input.log_stream_name)?;
    let group = ctx.group(&input.log_group_name).await?;
    if !ctx.store.create_log_stream(group.id, &input.log_stream_name, crate::domain::now_ms()).await? {
        return Err(aws_error!(ResourceAlreadyExistsException, "The specified log stream already exists"));
    }
    Ok(json!({}))
}

/// A stream name may hold any character but `:` and `*` (CreateLogStream's documentation).
fn check_stream_name(name: &str) -> Result<()> {
    if name.contains([':', '*']) {
        return Err(aws_error!(
            InvalidParameterException,
            "1 validation error detected: Value '{name}' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*"
        ));
    }
    Ok(())
}

pub(super) async fn delete_log_stream(ctx: &Ctx<'_>, input: StreamInput) -> Result<Value> {
    let group = ctx.group(&input.log_group_name).await?;
    if !ctx.store.delete_log_stream(group.id, &input.log_stream_name).await? {
        return Err(stream_not_found());
    }
    Ok(json!({}))
}

pub(super) async fn describe_log_streams(ctx: &Ctx<'_>, input: DescribeLogStreamsInput) -> Result<Value> {
    let name = group_name(input.log_group_name, input.log_group_identifier)?;
    let by_last_event = match input.order_by.as_deref() {
        None | Some("LogStreamName") => false,
        Some(_) => true,
    };
    if by_last_event && input.log_stream_name_prefix.is_some() {
        return Err(aws_error!(InvalidParameterException, "Cannot order by LastEventTime with a logStreamNamePrefix."));
    }
    let offset = match input.next_token.as_deref() {
        None => 0,
        Some(token) => token
            .strip_prefix("s/")
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n >= 0)
            .ok_or_else(|| aws_error!(InvalidParameterException, "The specified nextToken is invalid."))?,
    };
    let group = ctx.group(&name).await?;
    let limit = input.limit.unwrap_or(50);
    let prefix = input.log_stream_name_prefix.unwrap_or_default();
    let mut streams =
        ctx.store.list_log_streams(group.id, &prefix, by_last_event, input.descending, offset, limit + 1).await?;
    let more = usize::try_from(limit).is_ok_and(|limit| streams.len() > limit);
    streams.truncate(usize::try_from(limit).unwrap_or(0));
    let group_arn = ctx.group_arn(&group.name);
    let log_streams: Vec<Value> = streams
        .iter()
        .map(|s| {
            json!({
                "logStreamName": s.name,
                "creationTime": s.created_ms,
                "firstEventTimestamp": s.first_event_ms,
                "lastEventTimestamp": s.last_event_ms,
                "lastIngestionTime": s.last_ingestion_ms,
                "uploadSequenceToken": sequence_token(s),
                "arn": format!("{group_arn}:log-stream:{}", s.name),
                // Always 0 for streams since 2019, as the API reference says.
                "storedBytes": 0,
            })
        })
        .collect();
    let next_token = more.then(|| format!("s/{}", offset + limit));
    Ok(json!({"logStreams": log_streams, "nextToken": next_token}))
}
