//! The holders: the container that owns an awsvpc task's network namespace and its published
//! ports (see [`crate::driver::holder`]), and warm holders, started ahead for a cluster's next
//! Fargate-like tasks.
//!
//! It may call the Docker driver and [`super::spec`] (labels, ports, network namespace
//! settings). [`super::lifecycle`] and the warm holders' bookkeeping in [`super::warm`] call it;
//! it calls neither.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::TaskRuntime;
use super::spec::{LABEL_CLUSTER, LABEL_CONTAINER, LABEL_TASK, netns_settings, port_specs};
use crate::driver::{ContainerSpec, ContainerState, Docker, NetworkAttachment, PortSpec};

const HOLDER: &str = "~holder";

/// The label that marks a warm holder, with the instance id of the berth that made it.
pub const LABEL_WARM: &str = "berth.warm";

/// The Docker name of the holder of the task with id `id`.
pub(super) fn holder_name(id: &str) -> String {
    format!("berth-{id}-holder")
}

/// The holder of task `id`, with the task's `labels`, on berth's `network`, publishing `ports`,
/// with the network namespace settings of `netns` (see [`netns_settings`]).
pub(super) fn holder_spec(
    id: &str,
    mut labels: BTreeMap<String, String>,
    network: &str,
    ports: Vec<PortSpec>,
    netns: ContainerSpec,
) -> ContainerSpec {
    labels.insert(LABEL_CONTAINER.to_owned(), HOLDER.to_owned());
    ContainerSpec {
        name: holder_name(id),
        image: crate::driver::holder::IMAGE.to_owned(),
        labels,
        ports,
        network: Some(NetworkAttachment::Bridge(network.to_owned())),
        ..netns
    }
}

/// Creates and starts a holder (importing the holder image first if the engine lacks it), and
/// answers its state: its address and published ports.
pub(super) async fn start_holder(docker: &Docker, spec: &ContainerSpec) -> crate::driver::Result<ContainerState> {
    docker.ensure_holder_image().await?;
    let id = docker.create(spec).await?;
    docker.start(&id).await?;
    docker.inspect(&id).await
}

/// True if a Fargate-like task in `network_mode` with `containers` can take a warm holder: it
/// has a holder (awsvpc), and that holder would need nothing of the task (no published ports,
/// no hostname, DNS servers or search domains, /etc/hosts entries or net.* sysctls).
pub(super) fn fits_warm_holder(network_mode: &str, containers: &[Map<String, Value>]) -> bool {
    let netns = netns_settings(containers);
    network_mode == "awsvpc"
        && containers.iter().all(|c| port_specs(c, true).is_empty())
        && netns.hostname.is_none()
        && netns.extra_hosts.is_empty()
        && netns.dns.is_empty()
        && netns.dns_search.is_empty()
        && netns.sysctls.is_empty()
}

/// Makes and starts a warm holder for the task id `id` of `cluster`, whose ARN will be
/// `{arn_prefix}/{id}` (see [`super::warm`]).
pub(super) async fn start_warm_holder(
    rt: &TaskRuntime,
    docker: &Docker,
    cluster: &str,
    id: &str,
    arn_prefix: &str,
) -> crate::driver::Result<()> {
    let network = rt.ensure_network(0, docker).await?;
    let labels = BTreeMap::from([
        (LABEL_TASK.to_owned(), format!("{arn_prefix}/{id}")),
        (LABEL_CLUSTER.to_owned(), cluster.to_owned()),
        (LABEL_WARM.to_owned(), rt.instance.clone()),
    ]);
    start_holder(docker, &holder_spec(id, labels, network, Vec::new(), ContainerSpec::default())).await.map(drop)
}

/// The warm holder made for task `id` (ARN `arn`), if it still runs; one that does not is removed.
pub(super) async fn adopt_warm_holder(docker: &Docker, id: &str, arn: &str) -> Option<ContainerState> {
    match docker.inspect(&holder_name(id)).await {
        Ok(state) if state.running && state.labels.get(LABEL_TASK).map(String::as_str) == Some(arn) => Some(state),
        _ => {
            remove_holder(docker, id).await;
            None
        }
    }
}

/// Removes the holder of task `id`, if there is one.
pub(super) async fn remove_holder(docker: &Docker, id: &str) {
    if let Err(e) = docker.remove(&holder_name(id)).await {
        tracing::warn!(task = %id, error = %e, "cannot remove a holder");
    }
}
