//! CloudWatch Logs' streams and the events in them.
//!
//! A group's events are one range of `log_events`, ordered by timestamp and then by `seq`, the
//! order they were put in; that pair is an event's position, which paging tokens carry.

use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::{Result, Store};

/// A stored log stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStreamRow {
    /// Its row id.
    pub id: i64,
    /// Its name, unique in its group.
    pub name: String,
    /// When it was created, in epoch milliseconds.
    pub created_ms: i64,
    /// The earliest event timestamp, once it has events.
    pub first_event_ms: Option<i64>,
    /// The latest event timestamp.
    pub last_event_ms: Option<i64>,
    /// When events were last put.
    pub last_ingestion_ms: Option<i64>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEventRow {
    /// When it happened, in epoch milliseconds.
    pub timestamp: i64,
    /// Its place among its group's events of the same timestamp (the order they were put).
    pub seq: i64,
    /// The stream it is in.
    pub stream_id: i64,
    /// When berth took it in, in epoch milliseconds.
    pub ingestion_ms: i64,
    /// The message.
    pub message: String,
}

/// Which events of a range to read.
#[derive(Debug, Clone, Default)]
pub struct EventRange {
    /// Events at or after this timestamp.
    pub start_ms: Option<i64>,
    /// Events before this timestamp.
    pub end_ms: Option<i64>,
    /// Events at or after this position (timestamp, seq).
    pub from: Option<(i64, i64)>,
    /// Events before this position.
    pub before: Option<(i64, i64)>,
}

/// Binds in one multi-row insert: SQLite takes up to 32766, five per event.
const EVENTS_PER_INSERT: usize = 1000;

fn stream_of(row: &SqliteRow) -> Result<LogStreamRow> {
    Ok(LogStreamRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        created_ms: row.try_get("created_ms")?,
        first_event_ms: row.try_get("first_event_ms")?,
        last_event_ms: row.try_get("last_event_ms")?,
        last_ingestion_ms: row.try_get("last_ingestion_ms")?,
    })
}

fn event_of(row: &SqliteRow) -> Result<LogEventRow> {
    Ok(LogEventRow {
        timestamp: row.try_get("timestamp")?,
        seq: row.try_get("seq")?,
        stream_id: row.try_get("stream_id")?,
        ingestion_ms: row.try_get("ingestion_ms")?,
        message: row.try_get("message")?,
    })
}

fn push_range(q: &mut QueryBuilder<'_, Sqlite>, range: &EventRange) {
    if let Some(start) = range.start_ms {
        q.push(" AND timestamp >= ").push_bind(start);
    }
    if let Some(end) = range.end_ms {
        q.push(" AND timestamp < ").push_bind(end);
    }
    if let Some((ts, seq)) = range.from {
        q.push(" AND (timestamp, seq) >= (").push_bind(ts).push(", ").push_bind(seq).push(")");
    }
    if let Some((ts, seq)) = range.before {
        q.push(" AND (timestamp, seq) < (").push_bind(ts).push(", ").push_bind(seq).push(")");
    }
}

