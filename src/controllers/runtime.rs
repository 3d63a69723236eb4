//! The controllers runtime: one loop shape for all of berth's background work, in the spirit of
//! kube-rs's `Controller`.
//!
//! A [`Reconciler`] brings one key (a service, a cluster, ...) to its desired state, reading the
//! store afresh each time (level-triggered: it gets the key, never the event), and answers
//! [`Action::Requeue`] or [`Action::AwaitChange`]. The runtime owns everything else:
//! - a keyed queue that dedupes: a key triggered again while it waits is reconciled once, after
//!   a short debounce, so a burst of a hundred task changes of one service reconciles it once;
//! - never two reconciles of one key at once, and at most [`Pace::concurrency`] of one
//!   controller (one, unless it says otherwise), each on a tokio task of its own;
//! - triggers from the store's after-commit notifications ([`crate::store::Change`]), mapped to
//!   keys by the reconciler, from a feed of its own when it has one (the tasks controller's:
//!   Docker's container events, see [`Triggers`]), and a periodic resync of every key (which
//!   also covers a watcher that fell behind a feed);
//! - per-key exponential back-off when a reconcile fails with berth's own error;
//! - graceful shutdown through a watch channel: the reconcile in flight finishes, the loop ends
//!   before the next one, nothing is aborted mid-write;
//! - counters per controller and per key (`GET /_berth/controllers`).
//!
//! It calls nothing above the store: reconcilers bring their own context.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Display;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

use crate::error::Result;
use crate::store::Change;

/// What to do with a key after it was reconciled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Reconcile it again after this long (unless a change brings it sooner).
    Requeue(Duration),
    /// Reconcile it again when a change concerns it, or at the next resync.
    AwaitChange,
}

/// Which keys a change wakes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake<K> {
    /// These (none: the change is not this controller's business).
    Keys(Vec<K>),
    /// Every key: resync now.
    All,
}

/// One controller's rules.
pub trait Reconciler: Send + Sync + 'static {
    /// What one reconcile is about.
    type Key: Clone + Ord + Hash + Display + Send + Sync + 'static;

    /// The controller's name, in logs and counters.
    const NAME: &'static str;

    /// Whether `GET /_berth/controllers` counts each key apart (not for keys without end, such
    /// as tasks).
    const COUNT_KEYS: bool = true;

    /// Every key that needs looking at now (the periodic resync).
    fn keys(&self) -> impl Future<Output = Result<Vec<Self::Key>>> + Send;

    /// The keys a committed change concerns.
    fn keys_of(&self, change: &Change) -> Wake<Self::Key>;

    /// Brings one key to its desired state.
    fn reconcile(&self, key: &Self::Key) -> impl Future<Output = Result<Action>> + Send;

    /// Keys to reconcile once more when the controller is told to stop, before it does: work
    /// a client was promised that must not wait for the next berth (a StopTask's stop).
    fn before_stop(&self) -> Vec<Self::Key> {
        Vec::new()
    }
}

/// How a controller's loop is paced.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// How often every key is looked at when nothing triggers it (None: never).
    pub resync: Option<Duration>,
    /// How long a triggered key waits for more triggers before it is reconciled.
    pub debounce: Duration,
    /// The first retry delay after an error; it doubles with each error in a row.
    pub backoff: Duration,
    /// The longest retry delay.
    pub max_backoff: Duration,
    /// How many keys may be reconciled at once (each key still one at a time).
    pub concurrency: usize,
}

/// A feed of triggers besides the store's: a key to reconcile, or None after the feed may have
/// missed some (it reconnected): resync every key.
pub type Triggers<K> = mpsc::UnboundedReceiver<Option<K>>;

impl Default for Pace {
    fn default() -> Self {
        Self {
            resync: Some(Duration::from_secs(1)),
            debounce: Duration::from_millis(20),
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            concurrency: 1,
        }
    }
}

/// The keys waiting to be reconciled, each once, with when it is due and its errors in a row.
struct Queue<K> {
    due: BTreeMap<K, Instant>,
    errors: HashMap<K, u32>,
}

impl<K: Clone + Ord + Hash> Queue<K> {
    fn new() -> Self {
        Self { due: BTreeMap::new(), errors: HashMap::new() }
    }

