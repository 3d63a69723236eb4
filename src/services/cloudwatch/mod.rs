//! Amazon CloudWatch metrics, in its three wire forms: Smithy RPCv2 CBOR (what botocore 1.43
//! sends first), awsJson 1.0 and awsQuery. PutMetricData and ListMetrics so far; statistics,
//! alarms and the metrics of berth's own tasks come with issue 23, and every other operation
//! answers that berth has not built it.

mod metrics;

use super::parse;
use crate::error::{Code, Result};
use crate::protocol::model::{Model, Validation};
use crate::protocol::{BoxFuture, Call, Output, Service};
use crate::store::Store;

/// The CloudWatch model, `api-models/cloudwatch.json`.
#[must_use]
pub fn model() -> &'static Model {
    crate::embedded_model!(
        "cloudwatch",
        Validation { missing: Code::MissingRequiredParameterException, invalid: Code::InvalidParameterValueException }
    )
}

/// CloudWatch over the store.
#[derive(Debug)]
pub struct CloudWatch {
    store: Store,
    default_region: String,
}

impl CloudWatch {
    /// CloudWatch over `store`, in `default_region` unless a request names another.
    #[must_use]
    pub fn new(store: Store, default_region: String) -> Self {
        Self { store, default_region }
    }
}

/// The operations berth implements, as named in the model.
pub const IMPLEMENTED: &[&str] = &["PutMetricData", "ListMetrics"];

impl Service for CloudWatch {
    fn model(&self) -> &'static Model {
        model()
    }

    fn call(&self, call: Call) -> BoxFuture<'_, Result<Output>> {
        Box::pin(async move {
            let region = call.region.as_deref().unwrap_or(&self.default_region);
            let out = match call.operation.as_str() {
                "PutMetricData" => metrics::put_metric_data(&self.store, region, parse(call.input)?).await?,
                "ListMetrics" => metrics::list_metrics(&self.store, region, parse(call.input)?).await?,
                op => {
                    return Err(aws_error!(
                        InvalidAction,
                        "{op} is not implemented by berth yet; the README lists what is"
                    ));
                }
            };
            Ok(Output::Value(out))
        })
    }
}
