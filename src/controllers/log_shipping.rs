//! awslogs shipping: each awslogs container's output, as Docker keeps it in its json-file log,
//! followed into its CloudWatch Logs stream while the container runs. Lines go into the store
//! with the container's cursor (Docker's timestamp of the last line shipped, and how many lines
//! had exactly that timestamp) in one transaction, so a berth killed at any moment goes on right
//! after the last line it shipped; what the container printed meanwhile is still in Docker's log.
//! One key: a reconcile starts a follower for every unfinished shipment that has none; a
//! follower ends when its container stopped and its output was shipped to the end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};

use super::Everything;
use super::runtime::{Action, Reconciler, Wake};
use crate::domain::log_multiline::Joiner;
use crate::driver::{Error as DriverError, LogLine};
use crate::error::Result;
use crate::runtime::TaskRuntime;
use crate::store::{Change, Shipment, TaskKey};

/// How often unfinished shipments are looked at without a change (a restart finds them at once).
pub const PERIOD: Duration = Duration::from_secs(5);
/// The most lines shipped in one transaction.
const MAX_BATCH: usize = 5_000;

/// The log-shipping controller.
pub struct LogShipping {
    runtime: Arc<TaskRuntime>,
    following: Arc<Mutex<HashMap<String, tokio::task::AbortHandle>>>,
}

impl LogShipping {
    /// Ships the awslogs output of `runtime`'s containers.
    #[must_use]
    pub fn new(runtime: Arc<TaskRuntime>) -> Self {
        Self { runtime, following: Arc::default() }
    }
}

impl Drop for LogShipping {
    fn drop(&mut self) {
        if let Ok(following) = self.following.lock() {
            for handle in following.values() {
                handle.abort();
            }
        }
    }
}

impl Reconciler for LogShipping {
    type Key = Everything;
    const NAME: &'static str = "log-shipping";

    async fn keys(&self) -> Result<Vec<Everything>> {
        Ok(vec![Everything])
    }

    fn keys_of(&self, change: &Change) -> Wake<Everything> {
        match change {
            Change::Task { .. } | Change::All => Wake::Keys(vec![Everything]),
            _ => Wake::Keys(Vec::new()),
        }
    }

    async fn reconcile(&self, _: &Everything) -> Result<Action> {
        let shipments = self.runtime.store().unfinished_log_shipments().await?;
        let Ok(mut following) = self.following.lock() else {
            return Ok(Action::AwaitChange);
        };
        following.retain(|_, handle| !handle.is_finished());
        for shipment in shipments {
            if following.contains_key(&shipment.container_id) {
                continue;
            }
            let id = shipment.container_id.clone();
            let span = tracing::debug_span!("ship", container = %id, task = %shipment.task_arn);
            let run = tracing::Instrument::instrument(follow(self.runtime.clone(), shipment), span);
            following.insert(id, tokio::spawn(run).abort_handle());
        }
        Ok(Action::AwaitChange)
    }
}

/// Where a follower is: the cursor of the last line shipped, and while resuming, how many lines
/// at the stored cursor's timestamp it has passed over.
struct Cursor {
    at: (i64, i64),
    resume: (i64, i64),
    passed: i64,
}

impl Cursor {
    /// Whether `line` is new (not shipped before), moving the cursor past it if so.
    fn take(&mut self, line: &LogLine) -> bool {
        let (resume_ns, resume_lines) = self.resume;
        if line.at_ns < resume_ns {
            return false;
        }
        if line.at_ns == resume_ns && self.passed < resume_lines {
            self.passed += 1;
            return false;
        }
        self.at = if line.at_ns == self.at.0 { (self.at.0, self.at.1 + 1) } else { (line.at_ns, 1) };
        true
    }
}

