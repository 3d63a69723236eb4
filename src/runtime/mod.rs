//! The scheduler: drives each task's containers on Docker to the task's desired status and
//! records what it observes. One tokio task per ECS task runs [`lifecycle::drive`]; it is woken by
//! container exits (Docker's wait API) and by StopTask, never by polling.
//!
//! [`lifecycle`] takes a task through its states; [`spec`] maps its container definitions to
//! Docker container specs (pure); [`holder`] makes the containers that hold awsvpc tasks' network
//! namespaces, and [`warm`] keeps some started ahead; [`volumes`] creates a task's volumes and
//! [`dependencies`] waits for a container's dependencies before it starts.

pub mod dependencies;
pub mod holder;
pub mod lifecycle;
pub mod spec;
pub mod volumes;
pub mod warm;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tracing::Instrument;

use crate::driver::Docker;
use crate::store::{Store, TaskKey};

/// Why a task whose essential container turned UNHEALTHY stopped, as ECS says it.
pub const UNHEALTHY_REASON: &str = "Task failed container health checks";

/// One Docker engine berth runs tasks on.
#[derive(Debug)]
struct Engine {
    /// Its address (None: the local engine).
    host: Option<String>,
    /// The connection, made on first use.
    docker: tokio::sync::Mutex<Option<Docker>>,
    /// Set once berth's network is known to exist on it; held while making sure it does, since
    /// Docker lets two networks share a name and concurrent first tasks would each create one.
    network_ready: tokio::sync::Mutex<bool>,
}

/// Starts, stops and resumes tasks. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct TaskRuntime {
    store: Store,
    /// The engines, in `--docker-host` order (at least one).
    engines: Vec<Engine>,
    /// The name of berth's bridge network on each engine.
    network: String,
    /// Stop signals of the tasks being driven, by task ARN.
    stops: Mutex<HashMap<String, Arc<Notify>>>,
    /// Held from reading container instances to storing the tasks placed on them.
    placement: tokio::sync::Mutex<()>,
    /// The engines' last known liveness and when it was checked (see [`Self::engines_up`]).
    liveness: tokio::sync::Mutex<Option<(std::time::Instant, Vec<bool>)>>,
    /// This data dir's instance id (see [`Store::instance_id`]).
    instance: String,
    /// Started holders waiting for the next Fargate-like tasks (see [`warm`]).
    warm: warm::Pools,
    /// How many tasks are stopping and removing their containers now (see [`Stopping`]).
    stopping: AtomicUsize,
}

/// Counts a task as stopping while it lives: stopping berth lets such tasks finish (for a
/// while) before it removes berth's network, which their containers keep in use until removed.
struct Stopping<'a>(&'a AtomicUsize);

