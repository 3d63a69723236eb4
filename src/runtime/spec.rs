//! The pure mapping from a task's container definitions to Docker container specs: the labels
//! that tie Docker objects to their task, each container's spec (environment, limits, mounts,
//! links, ports, health check, Linux parameters), the network namespace settings a task's holder
//! takes on, and the order the containers start in.
//!
//! Pure: no Docker calls, nothing async, no store. It may call [`crate::domain`] and build
//! [`crate::driver`]'s spec types; [`super::lifecycle`], [`super::holder`], [`super::volumes`]
//! and [`super::dependencies`] call it.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::domain::list_of;
use crate::driver::{
    ContainerSpec, Device, HealthSpec, Mount, MountKind, NetworkAttachment, PortSpec, Protocol, Ulimit,
};
use crate::store::TaskKey;

/// Labels that tie a Docker object to its task.
pub const LABEL_TASK: &str = "berth.task-arn";
pub(super) const LABEL_CONTAINER: &str = "berth.container-name";
pub(super) const LABEL_CLUSTER: &str = "berth.cluster";

pub(super) use crate::domain::str_of;

/// Container indexes in an order where every container starts after those it depends on.
pub(super) fn start_order(containers: &[Map<String, Value>]) -> Vec<usize> {
    let names: Vec<&str> =
        containers.iter().map(|c| c.get("name").and_then(Value::as_str).unwrap_or_default()).collect();
    let deps: Vec<Vec<usize>> = containers
        .iter()
        .map(|c| {
            let depends_on =
                list_of(c, "dependsOn").iter().filter_map(|d| d.get("containerName").and_then(Value::as_str));
            // A container that mounts another's volumes needs that container created first.
            let volumes_from =
                list_of(c, "volumesFrom").iter().filter_map(|v| v.get("sourceContainer").and_then(Value::as_str));
            // And one that links to another needs it running.
            let links = list_of(c, "links").iter().filter_map(Value::as_str).map(|l| l.split(':').next().unwrap_or(l));
            depends_on.chain(volumes_from).chain(links).filter_map(|n| names.iter().position(|x| *x == n)).collect()
        })
        .collect();
    let mut order = Vec::with_capacity(containers.len());
    while order.len() < containers.len() {
        let before = order.len();
        for (i, needs) in deps.iter().enumerate() {
            if !order.contains(&i) && needs.iter().all(|d| order.contains(d)) {
                order.push(i);
            }
        }
        if order.len() == before {
            // A cycle (registration does not check for them): start the rest as listed.
            order.extend((0..containers.len()).filter(|i| !order.contains(i)).collect::<Vec<_>>());
        }
    }
    order
}

/// A container's port mappings as ports to publish on 127.0.0.1: any free host port when
/// `dynamic` (awsvpc publishes every containerPort that way), else the mapping's hostPort, or a
/// free one (ECS's dynamic host port) when it is 0 or absent.
pub(super) fn port_specs(c: &Map<String, Value>, dynamic: bool) -> Vec<PortSpec> {
    list_of(c, "portMappings")
        .iter()
        .filter_map(|m| {
            let container_port = m.get("containerPort").and_then(Value::as_u64).and_then(|p| u16::try_from(p).ok())?;
            let protocol = if str_of(m, "protocol") == Some("udp") { Protocol::Udp } else { Protocol::Tcp };
            let host_port = if dynamic {
                None
            } else {
                m.get("hostPort").and_then(Value::as_u64).and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0)
            };
            Some(PortSpec { container_port, protocol, host_ip: "127.0.0.1".into(), host_port })
        })
        .collect()
}

/// The task-level limits (Fargate's task size), applied to each container that has no tighter
/// limit of its own: Docker has no cgroup shared by a group of containers.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct TaskLimits {
    /// CPU units (1024 per vCPU).
    pub(super) cpu: Option<i64>,
    /// MiB.
    pub(super) memory: Option<i64>,
    /// A Fargate task (it says so in AWS_EXECUTION_ENV).
    pub(super) fargate: bool,
}

fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    v.and_then(Value::as_array).map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
}

/// `[{"name": k, "value": v}]` (or another key for the name) as pairs.
fn pairs(v: Option<&Value>, name: &str) -> Vec<(String, String)> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| Some((str_of(e, name)?.to_owned(), str_of(e, "value").unwrap_or_default().to_owned())))
        .collect()
}

