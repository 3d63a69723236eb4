//! Driving one task: PROVISIONING → PENDING → ACTIVATING → RUNNING → DEACTIVATING → STOPPING
//! → DEPROVISIONING → STOPPED, with real containers. Every state change is stored before the
//! step it announces, so a restarted berth knows where each task was.
//!
//! In the Fargate-like mode a task's containers share one network namespace held by a holder
//! container (see [`crate::driver::holder`]); its ports are published on 127.0.0.1.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use super::TaskRuntime;
use crate::domain::arn::task_definition_parts;
use crate::domain::{list_of, now};
use crate::driver::{
    ContainerSpec, ContainerState, Device, Docker, Health, HealthSpec, Mount, MountKind, NetworkAttachment,
    PortBinding, PortSpec, Protocol, Ulimit, VolumeSpec,
};
use crate::store::{Doc, TaskKey};

/// The default seconds between SIGTERM and SIGKILL, as ECS's.
const DEFAULT_STOP_TIMEOUT: i64 = 30;

/// Labels that tie a Docker object to its task.
pub const LABEL_TASK: &str = "berth.task-arn";
const LABEL_CONTAINER: &str = "berth.container-name";
const LABEL_CLUSTER: &str = "berth.cluster";
const HOLDER: &str = "~holder";

/// One running container of the task.
#[derive(Debug, Clone)]
struct Running {
    index: usize,
    id: String,
    essential: bool,
    stop_timeout: i64,
    health_check: bool,
}

/// Why a task ends before it ran: the stop code and reason recorded on the task.
struct Failure {
    code: &'static str,
    reason: String,
}

fn failed(reason: impl Into<String>) -> Failure {
    Failure { code: "TaskFailedToStart", reason: reason.into() }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The Docker name of the holder of the task with id `id`.
fn holder_name(id: &str) -> String {
    format!("berth-{id}-holder")
}

/// The holder of task `id`, with the task's `labels`, on berth's `network`, publishing `ports`,
/// with the network namespace settings of `netns` (see [`netns_settings`]).
fn holder_spec(
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
async fn start_holder(docker: &Docker, spec: &ContainerSpec) -> crate::driver::Result<ContainerState> {
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
        (super::warm::LABEL_WARM.to_owned(), rt.instance.clone()),
    ]);
    start_holder(docker, &holder_spec(id, labels, network, Vec::new(), ContainerSpec::default())).await.map(drop)
}

