//! Wiring: opens the store, binds the listener, serves HTTP until shutdown, then drains
//! connections (8 s at most) and closes the store.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::controllers::runtime::Stats;
use crate::controllers::{Controllers, Settings};
use crate::error::ApiError;
use crate::protocol::{Admin, BoxFuture, Endpoint};
use crate::runtime::TaskRuntime;
use crate::services::ecs::Api;
use crate::store::Store;

/// How long open connections may take to finish after shutdown begins.
const DRAIN_DEADLINE: Duration = Duration::from_secs(8);

/// Why berth could not start. Each message is one line a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data dir could not be created.
    #[error("cannot create data dir {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The database could not be opened.
    #[error("cannot open the database in {path}: {source}")]
    Store {
        /// The directory.
        path: String,
        /// The cause.
        source: crate::store::Error,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}{}", listen_hint(source))]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}

/// Tells a newcomer at once when an engine does not answer, rather than at their first task.
async fn warn_of_missing_engines(tasks: Arc<TaskRuntime>) {
    for (engine, up) in tasks.engines_up().await.into_iter().enumerate() {
        if !up {
            tracing::warn!(
                host = %tasks.docker_host_name(engine),
                "no Docker engine answers: the API works, but tasks fail to start until one does (start dockerd, or point berth at a running engine with --docker-host)"
            );
        }
    }
}

/// What to do about an address that is taken: the usual cause is another berth, or another
/// local AWS emulator on the same default port.
fn listen_hint(source: &std::io::Error) -> &'static str {
    if source.kind() == std::io::ErrorKind::AddrInUse {
        " (another berth, or another local AWS emulator, is using it: stop it, or give berth another address with --listen or BERTH_LISTEN)"
    } else {
        ""
    }
}

/// berth's own endpoints: health, the controllers' counters, and reset of every service's state.
struct Control(Arc<Api>, Arc<Stats>);

impl Admin for Control {
    fn health(&self) -> serde_json::Value {
        serde_json::json!({
            "status": "ready",
            "version": env!("CARGO_PKG_VERSION"),
            "dockerNetwork": self.0.tasks().network(),
        })
    }

    fn controllers(&self) -> serde_json::Value {
        serde_json::to_value(self.1.snapshot()).unwrap_or_default()
    }

    fn reset(&self) -> BoxFuture<'_, Result<(), ApiError>> {
        Box::pin(self.0.reset())
    }
}

/// A started berth: store open, listener bound.
pub struct App {
    api: Arc<Api>,
    endpoint: Arc<Endpoint>,
    listener: TcpListener,
    /// The controllers, stopped with the server.
    controllers: Controllers,
    /// One-off work at start (checks, sweeps) that may still run at shutdown.
    startup: Vec<tokio::task::JoinHandle<()>>,
}

impl App {
    /// Opens the store in the data dir and binds the listen address.
    ///
    /// # Errors
    /// When the data dir, the database or the address is unusable.
    pub async fn start(config: &Config) -> Result<Self, StartError> {
        let path = config.data_dir.display().to_string();
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|source| StartError::DataDir { path: path.clone(), source })?;
        let store =
            Store::open(&config.data_dir).await.map_err(|source| StartError::Store { path: path.clone(), source })?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Listen { addr: config.listen, source })?;
        let instance = store.instance_id().await.map_err(|source| StartError::Store { path, source })?;
        let tasks = TaskRuntime::new(store.clone(), &config.docker_hosts, &instance, config.warm_holders);
        let sweeper = tasks.clone();
        let startup = vec![
            tokio::spawn(warn_of_missing_engines(tasks.clone())),
            tokio::spawn(async move { sweeper.sweep_warm_holders(true).await }),
        ];
        let api = Arc::new(Api::new(
            store,
            tasks,
            config.account_id.clone(),
            config.region.clone(),
            config.instances.clone(),
        ));
        let controllers = Controllers::start(
            &api,
            Settings {
                scale_in_after: Duration::from_secs(config.scale_in_after),
                healthy_after: Duration::from_secs(config.healthy_after),
                stopped_task_retention: Duration::from_secs(config.stopped_task_retention),
            },
        );
        let services = crate::services::all(api.clone(), api.store(), &config.account_id, &config.region);
        let control = Arc::new(Control(api.clone(), controllers.stats()));
        let endpoint = Arc::new(Endpoint::new(services, control));
        Ok(Self { api, endpoint, listener, controllers, startup })
    }

    /// The address actually bound (useful with port 0).
    ///
    /// # Errors
    /// If the OS cannot say.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then drains connections and closes the store.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let graceful = GracefulShutdown::new();
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(conn) => conn,
                        Err(e) => {
                            // Out of file descriptors and the like: back off instead of spinning.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let endpoint = self.endpoint.clone();
                    let service = service_fn(move |req| crate::protocol::serve(endpoint.clone(), req));
                    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(%peer, error = %e, "connection ended with an error");
                        }
                    });
                }
                () = &mut shutdown => break,
            }
        }
        tracing::info!("shutting down");
        drop(self.listener);
        if tokio::time::timeout(DRAIN_DEADLINE, graceful.shutdown()).await.is_err() {
            tracing::warn!("connections still open after {DRAIN_DEADLINE:?}; closing them");
        }
        // Stop the background work and wait until it has, so none of it runs on a closed store:
        // the controllers finish the reconcile in flight; start-up checks are cut short.
        self.controllers.stop().await;
        for check in self.startup {
            check.abort();
            let _ = check.await;
        }
        self.api.tasks().shutdown().await;
        self.api.store().close().await;
    }
}