/// Puts `events` (timestamp, message) into a stream of a group inside the transaction of
/// `conn`, stamped `ingestion_ms`, after every event the group has.
pub(super) async fn insert_events(
    conn: &mut SqliteConnection,
    group_id: i64,
    stream_id: i64,
    events: &[(i64, String)],
    ingestion_ms: i64,
) -> Result<()> {
    let (Some(first), Some(last)) = (events.iter().map(|e| e.0).min(), events.iter().map(|e| e.0).max()) else {
        return Ok(());
    };
    let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
    let bytes: i64 = events.iter().map(|e| i64::try_from(e.1.len()).unwrap_or(i64::MAX)).sum();
    let end: i64 = sqlx::query_scalar(
        "UPDATE log_groups SET next_seq = next_seq + ?, stored_bytes = stored_bytes + ? WHERE id = ? RETURNING next_seq",
    )
    .bind(count)
    .bind(bytes)
    .bind(group_id)
    .fetch_one(&mut *conn)
    .await?;
    let mut seq = end - count;
    for chunk in events.chunks(EVENTS_PER_INSERT) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO log_events (group_id, timestamp, seq, stream_id, ingestion_ms, message) ",
        );
        q.push_values(chunk, |mut b, (timestamp, message)| {
            b.push_bind(group_id)
                .push_bind(*timestamp)
                .push_bind(seq)
                .push_bind(stream_id)
                .push_bind(ingestion_ms)
                .push_bind(message.as_str());
            seq += 1;
        });
        q.build().execute(&mut *conn).await?;
    }
    sqlx::query(
        "UPDATE log_streams SET first_event_ms = min(coalesce(first_event_ms, ?1), ?1), \
         last_event_ms = max(coalesce(last_event_ms, ?2), ?2), last_ingestion_ms = ?3 WHERE id = ?4",
    )
    .bind(first)
    .bind(last)
    .bind(ingestion_ms)
    .bind(stream_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// Stores a new, empty stream in a group; false if the group has one of that name.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn create_log_stream(&self, group_id: i64, name: &str, created_ms: i64) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO log_streams (group_id, name, created_ms) VALUES (?, ?, ?) \
             ON CONFLICT (group_id, name) DO NOTHING",
        )
        .bind(group_id)
        .bind(name)
        .bind(created_ms)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The stream of that name in a group.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn get_log_stream(&self, group_id: i64, name: &str) -> Result<Option<LogStreamRow>> {
        let row = sqlx::query(
            "SELECT id, name, created_ms, first_event_ms, last_event_ms, last_ingestion_ms FROM log_streams \
             WHERE group_id = ? AND name = ?",
        )
        .bind(group_id)
        .bind(name)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(stream_of).transpose()
    }

    /// Deletes a stream and its events; false if there was none.
    ///
    /// # Errors
    /// On a database failure; then nothing was deleted.
    pub async fn delete_log_stream(&self, group_id: i64, name: &str) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "UPDATE log_groups SET stored_bytes = stored_bytes - (SELECT coalesce(sum(length(CAST(e.message AS BLOB))), 0) \
             FROM log_events e JOIN log_streams s ON s.id = e.stream_id WHERE s.group_id = ?1 AND s.name = ?2) \
             WHERE id = ?1",
        )
        .bind(group_id)
        .bind(name)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM log_streams WHERE group_id = ? AND name = ?")
            .bind(group_id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// A group's streams whose names start with `prefix`, by name or (with `by_last_event`) by
    /// their last event's time, from the `offset`-th on.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn list_log_streams(
        &self,
        group_id: i64,
        prefix: &str,
        by_last_event: bool,
        descending: bool,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<LogStreamRow>> {
        let direction = if descending { "DESC" } else { "ASC" };
        let order = if by_last_event {
            format!("coalesce(last_event_ms, 0) {direction}, name {direction}")
        } else {
            format!("name {direction}")
        };
        // Escaping LIKE's wildcards is not needed: substr compares the prefix exactly.
        let sql = format!(
            "SELECT id, name, created_ms, first_event_ms, last_event_ms, last_ingestion_ms FROM log_streams \
             WHERE group_id = ?1 AND substr(name, 1, length(?2)) = ?2 ORDER BY {order} LIMIT ?3 OFFSET ?4"
        );
        let rows = sqlx::query(&sql).bind(group_id).bind(prefix).bind(limit).bind(offset).fetch_all(&self.read).await?;
        rows.iter().map(stream_of).collect()
    }

    /// Every stream of a group: (id, name).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn log_stream_names(&self, group_id: i64) -> Result<Vec<(i64, String)>> {
        let rows = sqlx::query("SELECT id, name FROM log_streams WHERE group_id = ? ORDER BY name")
            .bind(group_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, r.try_get("name")?))).collect()
    }

    /// Puts events (timestamp, message) into a stream of a group, after every event it has.
    ///
    /// # Errors
    /// On a database failure; then nothing was put.
    pub async fn put_log_events(
        &self,
        group_id: i64,
        stream_id: i64,
        events: &[(i64, String)],
        ingestion_ms: i64,
    ) -> Result<()> {
        let mut tx = self.write.begin().await?;
        insert_events(&mut tx, group_id, stream_id, events, ingestion_ms).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Up to `limit` events of a stream in `range`, in order, or the last `limit` of them
    /// (still in order) with `from_end`.
    ///
    /// # Errors
    /// On a database failure.
    pub async fn stream_events(
        &self,
        stream_id: i64,
        range: &EventRange,
        from_end: bool,
        limit: i64,
    ) -> Result<Vec<LogEventRow>> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT timestamp, seq, stream_id, ingestion_ms, message FROM log_events WHERE stream_id = ",
        );
        q.push_bind(stream_id);
        push_range(&mut q, range);
        q.push(if from_end { " ORDER BY timestamp DESC, seq DESC" } else { " ORDER BY timestamp, seq" });
        q.push(" LIMIT ").push_bind(limit);
        let rows = q.build().fetch_all(&self.read).await?;
        let mut events = rows.iter().map(event_of).collect::<Result<Vec<_>>>()?;
        if from_end {
            events.reverse();
        }
        Ok(events)
    }

    /// Up to `limit` events of a group in `range`, in order, of the given streams only if
    /// `streams` is Some, whose messages contain every one of `all_of` (or, with
    /// `unless_backslash`, a backslash).
    ///
    /// # Errors
    /// On a database failure.
    pub async fn group_events(
        &self,
        group_id: i64,
        streams: Option<&[i64]>,
        range: &EventRange,
        all_of: &[String],
        unless_backslash: bool,
        limit: i64,
    ) -> Result<Vec<LogEventRow>> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT timestamp, seq, stream_id, ingestion_ms, message FROM log_events WHERE group_id = ",
        );
        q.push_bind(group_id);
        push_range(&mut q, range);
        if let Some(streams) = streams {
            q.push(" AND stream_id IN (");
            let mut ids = q.separated(", ");
            for id in streams {
                ids.push_bind(*id);
            }
            ids.push_unseparated(")");
        }
        if !all_of.is_empty() {
            q.push(" AND ((1");
            for literal in all_of {
                q.push(" AND instr(message, ").push_bind(literal.as_str()).push(") > 0");
            }
            q.push(")");
            if unless_backslash {
                q.push(" OR instr(message, '\\') > 0");
            }
            q.push(")");
        }
        q.push(" ORDER BY timestamp, seq LIMIT ").push_bind(limit);
        let rows = q.build().fetch_all(&self.read).await?;
        rows.iter().map(event_of).collect()
    }

    /// Deletes a group's events older than `before_ms`; how many went.
    ///
    /// # Errors
    /// On a database failure; then nothing was deleted.
    pub async fn expire_log_events(&self, group_id: i64, before_ms: i64) -> Result<u64> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "UPDATE log_groups SET stored_bytes = max(0, stored_bytes - (SELECT coalesce(sum(length(CAST(message AS BLOB))), 0) \
             FROM log_events WHERE group_id = ?1 AND timestamp < ?2)) WHERE id = ?1",
        )
        .bind(group_id)
        .bind(before_ms)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM log_events WHERE group_id = ? AND timestamp < ?")
            .bind(group_id)
            .bind(before_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}
