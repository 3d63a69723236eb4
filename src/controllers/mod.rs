//! The controllers: berth's background work, each a [`runtime::Reconciler`] on the one
//! [`runtime`] (keyed queue with dedupe, back-off, resync, graceful shutdown).
//!
//! - [`services`]: the ECS service scheduler (replicas, DAEMON, rolling updates, the circuit
//!   breaker, task sets), keyed by service.
//! - [`capacity`]: cluster auto scaling of Auto Scaling group capacity providers, keyed by
//!   cluster.
//! - [`daemons`]: ECS Managed Daemons (a task on each Managed Instances instance, instance
//!   replacement, deployments), keyed by cluster.
//! - [`expiry`]: forgetting stopped tasks after `--stopped-task-retention`.
//! - [`log_shipping`]: awslogs containers' output followed into CloudWatch Logs, exactly once.
//! - [`log_retention`]: deleting CloudWatch Logs events older than their group's retention.
//! - [`warm`]: the warm holders each cluster running Fargate-like tasks keeps, keyed by cluster.
//! - [`tasks`]: each task's lifecycle on Docker, keyed by task; also woken by Docker's container
//!   events, fed by one follower per engine (a trigger source, as the store's change feed is).
//!
//! Woken by the store's after-commit notifications ([`crate::store::Change`]): handlers write
//! desired state and return; a controller reads it back and makes it so, through the same
//! launch path as RunTask. Controllers may call the store, the task runtime and the ECS
//! service's internal API (launch, placement, capacity providers); nothing calls them but
//! [`crate::app`].
//!
//! Not on this runtime, and why:
//! - The store's group commit of task definition registrations is part of the store's write
//!   path (it answers the requests waiting on it), and ends when the store closes.

pub mod capacity;
pub mod daemons;
pub mod expiry;
pub mod log_retention;
pub mod log_shipping;
mod rollout;
pub mod runtime;
mod service_plan;
pub mod services;
mod task_sets;
pub mod tasks;
pub mod warm;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::services::ecs::Api;
use runtime::{Pace, Reconciler, Stats};

/// A cluster, as the key of a reconcile.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClusterKey {
    /// Its region.
    pub region: String,
    /// Its name.
    pub cluster: String,
}

impl ClusterKey {
    fn new(region: &str, cluster: &str) -> Self {
        Self { region: region.to_owned(), cluster: cluster.to_owned() }
    }
}

impl fmt::Display for ClusterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.region, self.cluster)
    }
}

/// A service, as the key of a reconcile.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceKey {
    /// Its region.
    pub region: String,
    /// Its cluster's name.
    pub cluster: String,
    /// Its name.
    pub name: String,
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.region, self.cluster, self.name)
    }
}

/// The one key of a controller that looks at everything at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Everything;

impl fmt::Display for Everything {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("all")
    }
}

/// What the controllers are told at start.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long a scaled group's instance stays empty before it goes.
    pub scale_in_after: Duration,
    /// How long a task without health checks runs before a deployment counts it healthy.
    pub healthy_after: Duration,
    /// How long stopped tasks stay listed.
    pub stopped_task_retention: Duration,
}

/// How long stopping berth waits for a controller's reconcile in flight.
const STOP_DEADLINE: Duration = Duration::from_secs(10);

/// The running controllers.
pub struct Controllers {
    shutdown: watch::Sender<bool>,
    handles: Vec<(&'static str, tokio::task::JoinHandle<()>)>,
    stats: Arc<Stats>,
}

impl Controllers {
    /// Starts every controller over `api`.
    #[must_use]
    pub fn start(api: &Arc<Api>, settings: Settings) -> Self {
        let (shutdown, _) = watch::channel(false);
        let stats = Arc::new(Stats::default());
        let mut this = Self { shutdown, handles: Vec::new(), stats };
        let store = api.store();
        // Task changes of a service come in bursts (ten tasks starting are some sixty changes
        // over a second or so): a longer debounce lets one reconcile take in more of them.
        let services_pace = Pace { debounce: Duration::from_millis(100), ..Pace::default() };
        this.spawn(store, services::Services::new(api.clone(), settings.healthy_after), services_pace);
        this.spawn(store, capacity::Capacity::new(api.clone(), settings.scale_in_after), Pace::default());
        this.spawn(store, daemons::Daemons::new(api.clone()), Pace::default());
        let expiry = expiry::StoppedTasks::new(store.clone(), settings.stopped_task_retention);
        let every = expiry.period();
        this.spawn(store, expiry, Pace { resync: Some(every), ..Pace::default() });
        let shipping = log_shipping::LogShipping::new(api.tasks_handle());
        this.spawn(store, shipping, Pace { resync: Some(log_shipping::PERIOD), ..Pace::default() });
        let retention = log_retention::LogRetention::new(store.clone());
        this.spawn(store, retention, Pace { resync: Some(log_retention::PERIOD), ..Pace::default() });
        let warm = warm::WarmHolders::new(api.tasks_handle());
        this.spawn(store, warm, Pace { resync: Some(Duration::from_secs(10)), ..Pace::default() });
        // The tasks controller, fed by the store and by Docker's events of every engine.
        let runtime = api.tasks_handle();
        let (feed, events) = tokio::sync::mpsc::unbounded_channel();
        for engine in 0..runtime.engine_count() {
            let follow = runtime.clone().follow_events(engine, feed.clone(), this.shutdown.subscribe());
            this.handles.push(("docker-events", tokio::spawn(follow)));
        }
        this.spawn_fed(store, tasks::Tasks::new(runtime), tasks::PACE, Some(events));
        this
    }

    fn spawn<R: Reconciler>(&mut self, store: &crate::store::Store, reconciler: R, pace: Pace) {
        self.spawn_fed(store, reconciler, pace, None);
    }

    /// Starts `reconciler`, woken by the store's changes and by `feed`.
    fn spawn_fed<R: Reconciler>(
        &mut self,
        store: &crate::store::Store,
        reconciler: R,
        pace: Pace,
        feed: Option<runtime::Triggers<R::Key>>,
    ) {
        let changes = store.watch();
        let shutdown = self.shutdown.subscribe();
        let run = runtime::run(Arc::new(reconciler), changes, feed, shutdown, pace, self.stats.clone());
        self.handles.push((R::NAME, tokio::spawn(run)));
    }

    /// Every controller's counters.
    #[must_use]
    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    /// Tells every controller to stop and waits for them: a reconcile in flight finishes (for
    /// [`STOP_DEADLINE`] at most), none is started.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for (name, handle) in self.handles {
            let abort = handle.abort_handle();
            if tokio::time::timeout(STOP_DEADLINE, handle).await.is_err() {
                tracing::warn!(controller = name, "still reconciling after {STOP_DEADLINE:?}; stopped");
                abort.abort();
            }
        }
    }
}
