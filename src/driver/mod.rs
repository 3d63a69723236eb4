//! The container driver: what berth needs from a container engine, in Docker's terms. It knows
//! Docker, not ECS: the scheduler maps tasks onto [`ContainerSpec`]s and reads back
//! [`ContainerState`]s.
//!
//! Every object the driver creates carries [`LABEL_MANAGED`]` = true` plus the labels the caller
//! gives; the driver refuses to inspect, stop or remove any container without that label, so
//! berth never touches objects it did not create.

mod docker;
pub mod holder;
mod log_line;

use std::collections::{BTreeMap, HashMap};

pub use docker::{Docker, default_host};
pub use log_line::LogLine;

/// The label on every Docker object berth creates.
pub const LABEL_MANAGED: &str = "berth.managed";

/// What can go wrong talking to Docker. 404 and 409 answers are told apart, as callers act on
/// them (gone, already there).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine does not answer.
    #[error(
        "the Docker engine at {host} is unavailable ({message}); start dockerd, or point berth at a running engine with --docker-host"
    )]
    Unavailable {
        /// The engine's address.
        host: String,
        /// What failed.
        message: String,
    },
    /// The object does not exist, or is not berth's.
    #[error("not found: {0}")]
    NotFound(String),
    /// The object exists already, or is in a state that forbids the call.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Docker refused the request (a bad parameter, an image that cannot be found, ...).
    #[error("Docker refused the request ({status}): {message}")]
    Refused {
        /// The HTTP status Docker answered.
        status: u16,
        /// Docker's message.
        message: String,
    },
    /// Any other failure.
    #[error("Docker error: {0}")]
    Other(String),
    /// The holder image could not be built.
    #[error("cannot build the holder image: {0}")]
    Holder(#[from] std::io::Error),
}

/// The driver's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which network a container joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkAttachment {
    /// A user-defined bridge network, by name.
    Bridge(String),
    /// The network namespace of another container, by id (how a task's containers share one).
    Container(String),
    /// The host's network.
    Host,
    /// No network.
    None,
}

/// A transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// A container port to publish on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    /// The port inside the container.
    pub container_port: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The host address to bind, e.g. `127.0.0.1`.
    pub host_ip: String,
    /// The host port, or None for any free one.
    pub host_port: Option<u16>,
}

/// A container to create.
#[derive(Debug, Clone, Default)]
pub struct ContainerSpec {
    /// The Docker container name (unique on the engine).
    pub name: String,
    /// The image reference.
    pub image: String,
    /// Overrides the image's entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// Overrides the image's command.
    pub command: Option<Vec<String>>,
    /// Environment variables.
    pub env: Vec<(String, String)>,
    /// Labels, besides [`LABEL_MANAGED`] which the driver adds.
    pub labels: BTreeMap<String, String>,
    /// Working directory.
    pub working_dir: Option<String>,
    /// User (name, uid, uid:gid).
    pub user: Option<String>,
    /// Hostname (not with a shared network namespace).
    pub hostname: Option<String>,
    /// Hard memory limit in MiB.
    pub memory_mib: Option<i64>,
    /// Soft memory limit in MiB.
    pub memory_reservation_mib: Option<i64>,
    /// Relative CPU weight (ECS CPU units map to shares one to one).
    pub cpu_shares: Option<i64>,
    /// The network to join; None for Docker's default.
    pub network: Option<NetworkAttachment>,
    /// Ports to publish.
    pub ports: Vec<PortSpec>,
    /// Run an init process as PID 1 (forwards signals, reaps zombies).
    pub init: bool,
    /// Seconds between SIGTERM and SIGKILL when stopped.
    pub stop_timeout: Option<i64>,
    /// A health check for Docker to run.
    pub health: Option<HealthSpec>,
    /// File systems to mount.
    pub mounts: Vec<Mount>,
    /// Containers whose volumes to mount too: `name` or `name:ro`.
    pub volumes_from: Vec<String>,
    /// Resource limits (`ulimit`s).
    pub ulimits: Vec<Ulimit>,
    /// Linux capabilities to add.
    pub cap_add: Vec<String>,
    /// Linux capabilities to drop.
    pub cap_drop: Vec<String>,
    /// Host devices to expose.
    pub devices: Vec<Device>,
    /// tmpfs mounts: path and mount options (`size=64m,noexec`).
    pub tmpfs: Vec<(String, String)>,
    /// The size of /dev/shm in MiB.
    pub shm_size_mib: Option<i64>,
    /// Mount the root file system read-only.
    pub read_only_root: bool,
    /// Run privileged.
    pub privileged: bool,
    /// Extra /etc/hosts entries, `host:ip` (not with a shared network namespace).
    pub extra_hosts: Vec<String>,
    /// DNS servers (not with a shared network namespace).
    pub dns: Vec<String>,
    /// DNS search domains (not with a shared network namespace).
    pub dns_search: Vec<String>,
    /// Namespaced kernel parameters.
    pub sysctls: Vec<(String, String)>,
    /// Allocate a pseudo-terminal.
    pub tty: bool,
    /// Keep stdin open.
    pub open_stdin: bool,
    /// A hard CPU limit in billionths of a CPU.
    pub nano_cpus: Option<i64>,
    /// Links to other containers on its bridge network: `CONTAINER:ALIAS`.
    pub links: Vec<String>,
    /// The Docker log driver and its options; None for the engine's default.
    pub log_driver: Option<(String, BTreeMap<String, String>)>,
}

