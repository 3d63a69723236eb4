//! After-commit notifications: each write that commits tells whoever watches what it changed,
//! so that the controllers wake for exactly the resources a change concerns. A notification is
//! a hint, never the state: a controller reads the store again (level-triggered), and one that
//! falls behind the feed resyncs everything instead of missing a change.

use tokio::sync::broadcast;

/// What a committed write changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A task was stored or changed; `service` is the service it belongs to, if any.
    Task {
        /// Its region.
        region: String,
        /// Its cluster's name.
        cluster: String,
        /// Its id.
        id: String,
        /// The service it belongs to (a task set's service too).
        service: Option<String>,
        /// True while it waits in PROVISIONING for capacity.
        awaiting: bool,
    },
    /// A service, its deployments or its task sets changed.
    Service {
        /// Its region.
        region: String,
        /// Its cluster's name.
        cluster: String,
        /// Its name.
        name: String,
    },
    /// A cluster, its container instances or its capacity providers changed.
    Cluster {
        /// Its region.
        region: String,
        /// Its name.
        cluster: String,
    },
    /// A log group's retention changed.
    LogGroup {
        /// Its region.
        region: String,
        /// Its name.
        name: String,
    },
    /// Anything may have changed (a capacity provider several clusters use, a reset).
    All,
}

/// Notifications a watcher may fall behind by before it must resync.
const BACKLOG: usize = 4096;

/// The sending side of the feed; cheap to clone.
#[derive(Debug, Clone)]
pub struct Changes(broadcast::Sender<Change>);

impl Default for Changes {
    fn default() -> Self {
        Self(broadcast::channel(BACKLOG).0)
    }
}

impl Changes {
    /// Tells every watcher of a committed change (nobody watching is fine).
    pub fn send(&self, change: Change) {
        let _ = self.0.send(change);
    }

    /// A new watcher, told of every change committed from now on.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.0.subscribe()
    }
}
