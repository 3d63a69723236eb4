//! AWS STS (awsQuery): GetCallerIdentity, so that tools that ask who they are work with nothing
//! changed but the endpoint (the Terraform AWS provider asks it for the account id unless told
//! not to). Every caller is the account's root. The other actions answer that berth has not
//! built them.

use serde_json::json;

use crate::error::{Code, Result};
use crate::protocol::model::{Model, Validation};
use crate::protocol::{BoxFuture, Call, Output, Service};

/// The STS model, `api-models/sts.json`.
#[must_use]
pub fn model() -> &'static Model {
    crate::embedded_model!("sts", Validation::one(Code::ValidationError))
}

/// STS, answering as one account.
#[derive(Debug)]
pub struct Sts {
    account: String,
}

impl Sts {
    /// STS for `account`.
    #[must_use]
    pub fn new(account: String) -> Self {
        Self { account }
    }
}

impl Service for Sts {
    fn model(&self) -> &'static Model {
        model()
    }

    fn call(&self, call: Call) -> BoxFuture<'_, Result<Output>> {
        Box::pin(async move {
            let account = &self.account;
            match call.operation.as_str() {
                "GetCallerIdentity" => Ok(Output::Value(json!({
                    "Arn": format!("arn:aws:iam::{account}:root"),
                    "UserId": account,
                    "Account": account,
                }))),
                op => {
                    Err(aws_error!(InvalidAction, "berth answers the STS action GetCallerIdentity only, not {op} yet"))
                }
            }
        })
    }
}
