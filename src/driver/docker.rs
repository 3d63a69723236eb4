//! The Docker engine through bollard: one [`Docker`] per engine berth manages.

use std::collections::{BTreeMap, HashMap};

use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, DeviceMapping, HostConfig, MountType, NetworkCreateRequest,
    ResourcesUlimits, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, EventsOptions, InspectContainerOptions, InspectNetworkOptions,
    ListContainersOptions, ListVolumesOptions, LogsOptions, RemoveContainerOptions, RemoveVolumeOptions,
    StopContainerOptions, WaitContainerOptions,
};
use bytes::Bytes;
use futures_util::TryStreamExt;

use super::{
    ContainerSpec, ContainerState, Error, LABEL_MANAGED, MountKind, NetworkAttachment, PortBinding, Protocol, Result,
    VolumeSpec,
};

/// Seconds bollard waits for an answer; container stops pass their own, longer, timeouts.
const TIMEOUT_SECS: u64 = 120;

/// A connection to one Docker engine.
#[derive(Debug, Clone)]
pub struct Docker {
    client: bollard::Docker,
    host: String,
}

impl Docker {
    /// Connects to the engine at `host` (`unix:///path`, `tcp://host:port`, `http://...`), or
    /// with None to the local one (`DOCKER_HOST` or the standard socket), and negotiates the API
    /// version so that engines from Docker 20.10 on work.
    ///
    /// # Errors
    /// `Unavailable` when the engine does not answer.
    pub async fn connect(host: Option<&str>) -> Result<Self> {
        let name = host.map_or_else(default_host, str::to_owned);
        let unavailable = |e: BollardError| Error::Unavailable { host: name.clone(), message: e.to_string() };
        let client = match host {
            None => bollard::Docker::connect_with_local_defaults(),
            Some(h) if h.starts_with("unix://") => {
                bollard::Docker::connect_with_unix(h, TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
            }
            Some(h) => bollard::Docker::connect_with_http(h, TIMEOUT_SECS, bollard::API_DEFAULT_VERSION),
        }
        .map_err(unavailable)?;
        let client = client.negotiate_version().await.map_err(unavailable)?;
        Ok(Self { client, host: name })
    }

    /// The engine's address, as berth names it in messages.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    fn error(&self, e: BollardError) -> Error {
        match e {
            BollardError::DockerResponseServerError { status_code: 404, message } => Error::NotFound(message),
            BollardError::DockerResponseServerError { status_code: 409, message } => Error::Conflict(message),
            BollardError::DockerResponseServerError { status_code, message } if status_code < 500 => {
                Error::Refused { status: status_code, message }
            }
            BollardError::DockerResponseServerError { status_code, message } => {
                Error::Other(format!("{status_code}: {message}"))
            }
            e @ (BollardError::IOError { .. }
            | BollardError::HyperResponseError { .. }
            | BollardError::HyperLegacyError { .. }
            | BollardError::RequestTimeoutError
            | BollardError::SocketNotFoundError(_)) => {
                Error::Unavailable { host: self.host.clone(), message: e.to_string() }
            }
            e => Error::Other(e.to_string()),
        }
    }

    /// The engine's version and CPU architecture (Docker's names: `amd64`, `arm64`).
    ///
    /// # Errors
    /// When the engine does not answer.
    pub async fn version(&self) -> Result<(String, String)> {
        let v = self.client.version().await.map_err(|e| self.error(e))?;
        Ok((v.version.unwrap_or_default(), v.arch.unwrap_or_default()))
    }

    /// True if the engine answers a ping within two seconds.
    pub async fn ping(&self) -> bool {
        matches!(tokio::time::timeout(std::time::Duration::from_secs(2), self.client.ping()).await, Ok(Ok(_)))
    }

