//! Amazon CloudWatch Logs (awsJson 1.1, `X-Amz-Target: Logs_20140328.<Op>`): log groups so far
//! (create, describe, delete, retention). The streams and events that awslogs containers write
//! come with issue 18; every other operation answers that berth has not built it.

mod groups;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::domain::arn::Scope;
use crate::error::{Code, Result};
use crate::protocol::model::{Model, Validation};
use crate::protocol::{BoxFuture, Call, Output, Service};
use crate::store::Store;

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

/// The operations berth implements, as named in the model.
pub const IMPLEMENTED: &[&str] =
    &["CreateLogGroup", "DeleteLogGroup", "DescribeLogGroups", "PutRetentionPolicy", "DeleteRetentionPolicy"];

fn parse<T: DeserializeOwned>(input: Value) -> Result<T> {
    serde_json::from_value(input).map_err(|e| aws_error!(SerializationException, "Could not read the request: {e}"))
}

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
