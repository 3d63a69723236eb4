//! The scheduler: drives each task's containers on Docker to the task's desired status and
//! records what it observes. One tokio task per ECS task runs [`task::drive`]; it is woken by
//! container exits (Docker's wait API) and by StopTask, never by polling.

pub mod task;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tracing::Instrument;

use crate::driver::Docker;
use crate::store::{Store, TaskKey};

/// Starts, stops and resumes tasks. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct TaskRuntime {
    store: Store,
    docker_host: Option<String>,
    docker: tokio::sync::Mutex<Option<Docker>>,
    /// The name of berth's bridge network on the engine, where each awsvpc task gets its address.
    network: String,
    /// Stop signals of the tasks being driven, by task ARN.
    stops: Mutex<HashMap<String, Arc<Notify>>>,
    /// Held from reading container instances to storing the tasks placed on them.
    placement: tokio::sync::Mutex<()>,
    /// Set once berth's network is known to exist; held while making sure it does, since Docker
    /// lets two networks share a name and concurrent first tasks would each create one.
    network_ready: tokio::sync::Mutex<bool>,
}

impl TaskRuntime {
    /// A runtime over `store`, running containers on `docker_host` (None: the local engine).
    /// `instance` (see [`Store::instance_id`]) names berth's Docker network.
    #[must_use]
    pub fn new(store: Store, docker_host: Option<String>, instance: &str) -> Arc<Self> {
        Arc::new(Self {
            store,
            docker_host,
            docker: tokio::sync::Mutex::new(None),
            network: format!("berth-{instance}"),
            stops: Mutex::new(HashMap::new()),
            placement: tokio::sync::Mutex::new(()),
            network_ready: tokio::sync::Mutex::new(false),
        })
    }

    /// Makes sure berth's network exists on the engine (creating it once) and returns its name.
    ///
    /// # Errors
    /// When Docker cannot create it, or a network of that name is not berth's.
    pub async fn ensure_network(&self, docker: &Docker) -> crate::driver::Result<&str> {
        let mut ready = self.network_ready.lock().await;
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

    /// The engine, connecting on first use (and again after a failed attempt).
    ///
    /// # Errors
    /// When the engine does not answer.
    pub async fn docker(&self) -> crate::driver::Result<Docker> {
        let mut slot = self.docker.lock().await;
        if let Some(docker) = slot.as_ref() {
            return Ok(docker.clone());
        }
        let docker = Docker::connect(self.docker_host.as_deref()).await?;
        *slot = Some(docker.clone());
        Ok(docker)
    }

    /// The address of the engine berth uses, for messages.
    #[must_use]
    pub fn docker_host_name(&self) -> String {
        self.docker_host.clone().unwrap_or_else(crate::driver::default_host)
    }

    /// Starts driving a task that was just stored with lastStatus PROVISIONING.
    pub fn spawn(self: &Arc<Self>, key: TaskKey, arn: String) {
        let stop = self.register(&arn);
        let runtime = self.clone();
        let span = tracing::info_span!("task", arn = %arn);
        tokio::spawn(
            async move {
                task::drive(&runtime, &key, &stop, None).await;
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
                    task::drive(&runtime, &key, &stop, Some(doc)).await;
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
        if let Ok(docker) = self.docker().await {
            for (_, doc) in unfinished {
                if let Some(arn) = doc.get("taskArn").and_then(serde_json::Value::as_str) {
                    task::remove_task_containers(&docker, arn).await;
                }
            }
        }
        self.shutdown().await;
    }

    /// Forgets stopped tasks once they have been stopped for `retention`, checking a few times
    /// per retention period (at most every minute). Runs until its task is aborted.
    pub async fn expire_stopped(self: Arc<Self>, retention: std::time::Duration) {
        let period = (retention / 4).clamp(std::time::Duration::from_millis(250), std::time::Duration::from_secs(60));
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let cutoff = crate::domain::now() - retention.as_secs_f64();
            match self.store.expire_stopped_tasks(cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(tasks = n, "forgot stopped tasks"),
                Err(e) => tracing::warn!(error = %e, "cannot expire stopped tasks"),
            }
        }
    }

    /// Removes berth's network when no container uses it any more (berth is shutting down, or
    /// was reset). Tasks that still run keep it; a later berth on the same data dir adopts them.
    pub async fn shutdown(&self) {
        let Some(docker) = self.docker.lock().await.clone() else { return };
        *self.network_ready.lock().await = false;
        if let Err(e) = docker.remove_network(&self.network).await {
            tracing::debug!(network = %self.network, error = %e, "network kept");
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