    /// The id of berth's bridge network `name`, creating it (with `labels`) if missing. A network
    /// of that name that berth did not create is left alone: that is a `Conflict`.
    ///
    /// # Errors
    /// `Conflict` for a foreign network of that name; engine failures.
    pub async fn ensure_network(&self, name: &str, labels: &BTreeMap<String, String>) -> Result<String> {
        match self.client.inspect_network(name, None::<InspectNetworkOptions>).await {
            Ok(network) => {
                let ours = network.labels.as_ref().is_some_and(|l| l.get(LABEL_MANAGED).is_some_and(|v| v == "true"));
                if ours {
                    return Ok(network.id.unwrap_or_default());
                }
                return Err(Error::Conflict(format!("a network called {name} exists and is not berth's")));
            }
            Err(e) => match self.error(e) {
                Error::NotFound(_) => {}
                other => return Err(other),
            },
        }
        let request = NetworkCreateRequest {
            name: name.to_owned(),
            driver: Some("bridge".to_owned()),
            labels: Some(managed_labels(labels)),
            ..Default::default()
        };
        match self.client.create_network(request).await {
            Ok(created) => Ok(created.id),
            // Created meanwhile by another call: use that one.
            Err(e) => match self.error(e) {
                Error::Conflict(_) => Box::pin(self.ensure_network(name, labels)).await,
                other => Err(other),
            },
        }
    }

