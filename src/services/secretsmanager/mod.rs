//! AWS Secrets Manager (awsJson 1.1, `X-Amz-Target: secretsmanager.<Op>`): secrets with
//! versions and staging labels (AWSCURRENT and AWSPREVIOUS move as on AWS), ClientRequestToken
//! idempotency, deletion with a recovery window, tags, resource policies (stored, not
//! enforced) and GetRandomPassword. Values are kept in berth's SQLite file and appear in no
//! answer but GetSecretValue's and BatchGetSecretValue's. Replication and rotation, which need
//! other regions' copies and Lambda, answer that they are not available.

mod secrets;
mod values;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};

use super::parse;
use crate::domain::arn::Scope;
use crate::error::{ApiError, Code, Result};
use crate::protocol::model::{Model, Validation};
use crate::protocol::{BoxFuture, Call, Output, Service};
use crate::store::{SecretRow, SecretValue, Store};

/// The Secrets Manager model, `api-models/secretsmanager.json`.
#[must_use]
pub fn model() -> &'static Model {
    crate::embedded_model!("secretsmanager", Validation::one(Code::ValidationException))
}

/// Secrets Manager over the store.
#[derive(Debug)]
pub struct SecretsManager {
    store: Store,
    account: String,
    default_region: String,
}

impl SecretsManager {
    /// Secrets Manager over `store`, as `account`, in `default_region` unless a request names
    /// another.
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
    /// The secret a SecretId names (name, ARN or ARN without its suffix), scheduled for
    /// deletion or not.
    async fn secret(&self, secret_id: &str) -> Result<SecretRow> {
        self.store.find_secret(self.scope.region, secret_id).await?.ok_or_else(not_found)
    }

    /// The secret, refused when it is scheduled for deletion.
    async fn live_secret(&self, secret_id: &str) -> Result<SecretRow> {
        let secret = self.secret(secret_id).await?;
        if secret.deleted_ms.is_some() {
            return Err(marked_for_deletion());
        }
        Ok(secret)
    }
}

fn not_found() -> ApiError {
    aws_error!(ResourceNotFoundException, "Secrets Manager can't find the specified secret.")
}

fn marked_for_deletion() -> ApiError {
    aws_error!(
        InvalidRequestException,
        "You can't perform this operation on the secret because it was marked for deletion."
    )
}

/// A timestamp of the store (epoch ms) as the epoch seconds the JSON protocol sends.
#[allow(clippy::cast_precision_loss)]
fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// `{Key, Value}`, the shape of a tag in Secrets Manager.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    #[serde(default)]
    value: String,
}

fn tags_json(tags: &[(String, String)]) -> Value {
    Value::Array(tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect())
}

/// The value a request gives in SecretString or SecretBinary (base64 on the wire), if any.
fn value_of(string: Option<String>, binary: Option<String>) -> Result<Option<SecretValue>> {
    match (string, binary) {
        (Some(_), Some(_)) => Err(aws_error!(
            InvalidParameterException,
            "You can't specify both a binary secret value and a string secret value in the same secret."
        )),
        (Some(text), None) => Ok(Some(SecretValue::Text(text))),
        (None, Some(encoded)) => STANDARD
            .decode(encoded.as_bytes())
            .map(|bytes| Some(SecretValue::Binary(bytes)))
            .map_err(|_| aws_error!(SerializationException, "SecretBinary is not valid base64.")),
        (None, None) => Ok(None),
    }
}

/// A value as GetSecretValue answers it: `SecretString`, or `SecretBinary` in base64.
fn value_json(value: &SecretValue) -> (&'static str, Value) {
    match value {
        SecretValue::Text(text) => ("SecretString", json!(text)),
        SecretValue::Binary(bytes) => ("SecretBinary", json!(STANDARD.encode(bytes))),
    }
}

