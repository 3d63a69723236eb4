//! awslogs shipping: how far each container's output has gone into CloudWatch Logs.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{Result, Store};

/// One container's shipment of its output into a log stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipment {
    /// The Docker container.
    pub container_id: String,
    /// The engine it runs on.
    pub engine: i64,
    /// The task it belongs to.
    pub task_arn: String,
    /// The log group of the stream.
    pub group_id: i64,
    /// The log stream.
    pub stream_id: i64,
    /// Docker's timestamp (ns) of the last line shipped.
    pub cursor_ns: i64,
    /// How many lines with exactly that timestamp were shipped.
    pub cursor_lines: i64,
    /// Shipped to the end of a stopped container.
    pub done: bool,
    /// The pattern that starts a multi-line event, when lines are joined.
    pub multiline: Option<String>,
    /// How long a joined event waits for the next start line (ms).
    pub flush_ms: i64,
}

fn shipment_of(row: &SqliteRow) -> Result<Shipment> {
    Ok(Shipment {
        container_id: row.try_get("container_id")?,
        engine: row.try_get("engine")?,
        task_arn: row.try_get("task_arn")?,
        group_id: row.try_get("group_id")?,
        stream_id: row.try_get("stream_id")?,
        cursor_ns: row.try_get("cursor_ns")?,
        cursor_lines: row.try_get("cursor_lines")?,
        done: row.try_get("done")?,
        multiline: row.try_get("multiline")?,
        flush_ms: row.try_get("flush_ms")?,
    })
}

const COLUMNS: &str = "l.container_id, l.engine, l.task_arn, s.group_id, l.stream_id, l.cursor_ns, l.cursor_lines, l.done, \
     l.multiline, l.flush_ms";

impl Store {
    /// Records that container `container_id`'s output goes into stream `stream_id` (from its
    /// first line), its lines joined into events at `multiline` if given; a container already
    /// recorded keeps its cursor.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn begin_log_shipping(
        &self,
        container_id: &str,
        engine: i64,
        task_arn: &str,
        stream_id: i64,
        multiline: Option<&str>,
        flush_ms: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO log_shipping (container_id, engine, task_arn, stream_id, multiline, flush_ms) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (container_id) DO NOTHING",
        )
        .bind(container_id)
        .bind(engine)
        .bind(task_arn)
        .bind(stream_id)
        .bind(multiline)
        .bind(flush_ms)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Every shipment not finished yet.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn unfinished_log_shipments(&self) -> Result<Vec<Shipment>> {
        let sql =
            format!("SELECT {COLUMNS} FROM log_shipping l JOIN log_streams s ON s.id = l.stream_id WHERE l.done = 0");
        let rows = sqlx::query(&sql).fetch_all(&self.read).await?;
        rows.iter().map(shipment_of).collect()
    }

    /// The shipments of a task's containers.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn log_shipments_of_task(&self, task_arn: &str) -> Result<Vec<Shipment>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM log_shipping l JOIN log_streams s ON s.id = l.stream_id WHERE l.task_arn = ?"
        );
        let rows = sqlx::query(&sql).bind(task_arn).fetch_all(&self.read).await?;
        rows.iter().map(shipment_of).collect()
    }

    /// Puts a container's next lines (timestamp ms, message) into its stream and moves its
    /// cursor, in one transaction; `done` when they were its last.
    ///
    /// # Errors
    /// On a database failure; then nothing was shipped and the cursor did not move.
    pub async fn ship_log_lines(
        &self,
        shipment: &Shipment,
        events: &[(i64, String)],
        cursor: (i64, i64),
        done: bool,
    ) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let now = crate::domain::now_ms();
        super::log_events::insert_events(&mut tx, shipment.group_id, shipment.stream_id, events, now).await?;
        sqlx::query("UPDATE log_shipping SET cursor_ns = ?, cursor_lines = ?, done = ? WHERE container_id = ?")
            .bind(cursor.0)
            .bind(cursor.1)
            .bind(done)
            .bind(&shipment.container_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