/// A file system mounted into a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// A host path or a volume.
    pub kind: MountKind,
    /// The host path or the volume name.
    pub source: String,
    /// The path inside the container.
    pub target: String,
    /// Mounted read-only.
    pub read_only: bool,
}

/// What a [`Mount`] mounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    /// A host path.
    Bind,
    /// A Docker volume.
    Volume,
}

/// A `ulimit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    /// Its name (`nofile`, `nproc`, ...).
    pub name: String,
    /// The soft limit.
    pub soft: i64,
    /// The hard limit.
    pub hard: i64,
}

/// A host device exposed to a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The device on the host.
    pub host_path: String,
    /// Its path in the container (the host path when None).
    pub container_path: Option<String>,
    /// cgroup permissions, e.g. `rwm`.
    pub permissions: String,
}

/// A Docker volume to create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeSpec {
    /// The volume's name.
    pub name: String,
    /// The volume driver (`local` when None).
    pub driver: Option<String>,
    /// Options for the driver.
    pub driver_opts: BTreeMap<String, String>,
    /// Labels, besides [`LABEL_MANAGED`] which the driver adds.
    pub labels: BTreeMap<String, String>,
}

/// A container health check, as Docker runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSpec {
    /// `["CMD-SHELL", "..."]` or `["CMD", ...]`.
    pub test: Vec<String>,
    /// Seconds between checks.
    pub interval_secs: i64,
    /// Seconds before a check counts as failed.
    pub timeout_secs: i64,
    /// Consecutive failures before unhealthy.
    pub retries: i64,
    /// Seconds of grace after start during which failures do not count.
    pub start_period_secs: i64,
}

/// What became of a container that was expected to become healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Its health check passed.
    Healthy,
    /// Its health check failed `retries` times.
    Unhealthy,
    /// It exited first.
    Exited,
}

/// A port as published by Docker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortBinding {
    /// The port inside the container.
    pub container_port: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The bound host address.
    pub host_ip: String,
    /// The bound host port.
    pub host_port: u16,
}

/// One of Docker's events of a container (see [`Docker::container_events`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerEvent {
    /// What happened: `die`, `health_status: healthy`, ...
    pub action: String,
    /// The container's id.
    pub id: String,
    /// The container's labels (and its name and image).
    pub attributes: HashMap<String, String>,
    /// When, in unix seconds.
    pub time: i64,
}

/// What Docker says of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerState {
    /// The container id.
    pub id: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Docker's status word: created, running, exited, ...
    pub status: String,
    /// True while running.
    pub running: bool,
    /// The exit code, once exited.
    pub exit_code: Option<i64>,
    /// True if the kernel's OOM killer ended it.
    pub oom_killed: bool,
    /// Docker's error for a container that failed to start.
    pub error: Option<String>,
    /// The IP address on each network it joined, by network name.
    pub addresses: BTreeMap<String, String>,
    /// Its published ports.
    pub ports: Vec<PortBinding>,
    /// The health check status (starting, healthy, unhealthy), if it has one.
    pub health: Option<String>,
}
