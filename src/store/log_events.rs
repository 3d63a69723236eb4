//! CloudWatch Logs' streams and the events in them.
//!
//! A group's events are one range of `log_events`, ordered by timestamp and then by `seq`, the
//! order they were put in; that pair is an event's position, which paging tokens carry.

use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use std::sync::LazyLock;

use super::{READERS, Result, Store};

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

/// How many slices a prefiltered scan is cut into: one per core, as many as there are readers.
static SCAN_SLICES: LazyLock<usize> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    cores.min(usize::try_from(READERS).unwrap_or(1))
});

/// Where to cut the timestamps `lo..hi` into `slices` spans of equal length: none when the span
/// is too short to share.
fn slice_cuts(lo: i64, hi: i64, slices: usize) -> Vec<i64> {
    let n = i64::try_from(slices).unwrap_or(1);
    let span = hi.saturating_sub(lo);
    if n < 2 || span < n {
        return Vec::new();
    }
    (1..n).map(|i| lo + span / n * i).collect()
}

/// A GLOB pattern for the messages containing `literal`: its `*`, `?` and `[` each in a class
/// of its own, which GLOB reads as the character itself.
fn glob_containing(literal: &str) -> String {
    let mut glob = String::with_capacity(literal.len() + 2);
    glob.push('*');
    for c in literal.chars() {
        match c {
            '*' | '?' | '[' => {
                glob.push('[');
                glob.push(c);
                glob.push(']');
            }
            _ => glob.push(c),
        }
    }
    glob.push('*');
    glob
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
    /// A prefiltered read scans every event of the range to find a few, so the range is cut
    /// into time slices scanned at once on separate read connections, then joined in order.
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
        let slices = if all_of.is_empty() { vec![range.clone()] } else { self.time_slices(group_id, range).await? };
        let scans =
            slices.iter().map(|slice| self.scan_group(group_id, streams, slice, all_of, unless_backslash, limit));
        let wanted = usize::try_from(limit).unwrap_or(0);
        let mut events = Vec::new();
        // Each slice holds the first matches of its span, so the slices' answers in order are
        // the range's, up to the first slice that filled its limit.
        for batch in futures_util::future::try_join_all(scans).await? {
            events.extend(batch);
            if events.len() >= wanted {
                events.truncate(wanted);
                break;
            }
        }
        Ok(events)
    }

    /// `range` cut at [`slice_cuts`] of the span its group's events cover.
    async fn time_slices(&self, group_id: i64, range: &EventRange) -> Result<Vec<EventRange>> {
        let row = sqlx::query(
            "SELECT (SELECT min(timestamp) FROM log_events WHERE group_id = ?1), \
             (SELECT max(timestamp) FROM log_events WHERE group_id = ?1)",
        )
        .bind(group_id)
        .fetch_one(&self.read)
        .await?;
        let (Some(first), Some(last)) = (row.try_get::<Option<i64>, _>(0)?, row.try_get::<Option<i64>, _>(1)?) else {
            return Ok(vec![range.clone()]);
        };
        let lo = [Some(first), range.start_ms, range.from.map(|f| f.0)].into_iter().flatten().max().unwrap_or(first);
        let hi = [Some(last.saturating_add(1)), range.end_ms, range.before.map(|b| b.0.saturating_add(1))]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(last);
        let cuts = slice_cuts(lo, hi, *SCAN_SLICES);
        let mut slices = Vec::with_capacity(cuts.len() + 1);
        let mut start = range.start_ms;
        for cut in cuts {
            slices.push(EventRange { start_ms: start, end_ms: Some(cut), ..range.clone() });
            start = Some(cut);
        }
        slices.push(EventRange { start_ms: start, ..range.clone() });
        Ok(slices)
    }

    /// One scan of [`group_events`](Self::group_events).
    async fn scan_group(
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
            // GLOB compares bytes; instr() would count characters to say where it matched.
            q.push(" AND ((1");
            for literal in all_of {
                q.push(" AND message GLOB ").push_bind(glob_containing(literal));
            }
            q.push(")");
            if unless_backslash {
                q.push(" OR message GLOB '*\\*'");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_share_the_span_and_stay_inside_it() {
        assert_eq!(slice_cuts(0, 100, 2), vec![50]);
        assert_eq!(slice_cuts(10, 13, 3), vec![11, 12]);
        assert!(slice_cuts(10, 11, 2).is_empty());
        assert!(slice_cuts(0, 1_000, 1).is_empty());
        for (lo, hi, n) in [(-5, 1_000_003, 4), (1_700_000_000_000, 1_700_000_010_000, 3), (0, i64::MAX, 2)] {
            let cuts = slice_cuts(lo, hi, n);
            assert_eq!(cuts.len(), n - 1);
            assert!(cuts.windows(2).all(|w| w[0] < w[1]) && cuts.iter().all(|c| lo < *c && *c < hi), "{cuts:?}");
        }
    }

    #[tokio::test]
    async fn a_glob_finds_exactly_the_messages_holding_the_literal() {
        let db = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
        let cases = [
            ("a*b", "xa*by", true),
            ("a*b", "xaZZby", false),
            ("a?b", "a?b", true),
            ("a?b", "aXb", false),
            ("[10/Oct", "frank [10/Oct/2000", true),
            ("[10/Oct", "frank 1/Oct", false),
            ("]x", "a]x", true),
            ("50%_", "50%_done", true),
            ("ERROR", "error", false),
        ];
        for (literal, message, expected) in cases {
            let hit: bool = sqlx::query_scalar("SELECT ?1 GLOB ?2")
                .bind(message)
                .bind(glob_containing(literal))
                .fetch_one(&db)
                .await
                .unwrap();
            assert_eq!(hit, expected, "{literal:?} in {message:?}");
        }
    }
}
