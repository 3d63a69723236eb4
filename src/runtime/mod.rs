//! The task runtime: drives each task's containers on Docker to the task's desired status and
//! records what it observes. The tasks controller ([`crate::controllers::tasks`]) runs
//! [`lifecycle::reconcile`] for a task when the task changes in the store (RunTask stored it,
//! StopTask asked it to stop) and when Docker reports one of its containers ending or changing
//! health ([`TaskRuntime::follow_events`] feeds those to it); never by polling.
//!
//! [`lifecycle`] takes a task through its states; [`spec`] maps its container definitions to
//! Docker container specs (pure); [`holder`] makes the containers that hold awsvpc tasks' network
//! namespaces, and [`warm`] keeps some started ahead; [`volumes`] creates a task's volumes and
//! [`dependencies`] waits for a container's dependencies before it starts; `task` holds what
//! those share (a task's running containers, why it failed).

mod awslogs;
pub mod dependencies;
pub mod holder;
pub mod lifecycle;
mod secrets;
pub mod spec;
mod task;
pub mod volumes;
pub mod warm;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use tokio::sync::{Notify, mpsc, watch};

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
    /// Stop signals of the tasks being started now, by task id (a StopTask ends a start's wait
    /// for a container's dependencies).
    stops: Mutex<HashMap<String, Arc<Notify>>>,
    /// Ids of the tasks launched by this berth and not started yet (see [`Self::will_start`]).
    to_start: Mutex<HashSet<String>>,
    /// Tasks whose desired status became STOPPED in this berth and that have not stopped yet.
    stop_requested: Mutex<HashSet<TaskKey>>,
    /// Ids of the tasks whose Docker engine did not answer when last looked at.
    lost: Mutex<HashSet<String>>,
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
            to_start: Mutex::new(HashSet::new()),
            lost: Mutex::new(HashSet::new()),
            stop_requested: Mutex::new(HashSet::new()),
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

    /// The tasks of `ids` are about to be stored PROVISIONING by a launch of this berth (not
    /// waiting for capacity): the tasks controller starts them once they are. Called before
    /// the write, so that the change it brings finds them handed over.
    pub fn will_start<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        lock(&self.to_start).extend(ids.into_iter().map(str::to_owned));
    }

    /// The tasks of `ids`, handed over by [`Self::will_start`], were not stored after all.
    pub fn forget_starts<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let mut to_start = lock(&self.to_start);
        for id in ids {
            to_start.remove(id);
        }
    }

    /// True once for a task to start (see [`Self::will_start`]).
    fn take_start(&self, id: &str) -> bool {
        lock(&self.to_start).remove(id)
    }

    /// The task `id` will not be started (it is stopping or gone): nor will the warm holder it
    /// may have taken wait for it.
    fn forget_start(&self, id: &str) {
        lock(&self.to_start).remove(id);
        self.warm.claimed(id);
    }

    /// Records that task `id`'s engine does not answer; true the first time.
    fn engine_lost(&self, id: &str) -> bool {
        lock(&self.lost).insert(id.to_owned())
    }

    /// Task `id`'s engine answers.
    fn engine_back(&self, id: &str) {
        lock(&self.lost).remove(id);
    }

    /// The desired status of task `arn` became STOPPED: ends a start's wait for its containers'
    /// dependencies (the store's change brings the task to the tasks controller once the start
    /// is over), and counts the task among those berth stops before it exits.
    pub fn signal_stop(&self, arn: &str) {
        let Some(key) = task_key(arn) else { return };
        if let Some(stop) = lock(&self.stops).get(&key.id).cloned() {
            stop.notify_one();
        }
        lock(&self.stop_requested).insert(key);
    }

    /// The tasks asked to stop that have not stopped yet (see [`Self::signal_stop`]).
    #[must_use]
    pub fn stops_requested(&self) -> Vec<TaskKey> {
        lock(&self.stop_requested).iter().cloned().collect()
    }

    /// Task `key` stopped, or is gone.
    fn stopped(&self, key: &TaskKey) {
        lock(&self.stop_requested).remove(key);
    }

    /// Feeds `feed` with the tasks whose containers on engine `engine` end or change health,
    /// as Docker's event stream reports them, until `shutdown` turns true: a trigger source of
    /// the tasks controller (as the store's change feed is). When the engine stops answering,
    /// it connects again every two seconds, asks for the events it missed, and sends None
    /// (resync every task).
    pub async fn follow_events(
        self: Arc<Self>,
        engine: usize,
        feed: mpsc::UnboundedSender<Option<TaskKey>>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut since = unix_now();
        let mut reconnect = false;
        while !*shutdown.borrow() {
            let docker = match self.docker_at(engine).await {
                Ok(docker) if docker.ping().await => Some(docker),
                _ => None,
            };
            if let Some(docker) = docker {
                if reconnect && feed.send(None).is_err() {
                    return;
                }
                reconnect = true;
                let mut events = Box::pin(docker.container_events(since));
                loop {
                    let event = tokio::select! {
                        _ = shutdown.changed() => return,
                        event = events.next() => event,
                    };
                    match event {
                        Some(Ok(event)) => {
                            since = since.max(event.time);
                            let key = event.attributes.get(spec::LABEL_TASK).and_then(|arn| task_key(arn));
                            if let Some(key) = key
                                && feed.send(Some(key)).is_err()
                            {
                                return;
                            }
                        }
                        Some(Err(e)) => {
                            tracing::debug!(host = %docker.host(), error = %e, "Docker's event stream ended");
                            break;
                        }
                        None => break,
                    }
                }
            }
            tokio::select! {
                _ = shutdown.changed() => return,
                () = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
            }
        }
    }

    /// Stops this berth's unfinished tasks and removes their containers (`POST /_berth/reset`).
    /// Containers of other berth instances on the same engine are left alone.
    pub async fn remove_all(&self) {
        // No task waiting to start starts any more; those starting are told to stop.
        lock(&self.to_start).clear();
        let signals: Vec<Arc<Notify>> = lock(&self.stops).values().cloned().collect();
        for stop in signals {
            stop.notify_one();
        }
        // Starts in flight create containers until they see the signal: wait for them to end.
        wait_while(STOPPING_DEADLINE, || !lock(&self.stops).is_empty()).await;
        let Ok(unfinished) = self.store.unfinished_tasks().await else { return };
        for engine in 0..self.engines.len() {
            if let Ok(docker) = self.docker_at(engine).await {
                for (_, arn) in &unfinished {
                    lifecycle::remove_task_containers(&docker, arn).await;
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

    fn register(&self, id: &str) -> Arc<Notify> {
        let stop = Arc::new(Notify::new());
        lock(&self.stops).insert(id.to_owned(), stop.clone());
        stop
    }

    fn unregister(&self, id: &str) {
        lock(&self.stops).remove(id);
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// Locks `m`; the sets it guards stay consistent even if a holder of the lock panicked.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Now, in unix seconds.
fn unix_now() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(now.as_secs()).unwrap_or(i64::MAX)
}

/// The task an ARN names (`arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID`).
fn task_key(arn: &str) -> Option<TaskKey> {
    let arn = crate::domain::arn::Arn::parse(arn).filter(|a| a.service == "ecs" && a.resource_type == "task")?;
    let (cluster, id) = arn.resource_id.split_once('/')?;
    Some(TaskKey { region: arn.region.to_owned(), cluster: cluster.to_owned(), id: id.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_keys_come_from_task_arns_only() {
        let key = task_key("arn:aws:ecs:eu-west-1:123456789012:task/prod/0123abcd").unwrap();
        assert_eq!((key.region.as_str(), key.cluster.as_str(), key.id.as_str()), ("eu-west-1", "prod", "0123abcd"));
        assert_eq!(task_key("arn:aws:ecs:eu-west-1:123456789012:task/0123abcd"), None);
        assert_eq!(task_key("arn:aws:ecs:eu-west-1:123456789012:service/prod/web"), None);
        assert_eq!(task_key("not an arn"), None);
    }
}
