//! Account settings: PutAccountSetting, PutAccountSettingDefault, DeleteAccountSetting,
//! ListAccountSettings.
//!
//! berth acts as the account root. A setting without `principalArn`, and every account
//! default, belongs to the root principal; settings of other principals (IAM users and roles)
//! are kept per ARN and fall back to the root's, then to AWS's default.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ctx, paging};
use crate::error::Result;
use crate::store::AccountSetting;

/// Every setting with its valid values and AWS's default for a new account.
const SETTINGS: &[(&str, &[&str], &str)] = &[
    ("serviceLongArnFormat", &["enabled", "disabled"], "enabled"),
    ("taskLongArnFormat", &["enabled", "disabled"], "enabled"),
    ("containerInstanceLongArnFormat", &["enabled", "disabled"], "enabled"),
    ("awsvpcTrunking", &["enabled", "disabled"], "disabled"),
    ("containerInsights", &["enabled", "disabled", "enhanced"], "disabled"),
    ("fargateFIPSMode", &["enabled", "disabled"], "disabled"),
    ("tagResourceAuthorization", &["on", "off"], "on"),
    ("fargateTaskRetirementWaitPeriod", &["0", "7", "14"], "7"),
    ("guardDutyActivate", &["on", "off"], "off"),
    ("defaultLogDriverMode", &["blocking", "non-blocking"], "non-blocking"),
    ("fargateEventWindows", &["enabled", "disabled"], "disabled"),
];

fn aws_default(name: &str) -> &'static str {
    SETTINGS.iter().find(|(n, _, _)| *n == name).map_or("", |(_, _, d)| d)
}

fn check_value(name: &str, value: &str) -> Result<()> {
    if name.ends_with("LongArnFormat") && value == "disabled" {
        // AWS's answer since long ARNs became mandatory; Terraform's destroy of
        // aws_ecs_account_setting_default expects exactly this message.
        return Err(aws_error!(InvalidParameterException, "You can no longer disable Long Arn settings."));
    }
    if name == "guardDutyActivate" {
        return Err(aws_error!(
            InvalidParameterException,
            "guardDutyActivate is managed by Amazon GuardDuty and cannot be changed with ECS account settings."
        ));
    }
    match SETTINGS.iter().find(|(n, _, _)| *n == name) {
        Some((_, valid, _)) if valid.contains(&value) => Ok(()),
        Some((_, valid, _)) => Err(aws_error!(
            InvalidParameterException,
            "Invalid value '{value}' for setting '{name}'. Valid values are: {}.",
            valid.join(", ")
        )),
        None => Err(aws_error!(InvalidParameterException, "Unknown account setting '{name}'.")),
    }
}

/// The value of setting `name` for the root principal: what was set, else AWS's default.
///
/// # Errors
/// `ServerException` if the store fails.
pub async fn effective(ctx: &Ctx<'_>, name: &str) -> Result<String> {
    let root = ctx.scope.root_principal();
    let stored = ctx.store.account_settings(ctx.region()).await?;
    Ok(stored
        .into_iter()
        .find(|s| s.name == name && s.principal_arn == root)
        .map_or_else(|| aws_default(name).to_owned(), |s| s.value))
}

fn setting_json(s: &AccountSetting, kind: &str) -> Value {
    json!({"name": s.name, "value": s.value, "principalArn": s.principal_arn, "type": kind})
}

