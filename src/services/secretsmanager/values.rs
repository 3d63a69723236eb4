//! Secret values and their versions: GetSecretValue, BatchGetSecretValue, PutSecretValue,
//! UpdateSecretVersionStage, ListSecretVersionIds, and GetRandomPassword.

use serde::Deserialize;
use serde_json::{Value, json};

use super::secrets::{DAY_MS, Filter, filtered, page};
use super::{Ctx, secs, value_json, value_of, version_id};
use crate::domain::secrets::{self, PasswordRules};
use crate::error::{ApiError, Code, Result};
use crate::store::{PutVersion, SecretLookup};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct GetSecretValueInput {
    secret_id: String,
    version_id: Option<String>,
    version_stage: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct BatchGetSecretValueInput {
    secret_id_list: Option<Vec<String>>,
    filters: Option<Vec<Filter>>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PutSecretValueInput {
    secret_id: String,
    client_request_token: Option<String>,
    secret_string: Option<String>,
    secret_binary: Option<String>,
    version_stages: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct UpdateSecretVersionStageInput {
    secret_id: String,
    version_stage: String,
    remove_from_version_id: Option<String>,
    move_to_version_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ListSecretVersionIdsInput {
    secret_id: String,
    max_results: Option<i64>,
    next_token: Option<String>,
    #[serde(default)]
    include_deprecated: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct GetRandomPasswordInput {
    password_length: Option<usize>,
    exclude_characters: Option<String>,
    #[serde(default)]
    exclude_numbers: bool,
    #[serde(default)]
    exclude_punctuation: bool,
    #[serde(default)]
    exclude_uppercase: bool,
    #[serde(default)]
    exclude_lowercase: bool,
    #[serde(default)]
    include_space: bool,
    require_each_included_type: Option<bool>,
}

/// GetSecretValue's answer for one version of a live secret, chosen by id, by label
/// (AWSCURRENT unless told), or both (which must agree); reading it stamps the day it was
/// accessed.
async fn value_of_secret(ctx: &Ctx<'_>, secret_id: &str, id: Option<&str>, stage: Option<&str>) -> Result<Value> {
    let lookup = ctx.store.secret_version(ctx.scope.region, secret_id, id, stage).await?;
    let SecretLookup::Found(secret, version) = lookup else {
        return Err(lookup.problem().map_or_else(super::not_found, |(code, message)| {
            ApiError::new(Code::named(code).unwrap_or(Code::ResourceNotFoundException), message)
        }));
    };
    let now = crate::domain::now_ms();
    ctx.store.secret_accessed(secret.id, &version.version_id, now - now.rem_euclid(DAY_MS)).await?;
    let (key, value) = value_json(&version.value);
    let mut out = json!({
        "ARN": secret.arn,
        "Name": secret.name,
        "VersionId": version.version_id,
        "VersionStages": version.stages,
        "CreatedDate": secs(version.created_ms),
    });
    out[key] = value;
    Ok(out)
}

pub(super) async fn get_secret_value(ctx: &Ctx<'_>, input: GetSecretValueInput) -> Result<Value> {
    value_of_secret(ctx, &input.secret_id, input.version_id.as_deref(), input.version_stage.as_deref()).await
}

/// A failure of one secret of a batch, as BatchGetSecretValue lists it.
fn batch_error(secret_id: &str, e: &ApiError) -> Value {
    json!({"SecretId": secret_id, "ErrorCode": e.code.as_str(), "Message": e.message})
}

pub(super) async fn batch_get_secret_value(ctx: &Ctx<'_>, input: BatchGetSecretValueInput) -> Result<Value> {
    match (input.secret_id_list, input.filters) {
        (Some(_), Some(_)) => Err(aws_error!(
            InvalidParameterException,
            "Either 'SecretIdList' or 'Filters' must be provided, but not both."
        )),
        (Some(ids), None) => {
            if input.max_results.is_some() {
                return Err(aws_error!(
                    InvalidParameterException,
                    "'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is provided."
                ));
            }
            let (mut values, mut errors) = (Vec::new(), Vec::new());
            for id in &ids {
                match value_of_secret(ctx, id, None, None).await {
                    Ok(value) => values.push(value),
                    Err(e) if !e.code.is_fault() => errors.push(batch_error(id, &e)),
                    Err(e) => return Err(e),
                }
            }
            Ok(json!({"SecretValues": values, "Errors": errors}))
        }
        (None, Some(filters)) => {
            let found = filtered(ctx, &filters, false).await?;
            let (rows, next) = page("BatchGetSecretValue", found, input.max_results, input.next_token.as_deref(), 20)?;
            let (mut values, mut errors) = (Vec::new(), Vec::new());
            for (secret, _) in rows {
                match value_of_secret(ctx, &secret.arn, None, None).await {
                    Ok(value) => values.push(value),
                    Err(e) if !e.code.is_fault() => errors.push(batch_error(&secret.arn, &e)),
                    Err(e) => return Err(e),
                }
            }
            Ok(json!({"SecretValues": values, "Errors": errors, "NextToken": next}))
        }
        (None, None) => {
            Err(aws_error!(InvalidParameterException, "Either 'SecretIdList' or 'Filters' must be provided."))
        }
    }
}

pub(super) async fn put_secret_value(ctx: &Ctx<'_>, input: PutSecretValueInput) -> Result<Value> {
    let secret = ctx.live_secret(&input.secret_id).await?;
    let value = value_of(input.secret_string, input.secret_binary)?.ok_or_else(|| {
        aws_error!(InvalidParameterException, "You must provide either SecretString or SecretBinary.")
    })?;
    let version = version_id(input.client_request_token);
    let labels = input.version_stages.unwrap_or_else(|| vec![secrets::CURRENT.to_owned()]);
    let now = crate::domain::now_ms();
    let stages = match ctx.store.put_secret_version(secret.id, &version, &value, &labels, now).await? {
        PutVersion::Made(stages) | PutVersion::Same(stages) => stages,
        PutVersion::Conflict => {
            return Err(aws_error!(
                ResourceExistsException,
                "You can't modify an existing version, you can only create a new version."
            ));
        }
    };
    Ok(json!({"ARN": secret.arn, "Name": secret.name, "VersionId": version, "VersionStages": stages}))
}

pub(super) async fn update_secret_version_stage(ctx: &Ctx<'_>, input: UpdateSecretVersionStageInput) -> Result<Value> {
    let secret = ctx.live_secret(&input.secret_id).await?;
    let versions = ctx.store.secret_versions(secret.id).await?;
    for id in [&input.remove_from_version_id, &input.move_to_version_id].into_iter().flatten() {
        if !versions.iter().any(|v| &v.version_id == id) {
            return Err(aws_error!(InvalidParameterException, "Not a valid version: {id}"));
        }
    }
    let (label, from, to) =
        (&input.version_stage, input.remove_from_version_id.as_deref(), input.move_to_version_id.as_deref());
    let now = crate::domain::now_ms();
    ctx.store
        .change_secret_stages(secret.id, now, |stages| secrets::update_stage(stages, label, from, to))
        .await?
        .map_err(|message| aws_error!(InvalidParameterException, "{message}"))?;
    Ok(json!({"ARN": secret.arn, "Name": secret.name}))
}

pub(super) async fn list_secret_version_ids(ctx: &Ctx<'_>, input: ListSecretVersionIdsInput) -> Result<Value> {
    let secret = ctx.secret(&input.secret_id).await?;
    let versions: Vec<_> = ctx
        .store
        .secret_versions(secret.id)
        .await?
        .into_iter()
        .filter(|v| input.include_deprecated || !v.stages.is_empty())
        .collect();
    let (rows, next) = page("ListSecretVersionIds", versions, input.max_results, input.next_token.as_deref(), 100)?;
    let kms = secret.kms_key_id.clone().unwrap_or_else(|| "DefaultEncryptionKey".to_owned());
    let list: Vec<Value> = rows
        .iter()
        .map(|v| {
            let mut entry = json!({
                "VersionId": v.version_id,
                "VersionStages": v.stages,
                "CreatedDate": secs(v.created_ms),
                "KmsKeyIds": [kms],
            });
            if let Some(a) = v.accessed_ms {
                entry["LastAccessedDate"] = json!(secs(a));
            }
            entry
        })
        .collect();
    Ok(json!({"Versions": list, "NextToken": next, "ARN": secret.arn, "Name": secret.name}))
}

pub(super) fn get_random_password(input: GetRandomPasswordInput) -> Result<Value> {
    let rules = PasswordRules {
        length: input.password_length.unwrap_or(32),
        exclude: input.exclude_characters.unwrap_or_default(),
        exclude_numbers: input.exclude_numbers,
        exclude_punctuation: input.exclude_punctuation,
        exclude_uppercase: input.exclude_uppercase,
        exclude_lowercase: input.exclude_lowercase,
        include_space: input.include_space,
        require_each: input.require_each_included_type.unwrap_or(true),
    };
    let password =
        secrets::random_password(&rules, super::below).map_err(|m| aws_error!(InvalidParameterException, "{m}"))?;
    Ok(json!({"RandomPassword": password}))
}
