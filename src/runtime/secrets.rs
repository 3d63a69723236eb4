//! A container definition's `secrets`, resolved as its task starts and before any of its
//! containers runs: each `valueFrom` names a Secrets Manager secret by ARN, with ECS's optional
//! `:json-key:version-stage:version-id` tail. A value goes into its container's environment
//! only: never into the task's document, an API answer or berth's log. A secret that cannot be
//! resolved stops the task with the reason ECS gives.

use serde_json::{Map, Value};

use crate::domain::str_of;
use crate::store::{SecretLookup, SecretValue, Store};

/// How ECS begins the stop reason of a task whose secrets it could not fetch.
const UNABLE: &str =
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed:";

/// Where a `valueFrom` points.
#[derive(Debug, PartialEq, Eq)]
struct SecretRef<'a> {
    region: &'a str,
    /// The secret's ARN (without the tail).
    arn: String,
    json_key: Option<&'a str>,
    stage: Option<&'a str>,
    version_id: Option<&'a str>,
}

/// A Secrets Manager `valueFrom`: `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME` and up to
/// three more fields, each of which may be empty.
fn secret_ref(value_from: &str) -> Option<SecretRef<'_>> {
    let parts: Vec<&str> = value_from.split(':').collect();
    if parts.len() < 7 || parts.len() > 10 || parts[2] != "secretsmanager" || parts[5] != "secret" {
        return None;
    }
    let field = |i: usize| parts.get(i).copied().filter(|p| !p.is_empty());
    Some(SecretRef {
        region: parts[3],
        arn: parts[..7].join(":"),
        json_key: field(7),
        stage: field(8),
        version_id: field(9),
    })
}

/// ECS's stop reason for a secret it could not fetch.
fn unable(value_from: &str, why: &str) -> String {
    format!(
        "{UNABLE} unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret \
         {value_from} from secrets manager: {why}"
    )
}

/// One secret's value, or the task's stop reason.
async fn resolve_one(store: &Store, value_from: &str) -> Result<String, String> {
    let Some(secret) = secret_ref(value_from) else {
        return Err(format!(
            "{UNABLE} unable to retrieve secrets from ssm: {value_from}: berth does not serve SSM Parameter Store yet; \
             reference a Secrets Manager secret by its ARN"
        ));
    };
    let lookup = store
        .secret_version(secret.region, &secret.arn, secret.version_id, secret.stage)
        .await
        .map_err(|e| unable(value_from, &format!("berth could not read its store: {e}")))?;
    let value = match lookup {
        SecretLookup::Found(_, version) => version.value,
        other => {
            let (code, message) = other.problem().unwrap_or(("ResourceNotFoundException", String::new()));
            return Err(unable(value_from, &format!("{code}: {message}")));
        }
    };
    let text = match value {
        SecretValue::Text(text) => text,
        SecretValue::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
    };
    let Some(key) = secret.json_key else { return Ok(text) };
    let field = serde_json::from_str::<Value>(&text).ok().and_then(|doc| doc.get(key).cloned());
    match field {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Ok(other.to_string()),
        None => Err(format!(
            "{UNABLE} unable to retrieve secret from asm: retrieved secret from Secrets Manager did not contain json key {key}"
        )),
    }
}

/// Every container's secrets as environment pairs, in the containers' order; the first that
/// cannot be resolved is the task's stop reason.
pub(super) async fn resolve(
    store: &Store,
    containers: &[Map<String, Value>],
) -> Result<Vec<Vec<(String, String)>>, String> {
    let mut all = Vec::with_capacity(containers.len());
    for c in containers {
        let mut env = Vec::new();
        for secret in crate::domain::list_of(c, "secrets") {
            let (Some(name), Some(from)) = (str_of(secret, "name"), str_of(secret, "valueFrom")) else { continue };
            env.push((name.to_owned(), resolve_one(store, from).await?));
        }
        all.push(env);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_from_reads_as_ecs_documents_it() {
        let arn = "arn:aws:secretsmanager:eu-west-1:000000000000:secret:db-AbCdEf";
        let plain = secret_ref(arn).unwrap();
        assert_eq!((plain.region, plain.arn.as_str(), plain.json_key), ("eu-west-1", arn, None));
        let (k, s, v) = (format!("{arn}:password::"), format!("{arn}::AWSPREVIOUS:"), format!("{arn}:user::v-1"));
        let keyed = secret_ref(&k).unwrap();
        assert_eq!((keyed.json_key, keyed.stage, keyed.version_id), (Some("password"), None, None));
        let staged = secret_ref(&s).unwrap();
        assert_eq!((staged.json_key, staged.stage), (None, Some("AWSPREVIOUS")));
        let versioned = secret_ref(&v).unwrap();
        assert_eq!(
            (versioned.json_key, versioned.version_id, versioned.arn.as_str()),
            (Some("user"), Some("v-1"), arn)
        );
        assert!(secret_ref("arn:aws:ssm:us-east-1:000000000000:parameter/token").is_none());
        assert!(secret_ref("token").is_none());
        assert!(secret_ref(&format!("{arn}:a:b:c:d")).is_none(), "too many fields");
    }
}
