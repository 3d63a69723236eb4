//! Amazon CloudWatch Logs (awsJson 1.1, `X-Amz-Target: Logs_20140328.<Op>`): log groups with
//! retention, tags, deletion protection and metric filters; streams; events put, read and
//! filtered with CloudWatch Logs' filter patterns. Every other operation answers that berth has
//! not built it.

mod events;
mod filters;
mod groups;
mod streams;
mod tags;

use super::parse;
use crate::domain::arn::Scope;
use crate::error::{Code, Result};
use crate::protocol::model::{Model, Validation};
use crate::protocol::{BoxFuture, Call, Output, Service};
use crate::store::{LogGroupRow, Store};

pub use events::{EVENT_OVERHEAD, MAX_BATCH_BYTES, MAX_BATCH_EVENTS};

/// The CloudWatch Logs model, `api-models/logs.json`.
#[must_use]
pub fn model() -> &'static Model {
    crate::embedded_model!("logs", Validation::one(Code::InvalidParameterException))
}

/// CloudWatch Logs over the store.
#[derive(Debug)]
pub struct Logs {
    store: Store,
    account: String,
    default_region: String,
}

impl Logs {
    /// Logs over `store`, as `account`, in `default_region` unless a request names another.
    #[must_use]
    pub fn new(store: Store, account: String, default_region: String) -> Self {
        Self { store, account, default_region }
    }
}

/// What one call runs with.
struct Ctx<'a> {
    store: &'a Store,
    scope: Scope<'a>,
}

impl Ctx<'_> {
    /// The ARN of a log group, without the `:*` that DescribeLogGroups' `arn` adds.
    fn group_arn(&self, name: &str) -> String {
        format!("arn:aws:logs:{}:{}:log-group:{name}", self.scope.region, self.scope.account)
    }

    /// The log group of that name, or CloudWatch Logs' answer that there is none.
    async fn group(&self, name: &str) -> Result<LogGroupRow> {
        self.store.get_log_group(self.scope.region, name).await?.ok_or_else(group_not_found)
    }
}

fn group_not_found() -> crate::error::ApiError {
    aws_error!(ResourceNotFoundException, "The specified log group does not exist.")
}

fn stream_not_found() -> crate::error::ApiError {
    aws_error!(ResourceNotFoundException, "The specified log stream does not exist.")
}

/// The group a request names by `logGroupName` or by `logGroupIdentifier` (a name or an ARN):
/// one of them, not both.
fn group_name(name: Option<String>, identifier: Option<String>) -> Result<String> {
    match (name, identifier) {
        (Some(_), Some(_)) => Err(aws_error!(
            InvalidParameterException,
            "LogGroupName and LogGroupIdentifier are mutually exclusive parameters; specify only one of them."
        )),
        (Some(name), None) => Ok(name),
        (None, Some(identifier)) => Ok(name_of_identifier(&identifier)),
        (None, None) => {
            Err(aws_error!(InvalidParameterException, "Either LogGroupName or LogGroupIdentifier must be specified."))
        }
    }
}

/// The group name in a log group identifier: the name itself, or the part of an ARN after
/// `log-group:` (without a trailing `:*`).
fn name_of_identifier(identifier: &str) -> String {
    match identifier.split_once(":log-group:") {
        Some((_, rest)) if identifier.starts_with("arn:") => rest.strip_suffix(":*").unwrap_or(rest).to_owned(),
        _ => identifier.to_owned(),
    }
}

/// The operations berth implements, as named in the model.
pub const IMPLEMENTED: &[&str] = &[
    "CreateLogGroup",
    "DeleteLogGroup",
    "DescribeLogGroups",
    "PutRetentionPolicy",
    "DeleteRetentionPolicy",
    "PutLogGroupDeletionProtection",
    "CreateLogStream",
    "DeleteLogStream",
    "DescribeLogStreams",
    "PutLogEvents",
    "GetLogEvents",
    "FilterLogEvents",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "TagLogGroup",
    "UntagLogGroup",
    "ListTagsLogGroup",
    "PutMetricFilter",
    "DescribeMetricFilters",
    "DeleteMetricFilter",
    "DescribeSubscriptionFilters",
];

impl Service for Logs {
    fn model(&self) -> &'static Model {
        model()
    }

    fn call(&self, call: Call) -> BoxFuture<'_, Result<Output>> {
        Box::pin(async move {
            let region = call.region.as_deref().unwrap_or(&self.default_region);
            let ctx = Ctx { store: &self.store, scope: Scope { region, account: &self.account } };
            let input = call.input;
            let out = match call.operation.as_str() {
                "CreateLogGroup" => groups::create_log_group(&ctx, parse(input)?).await?,
                "DeleteLogGroup" => groups::delete_log_group(&ctx, parse(input)?).await?,
                "DescribeLogGroups" => groups::describe_log_groups(&ctx, parse(input)?).await?,
                "PutRetentionPolicy" => groups::put_retention_policy(&ctx, parse(input)?).await?,
                "DeleteRetentionPolicy" => groups::delete_retention_policy(&ctx, parse(input)?).await?,
                "PutLogGroupDeletionProtection" => groups::put_deletion_protection(&ctx, parse(input)?).await?,
                "CreateLogStream" => streams::create_log_stream(&ctx, parse(input)?).await?,
                "DeleteLogStream" => streams::delete_log_stream(&ctx, parse(input)?).await?,
                "DescribeLogStreams" => streams::describe_log_streams(&ctx, parse(input)?).await?,
                "PutLogEvents" => events::put_log_events(&ctx, parse(input)?).await?,
                "GetLogEvents" => events::get_log_events(&ctx, parse(input)?).await?,
                "FilterLogEvents" => events::filter_log_events(&ctx, parse(input)?).await?,
                "TagResource" => tags::tag_resource(&ctx, parse(input)?).await?,
                "UntagResource" => tags::untag_resource(&ctx, parse(input)?).await?,
                "ListTagsForResource" => tags::list_tags_for_resource(&ctx, parse(input)?).await?,
                "TagLogGroup" => tags::tag_log_group(&ctx, parse(input)?).await?,
                "UntagLogGroup" => tags::untag_log_group(&ctx, parse(input)?).await?,
                "ListTagsLogGroup" => tags::list_tags_log_group(&ctx, parse(input)?).await?,
                "PutMetricFilter" => filters::put_metric_filter(&ctx, parse(input)?).await?,
                "DescribeMetricFilters" => filters::describe_metric_filters(&ctx, parse(input)?).await?,
                "DeleteMetricFilter" => filters::delete_metric_filter(&ctx, parse(input)?).await?,
                "DescribeSubscriptionFilters" => filters::describe_subscription_filters(&ctx, parse(input)?).await?,
                op => {
                    return Err(aws_error!(
                        InvalidOperationException,
                        "{op} is not implemented by berth yet; the README lists what is"
                    ));
                }
            };
            Ok(Output::Value(out))
        })
    }
}