async fn put(ctx: &Ctx<'_>, principal: String, name: String, value: String) -> Result<Value> {
    check_value(&name, &value)?;
    let setting = AccountSetting { principal_arn: principal, name, value };
    ctx.store.put_account_setting(ctx.region(), &setting).await?;
    Ok(json!({"setting": setting_json(&setting, "user")}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PutAccountSettingInput {
    name: String,
    value: String,
    principal_arn: Option<String>,
}

pub(super) async fn put_account_setting(ctx: &Ctx<'_>, input: PutAccountSettingInput) -> Result<Value> {
    let principal = input.principal_arn.unwrap_or_else(|| ctx.scope.root_principal());
    if input.name == "fargateTaskRetirementWaitPeriod" && principal != ctx.scope.root_principal() {
        return Err(aws_error!(
            InvalidParameterException,
            "fargateTaskRetirementWaitPeriod can only be set for the root user: use PutAccountSettingDefault or the root principal."
        ));
    }
    put(ctx, principal, input.name, input.value).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PutAccountSettingDefaultInput {
    name: String,
    value: String,
}

pub(super) async fn put_account_setting_default(ctx: &Ctx<'_>, input: PutAccountSettingDefaultInput) -> Result<Value> {
    put(ctx, ctx.scope.root_principal(), input.name, input.value).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeleteAccountSettingInput {
    name: String,
    principal_arn: Option<String>,
}

pub(super) async fn delete_account_setting(ctx: &Ctx<'_>, input: DeleteAccountSettingInput) -> Result<Value> {
    let principal = input.principal_arn.unwrap_or_else(|| ctx.scope.root_principal());
    let before = ctx.store.account_settings(ctx.region()).await?;
    let current = before.into_iter().find(|s| s.name == input.name && s.principal_arn == principal);
    ctx.store.delete_account_setting(ctx.region(), &principal, &input.name).await?;
    let value = current.map_or_else(|| aws_default(&input.name).to_owned(), |s| s.value);
    let setting = AccountSetting { principal_arn: principal, name: input.name, value };
    Ok(json!({"setting": setting_json(&setting, "user")}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListAccountSettingsInput {
    name: Option<String>,
    value: Option<String>,
    principal_arn: Option<String>,
    #[serde(default)]
    effective_settings: bool,
    next_token: Option<String>,
    max_results: Option<i64>,
}

pub(super) async fn list_account_settings(ctx: &Ctx<'_>, input: ListAccountSettingsInput) -> Result<Value> {
    const LIST: &str = "ListAccountSettings";
    if input.value.is_some() && input.name.is_none() {
        return Err(aws_error!(InvalidParameterException, "value can only be given with name."));
    }
    let root = ctx.scope.root_principal();
    let principal = input.principal_arn.unwrap_or_else(|| root.clone());
    let stored = ctx.store.account_settings(ctx.region()).await?;
    let lookup = |p: &str, name: &str| stored.iter().find(|s| s.principal_arn == p && s.name == name).cloned();
    // At most one row per setting name, so the whole list is small: filter, then page in memory
    // by setting name.
    let mut rows: Vec<(AccountSetting, &str)> = SETTINGS
        .iter()
        .filter(|(name, _, _)| input.name.as_deref().is_none_or(|n| n == *name))
        .filter_map(|(name, _, default)| {
            if let Some(own) = lookup(&principal, name) {
                return Some((own, "user"));
            }
            if !input.effective_settings {
                return None;
            }
            if let Some(root_setting) = lookup(&root, name) {
                return Some((AccountSetting { principal_arn: principal.clone(), ..root_setting }, "user"));
            }
            let value = (*default).to_owned();
            Some((AccountSetting { principal_arn: principal.clone(), name: (*name).to_owned(), value }, "aws_managed"))
        })
        .filter(|(s, _)| input.value.as_deref().is_none_or(|v| v == s.value))
        .collect();
    let size = paging::page_size(input.max_results, 10, 10)?;
    if let Some(after) = paging::decode(LIST, input.next_token.as_deref())?.and_then(|k| k.into_iter().next()) {
        let position = SETTINGS.iter().position(|(n, _, _)| *n == after).unwrap_or(SETTINGS.len());
        rows.retain(|(s, _)| SETTINGS.iter().position(|(n, _, _)| *n == s.name).unwrap_or(0) > position);
    }
    let next = paging::next_token(LIST, &mut rows, size, |(s, _)| vec![s.name.clone()]);
    let settings: Vec<Value> = rows.iter().map(|(s, kind)| setting_json(s, kind)).collect();
    Ok(json!({"settings": settings, "nextToken": next}))
}