/// Follows one container's output into its stream until the container stopped and everything
/// it wrote is shipped. With a multi-line pattern, lines are joined into events and the stored
/// cursor stays before the event being joined.
async fn follow(runtime: Arc<TaskRuntime>, mut shipment: Shipment) {
    let engine = usize::try_from(shipment.engine).unwrap_or(0);
    // Once the container stopped, its log is read once more without following, from the cursor
    // to its end: a followed stream can end, or fail, before it delivered every line.
    let mut draining = false;
    loop {
        let docker = match runtime.docker_at(engine).await {
            Ok(docker) => docker,
            Err(_) => {
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
        };
        let mut cursor = Cursor {
            at: (shipment.cursor_ns, shipment.cursor_lines),
            resume: (shipment.cursor_ns, shipment.cursor_lines),
            passed: 0,
        };
        let mut joiner = shipment.multiline.as_deref().and_then(|p| Joiner::new(p).ok());
        let since = shipment.cursor_ns / 1_000_000_000;
        let mut lines = std::pin::pin!(docker.logs(&shipment.container_id, since, !draining));
        let mut gone = false;
        loop {
            let waiting = joiner.as_ref().and_then(Joiner::pending_since);
            let next = match waiting {
                // A joined event waits for its next start line for the flush interval at most.
                Some(since) => {
                    let left = since.saturating_add(shipment.flush_ms).saturating_sub(crate::domain::now_ms());
                    let left = Duration::from_millis(u64::try_from(left).unwrap_or(0));
                    match tokio::time::timeout(left, lines.next()).await {
                        Ok(next) => next,
                        Err(_) => {
                            let event: Vec<_> = joiner.as_mut().and_then(Joiner::take).into_iter().collect();
                            if !ship(&runtime, &mut shipment, &event, cursor.at, false).await {
                                return;
                            }
                            continue;
                        }
                    }
                }
                None => lines.next().await,
            };
            let Some(first) = next else { break };
            let mut batch = Vec::new();
            let mut next = Some(first);
            // Everything Docker has ready goes in one transaction; then the next line is waited for.
            while let Some(item) = next {
                match item {
                    Ok(line) => {
                        let before = cursor.at;
                        if cursor.take(&line) {
                            let at_ms = line.at_ns / 1_000_000;
                            match joiner.as_mut() {
                                Some(joiner) => batch.extend(joiner.push(at_ms, &line.text, before)),
                                None if line.text.is_empty() => {}
                                None => batch.push((at_ms, line.text)),
                            }
                        }
                    }
                    Err(DriverError::NotFound(_)) => {
                        gone = true;
                        break;
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "reading the container's log");
                        break;
                    }
                }
                if batch.len() >= MAX_BATCH {
                    break;
                }
                next = lines.next().now_or_never().flatten();
            }
            let shipped = joiner.as_ref().map_or(cursor.at, |j| j.resume_from(cursor.at));
            if !ship(&runtime, &mut shipment, &batch, shipped, false).await {
                return;
            }
            if gone {
                break;
            }
        }
        // The stream ended: the container stopped (ship the end), is not started yet, or the
        // engine went away (follow again).
        let state = docker.inspect(&shipment.container_id).await;
        let finished = match &state {
            // A container created but not started yet will run, unless its task is stopping.
            Ok(state) if state.status == "created" => task_stopping(&runtime, &shipment.task_arn).await,
            Ok(state) => !state.running,
            Err(DriverError::NotFound(_)) => true,
            Err(_) => false,
        };
        if finished && !gone && !draining {
            draining = true;
            continue;
        }
        if finished || gone {
            let rest: Vec<_> = joiner.as_mut().and_then(Joiner::take).into_iter().collect();
            ship(&runtime, &mut shipment, &rest, cursor.at, true).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether the task of `arn` (`...:task/<cluster>/<id>`) is to stop, or is no more.
async fn task_stopping(runtime: &TaskRuntime, arn: &str) -> bool {
    let region = arn.split(':').nth(3).unwrap_or_default();
    let Some((cluster, id)) = arn.split_once(":task/").and_then(|(_, rest)| rest.split_once('/')) else {
        return true;
    };
    let key = TaskKey { region: region.to_owned(), cluster: cluster.to_owned(), id: id.to_owned() };
    match runtime.store().get_task(&key).await {
        Ok(Some(doc)) => doc.get("desiredStatus").and_then(serde_json::Value::as_str) == Some("STOPPED"),
        Ok(None) => true,
        Err(_) => false,
    }
}

/// Stores a batch with the cursor after it; false when the store refuses (berth is stopping).
async fn ship(
    runtime: &TaskRuntime,
    shipment: &mut Shipment,
    batch: &[(i64, String)],
    at: (i64, i64),
    done: bool,
) -> bool {
    if batch.is_empty() && !done && at == (shipment.cursor_ns, shipment.cursor_lines) {
        return true;
    }
    if let Err(e) = runtime.store().ship_log_lines(shipment, batch, at, done).await {
        tracing::warn!(error = %e, "cannot store a container's log lines");
        return false;
    }
    shipment.cursor_ns = at.0;
    shipment.cursor_lines = at.1;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(at_ns: i64) -> LogLine {
        LogLine { at_ns, text: "x".into() }
    }

    #[test]
    fn resuming_skips_exactly_what_was_shipped() {
        // Shipped before: up to the second line at t=10.
        let mut cursor = Cursor { at: (10, 2), resume: (10, 2), passed: 0 };
        let taken: Vec<bool> = [5, 10, 10, 10, 11, 11].into_iter().map(|t| cursor.take(&line(t))).collect();
        assert_eq!(taken, [false, false, false, true, true, true]);
        assert_eq!(cursor.at, (11, 2));
    }

    #[test]
    fn a_fresh_cursor_takes_everything() {
        let mut cursor = Cursor { at: (0, 0), resume: (0, 0), passed: 0 };
        assert!([1, 1, 2].into_iter().all(|t| cursor.take(&line(t))));
        assert_eq!(cursor.at, (2, 1));
    }
}
