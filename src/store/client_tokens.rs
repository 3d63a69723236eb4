//! Client tokens: the idempotency of requests that create resources (RunTask, CreateService).
//! A token is remembered for [`TOKEN_TTL_SECS`], as long as AWS remembers RunTask's.

/// How long a client token is remembered: 24 hours.
pub const TOKEN_TTL_SECS: f64 = 24.0 * 3600.0;

use sqlx::{Sqlite, Transaction};

use super::Result;

/// A request's client token, with what identifies the request.
#[derive(Debug, Clone)]
pub struct ClientToken<'a> {
    /// The region.
    pub region: &'a str,
    /// The operation (`RunTask`, ...).
    pub operation: &'a str,
    /// What the token is unique within (RunTask: the cluster's name).
    pub scope: &'a str,
    /// The token the client sent.
    pub token: &'a str,
    /// The request's parameters other than the token, canonically serialised.
    pub fingerprint: String,
}

/// What an earlier request with the same token claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// True if that request had the same parameters.
    pub same_request: bool,
    /// The ARNs it created.
    pub resources: Vec<String>,
}

impl ClientToken<'_> {
    pub(super) async fn find(&self, tx: &mut Transaction<'_, Sqlite>) -> Result<Option<Claim>> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT fingerprint, resources FROM client_tokens WHERE region = ? AND operation = ? AND scope = ? AND token = ?",
        )
        .bind(self.region)
        .bind(self.operation)
        .bind(self.scope)
        .bind(self.token)
        .fetch_optional(&mut **tx)
        .await?;
        let Some((fingerprint, resources)) = row else { return Ok(None) };
        Ok(Some(Claim { same_request: fingerprint == self.fingerprint, resources: serde_json::from_str(&resources)? }))
    }

    pub(super) async fn insert(&self, tx: &mut Transaction<'_, Sqlite>, resources: &[String]) -> Result<()> {
        sqlx::query(
            "INSERT INTO client_tokens (region, operation, scope, token, fingerprint, resources, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(self.region)
        .bind(self.operation)
        .bind(self.scope)
        .bind(self.token)
        .bind(&self.fingerprint)
        .bind(serde_json::to_string(resources)?)
        .bind(crate::domain::now())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}