/// The warm holder made for task `id` (ARN `arn`), if it still runs; one that does not is removed.
async fn adopt_warm_holder(docker: &Docker, id: &str, arn: &str) -> Option<ContainerState> {
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

/// Drives a task to completion. `resumed` is the stored task when berth restarted.
///
/// A RUNNING task whose Docker engine stops answering stays RUNNING, as a task does on AWS
/// while its instance's agent is disconnected: berth waits for the engine to answer again,
/// then picks the task up as after a restart (a StopTask meanwhile takes effect then).
pub async fn drive(rt: &Arc<TaskRuntime>, key: &TaskKey, stop: &Arc<Notify>, resumed: Option<Doc>) {
    let mut outcome = match resumed {
        None => start(rt, key, stop).await,
        Some(doc) => {
            if doc.get("lastStatus").and_then(Value::as_str) == Some("RUNNING") {
                wait_for_engine(rt, engine_of(rt, key, Some(&doc)).await).await;
            }
            resume(rt, key, doc).await
        }
    };
    loop {
        let (docker, running) = match outcome {
            Ok(started) => started,
            Err((failure, docker)) => {
                update(rt, key, |doc| set_stop(doc, failure.code, &failure.reason)).await;
                finish(rt, key, docker.as_ref(), &[]).await;
                return;
            }
        };
        if watch(rt, key, stop, &docker, &running).await == Watched::Ended {
            finish(rt, key, Some(&docker), &running).await;
            return;
        }
        let engine = engine_of(rt, key, rt.store().get_task(key).await.ok().flatten().as_ref()).await;
        tracing::warn!(task = %key.id, host = %rt.docker_host_name(engine), "lost the task's Docker engine; waiting for it");
        wait_for_engine(rt, engine).await;
        let Some(doc) = rt.store().get_task(key).await.ok().flatten() else { return };
        outcome = resume(rt, key, doc).await;
    }
}

/// Waits until Docker engine `engine` answers (checking every two seconds).
async fn wait_for_engine(rt: &TaskRuntime, engine: usize) {
    loop {
        if let Ok(docker) = rt.docker_at(engine).await
            && docker.ping().await
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

/// How [`watch`] ended.
#[derive(Debug, PartialEq, Eq)]
enum Watched {
    /// The task is to stop (an essential container ended, or a stop request).
    Ended,
    /// The engine stopped answering: what the containers do is unknown.
    EngineLost,
}

fn unavailable<T>(result: &crate::driver::Result<T>) -> bool {
    matches!(result, Err(crate::driver::Error::Unavailable { .. }))
}

/// Applies an edit to the stored task; logs (and otherwise ignores) a store failure or a task
/// that vanished (reset).
async fn update(rt: &TaskRuntime, key: &TaskKey, edit: impl FnOnce(&mut Doc)) -> Option<Doc> {
    match rt.store().update_task(key, edit).await {
        Ok(doc) => doc,
        Err(e) => {
            tracing::error!(task = %key.id, error = %e, "cannot record task state");
            None
        }
    }
}

/// Records why the task stops, unless a reason is already there (a StopTask came first).
fn set_stop(doc: &mut Doc, code: &str, reason: &str) {
    doc.insert("desiredStatus".into(), json!("STOPPED"));
    if doc.get("stopCode").is_none() {
        doc.insert("stopCode".into(), json!(code));
        doc.insert("stoppedReason".into(), json!(reason));
    }
}

fn desired_stopped(doc: Option<&Doc>) -> bool {
    doc.is_none_or(|d| d.get("desiredStatus").and_then(Value::as_str) == Some("STOPPED"))
}

type Started = (Docker, Vec<Running>);

/// The engine a task runs on: its container instance's, or the first for a Fargate-like task.
async fn engine_of(rt: &TaskRuntime, key: &TaskKey, doc: Option<&Doc>) -> usize {
    let instance =
        doc.and_then(|d| d.get("containerInstanceArn")).and_then(Value::as_str).and_then(|arn| arn.rsplit('/').next());
    match instance {
        Some(id) => rt.store().get_instance(&key.region, &key.cluster, id).await.ok().flatten().map_or(0, |i| i.engine),
        None => 0,
    }
}

async fn start(rt: &Arc<TaskRuntime>, key: &TaskKey, stop: &Notify) -> Result<Started, (Failure, Option<Docker>)> {
    // A warm holder waits for this task (see super::warm); if the task fails before it is
    // used, it goes with the task's other containers, as it carries the task's labels.
    let warm = rt.warm.claimed(&key.id);
    let engine = engine_of(rt, key, rt.store().get_task(key).await.ok().flatten().as_ref()).await;
    let docker = rt.docker_at(engine).await.map_err(|e| (failed(format!("CannotStartContainerError: {e}")), None))?;
    let fail = |f: Failure| (f, Some(docker.clone()));
    let Some(doc) = update(rt, key, |doc| {
        doc.insert("lastStatus".into(), json!("PENDING"));
        doc.insert("pullStartedAt".into(), json!(now()));
    })
    .await
    else {
        return Err(fail(failed("The task was deleted.")));
    };
    let definition = task_definition(rt, key, &doc).await.map_err(&fail)?;
    let containers: Vec<Map<String, Value>> = definition
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .map(|cs| cs.iter().filter_map(|c| c.as_object().cloned()).collect())
        .unwrap_or_default();

    // Images: berth runs offline, so an image must already be on the engine.
    let mut digests = Vec::with_capacity(containers.len());
    for c in &containers {
        let image = c.get("image").and_then(Value::as_str).unwrap_or_default();
        match docker.image_digest(image).await {
            Ok(Some(digest)) => digests.push(digest),
            Ok(None) => {
                return Err(fail(failed(format!(
                    "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref {image}: not found (berth runs offline: build or load the image on the Docker engine first)"
                ))));
            }
            Err(e) => return Err(fail(failed(format!("CannotPullContainerError: {e}")))),
        }
    }
    update(rt, key, |doc| {
        doc.insert("pullStoppedAt".into(), json!(now()));
        if let Some(Value::Array(cs)) = doc.get_mut("containers") {
            for (c, digest) in cs.iter_mut().zip(&digests) {
                c["imageDigest"] = json!(digest);
            }
        }
    })
    .await;

    let labels = BTreeMap::from([
        (LABEL_TASK.to_owned(), doc.get("taskArn").and_then(Value::as_str).unwrap_or_default().to_owned()),
        (LABEL_CLUSTER.to_owned(), key.cluster.clone()),
    ]);
    let mode = definition.get("networkMode").and_then(Value::as_str).unwrap_or("bridge").to_owned();
    let network = rt.network();
    if matches!(mode.as_str(), "awsvpc" | "bridge") {
        rt.ensure_network(engine, &docker).await.map_err(|e| {
            fail(failed(format!("ResourceInitializationError: cannot create berth's network {network}: {e}")))
        })?;
    }
    // awsvpc: the holder owns the task's network namespace and its published ports, and its
    // address is the ENI's. Other modes: each container has its own network settings.
    let (attachment, holder_state) = if mode == "awsvpc" {
        let arn = labels.get(LABEL_TASK).map_or("", String::as_str);
        let adopted = if warm { adopt_warm_holder(&docker, &key.id, arn).await } else { None };
        let state = match adopted {
            Some(state) => state,
            None => {
                let ports = containers.iter().flat_map(|c| port_specs(c, true)).collect();
                let spec = holder_spec(&key.id, labels.clone(), network, ports, netns_settings(&containers));
                start_holder(&docker, &spec)
                    .await
                    .map_err(|e| fail(failed(format!("CannotStartContainerError: {e}"))))?
            }
        };
        (NetworkAttachment::Container(state.id.clone()), Some(state))
    } else {
        let attachment = match mode.as_str() {
            "host" => NetworkAttachment::Host,
            "none" => NetworkAttachment::None,
            _ => NetworkAttachment::Bridge(network.to_owned()),
        };
        (attachment, None)
    };
    let ip = holder_state.as_ref().and_then(|h| h.addresses.get(network).cloned());
    let volumes = prepare_volumes(&docker, key, &labels, &definition).await.map_err(&fail)?;

    update(rt, key, |doc| {
        doc.insert("lastStatus".into(), json!("ACTIVATING"));
        if let Some(ip) = &ip {
            attach_eni(doc, ip);
        }
    })
    .await;

    // Containers, dependencies first.
    let overrides: Vec<Value> = doc
        .get("overrides")
        .and_then(|o| o.get("containerOverrides"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut running = Vec::new();
    for index in start_order(&containers) {
        let current = rt.store().get_task(key).await.ok().flatten();
        if desired_stopped(current.as_ref()) {
            break;
        }
        let c = &containers[index];
        let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
        if let Err(f) = dependencies_met(&docker, &containers, &running, index, stop).await {
            record_runtime_ids(rt, key, &running).await;
            return Err(fail(f));
        }
        let over = overrides.iter().find(|o| str_of(o, "name") == Some(name));
        let limits = TaskLimits {
            cpu: doc.get("cpu").and_then(Value::as_str).and_then(|c| c.parse().ok()),
            memory: doc.get("memory").and_then(Value::as_str).and_then(|m| m.parse().ok()),
            fargate: doc.get("launchType").and_then(Value::as_str) == Some("FARGATE"),
        };
        let spec = container_spec(key, &labels, c, over, &attachment, &volumes, limits);
        let id = docker.create(&spec).await.map_err(|e| fail(failed(format!("CannotStartContainerError: {e}"))))?;
        running.push(Running {
            index,
            id: id.clone(),
            essential: c.get("essential").and_then(Value::as_bool).unwrap_or(true),
            stop_timeout: spec.stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT),
            health_check: spec.health.is_some(),
        });
        if let Err(e) = docker.start(&id).await {
            // Record what exists so it is cleaned up, then fail.
            record_runtime_ids(rt, key, &running).await;
            return Err(fail(failed(format!("CannotStartContainerError: {e}"))));
        }
    }
    record_runtime_ids(rt, key, &running).await;
    // Where each container's ports are published: on the holder (awsvpc), on the container
    // itself (bridge), or straight on the host (host mode: hostPort = containerPort).
    let mut bindings: BTreeMap<usize, Vec<Value>> = BTreeMap::new();
    for r in &running {
        let own_ports: Vec<u16> = port_specs(&containers[r.index], true).iter().map(|p| p.container_port).collect();
        let published = match (&holder_state, mode.as_str()) {
            (Some(holder), _) => holder.ports.clone(),
            (None, "bridge") => docker.inspect(&r.id).await.map(|s| s.ports).unwrap_or_default(),
            (None, "host") => port_specs(&containers[r.index], true)
                .into_iter()
                .map(|p| PortBinding {
                    container_port: p.container_port,
                    protocol: p.protocol,
                    host_ip: "0.0.0.0".into(),
                    host_port: p.container_port,
                })
                .collect(),
            _ => Vec::new(),
        };
        let json_bindings = published
            .iter()
            .filter(|b| own_ports.contains(&b.container_port))
            .map(|b| {
                json!({
                    "bindIP": b.host_ip,
                    "containerPort": b.container_port,
                    "hostPort": b.host_port,
                    "protocol": if b.protocol == Protocol::Udp { "udp" } else { "tcp" },
                })
            })
            .collect();
        bindings.insert(r.index, json_bindings);
    }
    let at = now();
    let updated = update(rt, key, |doc| {
        if desired_stopped(Some(doc)) {
            return;
        }
        doc.insert("lastStatus".into(), json!("RUNNING"));
        doc.insert("startedAt".into(), json!(at));
        doc.insert("connectivity".into(), json!("CONNECTED"));
        doc.insert("connectivityAt".into(), json!(at));
        let attachment_id =
            doc.get("attachments").and_then(|a| a.get(0)).and_then(|a| a.get("id")).cloned().unwrap_or(Value::Null);
        if let Some(Value::Array(cs)) = doc.get_mut("containers") {
            for (i, c) in cs.iter_mut().enumerate() {
                c["lastStatus"] = json!("RUNNING");
                c["networkBindings"] = json!(bindings.remove(&i).unwrap_or_default());
                if let Some(ip) = &ip {
                    c["networkInterfaces"] = json!([{"attachmentId": attachment_id, "privateIpv4Address": ip}]);
                }
            }
        }
    })
    .await;
    // Keep the next such task of the cluster from waiting for its holder.
    let reached = updated.is_some_and(|d| d.get("lastStatus").and_then(Value::as_str) == Some("RUNNING"));
    if reached && doc.get("containerInstanceArn").is_none() && fits_warm_holder(&mode, &containers) {
        rt.refill_warm(key, labels.get(LABEL_TASK).map_or("", String::as_str));
    }
    Ok((docker, running))
}

/// Picks a task up again after a restart of berth.
async fn resume(rt: &Arc<TaskRuntime>, key: &TaskKey, doc: Doc) -> Result<Started, (Failure, Option<Docker>)> {
    let engine = engine_of(rt, key, Some(&doc)).await;
    let docker = rt
        .docker_at(engine)
        .await
        .map_err(|e| (failed(format!("berth restarted and cannot reach its task: {e}")), None))?;
    let fail = |reason: &str| (Failure { code: "TaskFailedToStart", reason: reason.to_owned() }, Some(docker.clone()));
    if doc.get("lastStatus").and_then(Value::as_str) != Some("RUNNING") {
        return Err(fail("Task stopped: berth restarted before the task was running."));
    }
    let definition = task_definition(rt, key, &doc).await.map_err(|f| (f, Some(docker.clone())))?;
    let definitions: Vec<Value> =
        definition.get("containerDefinitions").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut running = Vec::new();
    let containers = doc.get("containers").and_then(Value::as_array).cloned().unwrap_or_default();
    for (index, c) in containers.iter().enumerate() {
        if str_of(c, "lastStatus") == Some("STOPPED") {
            continue;
        }
        let Some(id) = str_of(c, "runtimeId") else { continue };
        let alive = docker.inspect(id).await.is_ok_and(|s| s.running);
        let def = definitions.get(index);
        let essential = def.and_then(|d| d.get("essential")).and_then(Value::as_bool).unwrap_or(true);
        if !alive && essential {
            return Err(fail("Essential container in task exited"));
        }
        let stop_timeout =
            def.and_then(|d| d.get("stopTimeout")).and_then(Value::as_i64).unwrap_or(DEFAULT_STOP_TIMEOUT);
        let health_check = def.is_some_and(|d| d.get("healthCheck").is_some());
        running.push(Running { index, id: id.to_owned(), essential, stop_timeout, health_check });
    }
    tracing::info!(task = %key.id, containers = running.len(), "resumed after restart");
    Ok((docker, running))
}

async fn task_definition(rt: &TaskRuntime, key: &TaskKey, doc: &Doc) -> Result<Doc, Failure> {
    let arn = doc.get("taskDefinitionArn").and_then(Value::as_str).unwrap_or_default();
    let Some((family, revision)) = task_definition_parts(arn) else {
        return Err(failed(format!("The task definition {arn} is not a task definition ARN.")));
    };
    match rt.store().get_task_definition(&key.region, family, Some(revision)).await {
        Ok(Some(td)) => Ok(td),
        Ok(None) => Err(failed(format!("The task definition {arn} no longer exists."))),
        Err(e) => Err(failed(format!("berth could not read the task definition: {e}"))),
    }
}

async fn record_runtime_ids(rt: &TaskRuntime, key: &TaskKey, running: &[Running]) {
    update(rt, key, |doc| {
        if let Some(Value::Array(cs)) = doc.get_mut("containers") {
            for r in running {
                if let Some(c) = cs.get_mut(r.index) {
                    c["runtimeId"] = json!(r.id);
                }
            }
        }
    })
    .await;
}

/// Completes the task's ENI attachment (created PRECREATED by RunTask with its subnet) with the
/// holder's address, as ECS reports an attached ENI.
fn attach_eni(doc: &mut Doc, ip: &str) {
    let dns = format!("ip-{}.ec2.internal", ip.replace('.', "-"));
    let eni = format!("eni-{}", &uuid::Uuid::new_v4().simple().to_string()[..17]);
    let mac = {
        let b = uuid::Uuid::new_v4().into_bytes();
        format!("0a:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4])
    };
    let Some(Value::Array(attachments)) = doc.get_mut("attachments") else { return };
    let Some(eni_attachment) = attachments.get_mut(0) else { return };
    eni_attachment["status"] = json!("ATTACHED");
    if let Some(Value::Array(details)) = eni_attachment.get_mut("details") {
        details.extend([
            json!({"name": "networkInterfaceId", "value": eni}),
            json!({"name": "macAddress", "value": mac}),
            json!({"name": "privateDnsName", "value": dns}),
            json!({"name": "privateIPv4Address", "value": ip}),
        ]);
    }
}

/// Waits until the dependencies of container `index` meet their conditions (START: started;
/// COMPLETE: exited; SUCCESS: exited 0; HEALTHY: health check passed). A stop request ends the
/// wait; a dependency that cannot meet its condition fails the task.
async fn dependencies_met(
    docker: &Docker,
    containers: &[Map<String, Value>],
    running: &[Running],
    index: usize,
    stop: &Notify,
) -> Result<(), Failure> {
    let name = containers[index].get("name").and_then(Value::as_str).unwrap_or_default();
    let stopped = || Failure { code: "UserInitiated", reason: "Task stopped by user".to_owned() };
    for dep in list_of(&containers[index], "dependsOn") {
        let dep_name = str_of(dep, "containerName").unwrap_or_default();
        let condition = str_of(dep, "condition").unwrap_or("START");
        let Some(position) = containers.iter().position(|c| c.get("name").and_then(Value::as_str) == Some(dep_name))
        else {
            continue;
        };
        let Some(dep_running) = running.iter().find(|r| r.index == position) else { continue };
        let id = dep_running.id.as_str();
        let unmet = |what: String| {
            failed(format!("Container {name} cannot start: its dependency {dep_name} {what} (condition {condition})."))
        };
        match condition {
            "COMPLETE" | "SUCCESS" => {
                tokio::select! {
                    waited = docker.wait(id) => waited.map_err(|e| unmet(format!("could not be watched: {e}")))?,
                    () = stop.notified() => return Err(stopped()),
                }
                if condition == "SUCCESS" {
                    let code = docker.inspect(id).await.ok().and_then(|s| s.exit_code);
                    if code != Some(0) {
                        let code = code.map_or_else(|| "unknown".to_owned(), |c| c.to_string());
                        return Err(unmet(format!("exited with code {code}")));
                    }
                }
            }
            "HEALTHY" => {
                let health = tokio::select! {
                    h = docker.wait_health(id, None) => h.map_err(|e| unmet(format!("could not be watched: {e}")))?,
                    () = stop.notified() => return Err(stopped()),
                };
                match health {
                    Health::Healthy => {}
                    Health::Unhealthy => return Err(unmet("became UNHEALTHY".to_owned())),
                    Health::Exited => return Err(unmet("exited before it was HEALTHY".to_owned())),
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Container indexes in an order where every container starts after those it depends on.
fn start_order(containers: &[Map<String, Value>]) -> Vec<usize> {
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
fn port_specs(c: &Map<String, Value>, dynamic: bool) -> Vec<PortSpec> {
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
struct TaskLimits {
    /// CPU units (1024 per vCPU).
    cpu: Option<i64>,
    /// MiB.
    memory: Option<i64>,
    /// A Fargate task (it says so in AWS_EXECUTION_ENV).
    fargate: bool,
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

fn container_spec(
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

/// The settings of a network namespace that the containers ask for (hostname, DNS servers and
/// search domains, /etc/hosts entries, net.* sysctls), gathered for the task's holder: containers
/// that join its namespace share its hostname, /etc/hosts and /etc/resolv.conf.
fn netns_settings(containers: &[Map<String, Value>]) -> ContainerSpec {
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
type Volumes = BTreeMap<String, (MountKind, String)>;

/// Creates the Docker volumes the task's `volumes` need, as the ECS agent does: a host path is
/// bind-mounted; a volume with no configuration is task-scoped storage shared by the task's
/// containers (Fargate's bind mounts); `dockerVolumeConfiguration` makes a task-scoped volume
/// (removed with the task) or a shared one (named after the volume, kept, created only with
/// `autoprovision`); an EFS file system becomes a shared volume named after it, so tasks that
/// mount the same file system share its files.
async fn prepare_volumes(
    docker: &Docker,
    key: &TaskKey,
    labels: &BTreeMap<String, String>,
    definition: &Doc,
) -> Result<Volumes, Failure> {
    let mut out = Volumes::new();
    let cannot = |name: &str, e: crate::driver::Error| failed(format!("CannotCreateVolumeError: volume {name}: {e}"));
    for v in list_of(definition, "volumes") {
        let Some(name) = str_of(v, "name") else { continue };
        if let Some(path) = v.get("host").and_then(|h| str_of(h, "sourcePath")) {
            out.insert(name.to_owned(), (MountKind::Bind, path.to_owned()));
            continue;
        }
        let task_scoped =
            VolumeSpec { name: format!("berth-{}-{name}", key.id), labels: labels.clone(), ..Default::default() };
        let spec = if let Some(config) = v.get("dockerVolumeConfiguration") {
            let driver_opts: BTreeMap<String, String> = config
                .get("driverOpts")
                .and_then(Value::as_object)
                .map(|o| o.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
                .unwrap_or_default();
            let mut own_labels: BTreeMap<String, String> = config
                .get("labels")
                .and_then(Value::as_object)
                .map(|o| o.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
                .unwrap_or_default();
            let driver = str_of(config, "driver").map(str::to_owned);
            if str_of(config, "scope") == Some("shared") {
                let autoprovision = config.get("autoprovision").and_then(Value::as_bool).unwrap_or(false);
                if !autoprovision {
                    match docker.volume_exists(name).await {
                        Ok(true) => {}
                        Ok(false) => {
                            // The ECS agent's words.
                            let arn = labels.get(LABEL_TASK).map_or("", String::as_str);
                            return Err(failed(format!(
                                "ResourceInitializationError: resource cannot be initialized for task {arn}: initialize volume: volume detection failed, volume '{name}' does not exist and autoprovision is set to false"
                            )));
                        }
                        Err(e) => return Err(cannot(name, e)),
                    }
                }
                own_labels.insert(LABEL_CLUSTER.to_owned(), key.cluster.clone());
                VolumeSpec { name: name.to_owned(), driver, driver_opts, labels: own_labels }
            } else {
                own_labels.extend(task_scoped.labels);
                VolumeSpec { driver, driver_opts, labels: own_labels, ..task_scoped }
            }
        } else if let Some(efs) = v.get("efsVolumeConfiguration") {
            let fs = str_of(efs, "fileSystemId").unwrap_or("efs");
            VolumeSpec { name: format!("berth-efs-{fs}"), ..Default::default() }
        } else if v.get("fsxWindowsFileServerVolumeConfiguration").is_some() {
            return Err(failed(format!(
                "CannotCreateVolumeError: volume {name}: berth cannot mount FSx for Windows File Server volumes"
            )));
        } else {
            task_scoped
        };
        docker.ensure_volume(&spec).await.map_err(|e| cannot(name, e))?;
        out.insert(name.to_owned(), (MountKind::Volume, spec.name));
    }
    Ok(out)
}

/// Waits for the task to end: an essential container exiting, or a stop request. A
/// non-essential container's exit is recorded and the task goes on.
async fn watch(rt: &TaskRuntime, key: &TaskKey, stop: &Arc<Notify>, docker: &Docker, running: &[Running]) -> Watched {
    let mut waits: FuturesUnordered<_> = running
        .iter()
        .map(|r| {
            let docker = docker.clone();
            let id = r.id.clone();
            let position = r.index;
            async move {
                let result = docker.wait(&id).await;
                (position, result)
            }
        })
        .collect();
    let mut health: FuturesUnordered<_> = running
        .iter()
        .filter(|r| r.health_check)
        .map(|r| health_change(docker.clone(), r.index, r.id.clone(), None))
        .collect();
    // The holder owns the task's network namespace and its published ports: if it goes, the
    // task cannot go on (Fargate's pause container is just as essential).
    let holder_name = holder_name(&key.id);
    let has_holder = docker.inspect(&holder_name).await.is_ok();
    let holder = async { if has_holder { docker.wait(&holder_name).await } else { std::future::pending().await } };
    tokio::pin!(holder);
    let stored = rt.store().get_task(key).await.ok().flatten();
    // A service's task that turns UNHEALTHY is the service scheduler's to replace (after the
    // service's health check grace period); a standalone one stops here.
    let of_service = stored
        .as_ref()
        .and_then(|d| d.get("startedBy"))
        .and_then(Value::as_str)
        .is_some_and(|by| by.starts_with("ecs-svc/"));
    if desired_stopped(stored.as_ref()) {
        return Watched::Ended;
    }
    loop {
        tokio::select! {
            waited = &mut holder => {
                if unavailable(&waited) {
                    return Watched::EngineLost;
                }
                update(rt, key, |doc| set_stop(doc, "EssentialContainerExited", "Task stopped: the container holding its network namespace exited")).await;
                return Watched::Ended;
            }
            Some((index, result)) = health.next(), if !health.is_empty() => {
                let Some(r) = running.iter().find(|r| r.index == index) else { continue };
                let state = match result {
                    Ok(h @ (Health::Healthy | Health::Unhealthy)) => h,
                    // Exits are the waits' to report.
                    Ok(Health::Exited) => continue,
                    Err(e) => {
                        tracing::warn!(task = %key.id, error = %e, "lost track of a container's health");
                        continue;
                    }
                };
                record_health(rt, key, running, r.index, state).await;
                if state == Health::Unhealthy && r.essential && !of_service {
                    update(rt, key, |doc| set_stop(doc, "EssentialContainerExited", super::UNHEALTHY_REASON)).await;
                    return Watched::Ended;
                }
                health.push(health_change(docker.clone(), r.index, r.id.clone(), Some(state)));
            }
            next = waits.next() => {
                let Some((index, result)) = next else { return Watched::Ended };
                if unavailable(&result) {
                    return Watched::EngineLost;
                }
                if let Err(e) = result {
                    tracing::warn!(task = %key.id, error = %e, "lost track of a container");
                }
                let Some(r) = running.iter().find(|r| r.index == index) else { continue };
                record_exit(rt, key, docker, r, true).await;
                if r.essential {
                    update(rt, key, |doc| set_stop(doc, "EssentialContainerExited", "Essential container in task exited")).await;
                    return Watched::Ended;
                }
            }
            () = stop.notified() => return Watched::Ended,
        }
    }
}

async fn health_change(
    docker: Docker,
    index: usize,
    id: String,
    known: Option<Health>,
) -> (usize, crate::driver::Result<Health>) {
    (index, docker.wait_health(&id, known).await)
}

/// Records a container's health and the task's, as ECS computes it: UNHEALTHY if an essential
/// container with a health check is, HEALTHY once all of them are, UNKNOWN before.
async fn record_health(rt: &TaskRuntime, key: &TaskKey, running: &[Running], index: usize, state: Health) {
    let status = if state == Health::Healthy { "HEALTHY" } else { "UNHEALTHY" };
    update(rt, key, |doc| {
        let Some(Value::Array(cs)) = doc.get_mut("containers") else { return };
        if let Some(c) = cs.get_mut(index) {
            c["healthStatus"] = json!(status);
        }
        let checked: Vec<&str> = running
            .iter()
            .filter(|r| r.essential && r.health_check)
            .filter_map(|r| cs.get(r.index).and_then(|c| str_of(c, "healthStatus")))
            .collect();
        let task = if checked.contains(&"UNHEALTHY") {
            "UNHEALTHY"
        } else if !checked.is_empty() && checked.iter().all(|s| *s == "HEALTHY") {
            "HEALTHY"
        } else {
            "UNKNOWN"
        };
        doc.insert("healthStatus".into(), json!(task));
    })
    .await;
}

/// How long a container that exited on SIGKILL by itself may wait for Docker's report of an OOM
/// kill that came after the exit (see [`Docker::saw_oom`]).
const LATE_OOM: std::time::Duration = std::time::Duration::from_millis(500);

/// Records container `r`'s exit: its exit code, and whether the OOM killer killed it.
/// `on_its_own`: it exited by itself, not stopped by berth.
async fn record_exit(rt: &TaskRuntime, key: &TaskKey, docker: &Docker, r: &Running, on_its_own: bool) {
    let mut state = docker.inspect(&r.id).await.ok();
    if on_its_own
        && let Some(s) = state.as_mut()
        && s.exit_code == Some(137)
        && !s.oom_killed
    {
        s.oom_killed = docker.saw_oom(&r.id, LATE_OOM).await;
    }
    update(rt, key, |doc| {
        if let Some(Value::Array(cs)) = doc.get_mut("containers")
            && let Some(c) = cs.get_mut(r.index)
        {
            c["lastStatus"] = json!("STOPPED");
            if let Some(state) = &state {
                if let Some(code) = state.exit_code {
                    c["exitCode"] = json!(code);
                }
                if state.oom_killed {
                    c["reason"] = json!("OutOfMemoryError: Container killed due to memory usage");
                }
            }
        }
    })
    .await;
}

/// Stops and removes the task's containers and records it STOPPED.
async fn finish(rt: &TaskRuntime, key: &TaskKey, docker: Option<&Docker>, running: &[Running]) {
    let _stopping = super::Stopping::new(&rt.stopping);
    let at = now();
    let task = update(rt, key, |doc| {
        doc.insert("desiredStatus".into(), json!("STOPPED"));
        doc.insert("lastStatus".into(), json!("DEACTIVATING"));
        doc.entry("stoppingAt").or_insert(json!(at));
        doc.entry("executionStoppedAt").or_insert(json!(at));
    })
    .await;
    let arn = task.as_ref().and_then(|d| d.get("taskArn")).and_then(Value::as_str).map(str::to_owned);
    update(rt, key, |doc| {
        doc.insert("lastStatus".into(), json!("STOPPING"));
    })
    .await;
    if let Some(docker) = docker {
        let stops = running.iter().map(|r| {
            let timeout = i32::try_from(r.stop_timeout).unwrap_or(i32::MAX);
            async move {
                if let Err(e) = docker.stop(&r.id, timeout).await {
                    tracing::debug!(container = %r.id, error = %e, "stop");
                }
            }
        });
        futures_util::future::join_all(stops).await;
        for r in running {
            record_exit(rt, key, docker, r, false).await;
        }
        update(rt, key, |doc| {
            doc.insert("lastStatus".into(), json!("DEPROVISIONING"));
        })
        .await;
        if let Some(arn) = &arn {
            remove_task_containers(docker, arn).await;
        }
    }
    let at = now();
    update(rt, key, |doc| {
        doc.insert("lastStatus".into(), json!("STOPPED"));
        doc.insert("stoppedAt".into(), json!(at));
        if let Some(Value::Array(cs)) = doc.get_mut("containers") {
            for c in cs {
                c["lastStatus"] = json!("STOPPED");
            }
        }
        if let Some(Value::Array(attachments)) = doc.get_mut("attachments") {
            for a in attachments {
                a["status"] = json!("DELETED");
            }
        }
        doc.insert("connectivity".into(), json!("DISCONNECTED"));
    })
    .await;
}

/// Removes every container labelled with the task's ARN (its containers and its holder, all at
/// once), then its task-scoped volumes.
pub async fn remove_task_containers(docker: &Docker, arn: &str) {
    let labels = BTreeMap::from([(LABEL_TASK.to_owned(), arn.to_owned())]);
    match docker.list(&labels).await {
        Ok(containers) => {
            let removals = containers.iter().map(|c| async move {
                if let Err(e) = docker.remove(&c.id).await {
                    tracing::warn!(container = %c.id, error = %e, "cannot remove a task's container");
                }
            });
            futures_util::future::join_all(removals).await;
        }
        Err(e) => tracing::warn!(task = %arn, error = %e, "cannot list a task's containers"),
    }
    if let Err(e) = docker.remove_volumes(&labels).await {
        tracing::warn!(task = %arn, error = %e, "cannot list a task's volumes");
    }
}

#[cfg(test)]
mod tests {
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