impl<'a> Stopping<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Stopping<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How long stopping berth waits for tasks that are stopping to finish.
const STOPPING_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// Waits while `busy` says so, for `deadline` at most, looking every 20 ms (berth is stopping).
async fn wait_while(deadline: std::time::Duration, busy: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + deadline;
    while busy() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

impl TaskRuntime {
    /// A runtime over `store`, running containers on `docker_hosts` (none: the local engine).
    /// `instance` (see [`Store::instance_id`]) names berth's Docker network; `warm_holders` is
    /// how many started holders each cluster running Fargate-like tasks keeps waiting.
    #[must_use]
    pub fn new(store: Store, docker_hosts: &[String], instance: &str, warm_holders: usize) -> Arc<Self> {
        let hosts: Vec<Option<String>> =
            if docker_hosts.is_empty() { vec![None] } else { docker_hosts.iter().cloned().map(Some).collect() };
        let engines = hosts
            .into_iter()
            .map(|host| Engine {
                host,
                docker: tokio::sync::Mutex::new(None),
                network_ready: tokio::sync::Mutex::new(false),
            })
            .collect();
        Arc::new(Self {
            store,
            engines,
            network: format!("berth-{instance}"),
            stops: Mutex::new(HashMap::new()),
            placement: tokio::sync::Mutex::new(()),
            liveness: tokio::sync::Mutex::new(None),
            instance: instance.to_owned(),
            warm: warm::Pools::new(warm_holders),
            stopping: AtomicUsize::new(0),
        })
    }

    /// How many engines berth runs tasks on.
    #[must_use]
    pub fn engine_count(&self) -> usize {
        self.engines.len()
    }

    /// Makes sure berth's network exists on engine `engine` (creating it once) and returns its
    /// name.
    ///
    /// # Errors
    /// When Docker cannot create it, or a network of that name is not berth's.
    pub async fn ensure_network(&self, engine: usize, docker: &Docker) -> crate::driver::Result<&str> {
        let Some(e) = self.engines.get(engine) else { return Ok(&self.network) };
        let mut ready = e.network_ready.lock().await;
        if !*ready {
            docker.ensure_network(&self.network, &std::collections::BTreeMap::new()).await?;
            *ready = true;
        }
        Ok(&self.network)
    }

    /// Serialises placements: held from reading the instances' free resources to storing the
    /// tasks placed on them, so two RunTasks never both take the same free memory.
    pub async fn placement_lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.placement.lock().await
    }

    /// The name of berth's Docker network.
    #[must_use]
    pub fn network(&self) -> &str {
        &self.network
    }

    /// Engine `engine`, connecting on first use (and again after a failed attempt); an index
    /// past the last engine (a data dir used with fewer `--docker-host`s) means the first.
    ///
    /// # Errors
    /// When the engine does not answer.
    pub async fn docker_at(&self, engine: usize) -> crate::driver::Result<Docker> {
        let Some(e) = self.engines.get(engine).or_else(|| self.engines.first()) else {
            return Docker::connect(None).await;
        };
        let mut slot = e.docker.lock().await;
        if let Some(docker) = slot.as_ref() {
            return Ok(docker.clone());
        }
        let docker = Docker::connect(e.host.as_deref()).await?;
        *slot = Some(docker.clone());
        Ok(docker)
    }

    /// Which engines answer, in order: asked (two seconds at most each) at most once a second,
    /// so that a dead engine slows one call a second, not every call.
    pub async fn engines_up(&self) -> Vec<bool> {
        let mut known = self.liveness.lock().await;
        if let Some((at, up)) = known.as_ref()
            && at.elapsed() < std::time::Duration::from_secs(1)
        {
            return up.clone();
        }
        let checks = (0..self.engines.len()).map(|i| async move {
            let connected = tokio::time::timeout(std::time::Duration::from_secs(2), self.docker_at(i)).await;
            match connected {
                Ok(Ok(docker)) => docker.ping().await,
                _ => false,
            }
        });
        let up = futures_util::future::join_all(checks).await;
        *known = Some((std::time::Instant::now(), up.clone()));
        up
    }

    /// The address of engine `engine`, for messages.
    #[must_use]
    pub fn docker_host_name(&self, engine: usize) -> String {
        self.engines
            .get(engine)
            .or_else(|| self.engines.first())
            .and_then(|e| e.host.clone())
            .unwrap_or_else(crate::driver::default_host)
    }

    /// Starts driving a task that was just stored with lastStatus PROVISIONING.
    pub fn spawn(self: &Arc<Self>, key: TaskKey, arn: String) {
        let stop = self.register(&arn);
        let runtime = self.clone();
        let span = tracing::info_span!("task", arn = %arn);
        tokio::spawn(
            async move {
                lifecycle::drive(&runtime, &key, &stop, None).await;
                runtime.unregister(&arn);
            }
            .instrument(span),
        );
    }

    /// Wakes the driver of a task whose desired status became STOPPED.
    pub fn signal_stop(&self, arn: &str) {
        if let Some(stop) = self.stops.lock().ok().and_then(|s| s.get(arn).cloned()) {
            stop.notify_one();
        }
    }

    /// Resumes every task a previous run of berth left unfinished: RUNNING tasks whose
    /// containers still run are watched again (same ARN, no new containers); the others are
    /// stopped with a reason.
    pub async fn resume(self: &Arc<Self>) {
        let unfinished = match self.store.unfinished_tasks().await {
            Ok(tasks) => tasks,
            Err(e) => {
                tracing::error!(error = %e, "cannot list unfinished tasks to resume");
                return;
            }
        };
        for (key, doc) in unfinished {
            let arn = doc.get("taskArn").and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
            let stop = self.register(&arn);
            let runtime = self.clone();
            let span = tracing::info_span!("task", arn = %arn, resumed = true);
            tokio::spawn(
                async move {
                    lifecycle::drive(&runtime, &key, &stop, Some(doc)).await;
                    runtime.unregister(&arn);
                }
                .instrument(span),
            );
        }
    }

    /// Stops this berth's unfinished tasks and removes their containers (`POST /_berth/reset`).
    /// Containers of other berth instances on the same engine are left alone.
    pub async fn remove_all(&self) {
        let signals: Vec<Arc<Notify>> = self.stops.lock().map(|s| s.values().cloned().collect()).unwrap_or_default();
        for stop in signals {
            stop.notify_one();
        }
        let Ok(unfinished) = self.store.unfinished_tasks().await else { return };
        for engine in 0..self.engines.len() {
            if let Ok(docker) = self.docker_at(engine).await {
                for (_, doc) in &unfinished {
                    if let Some(arn) = doc.get("taskArn").and_then(serde_json::Value::as_str) {
                        lifecycle::remove_task_containers(&docker, arn).await;
                    }
                }
            }
        }
        self.release().await;
    }

    /// Makes no more warm holders, lets tasks that are stopping finish (for
    /// [`STOPPING_DEADLINE`] at most), removes the warm holders, then berth's network when no
    /// container uses it any more. Tasks that still run keep it; a later berth on the same data
    /// dir adopts them, and finishes stopping those that had not.
    pub async fn shutdown(&self) {
        self.warm.close();
        wait_while(STOPPING_DEADLINE, || self.stopping.load(Ordering::SeqCst) > 0).await;
        self.release().await;
    }

    /// Removes the warm holders, then berth's network when no container uses it any more (berth
    /// is shutting down, or was reset).
    async fn release(&self) {
        self.clear_warm_holders().await;
        for e in &self.engines {
            let Some(docker) = e.docker.lock().await.clone() else { continue };
            *e.network_ready.lock().await = false;
            if let Err(err) = docker.remove_network(&self.network).await {
                tracing::debug!(network = %self.network, host = %docker.host(), error = %err, "network kept");
            }
        }
    }

    fn register(&self, arn: &str) -> Arc<Notify> {
        let stop = Arc::new(Notify::new());
        if let Ok(mut stops) = self.stops.lock() {
            stops.insert(arn.to_owned(), stop.clone());
        }
        stop
    }

    fn unregister(&self, arn: &str) {
        if let Ok(mut stops) = self.stops.lock() {
            stops.remove(arn);
        }
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }
}