pub(super) fn container_spec(
    key: &TaskKey,
    labels: &BTreeMap<String, String>,
    c: &Map<String, Value>,
    over: Option<&Value>,
    attachment: &NetworkAttachment,
    volumes: &Volumes,
    limits: TaskLimits,
) -> ContainerSpec {
    let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
    let mut env: Vec<(String, String)> = vec![
        ("AWS_REGION".into(), key.region.clone()),
        ("AWS_DEFAULT_REGION".into(), key.region.clone()),
        ("AWS_EXECUTION_ENV".into(), if limits.fargate { "AWS_ECS_FARGATE" } else { "AWS_ECS_EC2" }.into()),
    ];
    let given = pairs(c.get("environment"), "name");
    for (k, v) in given.into_iter().chain(pairs(over.and_then(|o| o.get("environment")), "name")) {
        env.retain(|(existing, _)| *existing != k);
        env.push((k, v));
    }
    let int = |field: &str| over.and_then(|o| o.get(field)).or_else(|| c.get(field)).and_then(Value::as_i64);
    let flag = |field: &str| c.get(field).and_then(Value::as_bool).unwrap_or(false);
    let mut container_labels = labels.clone();
    container_labels.insert(LABEL_CONTAINER.to_owned(), name.to_owned());
    if let Some(Value::Object(docker_labels)) = c.get("dockerLabels") {
        for (k, v) in docker_labels {
            if let Some(v) = v.as_str() {
                container_labels.entry(k.clone()).or_insert_with(|| v.to_owned());
            }
        }
    }
    let linux = c.get("linuxParameters").cloned().unwrap_or_default();
    let init = linux.get("initProcessEnabled").and_then(Value::as_bool).unwrap_or(true);
    let mounts = list_of(c, "mountPoints")
        .iter()
        .filter_map(|m| {
            let (kind, source) = volumes.get(str_of(m, "sourceVolume")?)?;
            Some(Mount {
                kind: *kind,
                source: source.clone(),
                target: str_of(m, "containerPath")?.to_owned(),
                read_only: m.get("readOnly").and_then(Value::as_bool).unwrap_or(false),
            })
        })
        .collect();
    // `links` (bridge mode): NAME or NAME:ALIAS, to the task's container of that name.
    let links = list_of(c, "links")
        .iter()
        .filter_map(Value::as_str)
        .map(|l| {
            let (name, alias) = l.split_once(':').unwrap_or((l, l));
            format!("berth-{}-{name}:{alias}", key.id)
        })
        .collect();
    let volumes_from = list_of(c, "volumesFrom")
        .iter()
        .filter_map(|v| {
            let source = format!("berth-{}-{}", key.id, str_of(v, "sourceContainer")?);
            Some(if v.get("readOnly").and_then(Value::as_bool).unwrap_or(false) {
                format!("{source}:ro")
            } else {
                source
            })
        })
        .collect();
    let ulimits = list_of(c, "ulimits")
        .iter()
        .filter_map(|u| {
            Some(Ulimit {
                name: str_of(u, "name")?.to_owned(),
                soft: u.get("softLimit").and_then(Value::as_i64)?,
                hard: u.get("hardLimit").and_then(Value::as_i64)?,
            })
        })
        .collect();
    let capabilities = linux.get("capabilities");
    let devices = linux
        .get("devices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| {
            let permissions: String = d
                .get("permissions")
                .and_then(Value::as_array)
                .map(|p| {
                    p.iter()
                        .filter_map(Value::as_str)
                        .filter_map(|p| match p {
                            "read" => Some('r'),
                            "write" => Some('w'),
                            "mknod" => Some('m'),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_else(|| "rwm".to_owned());
            Some(Device {
                host_path: str_of(d, "hostPath")?.to_owned(),
                container_path: str_of(d, "containerPath").map(str::to_owned),
                permissions,
            })
        })
        .collect();
    let tmpfs = linux
        .get("tmpfs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let mut options = vec![format!("size={}m", t.get("size").and_then(Value::as_i64)?)];
            options.extend(strings(t.get("mountOptions")).unwrap_or_default());
            Some((str_of(t, "containerPath")?.to_owned(), options.join(",")))
        })
        .collect();
    let mut spec = ContainerSpec {
        name: format!("berth-{}-{name}", key.id),
        image: c.get("image").and_then(Value::as_str).unwrap_or_default().to_owned(),
        entrypoint: strings(c.get("entryPoint")),
        command: strings(over.and_then(|o| o.get("command"))).or_else(|| strings(c.get("command"))),
        env,
        labels: container_labels,
        working_dir: c.get("workingDirectory").and_then(Value::as_str).map(str::to_owned),
        user: c.get("user").and_then(Value::as_str).map(str::to_owned),
        // With a holder, the task's network namespace is the holder's, and so are the settings
        // that belong to one (hostname, DNS, /etc/hosts, net.* sysctls): see `netns_settings`.
        hostname: None,
        memory_mib: int("memory").or(limits.memory),
        memory_reservation_mib: int("memoryReservation"),
        cpu_shares: int("cpu").filter(|c| *c >= 2),
        nano_cpus: limits.cpu.map(|units| units.saturating_mul(1_000_000_000) / 1024),
        network: Some(attachment.clone()),
        ports: if matches!(attachment, NetworkAttachment::Bridge(_)) { port_specs(c, false) } else { Vec::new() },
        init,
        stop_timeout: c.get("stopTimeout").and_then(Value::as_i64),
        health: c.get("healthCheck").map(|h| HealthSpec {
            test: strings(h.get("command")).unwrap_or_default(),
            interval_secs: h.get("interval").and_then(Value::as_i64).unwrap_or(30),
            timeout_secs: h.get("timeout").and_then(Value::as_i64).unwrap_or(5),
            retries: h.get("retries").and_then(Value::as_i64).unwrap_or(3),
            start_period_secs: h.get("startPeriod").and_then(Value::as_i64).unwrap_or(0),
        }),
        mounts,
        volumes_from,
        links,
        ulimits,
        cap_add: strings(capabilities.and_then(|c| c.get("add"))).unwrap_or_default(),
        cap_drop: strings(capabilities.and_then(|c| c.get("drop"))).unwrap_or_default(),
        devices,
        tmpfs,
        shm_size_mib: linux.get("sharedMemorySize").and_then(Value::as_i64),
        read_only_root: flag("readonlyRootFilesystem"),
        privileged: flag("privileged"),
        sysctls: pairs(c.get("systemControls"), "namespace")
            .into_iter()
            .filter(|(k, _)| !k.starts_with("net."))
            .collect(),
        log_driver: c.get("logConfiguration").and_then(docker_log_driver),
        tty: flag("pseudoTerminal"),
        open_stdin: flag("interactive"),
        // extra_hosts, dns and dns_search: the holder's, or set below for a container with a
        // network namespace of its own.
        ..ContainerSpec::default()
    };
    if matches!(attachment, NetworkAttachment::Bridge(_)) {
        let own = netns_settings(std::slice::from_ref(c));
        spec.hostname = own.hostname;
        spec.extra_hosts = own.extra_hosts;
        spec.dns = own.dns;
        spec.dns_search = own.dns_search;
        spec.sysctls.extend(own.sysctls);
    }
    spec
}

/// The Docker log driver of a `logConfiguration`: `awslogs` output goes to Docker's json-file
/// log, which berth ships into CloudWatch Logs from; any other driver is the engine's own, with
/// its options.
fn docker_log_driver(log: &Value) -> Option<(String, BTreeMap<String, String>)> {
    let driver = log.get("logDriver").and_then(Value::as_str)?;
    if driver == "awslogs" {
        return Some(("json-file".to_owned(), BTreeMap::new()));
    }
    let options = log
        .get("options")
        .and_then(Value::as_object)
        .map(|o| o.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
        .unwrap_or_default();
    Some((driver.to_owned(), options))
}

/// The settings of a network namespace that the containers ask for (hostname, DNS servers and
/// search domains, /etc/hosts entries, net.* sysctls), gathered for the task's holder: containers
/// that join its namespace share its hostname, /etc/hosts and /etc/resolv.conf.
pub(super) fn netns_settings(containers: &[Map<String, Value>]) -> ContainerSpec {
    let mut out = ContainerSpec::default();
    for c in containers {
        if out.hostname.is_none() {
            out.hostname = c.get("hostname").and_then(Value::as_str).map(str::to_owned);
        }
        for h in list_of(c, "extraHosts") {
            if let (Some(host), Some(ip)) = (str_of(h, "hostname"), str_of(h, "ipAddress")) {
                out.extra_hosts.push(format!("{host}:{ip}"));
            }
        }
        out.dns.extend(strings(c.get("dnsServers")).unwrap_or_default());
        out.dns_search.extend(strings(c.get("dnsSearchDomains")).unwrap_or_default());
        out.sysctls
            .extend(pairs(c.get("systemControls"), "namespace").into_iter().filter(|(k, _)| k.starts_with("net.")));
    }
    out
}

/// The task's volumes by name: what each mount point mounts.
pub(super) type Volumes = BTreeMap<String, (MountKind, String)>;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn defs(v: Value) -> Vec<Map<String, Value>> {
        v.as_array().unwrap().iter().map(|c| c.as_object().cloned().unwrap()).collect()
    }

    #[test]
    fn dependencies_start_first() {
        let containers = defs(json!([
            {"name": "app", "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}, {"containerName": "init", "condition": "SUCCESS"}]},
            {"name": "db", "dependsOn": [{"containerName": "init", "condition": "COMPLETE"}]},
            {"name": "init"},
        ]));
        assert_eq!(start_order(&containers), vec![2, 1, 0]);
    }

    #[test]
    fn a_cycle_still_starts_everything() {
        let containers = defs(json!([
            {"name": "a", "dependsOn": [{"containerName": "b", "condition": "START"}]},
            {"name": "b", "dependsOn": [{"containerName": "a", "condition": "START"}]},
            {"name": "c"},
        ]));
        assert_eq!(start_order(&containers), vec![2, 0, 1]);
    }
}