    /// Queues `key` for `at`, or keeps it where it is when it is due sooner (dedupe).
    fn push(&mut self, key: K, at: Instant) {
        self.due.entry(key).and_modify(|due| *due = (*due).min(at)).or_insert(at);
    }

    /// Queues `key` for `at` unless it is already queued (a resync does not cut a back-off short).
    fn push_if_absent(&mut self, key: K, at: Instant) {
        self.due.entry(key).or_insert(at);
    }

    /// When the next key not in `busy` is due.
    fn next(&self, busy: &HashSet<K>) -> Option<Instant> {
        self.due.iter().filter(|(k, _)| !busy.contains(*k)).map(|(_, at)| *at).min()
    }

    /// Takes a key not in `busy` that is due at `now`, the one due first.
    fn pop_due(&mut self, now: Instant, busy: &HashSet<K>) -> Option<K> {
        let key = self
            .due
            .iter()
            .filter(|(k, at)| **at <= now && !busy.contains(*k))
            .min_by_key(|(_, at)| **at)
            .map(|(k, _)| k.clone())?;
        self.due.remove(&key);
        Some(key)
    }

    /// Records an error of `key` and answers how long to wait before trying it again.
    fn failed(&mut self, key: &K, pace: &Pace) -> Duration {
        let errors = self.errors.entry(key.clone()).or_insert(0);
        *errors = errors.saturating_add(1);
        let factor = 2u32.saturating_pow(errors.saturating_sub(1).min(16));
        pace.backoff.saturating_mul(factor).min(pace.max_backoff)
    }

    fn succeeded(&mut self, key: &K) {
        self.errors.remove(key);
    }
}

/// What one controller has done since berth started.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    /// Keys triggered by store changes (before dedupe).
    pub triggers: u64,
    /// Reconciles run.
    pub reconciles: u64,
    /// Reconciles that failed with berth's own error.
    pub errors: u64,
    /// Resyncs of every key.
    pub resyncs: u64,
    /// The same, by key.
    pub keys: BTreeMap<String, KeyCounters>,
}

/// What one key has seen.
#[derive(Debug, Default, Clone, Serialize)]
pub struct KeyCounters {
    /// Times a store change triggered it.
    pub triggers: u64,
    /// Reconciles of it.
    pub reconciles: u64,
}

