//! Resources named within a region, with a unique ARN and a status: clusters and capacity
//! providers. Both tables have the same columns, so one piece of code serves them.

use sqlx::Row;

use super::cache::Lookup;
use super::{Doc, Result, Store, doc_text, parse_doc};

/// Which table of named resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Named {
    /// `clusters`.
    Cluster,
    /// `capacity_providers`.
    CapacityProvider,
}

impl Named {
    fn table(self) -> &'static str {
        match self {
            Named::Cluster => "clusters",
            Named::CapacityProvider => "capacity_providers",
        }
    }
}

/// A stored named resource.
#[derive(Debug, Clone)]
pub struct NamedRow {
    /// The resource's name.
    pub name: String,
    /// The resource's ARN.
    pub arn: String,
    /// ACTIVE or INACTIVE.
    pub status: String,
    /// The resource as the API returns it, without derived fields.
    pub doc: Doc,
}

fn row(r: &sqlx::sqlite::SqliteRow) -> Result<NamedRow> {
    Ok(NamedRow {
        name: r.try_get("name")?,
        arn: r.try_get("arn")?,
        status: r.try_get("status")?,
        doc: parse_doc(r.try_get("doc")?)?,
    })
}

impl Store {
    /// The resource called `name` in `region`, in any status.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn get_named(&self, kind: Named, region: &str, name: &str) -> Result<Option<NamedRow>> {
        let key = (kind, region.to_owned(), name.to_owned());
        let epoch = match self.caches.named.get(&key) {
            Lookup::Hit(row) => return Ok(Some(row)),
            Lookup::Miss(epoch) => epoch,
        };
        let table = kind.table();
        let found = sqlx::query(&format!("SELECT name, arn, status, doc FROM {table} WHERE region = ? AND name = ?"))
            .bind(region)
            .bind(name)
            .fetch_optional(&self.read)
            .await?;
        let found = found.as_ref().map(row).transpose()?;
        if let Some(row) = &found {
            self.caches.named.fill(epoch, key, row.clone());
        }
        Ok(found)
    }

    /// Every ACTIVE row of the region, in name order. For scans over clusters or capacity
    /// providers, of which a region has few.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn all_named(&self, kind: Named, region: &str) -> Result<Vec<NamedRow>> {
        let table = kind.table();
        let rows = sqlx::query(&format!(
            "SELECT name, arn, status, doc FROM {table} WHERE region = ? AND status = 'ACTIVE' ORDER BY name"
        ))
        .bind(region)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(row).collect()
    }

    /// Creates or replaces a row.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn put_named(&self, kind: Named, region: &str, item: &NamedRow) -> Result<()> {
        let table = kind.table();
        let written = sqlx::query(&format!(
            "INSERT OR REPLACE INTO {table} (region, name, arn, status, doc) VALUES (?, ?, ?, ?, ?)"
        ))
        .bind(region)
        .bind(&item.name)
        .bind(&item.arn)
        .bind(&item.status)
        .bind(doc_text(&item.doc))
        .execute(&self.write)
        .await;
        self.caches.named.forget([&(kind, region.to_owned(), item.name.clone())]);
        written?;
        self.changed(match kind {
            Named::Cluster => super::Change::Cluster { region: region.to_owned(), cluster: item.name.clone() },
            // A capacity provider may serve several clusters.
            Named::CapacityProvider => super::Change::All,
        });
        Ok(())
    }

    /// ACTIVE rows in name order, with names after `after`, at most `limit`.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_named(&self, kind: Named, region: &str, after: &str, limit: u32) -> Result<Vec<NamedRow>> {
        let table = kind.table();
        let rows = sqlx::query(&format!(
            "SELECT name, arn, status, doc FROM {table} \
             WHERE region = ? AND status = 'ACTIVE' AND name > ? ORDER BY name LIMIT ?"
        ))
        .bind(region)
        .bind(after)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(row).collect()
    }
}