/// The version id of a new version: the request's ClientRequestToken (which the SDKs fill in),
/// else a fresh one.
fn version_id(token: Option<String>) -> String {
    token.unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// A uniform random number under `n`, from the operating system's generator.
fn below(n: usize) -> usize {
    let bound = u64::try_from(n).unwrap_or(u64::MAX).max(1);
    // Rejection sampling: draws from the last partial span of u64 would favour small numbers.
    let zone = u64::MAX - u64::MAX % bound;
    loop {
        let mut bytes = [0u8; 8];
        if getrandom::fill(&mut bytes).is_err() {
            // No OS randomness: a v4 UUID's generator is the next best source.
            bytes.copy_from_slice(&uuid::Uuid::new_v4().as_bytes()[..8]);
        }
        let draw = u64::from_le_bytes(bytes);
        if draw < zone {
            return usize::try_from(draw % bound).unwrap_or(0);
        }
    }
}

/// The operations berth implements, as named in the model.
pub const IMPLEMENTED: &[&str] = &[
    "CreateSecret",
    "DescribeSecret",
    "ListSecrets",
    "UpdateSecret",
    "DeleteSecret",
    "RestoreSecret",
    "TagResource",
    "UntagResource",
    "PutResourcePolicy",
    "GetResourcePolicy",
    "DeleteResourcePolicy",
    "ValidateResourcePolicy",
    "RotateSecret",
    "CancelRotateSecret",
    "GetSecretValue",
    "BatchGetSecretValue",
    "PutSecretValue",
    "UpdateSecretVersionStage",
    "ListSecretVersionIds",
    "GetRandomPassword",
];

impl Service for SecretsManager {
    fn model(&self) -> &'static Model {
        model()
    }

    fn call(&self, call: Call) -> BoxFuture<'_, Result<Output>> {
        Box::pin(async move {
            let region = call.region.as_deref().unwrap_or(&self.default_region);
            let ctx = Ctx { store: &self.store, scope: Scope { region, account: &self.account } };
            let input = call.input;
            let out = match call.operation.as_str() {
                "CreateSecret" => secrets::create_secret(&ctx, parse(input)?).await?,
                "DescribeSecret" => secrets::describe_secret(&ctx, parse(input)?).await?,
                "ListSecrets" => secrets::list_secrets(&ctx, parse(input)?).await?,
                "UpdateSecret" => secrets::update_secret(&ctx, parse(input)?).await?,
                "DeleteSecret" => secrets::delete_secret(&ctx, parse(input)?).await?,
                "RestoreSecret" => secrets::restore_secret(&ctx, parse(input)?).await?,
                "TagResource" => secrets::tag_resource(&ctx, parse(input)?).await?,
                "UntagResource" => secrets::untag_resource(&ctx, parse(input)?).await?,
                "PutResourcePolicy" => secrets::put_resource_policy(&ctx, parse(input)?).await?,
                "GetResourcePolicy" => secrets::get_resource_policy(&ctx, parse(input)?).await?,
                "DeleteResourcePolicy" => secrets::delete_resource_policy(&ctx, parse(input)?).await?,
                "ValidateResourcePolicy" => secrets::validate_resource_policy(&ctx, parse(input)?).await?,
                "RotateSecret" => secrets::rotate_secret(&ctx, parse(input)?).await?,
                "CancelRotateSecret" => secrets::cancel_rotate_secret(&ctx, parse(input)?).await?,
                "GetSecretValue" => values::get_secret_value(&ctx, parse(input)?).await?,
                "BatchGetSecretValue" => values::batch_get_secret_value(&ctx, parse(input)?).await?,
                "PutSecretValue" => values::put_secret_value(&ctx, parse(input)?).await?,
                "UpdateSecretVersionStage" => values::update_secret_version_stage(&ctx, parse(input)?).await?,
                "ListSecretVersionIds" => values::list_secret_version_ids(&ctx, parse(input)?).await?,
                "GetRandomPassword" => values::get_random_password(parse(input)?)?,
                op => {
                    return Err(aws_error!(
                        InvalidRequestException,
                        "{op} is not implemented by berth yet (berth keeps every secret in one region and runs no Lambda); the README lists what is"
                    ));
                }
            };
            Ok(Output::Value(out))
        })
    }
}