/// Every controller's counters, shared with `GET /_berth/controllers`.
#[derive(Debug, Default)]
pub struct Stats(Mutex<BTreeMap<&'static str, Counters>>);

impl Stats {
    /// A copy of every controller's counters.
    #[must_use]
    pub fn snapshot(&self) -> BTreeMap<&'static str, Counters> {
        self.0.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn count(&self, name: &'static str, f: impl FnOnce(&mut Counters)) {
        if let Ok(mut all) = self.0.lock() {
            f(all.entry(name).or_default());
        }
    }
}

/// Runs `reconciler` until `shutdown` turns true (or its sender goes): reconciles keys as the
/// store's `changes` and its own `triggers` (if any) bring them, as they ask to be requeued, and
/// at each resync; then reconciles its [`Reconciler::before_stop`] keys and waits for the
/// reconciles in flight.
pub async fn run<R: Reconciler>(
    reconciler: Arc<R>,
    mut changes: broadcast::Receiver<Change>,
    mut triggers: Option<Triggers<R::Key>>,
    mut shutdown: watch::Receiver<bool>,
    pace: Pace,
    stats: Arc<Stats>,
) {
    let mut queue = Queue::new();
    let mut next_resync = Some(Instant::now());
    let mut watching = true;
    let mut flying: JoinSet<(R::Key, Outcome)> = JoinSet::new();
    let mut busy: HashSet<R::Key> = HashSet::new();
    let concurrency = pace.concurrency.max(1);
    stats.count(R::NAME, |_| {});
    loop {
        if *shutdown.borrow() {
            break;
        }
        let free = busy.len() < concurrency;
        let wake = [free.then(|| queue.next(&busy)).flatten(), next_resync].into_iter().flatten().min();
        tokio::select! {
            biased;
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            Some(done) = flying.join_next(), if !flying.is_empty() => {
                if let Ok((key, outcome)) = done {
                    busy.remove(&key);
                    settle::<R>(&mut queue, key, outcome, &pace, &stats);
                }
            }
            change = changes.recv(), if watching => match change {
                Ok(change) => {
                    let wake = reconciler.keys_of(&change);
                    trigger::<R>(&mut queue, &mut next_resync, wake, &pace, &stats);
                }
                Err(broadcast::error::RecvError::Lagged(_)) => next_resync = Some(Instant::now()),
                Err(broadcast::error::RecvError::Closed) => watching = false,
            },
            fed = next_trigger(&mut triggers), if triggers.is_some() => match fed {
                Some(Some(key)) => trigger::<R>(&mut queue, &mut next_resync, Wake::Keys(vec![key]), &pace, &stats),
                Some(None) => next_resync = Some(Instant::now()),
                None => triggers = None,
            },
            () = sleep_until(wake) => {
                let now = Instant::now();
                if next_resync.is_some_and(|at| at <= now) {
                    next_resync = pace.resync.map(|every| now + every);
                    stats.count(R::NAME, |c| c.resyncs += 1);
                    match reconciler.keys().await {
                        Ok(keys) => keys.into_iter().for_each(|key| queue.push_if_absent(key, now)),
                        Err(e) => tracing::warn!(controller = R::NAME, error = %e, "cannot list keys to resync; retrying"),
                    }
                }
                while busy.len() < concurrency
                    && !*shutdown.borrow()
                    && let Some(key) = queue.pop_due(now, &busy)
                {
                    busy.insert(key.clone());
                    flying.spawn(reconcile_one(reconciler.clone(), key));
                }
            }
        }
    }
    for key in reconciler.before_stop() {
        if busy.insert(key.clone()) {
            flying.spawn(reconcile_one(reconciler.clone(), key));
        }
    }
    while let Some(done) = flying.join_next().await {
        if let Ok((key, outcome)) = done {
            settle::<R>(&mut queue, key, outcome, &pace, &stats);
        }
    }
    tracing::debug!(controller = R::NAME, "stopped");
}

/// What one reconcile came to: its answer, or the panic it ended in.
type Outcome = std::result::Result<Result<Action>, String>;

async fn next_trigger<K>(triggers: &mut Option<Triggers<K>>) -> Option<Option<K>> {
    match triggers {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Queues the keys a trigger wakes (after the debounce), or a resync now.
fn trigger<R: Reconciler>(
    queue: &mut Queue<R::Key>,
    next_resync: &mut Option<Instant>,
    wake: Wake<R::Key>,
    pace: &Pace,
    stats: &Stats,
) {
    match wake {
        Wake::Keys(keys) => {
            stats.count(R::NAME, |c| {
                for key in &keys {
                    c.triggers += 1;
                    if R::COUNT_KEYS {
                        c.keys.entry(key.to_string()).or_default().triggers += 1;
                    }
                }
            });
            let at = Instant::now() + pace.debounce;
            for key in keys {
                queue.push(key, at);
            }
        }
        Wake::All => *next_resync = Some(Instant::now()),
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// One reconcile of `key`, on a tokio task of its own; a panic is reported as its outcome.
async fn reconcile_one<R: Reconciler>(reconciler: Arc<R>, key: R::Key) -> (R::Key, Outcome) {
    let span = tracing::info_span!("reconcile", controller = R::NAME, key = %key);
    let outcome = std::panic::AssertUnwindSafe(reconciler.reconcile(&key).instrument(span))
        .catch_unwind()
        .await
        .map_err(|panic| {
            panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default()
        });
    (key, outcome)
}

/// Counts a finished reconcile of `key` and queues what it asked for (a retry after an error).
fn settle<R: Reconciler>(queue: &mut Queue<R::Key>, key: R::Key, outcome: Outcome, pace: &Pace, stats: &Stats) {
    let failed = !matches!(outcome, Ok(Ok(_)));
    stats.count(R::NAME, |c| {
        c.reconciles += 1;
        c.errors += u64::from(failed);
        if R::COUNT_KEYS {
            c.keys.entry(key.to_string()).or_default().reconciles += 1;
        }
    });
    let error = match outcome {
        Ok(Ok(Action::Requeue(after))) => {
            queue.succeeded(&key);
            queue.push(key, Instant::now() + after);
            return;
        }
        Ok(Ok(Action::AwaitChange)) => {
            queue.succeeded(&key);
            return;
        }
        Ok(Err(e)) => e.to_string(),
        Err(panic) => format!("panicked: {panic}"),
    };
    let delay = queue.failed(&key, pace);
    tracing::warn!(controller = R::NAME, key = %key, error = %error, retry_in = ?delay, "reconcile failed");
    queue.push(key, Instant::now() + delay);
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// Counts reconciles per key; fails the first `failures` reconciles of key 13.
    #[derive(Default)]
    struct Counting {
        done: Mutex<BTreeMap<u32, u32>>,
        failures: AtomicU32,
        /// How long one reconcile takes.
        work: Duration,
        /// Reconciles in flight now, and the most seen at once.
        flying: AtomicU32,
        most: AtomicU32,
        /// Keys to reconcile before stopping.
        at_stop: Vec<u32>,
    }

    impl Reconciler for Counting {
        type Key = u32;
        const NAME: &'static str = "counting";

        /// Key 13 while it has failures to come (so that resyncs try to cut its back-off short).
        async fn keys(&self) -> Result<Vec<u32>> {
            Ok(if self.failures.load(Ordering::SeqCst) > 0 { vec![13] } else { Vec::new() })
        }

        fn keys_of(&self, change: &Change) -> Wake<u32> {
            match change {
                Change::Service { name, .. } => Wake::Keys(name.parse().into_iter().collect()),
                _ => Wake::Keys(Vec::new()),
            }
        }

        fn before_stop(&self) -> Vec<u32> {
            self.at_stop.clone()
        }

        async fn reconcile(&self, key: &u32) -> Result<Action> {
            let flying = self.flying.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(flying, Ordering::SeqCst);
            tokio::time::sleep(self.work).await;
            self.flying.fetch_sub(1, Ordering::SeqCst);
            if let Ok(mut done) = self.done.lock() {
                *done.entry(*key).or_default() += 1;
            }
            if *key == 13 && self.failures.load(Ordering::SeqCst) > 0 {
                self.failures.fetch_sub(1, Ordering::SeqCst);
                return Err(crate::error::ApiError::internal(std::io::Error::other("disk full")));
            }
            Ok(if *key == 7 { Action::Requeue(Duration::from_secs(5)) } else { Action::AwaitChange })
        }
    }

    fn service(key: u32) -> Change {
        Change::Service { region: "r".into(), cluster: "c".into(), name: key.to_string() }
    }

    fn done(r: &Counting, key: u32) -> u32 {
        r.done.lock().map(|d| d.get(&key).copied().unwrap_or(0)).unwrap_or(0)
    }

    struct Running {
        reconciler: Arc<Counting>,
        changes: broadcast::Sender<Change>,
        stop: watch::Sender<bool>,
        handle: tokio::task::JoinHandle<()>,
        stats: Arc<Stats>,
        feed: mpsc::UnboundedSender<Option<u32>>,
    }

    fn start(reconciler: Counting, pace: Pace) -> Running {
        let reconciler = Arc::new(reconciler);
        let (changes, rx) = broadcast::channel(1024);
        let (stop, stopped) = watch::channel(false);
        let (feed, triggers) = mpsc::unbounded_channel();
        let stats = Arc::new(Stats::default());
        let handle = tokio::spawn(run(reconciler.clone(), rx, Some(triggers), stopped, pace, stats.clone()));
        Running { reconciler, changes, stop, handle, stats, feed }
    }

    fn quiet() -> Pace {
        Pace { resync: None, ..Pace::default() }
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_changes_to_one_key_reconciles_it_once() {
        let running = start(Counting::default(), quiet());
        for _ in 0..100 {
            running.changes.send(service(1)).unwrap();
        }
        running.changes.send(service(2)).unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(done(&running.reconciler, 1), 1);
        assert_eq!(done(&running.reconciler, 2), 1);
        let counters = running.stats.snapshot()["counting"].clone();
        assert_eq!((counters.triggers, counters.reconciles), (101, 2));
        // A later change reconciles again: nothing is lost to the dedupe.
        running.changes.send(service(1)).unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(done(&running.reconciler, 1), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn changes_during_a_reconcile_bring_exactly_one_more() {
        let running = start(Counting { work: Duration::from_millis(500), ..Counting::default() }, quiet());
        running.changes.send(service(1)).unwrap();
        // While the first reconcile runs, fifty more changes come.
        tokio::time::sleep(Duration::from_millis(100)).await;
        for _ in 0..50 {
            running.changes.send(service(1)).unwrap();
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(done(&running.reconciler, 1), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn requeue_comes_back_after_its_delay() {
        let running = start(Counting::default(), quiet());
        running.changes.send(service(7)).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(done(&running.reconciler, 7), 1);
        tokio::time::sleep(Duration::from_millis(4800)).await;
        assert_eq!(done(&running.reconciler, 7), 1, "not before its 5 s");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(done(&running.reconciler, 7), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn errors_back_off_doubling_and_a_resync_does_not_cut_it_short() {
        let pace = Pace { resync: Some(Duration::from_millis(100)), ..Pace::default() };
        let reconciler = Counting { failures: AtomicU32::new(4), ..Counting::default() };
        let running = start(reconciler, pace);
        running.changes.send(service(13)).unwrap();
        // Tries at 20 ms, then 250, 500, 1000 ms later; the fifth (2 s later) succeeds.
        let at = |ms: u64| Duration::from_millis(ms);
        tokio::time::sleep(at(100)).await;
        assert_eq!(done(&running.reconciler, 13), 1);
        tokio::time::sleep(at(300)).await; // 400 ms
        assert_eq!(done(&running.reconciler, 13), 2);
        tokio::time::sleep(at(500)).await; // 900 ms
        assert_eq!(done(&running.reconciler, 13), 3);
        tokio::time::sleep(at(900)).await; // 1800 ms: the fourth try is due at 1770 ms
        assert_eq!(done(&running.reconciler, 13), 4);
        tokio::time::sleep(at(1900)).await; // 3700 ms: the fifth is due at 3770 ms
        assert_eq!(done(&running.reconciler, 13), 4);
        tokio::time::sleep(at(200)).await;
        assert_eq!(done(&running.reconciler, 13), 5);
        tokio::time::sleep(at(10_000)).await;
        assert_eq!(done(&running.reconciler, 13), 5, "a success ends the retries");
        assert_eq!(running.stats.snapshot()["counting"].errors, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_lets_the_reconcile_in_flight_finish() {
        let running = start(Counting { work: Duration::from_secs(2), ..Counting::default() }, quiet());
        running.changes.send(service(1)).unwrap();
        running.changes.send(service(2)).unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        running.stop.send(true).unwrap();
        running.handle.await.unwrap();
        // Key 1 was being reconciled: it finished. Key 2 was queued: it was not started.
        assert_eq!(done(&running.reconciler, 1), 1);
        assert_eq!(done(&running.reconciler, 2), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn keys_run_side_by_side_up_to_the_concurrency() {
        let pace = Pace { concurrency: 3, ..quiet() };
        let running = start(Counting { work: Duration::from_millis(500), ..Counting::default() }, pace);
        for key in 1..=5 {
            running.changes.send(service(key)).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!((1..=5).map(|k| done(&running.reconciler, k)).sum::<u32>(), 3, "three at once");
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!((1..=5).all(|k| done(&running.reconciler, k) == 1));
        assert_eq!(running.reconciler.most.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn one_key_is_never_reconciled_twice_at_once() {
        let pace = Pace { concurrency: 8, ..quiet() };
        let running = start(Counting { work: Duration::from_millis(500), ..Counting::default() }, pace);
        running.changes.send(service(1)).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Triggered again while it is reconciled, from the store and from the feed: once more,
        // after the first.
        running.changes.send(service(1)).unwrap();
        running.feed.send(Some(1)).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(running.reconciler.most.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(done(&running.reconciler, 1), 2);
        assert_eq!(running.reconciler.most.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_feed_triggers_keys_and_asks_for_resyncs() {
        let reconciler = Counting { failures: AtomicU32::new(1), ..Counting::default() };
        let running = start(reconciler, quiet());
        running.feed.send(Some(4)).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(done(&running.reconciler, 4), 1);
        // The one resync at start found key 13; a None from the feed resyncs again.
        assert_eq!(running.stats.snapshot()["counting"].resyncs, 1);
        running.feed.send(None).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(running.stats.snapshot()["counting"].resyncs, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn the_keys_owed_at_stop_are_reconciled_before_it_stops() {
        let running = start(Counting { at_stop: vec![9], ..Counting::default() }, quiet());
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(done(&running.reconciler, 9), 0);
        running.stop.send(true).unwrap();
        running.handle.await.unwrap();
        assert_eq!(done(&running.reconciler, 9), 1);
    }
}
