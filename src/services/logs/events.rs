//! Log events: PutLogEvents with CloudWatch Logs' batch rules, GetLogEvents with its forward and
//! backward tokens, and FilterLogEvents with filter patterns across a group's streams.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ctx, group_name, stream_not_found};
use crate::domain::log_filter::FilterPattern;
use crate::error::Result;
use crate::store::{EventRange, LogEventRow, LogGroupRow};

/// The most events one PutLogEvents may carry.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// The most bytes one PutLogEvents may carry, counted as [`batch_bytes`] does.
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// What CloudWatch Logs adds to each event's message when it counts a batch's bytes.
pub const EVENT_OVERHEAD: usize = 26;
/// The most bytes of events one GetLogEvents or FilterLogEvents answers with.
const MAX_PAGE_BYTES: usize = 1_048_576;
/// The most events one GetLogEvents or FilterLogEvents answers with, and its default.
const MAX_PAGE_EVENTS: i64 = 10_000;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

#[derive(Deserialize)]
pub(super) struct InputLogEvent {
    timestamp: i64,
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PutLogEventsInput {
    log_group_name: String,
    log_stream_name: String,
    log_events: Vec<InputLogEvent>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GetLogEventsInput {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name: String,
    start_time: Option<i64>,
    end_time: Option<i64>,
    next_token: Option<String>,
    limit: Option<i64>,
    #[serde(default)]
    start_from_head: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct FilterLogEventsInput {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_names: Option<Vec<String>>,
    log_stream_name_prefix: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    filter_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
}

/// A batch's size as CloudWatch Logs counts it: each message's UTF-8 bytes plus 26.
#[must_use]
pub fn batch_bytes<'a>(messages: impl IntoIterator<Item = &'a str>) -> usize {
    messages.into_iter().map(|m| m.len() + EVENT_OVERHEAD).sum()
}

/// Where a batch's events fall against the window CloudWatch Logs accepts at `now_ms`: the
/// events before `.0` are too old (more than 14 days back), those before `.1` also count
/// expired ones (older than the retention), those from `.2` on are too new (more than two hours
/// ahead). `timestamps` are in order.
fn accepted_window(timestamps: &[i64], now_ms: i64, retention_days: Option<i64>) -> (usize, usize, usize) {
    let too_old = timestamps.partition_point(|t| *t < now_ms - 14 * DAY_MS);
    let expired = match retention_days {
        Some(days) => timestamps.partition_point(|t| *t < now_ms - days * DAY_MS).max(too_old),
        None => too_old,
    };
    let too_new = timestamps.partition_point(|t| *t <= now_ms + 2 * HOUR_MS).max(expired);
    (too_old, expired, too_new)
}

/// The earliest timestamp a group still keeps, if it has a retention policy.
fn retained_from(group: &LogGroupRow) -> Option<i64> {
    group.retention_days.map(|days| crate::domain::now_ms() - days * DAY_MS)
}

pub(super) async fn put_log_events(ctx: &Ctx<'_>, input: PutLogEventsInput) -> Result<Value> {
    let group = ctx.group(&input.log_group_name).await?;
    let stream = ctx.store.get_log_stream(group.id, &input.log_stream_name).await?.ok_or_else(stream_not_found)?;
    let bytes = batch_bytes(input.log_events.iter().map(|e| e.message.as_str()));
    if bytes > MAX_BATCH_BYTES {
        return Err(aws_error!(
            InvalidParameterException,
            "Upload too large: {bytes} bytes exceeds limit of {MAX_BATCH_BYTES}"
        ));
    }
    if input.log_events.windows(2).any(|pair| pair[1].timestamp < pair[0].timestamp) {
        return Err(aws_error!(
            InvalidParameterException,
            "Log events in a single PutLogEvents request must be in chronological order."
        ));
    }
    let timestamps: Vec<i64> = input.log_events.iter().map(|e| e.timestamp).collect();
    let now = crate::domain::now_ms();
    let (too_old, expired, too_new) = accepted_window(&timestamps, now, group.retention_days);
    let accepted = &timestamps[expired..too_new];
    if let (Some(first), Some(last)) = (accepted.first(), accepted.last())
        && last - first > DAY_MS
    {
        return Err(aws_error!(
            InvalidParameterException,
            "The batch of log events in a single PutLogEvents request cannot span more than 24 hours."
        ));
    }
    let events: Vec<(i64, String)> =
        input.log_events.into_iter().skip(expired).take(too_new - expired).map(|e| (e.timestamp, e.message)).collect();
    ctx.store.put_log_events(group.id, stream.id, &events, now).await?;
    let mut rejected = serde_json::Map::new();
    if too_old > 0 {
        rejected.insert("tooOldLogEventEndIndex".into(), json!(too_old));
    }
    if expired > too_old {
        rejected.insert("expiredLogEventEndIndex".into(), json!(expired));
    }
    if too_new < timestamps.len() {
        rejected.insert("tooNewLogEventStartIndex".into(), json!(too_new));
    }
    let token = format!("{:056}", now);
    Ok(json!({"nextSequenceToken": token, "rejectedLogEventsInfo": (!rejected.is_empty()).then_some(rejected)}))
}

/// A paging token: a direction letter, then an event position and the id of what it pages
/// (a stream or a group), as 56 digits like CloudWatch Logs' own.
fn token(direction: &str, (timestamp, seq): (i64, i64), owner: i64) -> String {
    format!("{direction}{timestamp:020}{seq:020}{owner:016}")
}

fn read_token(text: &str, direction: &str, owner: i64) -> Option<(i64, i64)> {
    let digits = text.strip_prefix(direction)?;
    if digits.len() != 56 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let timestamp = digits[..20].parse().ok()?;
    let seq = digits[20..40].parse().ok()?;
    (digits[40..].parse::<i64>().ok()? == owner).then_some((timestamp, seq))
}

fn invalid_token() -> crate::error::ApiError {
    aws_error!(InvalidParameterException, "The specified nextToken is invalid.")
}

/// The events of `events` that fit in one answer's byte budget, from the front or the back.
fn fit(mut events: Vec<LogEventRow>, from_back: bool) -> Vec<LogEventRow> {
    let mut budget = MAX_PAGE_BYTES;
    let fits = |e: &LogEventRow, budget: &mut usize| {
        let size = e.message.len() + EVENT_OVERHEAD;
        let ok = size <= *budget;
        *budget = budget.saturating_sub(size);
        ok
    };
    if from_back {
        let keep = events.iter().rev().take_while(|e| fits(e, &mut budget)).count();
        events.drain(..events.len() - keep);
    } else {
        let keep = events.iter().take_while(|e| fits(e, &mut budget)).count();
        events.truncate(keep);
    }
    events
}

fn time_range(start: Option<i64>, end: Option<i64>, group: &LogGroupRow) -> EventRange {
    let start_ms = match (start, retained_from(group)) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    EventRange { start_ms, end_ms: end, ..EventRange::default() }
}

pub(super) async fn get_log_events(ctx: &Ctx<'_>, input: GetLogEventsInput) -> Result<Value> {
    let name = group_name(input.log_group_name, input.log_group_identifier)?;
    let group = ctx.group(&name).await?;
    let stream = ctx.store.get_log_stream(group.id, &input.log_stream_name).await?.ok_or_else(stream_not_found)?;
    let mut range = time_range(input.start_time, input.end_time, &group);
    let limit = input.limit.unwrap_or(MAX_PAGE_EVENTS);
    // A forward token reads on from its position, a backward one reads the events before it;
    // without one, the first events (startFromHead) or the last.
    let (forward, backward) = match input.next_token.as_deref() {
        Some(text) if text.starts_with("f/") => {
            (Some(read_token(text, "f/", stream.id).ok_or_else(invalid_token)?), None)
        }
        Some(text) => (None, Some(read_token(text, "b/", stream.id).ok_or_else(invalid_token)?)),
        None => (None, None),
    };
    range.from = forward;
    range.before = backward;
    let from_end = backward.is_some() || (forward.is_none() && !input.start_from_head);
    let events = fit(ctx.store.stream_events(stream.id, &range, from_end, limit).await?, from_end);
    let (next_forward, next_backward) = match (events.first(), events.last()) {
        (Some(first), Some(last)) => ((last.timestamp, last.seq + 1), (first.timestamp, first.seq)),
        // Nothing there: the token asked with comes back, so a client polling forward stays put.
        _ => {
            let at = forward.or(backward).unwrap_or((0, 0));
            (at, at)
        }
    };
    let events: Vec<Value> = events
        .iter()
        .map(|e| json!({"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_ms}))
        .collect();
    Ok(json!({
        "events": events,
        "nextForwardToken": token("f/", next_forward, stream.id),
        "nextBackwardToken": token("b/", next_backward, stream.id),
    }))
}

/// Events read from the store per round of FilterLogEvents.
const FILTER_BATCH: i64 = 10_000;

pub(super) async fn filter_log_events(ctx: &Ctx<'_>, input: FilterLogEventsInput) -> Result<Value> {
    let name = group_name(input.log_group_name, input.log_group_identifier)?;
    if input.log_stream_names.is_some() && input.log_stream_name_prefix.is_some() {
        return Err(aws_error!(
            InvalidParameterException,
            "logStreamNames and logStreamNamePrefix are mutually exclusive; specify only one of them."
        ));
    }
    let pattern = FilterPattern::parse(input.filter_pattern.as_deref().unwrap_or(""))
        .map_err(|e| aws_error!(InvalidParameterException, "{e}"))?;
    let group = ctx.group(&name).await?;
    let mut range = time_range(input.start_time, input.end_time, &group);
    if let Some(text) = input.next_token.as_deref() {
        range.from = Some(read_token(text, "", group.id).ok_or_else(invalid_token)?);
    }
    let names = ctx.store.log_stream_names(group.id).await?;
    let streams: Option<Vec<i64>> = match (&input.log_stream_names, &input.log_stream_name_prefix) {
        (Some(wanted), _) => Some(names.iter().filter(|(_, n)| wanted.contains(n)).map(|(id, _)| *id).collect()),
        (_, Some(prefix)) => {
            Some(names.iter().filter(|(_, n)| n.starts_with(prefix.as_str())).map(|(id, _)| *id).collect())
        }
        _ => None,
    };
    let limit = usize::try_from(input.limit.unwrap_or(MAX_PAGE_EVENTS)).unwrap_or(0);
    let prefilter = pattern.prefilter();
    let mut found: Vec<LogEventRow> = Vec::new();
    let mut budget = MAX_PAGE_BYTES;
    let mut more = false;
    if streams.as_ref().is_none_or(|s| !s.is_empty()) {
        'rounds: loop {
            let batch = ctx
                .store
                .group_events(
                    group.id,
                    streams.as_deref(),
                    &range,
                    &prefilter.all_of,
                    prefilter.unless_backslash,
                    FILTER_BATCH,
                )
                .await?;
            let exhausted = i64::try_from(batch.len()).unwrap_or(i64::MAX) < FILTER_BATCH;
            if let Some(last) = batch.last() {
                range.from = Some((last.timestamp, last.seq + 1));
            }
            for event in batch {
                if !pattern.matches(&event.message) {
                    continue;
                }
                let size = event.message.len() + EVENT_OVERHEAD;
                if found.len() == limit || size > budget {
                    more = true;
                    break 'rounds;
                }
                budget -= size;
                found.push(event);
            }
            if exhausted {
                break;
            }
        }
    }
    let stream_name = |id: i64| names.iter().find(|(i, _)| *i == id).map(|(_, n)| n.clone());
    let next_token = match found.last() {
        Some(last) if more => Some(token("", (last.timestamp, last.seq + 1), group.id)),
        _ => None,
    };
    let events: Vec<Value> = found
        .iter()
        .map(|e| {
            json!({
                "logStreamName": stream_name(e.stream_id),
                "timestamp": e.timestamp,
                "message": e.message,
                "ingestionTime": e.ingestion_ms,
                "eventId": token("", (e.timestamp, e.seq), group.id),
            })
        })
        .collect();
    // searchedLogStreams has been an empty list since 2020, as the API reference says.
    Ok(json!({"events": events, "searchedLogStreams": [], "nextToken": next_token}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_counts_26_bytes_per_event_over_its_utf8() {
        assert_eq!(batch_bytes(["a", "é"]), 1 + 2 + 2 * EVENT_OVERHEAD);
    }

    #[test]
    fn the_window_splits_too_old_expired_and_too_new() {
        let now = 100 * DAY_MS;
        let ts = [now - 15 * DAY_MS, now - 3 * DAY_MS, now - HOUR_MS, now, now + 3 * HOUR_MS];
        assert_eq!(accepted_window(&ts, now, None), (1, 1, 4));
        assert_eq!(accepted_window(&ts, now, Some(1)), (1, 2, 4));
        assert_eq!(accepted_window(&ts, now, Some(30)), (1, 1, 4));
        assert_eq!(accepted_window(&[], now, Some(1)), (0, 0, 0));
    }

    #[test]
    fn tokens_read_back_only_for_their_owner_and_direction() {
        let t = token("f/", (1_700_000_000_000, 42), 7);
        assert_eq!(t.len(), 58);
        assert_eq!(read_token(&t, "f/", 7), Some((1_700_000_000_000, 42)));
        assert_eq!(read_token(&t, "f/", 8), None);
        assert_eq!(read_token(&t, "b/", 7), None);
        assert_eq!(read_token("f/12", "f/", 7), None);
    }

    proptest::proptest! {
        #[test]
        fn any_position_round_trips(ts in 0i64..=i64::MAX / 2, seq in 0i64..1_000_000_000, owner in 0i64..1_000_000) {
            proptest::prop_assert_eq!(read_token(&token("b/", (ts, seq), owner), "b/", owner), Some((ts, seq)));
        }
    }
}
