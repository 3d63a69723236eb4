//! Account settings per principal ARN (the account default is the root principal's).

use sqlx::Row;

use super::{Result, Store};

/// One stored setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSetting {
    /// The principal's ARN.
    pub principal_arn: String,
    /// The setting name.
    pub name: String,
    /// The value.
    pub value: String,
}

impl Store {
    /// Every stored setting of the region.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn account_settings(&self, region: &str) -> Result<Vec<AccountSetting>> {
        let rows = sqlx::query(
            "SELECT principal_arn, name, value FROM account_settings WHERE region = ? ORDER BY name, principal_arn",
        )
        .bind(region)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AccountSetting {
                    principal_arn: r.try_get("principal_arn")?,
                    name: r.try_get("name")?,
                    value: r.try_get("value")?,
                })
            })
            .collect()
    }

    /// Sets a setting for a principal.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn put_account_setting(&self, region: &str, setting: &AccountSetting) -> Result<()> {
        sqlx::query("INSERT OR REPLACE INTO account_settings (region, principal_arn, name, value) VALUES (?, ?, ?, ?)")
            .bind(region)
            .bind(&setting.principal_arn)
            .bind(&setting.name)
            .bind(&setting.value)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// Deletes a principal's setting; true if there was one.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn delete_account_setting(&self, region: &str, principal_arn: &str, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM account_settings WHERE region = ? AND principal_arn = ? AND name = ?")
            .bind(region)
            .bind(principal_arn)
            .bind(name)
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
