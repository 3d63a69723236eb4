//! CloudWatch's metrics and their data points.

use sqlx::Row;

use super::{Result, Store};

/// One data point of a metric, as the statistics it stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    /// The metric's namespace.
    pub namespace: String,
    /// The metric's name.
    pub name: String,
    /// The metric's dimensions as a JSON array sorted by name: the metric's identity.
    pub dimensions: String,
    /// When it was measured, in epoch seconds.
    pub timestamp: f64,
    /// Its unit, if given.
    pub unit: Option<String>,
    /// How many samples it stands for.
    pub sample_count: f64,
    /// Their sum.
    pub sum: f64,
    /// Their minimum.
    pub minimum: f64,
    /// Their maximum.
    pub maximum: f64,
}

/// A metric as ListMetrics names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricRow {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its dimensions as a JSON array sorted by name.
    pub dimensions: String,
    /// When it last received a data point, in epoch milliseconds.
    pub last_received_ms: i64,
}

impl Store {
    /// Stores the data points of one PutMetricData, all or none.
    ///
    /// # Errors
    /// On a database failure; then nothing was stored.
    pub async fn put_metric_data(&self, region: &str, points: &[MetricPoint], now_ms: i64) -> Result<()> {
        let mut tx = self.write.begin().await?;
        for p in points {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO metrics (region, namespace, name, dimensions, last_received_ms) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (region, namespace, name, dimensions) DO UPDATE SET last_received_ms = excluded.last_received_ms \
                 RETURNING id",
            )
            .bind(region)
            .bind(&p.namespace)
            .bind(&p.name)
            .bind(&p.dimensions)
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO metric_points (metric_id, timestamp, unit, sample_count, sum, minimum, maximum) \
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(p.timestamp)
            .bind(&p.unit)
            .bind(p.sample_count)
            .bind(p.sum)
            .bind(p.minimum)
            .bind(p.maximum)
            .execute(&mut *tx)
            .await?;
        }
        Ok(tx.commit().await?)
    }

    /// The region's metrics, by namespace, name and dimensions, optionally of one namespace and
    /// one name.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_metrics(
        &self,
        region: &str,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Result<Vec<MetricRow>> {
        let rows = sqlx::query(
            "SELECT namespace, name, dimensions, last_received_ms FROM metrics \
             WHERE region = ?1 AND (?2 IS NULL OR namespace = ?2) AND (?3 IS NULL OR name = ?3) \
             ORDER BY namespace, name, dimensions",
        )
        .bind(region)
        .bind(namespace)
        .bind(name)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MetricRow {
                    namespace: row.try_get("namespace")?,
                    name: row.try_get("name")?,
                    dimensions: row.try_get("dimensions")?,
                    last_received_ms: row.try_get("last_received_ms")?,
                })
            })
            .collect()
    }
}
