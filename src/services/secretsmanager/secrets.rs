//! Secrets themselves: CreateSecret, DescribeSecret, ListSecrets, UpdateSecret, DeleteSecret,
//! RestoreSecret, tags, resource policies, and the rotation calls berth cannot honour.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Ctx, Tag, marked_for_deletion, not_found, secs, tags_json, value_of, version_id};
use crate::domain::secrets::{Searchable, arn_suffix, filter_matches};
use crate::error::Result;
use crate::services::paging;
use crate::store::{PutVersion, SecretRow, VersionRow};

/// Tags a secret may have.
const MAX_TAGS: usize = 50;

/// One day, in milliseconds.
pub(super) const DAY_MS: i64 = 86_400_000;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct CreateSecretInput {
    name: String,
    client_request_token: Option<String>,
    description: Option<String>,
    kms_key_id: Option<String>,
    secret_string: Option<String>,
    secret_binary: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    add_replica_regions: Option<Vec<Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct SecretIdInput {
    secret_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct UpdateSecretInput {
    secret_id: String,
    client_request_token: Option<String>,
    description: Option<String>,
    kms_key_id: Option<String>,
    secret_string: Option<String>,
    secret_binary: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DeleteSecretInput {
    secret_id: String,
    recovery_window_in_days: Option<i64>,
    #[serde(default)]
    force_delete_without_recovery: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Filter {
    key: Option<String>,
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ListSecretsInput {
    #[serde(default)]
    include_planned_deletion: bool,
    max_results: Option<i64>,
    next_token: Option<String>,
    #[serde(default)]
    filters: Vec<Filter>,
    sort_order: Option<String>,
    sort_by: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct TagResourceInput {
    secret_id: String,
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct UntagResourceInput {
    secret_id: String,
    tag_keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PolicyInput {
    secret_id: Option<String>,
    resource_policy: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RotateSecretInput {
    secret_id: String,
    #[serde(rename = "RotationLambdaARN")]
    rotation_lambda_arn: Option<String>,
}

fn short(secret: &SecretRow) -> Value {
    json!({"ARN": secret.arn, "Name": secret.name})
}

fn too_many_tags() -> crate::error::ApiError {
    aws_error!(
        ValidationException,
        "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to {MAX_TAGS}"
    )
}

/// Secret names: 1-512 of letters, digits and `/_+=.@-`.
fn check_name(name: &str) -> Result<()> {
    if name.chars().all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c)) {
        return Ok(());
    }
    Err(aws_error!(
        ValidationException,
        "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"
    ))
}

pub(super) async fn create_secret(ctx: &Ctx<'_>, input: CreateSecretInput) -> Result<Value> {
    check_name(&input.name)?;
    if input.add_replica_regions.is_some_and(|r| !r.is_empty()) {
        return Err(aws_error!(
            InvalidRequestException,
            "berth keeps every secret in one region: AddReplicaRegions is not available."
        ));
    }
    if input.tags.len() > MAX_TAGS {
        return Err(too_many_tags());
    }
    let value = value_of(input.secret_string, input.secret_binary)?;
    let version = version_id(input.client_request_token);
    // A checked name holds no `:`, so it finds a secret by its name only.
    if let Some(existing) = ctx.store.find_secret(ctx.scope.region, &input.name).await? {
        if existing.deleted_ms.is_some() {
            return Err(aws_error!(
                InvalidRequestException,
                "You can't create this secret because a secret with this name is already scheduled for deletion."
            ));
        }
        // A retry of the call that made it (the same token and value) answers as that call did.
        if let Some(value) = &value {
            let versions = ctx.store.secret_versions(existing.id).await?;
            if versions.iter().any(|v| v.version_id == version && v.value == *value) {
                return Ok(json!({"ARN": existing.arn, "Name": existing.name, "VersionId": version}));
            }
        }
        return Err(aws_error!(
            ResourceExistsException,
            "The operation failed because the secret {} already exists.",
            input.name
        ));
    }
    let now = crate::domain::now_ms();
    let arn = format!(
        "arn:aws:secretsmanager:{}:{}:secret:{}-{}",
        ctx.scope.region,
        ctx.scope.account,
        input.name,
        arn_suffix(super::below)
    );
    let secret = SecretRow {
        id: 0,
        name: input.name,
        arn,
        description: input.description,
        kms_key_id: input.kms_key_id.filter(|k| !k.is_empty()),
        created_ms: now,
        changed_ms: now,
        accessed_ms: None,
        deleted_ms: None,
        purge_ms: None,
        policy: None,
    };
    let tags: Vec<(String, String)> = input.tags.into_iter().map(|t| (t.key, t.value)).collect();
    let first = value.as_ref().map(|v| (version.as_str(), v));
    if !ctx.store.create_secret(ctx.scope.region, &secret, first, &tags).await? {
        return Err(aws_error!(
            ResourceExistsException,
            "The operation failed because the secret {} already exists.",
            secret.name
        ));
    }
    let mut out = short(&secret);
    if value.is_some() {
        out["VersionId"] = json!(version);
    }
    Ok(out)
}

/// DescribeSecret's answer, and (with `stages_key` "SecretVersionsToStages") a ListSecrets entry.
fn described(secret: &SecretRow, versions: &[VersionRow], tags: &[(String, String)], stages_key: &str) -> Value {
    let mut out = Map::new();
    out.insert("ARN".into(), json!(secret.arn));
    out.insert("Name".into(), json!(secret.name));
    if let Some(d) = &secret.description {
        out.insert("Description".into(), json!(d));
    }
    if let Some(k) = &secret.kms_key_id {
        out.insert("KmsKeyId".into(), json!(k));
    }
    out.insert("LastChangedDate".into(), json!(secs(secret.changed_ms)));
    if let Some(a) = secret.accessed_ms {
        out.insert("LastAccessedDate".into(), json!(secs(a)));
    }
    // "The date the secret is scheduled for deletion", as the API reference defines it.
    if let Some(d) = secret.purge_ms {
        out.insert("DeletedDate".into(), json!(secs(d)));
    }
    if !tags.is_empty() {
        out.insert("Tags".into(), tags_json(tags));
    }
    let stages: Map<String, Value> =
        versions.iter().filter(|v| !v.stages.is_empty()).map(|v| (v.version_id.clone(), json!(v.stages))).collect();
    out.insert(stages_key.into(), Value::Object(stages));
    out.insert("CreatedDate".into(), json!(secs(secret.created_ms)));
    Value::Object(out)
}

pub(super) async fn describe_secret(ctx: &Ctx<'_>, input: SecretIdInput) -> Result<Value> {
    let secret = ctx.secret(&input.secret_id).await?;
    let versions = ctx.store.secret_versions(secret.id).await?;
    let tags = ctx.store.get_tags(&secret.arn).await?;
    Ok(described(&secret, &versions, &tags, "VersionIdsToStages"))
}

/// The secrets of the region that pass every filter, sorted as asked (oldest first unless told).
pub(super) async fn filtered(
    ctx: &Ctx<'_>,
    filters: &[Filter],
    include_deleted: bool,
) -> Result<Vec<(SecretRow, Vec<(String, String)>)>> {
    let mut found = Vec::new();
    for secret in ctx.store.list_secrets(ctx.scope.region).await? {
        if secret.deleted_ms.is_some() && !include_deleted {
            continue;
        }
        let tags = ctx.store.get_tags(&secret.arn).await?;
        let searchable = Searchable {
            name: &secret.name,
            description: secret.description.as_deref(),
            tags: &tags,
            region: ctx.scope.region,
        };
        if filters.iter().all(|f| filter_matches(f.key.as_deref().unwrap_or(""), &f.values, &searchable)) {
            found.push((secret, tags));
        }
    }
    Ok(found)
}

/// The page of `rows` after a token of `list`, and the token after it.
pub(super) fn page<T>(
    list: &str,
    rows: Vec<T>,
    max_results: Option<i64>,
    next_token: Option<&str>,
    cap: usize,
) -> Result<(Vec<T>, Option<String>)> {
    let invalid = || aws_error!(InvalidNextTokenException, "The NextToken value is invalid.");
    let start = match paging::decode(list, next_token).map_err(|_| invalid())? {
        Some(key) => key.first().and_then(|k| k.parse::<usize>().ok()).ok_or_else(invalid)?,
        None => 0,
    };
    let size = max_results.and_then(|n| usize::try_from(n).ok()).unwrap_or(cap).clamp(1, cap);
    let total = rows.len();
    let page: Vec<T> = rows.into_iter().skip(start).take(size).collect();
    let next = (start + size < total).then(|| paging::encode(list, &[&(start + size).to_string()]));
    Ok((page, next))
}

pub(super) async fn list_secrets(ctx: &Ctx<'_>, input: ListSecretsInput) -> Result<Value> {
    let mut found = filtered(ctx, &input.filters, input.include_planned_deletion).await?;
    match input.sort_by.as_deref().unwrap_or("created-date") {
        "name" => found.sort_by(|a, b| a.0.name.cmp(&b.0.name)),
        "last-changed-date" => found.sort_by_key(|s| s.0.changed_ms),
        "last-accessed-date" => found.sort_by_key(|s| s.0.accessed_ms),
        _ => {}
    }
    if input.sort_order.as_deref() == Some("desc") {
        found.reverse();
    }
    let (rows, next) = page("ListSecrets", found, input.max_results, input.next_token.as_deref(), 100)?;
    let mut list = Vec::with_capacity(rows.len());
    for (secret, tags) in rows {
        let versions = ctx.store.secret_versions(secret.id).await?;
        list.push(described(&secret, &versions, &tags, "SecretVersionsToStages"));
    }
    Ok(json!({"SecretList": list, "NextToken": next}))
}

pub(super) async fn update_secret(ctx: &Ctx<'_>, input: UpdateSecretInput) -> Result<Value> {
    let secret = ctx.live_secret(&input.secret_id).await?;
    let value = value_of(input.secret_string, input.secret_binary)?;
    let now = crate::domain::now_ms();
    let kms = input.kms_key_id.as_deref().filter(|k| !k.is_empty());
    ctx.store.update_secret(secret.id, input.description.as_deref(), kms, now).await?;
    let mut out = short(&secret);
    if let Some(value) = value {
        let version = version_id(input.client_request_token);
        let current = [crate::domain::secrets::CURRENT.to_owned()];
        if ctx.store.put_secret_version(secret.id, &version, &value, &current, now).await? == PutVersion::Conflict {
            return Err(aws_error!(
                ResourceExistsException,
                "You can't modify an existing version, you can only create a new version."
            ));
        }
        out["VersionId"] = json!(version);
    }
    Ok(out)
}

pub(super) async fn delete_secret(ctx: &Ctx<'_>, input: DeleteSecretInput) -> Result<Value> {
    if input.force_delete_without_recovery && input.recovery_window_in_days.is_some() {
        return Err(aws_error!(
            InvalidParameterException,
            "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
        ));
    }
    let days = input.recovery_window_in_days.unwrap_or(30);
    if !(7..=30).contains(&days) {
        return Err(aws_error!(
            InvalidParameterException,
            "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
        ));
    }
    let now = crate::domain::now_ms();
    let secret = match ctx.store.find_secret(ctx.scope.region, &input.secret_id).await? {
        Some(secret) => secret,
        // AWS answers a forced deletion of a secret that is not there as done.
        None if input.force_delete_without_recovery => {
            let arn =
                format!("arn:aws:secretsmanager:{}:{}:secret:{}", ctx.scope.region, ctx.scope.account, input.secret_id);
            return Ok(json!({"ARN": arn, "Name": input.secret_id, "DeletionDate": secs(now)}));
        }
        None => return Err(not_found()),
    };
    let mut out = short(&secret);
    if input.force_delete_without_recovery {
        ctx.store.delete_secret(&secret.arn).await?;
        out["DeletionDate"] = json!(secs(now));
        return Ok(out);
    }
    if secret.deleted_ms.is_some() {
        return Err(aws_error!(
            InvalidRequestException,
            "You tried to perform the operation on a secret that's currently marked deleted."
        ));
    }
    let purge = now + days * DAY_MS;
    ctx.store.schedule_secret_deletion(secret.id, Some((now, purge))).await?;
    out["DeletionDate"] = json!(secs(purge));
    Ok(out)
}

pub(super) async fn restore_secret(ctx: &Ctx<'_>, input: SecretIdInput) -> Result<Value> {
    let secret = ctx.secret(&input.secret_id).await?;
    ctx.store.schedule_secret_deletion(secret.id, None).await?;
    Ok(short(&secret))
}

pub(super) async fn tag_resource(ctx: &Ctx<'_>, input: TagResourceInput) -> Result<Value> {
    let secret = ctx.live_secret(&input.secret_id).await?;
    let tags: Vec<(String, String)> = input.tags.into_iter().map(|t| (t.key, t.value)).collect();
    if ctx.store.tag_resource(&secret.arn, &tags, MAX_TAGS).await?.is_err() {
        return Err(too_many_tags());
    }
    Ok(json!({}))
}

pub(super) async fn untag_resource(ctx: &Ctx<'_>, input: UntagResourceInput) -> Result<Value> {
    let secret = ctx.live_secret(&input.secret_id).await?;
    ctx.store.untag_resource(&secret.arn, &input.tag_keys).await?;
    Ok(json!({}))
}

/// A resource policy must be a JSON object.
fn check_policy(policy: &str) -> Result<()> {
    match serde_json::from_str::<Value>(policy) {
        Ok(Value::Object(_)) => Ok(()),
        _ => Err(aws_error!(MalformedPolicyDocumentException, "This resource policy contains a syntax error.")),
    }
}

pub(super) async fn put_resource_policy(ctx: &Ctx<'_>, input: PolicyInput) -> Result<Value> {
    let secret = ctx.live_secret(input.secret_id.as_deref().unwrap_or_default()).await?;
    check_policy(&input.resource_policy)?;
    ctx.store.set_secret_policy(secret.id, Some(&input.resource_policy)).await?;
    Ok(short(&secret))
}

pub(super) async fn get_resource_policy(ctx: &Ctx<'_>, input: SecretIdInput) -> Result<Value> {
    let secret = ctx.live_secret(&input.secret_id).await?;
    let mut out = short(&secret);
    if let Some(policy) = &secret.policy {
        out["ResourcePolicy"] = json!(policy);
    }
    Ok(out)
}

pub(super) async fn delete_resource_policy(ctx: &Ctx<'_>, input: SecretIdInput) -> Result<Value> {
    let secret = ctx.live_secret(&input.secret_id).await?;
    ctx.store.set_secret_policy(secret.id, None).await?;
    Ok(short(&secret))
}

pub(super) async fn validate_resource_policy(ctx: &Ctx<'_>, input: PolicyInput) -> Result<Value> {
    if let Some(id) = input.secret_id.as_deref() {
        ctx.live_secret(id).await?;
    }
    check_policy(&input.resource_policy)?;
    Ok(json!({"PolicyValidationPassed": true, "ValidationErrors": []}))
}

pub(super) async fn rotate_secret(ctx: &Ctx<'_>, input: RotateSecretInput) -> Result<Value> {
    ctx.live_secret(&input.secret_id).await?;
    match input.rotation_lambda_arn.filter(|a| !a.is_empty()) {
        // berth runs no Lambda, so no function named here exists.
        Some(arn) => Err(aws_error!(ResourceNotFoundException, "Resource not found for ARN '{arn}'.")),
        None => Err(no_rotation_lambda()),
    }
}

pub(super) async fn cancel_rotate_secret(ctx: &Ctx<'_>, input: SecretIdInput) -> Result<Value> {
    let secret = ctx.secret(&input.secret_id).await?;
    if secret.deleted_ms.is_some() {
        return Err(marked_for_deletion());
    }
    // No secret of berth has rotation configured; AWS answers this for one without.
    Err(no_rotation_lambda())
}

fn no_rotation_lambda() -> crate::error::ApiError {
    aws_error!(
        InvalidRequestException,
        "You tried to enable rotation on a secret that doesn't already have a Lambda function ARN configured and you didn't include such an ARN as a parameter in this call."
    )
}