    /// Removes berth's network `name` (absent is fine; a foreign one is left alone).
    ///
    /// # Errors
    /// Engine failures, or `Conflict` while containers still use it.
    pub async fn remove_network(&self, name: &str) -> Result<()> {
        match self.client.inspect_network(name, None::<InspectNetworkOptions>).await {
            Ok(network) if network.labels.as_ref().is_some_and(|l| l.contains_key(LABEL_MANAGED)) => {}
            Ok(_) => return Ok(()),
            Err(e) => {
                return match self.error(e) {
                    Error::NotFound(_) => Ok(()),
                    other => Err(other),
                };
            }
        }
        match self.client.remove_network(name).await {
            Ok(()) => Ok(()),
            Err(e) => match self.error(e) {
                Error::NotFound(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    /// Makes sure the holder image ([`super::holder::IMAGE`]) exists, importing it from the root
    /// file system berth builds when it does not.
    ///
    /// # Errors
    /// When the engine's architecture has no holder executable, or the import fails.
    pub async fn ensure_holder_image(&self) -> Result<()> {
        if self.client.inspect_image(super::holder::IMAGE).await.is_ok() {
            return Ok(());
        }
        let (_, arch) = self.version().await?;
        let root_fs = super::holder::root_fs(&arch)?;
        let (repo, tag) = super::holder::IMAGE.split_once(':').unwrap_or((super::holder::IMAGE, "latest"));
        let options = CreateImageOptions {
            from_src: Some("-".to_owned()),
            repo: Some(repo.to_owned()),
            tag: Some(tag.to_owned()),
            changes: vec![
                format!("ENTRYPOINT [\"{}\"]", super::holder::ENTRYPOINT),
                format!("LABEL {LABEL_MANAGED}=true"),
            ],
            ..Default::default()
        };
        let body = bollard::body_full(Bytes::from(root_fs));
        self.client
            .create_image(Some(options), Some(body), None)
            .try_collect::<Vec<_>>()
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// True if the image is on the engine.
    ///
    /// # Errors
    /// Engine failures other than "no such image".
    pub async fn has_image(&self, image: &str) -> Result<bool> {
        Ok(self.image_digest(image).await?.is_some())
    }

    /// The digest of an image on the engine, None when it is not there: its registry manifest
    /// digest when it came from a registry, else its local id (both `sha256:...`).
    ///
    /// # Errors
    /// Engine failures other than "no such image".
    pub async fn image_digest(&self, image: &str) -> Result<Option<String>> {
        match self.client.inspect_image(image).await {
            Ok(inspected) => {
                let from_registry = inspected
                    .repo_digests
                    .unwrap_or_default()
                    .into_iter()
                    .find_map(|d| d.split_once('@').map(|(_, digest)| digest.to_owned()));
                Ok(Some(from_registry.or(inspected.id).unwrap_or_default()))
            }
            Err(e) => match self.error(e) {
                Error::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    /// Creates berth's volume `spec.name` unless it exists. An existing volume is used as it is,
    /// whoever made it (as the ECS agent does for shared volumes).
    ///
    /// # Errors
    /// Engine failures, or a driver Docker does not have.
    pub async fn ensure_volume(&self, spec: &VolumeSpec) -> Result<()> {
        if self.volume_exists(&spec.name).await? {
            return Ok(());
        }
        let request = VolumeCreateRequest {
            name: Some(spec.name.clone()),
            driver: spec.driver.clone(),
            driver_opts: Some(spec.driver_opts.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            labels: Some(managed_labels(&spec.labels)),
            ..Default::default()
        };
        self.client.create_volume(request).await.map_err(|e| self.error(e))?;
        Ok(())
    }

    /// True if a volume of that name exists (berth's or not).
    ///
    /// # Errors
    /// Engine failures.
    pub async fn volume_exists(&self, name: &str) -> Result<bool> {
        match self.client.inspect_volume(name).await {
            Ok(_) => Ok(true),
            Err(e) => match self.error(e) {
                Error::NotFound(_) => Ok(false),
                other => Err(other),
            },
        }
    }

    /// Removes every volume berth created that carries all of `labels`; volumes still in use
    /// are left (and logged).
    ///
    /// # Errors
    /// Engine failures listing the volumes.
    pub async fn remove_volumes(&self, labels: &BTreeMap<String, String>) -> Result<()> {
        let mut filter = vec![format!("{LABEL_MANAGED}=true")];
        filter.extend(labels.iter().map(|(k, v)| format!("{k}={v}")));
        let options = ListVolumesOptions { filters: Some(HashMap::from([("label".to_owned(), filter)])) };
        let listed = self.client.list_volumes(Some(options)).await.map_err(|e| self.error(e))?;
        for volume in listed.volumes.unwrap_or_default() {
            if let Err(e) = self.client.remove_volume(&volume.name, None::<RemoveVolumeOptions>).await {
                tracing::warn!(volume = %volume.name, error = %self.error(e), "cannot remove a volume");
            }
        }
        Ok(())
    }

    /// The lines container `id` writes on stdout and stderr from second `since_secs` on, in the
    /// order Docker recorded them; with `follow`, the stream goes on while the container runs and
    /// ends when it stops.
    pub fn logs(
        &self,
        id: &str,
        since_secs: i64,
        follow: bool,
    ) -> impl futures_util::Stream<Item = Result<super::LogLine>> + Send + 'static {
        let options = LogsOptions {
            follow,
            stdout: true,
            stderr: true,
            since: i32::try_from(since_secs).unwrap_or(i32::MAX),
            timestamps: true,
            ..Default::default()
        };
        let this = self.clone();
        self.client.logs(id, Some(options)).map_err(move |e| this.error(e)).try_filter_map(|output| {
            let bytes = output.into_bytes();
            futures_util::future::ready(Ok(super::log_line::parse(&bytes)))
        })
    }

    /// Creates a container (not started) and returns its id.
    ///
    /// # Errors
    /// `Conflict` if the name is taken; `Refused`/`NotFound` for a bad spec or a missing image.
    pub async fn create(&self, spec: &ContainerSpec) -> Result<String> {
        let mut port_bindings = HashMap::new();
        let mut exposed = Vec::new();
        for p in &spec.ports {
            let key = format!("{}/{}", p.container_port, p.protocol.as_str());
            exposed.push(key.clone());
            port_bindings.insert(
                key,
                Some(vec![bollard::models::PortBinding {
                    host_ip: Some(p.host_ip.clone()),
                    host_port: Some(p.host_port.map(|h| h.to_string()).unwrap_or_default()),
                }]),
            );
        }
        let network_mode = spec.network.as_ref().map(|n| match n {
            NetworkAttachment::Bridge(name) => name.clone(),
            NetworkAttachment::Container(id) => format!("container:{id}"),
            NetworkAttachment::Host => "host".to_owned(),
            NetworkAttachment::None => "none".to_owned(),
        });
        let mib = |m: i64| m.saturating_mul(1024 * 1024);
        let some = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        let host_config = HostConfig {
            network_mode,
            port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
            memory: spec.memory_mib.map(mib),
            memory_reservation: spec.memory_reservation_mib.map(mib),
            cpu_shares: spec.cpu_shares,
            nano_cpus: spec.nano_cpus,
            init: spec.init.then_some(true),
            mounts: (!spec.mounts.is_empty()).then(|| {
                spec.mounts
                    .iter()
                    .map(|m| bollard::models::Mount {
                        typ: Some(match m.kind {
                            MountKind::Bind => MountType::BIND,
                            MountKind::Volume => MountType::VOLUME,
                        }),
                        source: Some(m.source.clone()),
                        target: Some(m.target.clone()),
                        read_only: Some(m.read_only),
                        ..Default::default()
                    })
                    .collect()
            }),
            volumes_from: some(&spec.volumes_from),
            ulimits: (!spec.ulimits.is_empty()).then(|| {
                spec.ulimits
                    .iter()
                    .map(|u| ResourcesUlimits { name: Some(u.name.clone()), soft: Some(u.soft), hard: Some(u.hard) })
                    .collect()
            }),
            cap_add: some(&spec.cap_add),
            cap_drop: some(&spec.cap_drop),
            devices: (!spec.devices.is_empty()).then(|| {
                spec.devices
                    .iter()
                    .map(|d| DeviceMapping {
                        path_on_host: Some(d.host_path.clone()),
                        path_in_container: Some(d.container_path.clone().unwrap_or_else(|| d.host_path.clone())),
                        cgroup_permissions: Some(d.permissions.clone()),
                    })
                    .collect()
            }),
            tmpfs: (!spec.tmpfs.is_empty()).then(|| spec.tmpfs.iter().cloned().collect()),
            shm_size: spec.shm_size_mib.map(mib),
            readonly_rootfs: spec.read_only_root.then_some(true),
            privileged: spec.privileged.then_some(true),
            extra_hosts: some(&spec.extra_hosts),
            dns: some(&spec.dns),
            dns_search: some(&spec.dns_search),
            sysctls: (!spec.sysctls.is_empty()).then(|| spec.sysctls.iter().cloned().collect()),
            log_config: spec.log_driver.as_ref().map(|(driver, options)| bollard::models::HostConfigLogConfig {
                typ: Some(driver.clone()),
                config: Some(options.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            }),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            entrypoint: spec.entrypoint.clone(),
            cmd: spec.command.clone(),
            env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(managed_labels(&spec.labels)),
            working_dir: spec.working_dir.clone(),
            user: spec.user.clone(),
            hostname: spec.hostname.clone(),
            tty: spec.tty.then_some(true),
            open_stdin: spec.open_stdin.then_some(true),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            stop_timeout: spec.stop_timeout,
            healthcheck: spec.health.as_ref().map(|h| {
                let ns = |s: i64| s.saturating_mul(1_000_000_000);
                bollard::models::HealthConfig {
                    test: Some(h.test.clone()),
                    interval: Some(ns(h.interval_secs)),
                    timeout: Some(ns(h.timeout_secs)),
                    retries: Some(h.retries),
                    start_period: Some(ns(h.start_period_secs)),
                    ..Default::default()
                }
            }),
            host_config: Some(host_config),
            // Links on a user-defined network are the endpoint's, as the docker CLI sends them.
            networking_config: match &spec.network {
                Some(NetworkAttachment::Bridge(network)) if !spec.links.is_empty() => {
                    let endpoint =
                        bollard::models::EndpointSettings { links: Some(spec.links.clone()), ..Default::default() };
                    Some(bollard::models::NetworkingConfig {
                        endpoints_config: Some(HashMap::from([(network.clone(), endpoint)])),
                    })
                }
                _ => None,
            },
            ..Default::default()
        };
        let options = CreateContainerOptions { name: Some(spec.name.clone()), ..Default::default() };
        let created = self.client.create_container(Some(options), body).await.map_err(|e| self.error(e))?;
        Ok(created.id)
    }

    /// Starts a container berth created.
    ///
    /// # Errors
    /// `NotFound` if gone or not berth's; `Refused` when Docker cannot start it.
    pub async fn start(&self, id: &str) -> Result<()> {
        self.ours(id).await?;
        self.client.start_container(id, None).await.map_err(|e| self.error(e))
    }

    /// The state of a container berth created.
    ///
    /// # Errors
    /// `NotFound` if gone or not berth's.
    pub async fn inspect(&self, id: &str) -> Result<ContainerState> {
        self.ours(id).await
    }

    /// Stops a container: SIGTERM, then SIGKILL after `timeout_secs`. Stopping a stopped
    /// container is fine.
    ///
    /// # Errors
    /// `NotFound` if gone or not berth's.
    pub async fn stop(&self, id: &str, timeout_secs: i32) -> Result<()> {
        self.ours(id).await?;
        let options = StopContainerOptions { t: Some(timeout_secs), ..Default::default() };
        match self.client.stop_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            // 304: already stopped.
            Err(BollardError::DockerResponseServerError { status_code: 304, .. }) => Ok(()),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Returns once the container is no longer running (at once if it is gone). A long-lived
    /// request to the engine, not a polling loop.
    ///
    /// # Errors
    /// When the engine fails or goes away.
    pub async fn wait(&self, id: &str) -> Result<()> {
        use futures_util::StreamExt;
        let mut stream = self.client.wait_container(id, None::<WaitContainerOptions>);
        match stream.next().await {
            // A non-zero exit code comes back as an error of its own: still an exit.
            None | Some(Ok(_) | Err(BollardError::DockerContainerWaitError { .. })) => Ok(()),
            Some(Err(e)) => match self.error(e) {
                Error::NotFound(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    /// Whether the engine reported the kernel's OOM killer killing a process of container `id`,
    /// waiting up to `late` for a report still to come.
    ///
    /// For a container that exited with SIGKILL while Docker's `OOMKilled` flag says no: Docker
    /// sets that flag only when containerd's OOM event reaches it before the exit, and under
    /// load it often comes after. Its `oom` event is logged either way, and the engine replays
    /// recent events to a subscriber.
    pub async fn saw_oom(&self, id: &str, late: std::time::Duration) -> bool {
        use futures_util::StreamExt;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        // The engine keeps its last 256 events: an hour back reaches past all of them.
        let since = now.saturating_sub(std::time::Duration::from_secs(3600));
        let until = now + late;
        let options = EventsOptions {
            since: Some(since.as_secs().to_string()),
            until: Some(format!("{}.{:09}", until.as_secs(), until.subsec_nanos())),
            filters: Some(HashMap::from([
                ("type".to_owned(), vec!["container".to_owned()]),
                ("container".to_owned(), vec![id.to_owned()]),
                ("event".to_owned(), vec!["oom".to_owned()]),
            ])),
        };
        let mut events = Box::pin(self.client.events(Some(options)));
        // The stream ends at `until`; the timeout is for an engine that never answers.
        matches!(tokio::time::timeout(late * 2, events.next()).await, Ok(Some(Ok(_))))
    }

    /// Follows the engine's events of berth's containers that end (`die`) or change health
    /// (`health_status`), from `since` (unix seconds, so that a reconnect misses none the engine
    /// still keeps) on, for as long as the engine answers.
    pub fn container_events(
        &self,
        since: i64,
    ) -> impl futures_util::Stream<Item = Result<super::ContainerEvent>> + Send + 'static {
        use futures_util::StreamExt;
        let options = EventsOptions {
            since: Some(since.to_string()),
            until: None,
            filters: Some(HashMap::from([
                ("type".to_owned(), vec!["container".to_owned()]),
                ("label".to_owned(), vec![format!("{LABEL_MANAGED}=true")]),
                ("event".to_owned(), vec!["die".to_owned(), "health_status".to_owned()]),
            ])),
        };
        let this = self.clone();
        self.client.events(Some(options)).map(move |event| {
            let event = event.map_err(|e| this.error(e))?;
            let actor = event.actor.unwrap_or_default();
            Ok(super::ContainerEvent {
                action: event.action.unwrap_or_default(),
                id: actor.id.unwrap_or_default(),
                attributes: actor.attributes.unwrap_or_default(),
                time: event.time.unwrap_or_default(),
            })
        })
    }

    /// Waits until a container with a health check is in a health state other than `known`
    /// (healthy, unhealthy, or exited). Follows Docker's event stream for that container (no
    /// polling); the state is read once after subscribing, so a change that came first is not
    /// missed.
    ///
    /// # Errors
    /// When the engine fails or the container is not berth's.
    pub async fn wait_health(&self, id: &str, known: Option<super::Health>) -> Result<super::Health> {
        use super::Health;
        use futures_util::StreamExt;
        let options = EventsOptions {
            filters: Some(HashMap::from([
                ("type".to_owned(), vec!["container".to_owned()]),
                ("container".to_owned(), vec![id.to_owned()]),
                ("event".to_owned(), vec!["health_status".to_owned(), "die".to_owned()]),
            ])),
            ..Default::default()
        };
        let mut events = Box::pin(self.client.events(Some(options)));
        let current = |state: &ContainerState| match state.health.as_deref() {
            _ if !state.running => Some(Health::Exited),
            Some("healthy") => Some(Health::Healthy),
            Some("unhealthy") => Some(Health::Unhealthy),
            _ => None,
        };
        if let Some(h) = current(&self.ours(id).await?).filter(|h| Some(*h) != known) {
            return Ok(h);
        }
        while let Some(event) = events.next().await {
            let event = event.map_err(|e| self.error(e))?;
            let seen = match event.action.as_deref().unwrap_or_default() {
                "die" => Health::Exited,
                a if a.ends_with(": healthy") => Health::Healthy,
                a if a.ends_with(": unhealthy") => Health::Unhealthy,
                _ => continue,
            };
            if Some(seen) != known {
                return Ok(seen);
            }
        }
        Err(Error::Unavailable { host: self.host.clone(), message: "the event stream ended".to_owned() })
    }

    /// Removes a container berth created, running or not, with its anonymous volumes. Absent is
    /// fine.
    ///
    /// # Errors
    /// `NotFound` for a container that is not berth's; engine failures.
    pub async fn remove(&self, id: &str) -> Result<()> {
        match self.ours(id).await {
            Ok(_) => {}
            Err(Error::NotFound(m)) if m.is_empty() => return Ok(()),
            Err(e) => return Err(e),
        }
        let options = RemoveContainerOptions { force: true, v: true, ..Default::default() };
        match self.client.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) => match self.error(e) {
                Error::NotFound(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    /// Every container berth created on this engine (running or not) that also carries all of
    /// `labels`.
    ///
    /// # Errors
    /// Engine failures.
    pub async fn list(&self, labels: &BTreeMap<String, String>) -> Result<Vec<ContainerState>> {
        let mut filter = vec![format!("{LABEL_MANAGED}=true")];
        filter.extend(labels.iter().map(|(k, v)| format!("{k}={v}")));
        let options = ListContainersOptions {
            all: true,
            filters: Some(HashMap::from([("label".to_owned(), filter)])),
            ..Default::default()
        };
        let summaries = self.client.list_containers(Some(options)).await.map_err(|e| self.error(e))?;
        let mut out = Vec::with_capacity(summaries.len());
        for id in summaries.into_iter().filter_map(|s| s.id) {
            match self.inspect(&id).await {
                Ok(state) => out.push(state),
                // Removed between the list and the inspect.
                Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Inspects `id` and checks it is berth's. A container that does not exist is
    /// `NotFound("")`; one that is not berth's is `NotFound` with a reason.
    async fn ours(&self, id: &str) -> Result<ContainerState> {
        let inspected = match self.client.inspect_container(id, None::<InspectContainerOptions>).await {
            Ok(c) => c,
            Err(e) => {
                return Err(match self.error(e) {
                    Error::NotFound(_) => Error::NotFound(String::new()),
                    other => other,
                });
            }
        };
        let state = container_state(inspected);
        if state.labels.get(LABEL_MANAGED).is_none_or(|v| v != "true") {
            return Err(Error::NotFound(format!("container {id} is not managed by berth")));
        }
        Ok(state)
    }
}

/// The engine berth uses when none is named: `DOCKER_HOST`, else the standard socket.
#[must_use]
pub fn default_host() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_owned())
}

fn managed_labels(labels: &BTreeMap<String, String>) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    out.insert(LABEL_MANAGED.to_owned(), "true".to_owned());
    out
}

fn container_state(c: ContainerInspectResponse) -> ContainerState {
    let state = c.state.unwrap_or_default();
    let labels = c.config.and_then(|config| config.labels).unwrap_or_default().into_iter().collect();
    let settings = c.network_settings.unwrap_or_default();
    let addresses = settings
        .networks
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(name, endpoint)| Some((name, endpoint.ip_address.filter(|ip| !ip.is_empty())?)))
        .collect();
    let mut ports = Vec::new();
    for (key, bindings) in settings.ports.unwrap_or_default() {
        let (port, protocol) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let Ok(container_port) = port.parse::<u16>() else { continue };
        let protocol = if protocol == "udp" { Protocol::Udp } else { Protocol::Tcp };
        for b in bindings.unwrap_or_default() {
            if let Some(host_port) = b.host_port.and_then(|p| p.parse::<u16>().ok()) {
                ports.push(PortBinding { container_port, protocol, host_ip: b.host_ip.unwrap_or_default(), host_port });
            }
        }
    }
    ports.sort_by_key(|p| (p.container_port, p.host_ip.clone()));
    ContainerState {
        id: c.id.unwrap_or_default(),
        labels,
        status: state.status.map(|s| s.to_string()).unwrap_or_default(),
        running: state.running.unwrap_or(false),
        exit_code: state.exit_code,
        oom_killed: state.oom_killed.unwrap_or(false),
        error: state.error.filter(|e| !e.is_empty()),
        addresses,
        ports,
        health: state.health.and_then(|h| h.status).map(|s| s.to_string()),
    }
}
