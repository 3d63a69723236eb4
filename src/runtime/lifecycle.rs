//! Driving one task: PROVISIONING → PENDING → ACTIVATING → RUNNING → DEACTIVATING → STOPPING
//! → DEPROVISIONING → STOPPED, with real containers. Every state change is stored before the
//! step it announces, so a restarted berth knows where each task was.
//!
//! In the Fargate-like mode a task's containers share one network namespace held by a holder
//! container (see [`crate::driver::holder`]); its ports are published on 127.0.0.1.
//!
//! What the task's containers look like is [`super::spec`]'s (pure); its holder is
//! [`super::holder`]'s, its volumes [`super::volumes`]' and the wait for a container's
//! dependencies [`super::dependencies`]'. It may call those, the Docker driver, the store and the
//! warm holders' bookkeeping ([`super::warm`]). The tasks controller
//! ([`crate::controllers::tasks`]) calls [`reconcile`]; [`super::TaskRuntime`] calls
//! [`remove_task_containers`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use super::TaskRuntime;
use super::dependencies::dependencies_met;
use super::holder::{adopt_warm_holder, fits_warm_holder, holder_name, holder_spec, start_holder};
use super::spec::{
    LABEL_CLUSTER, LABEL_TASK, TaskLimits, container_spec, netns_settings, port_specs, start_order, str_of,
};
use super::task::{Failure, Running, failed};
use super::volumes::prepare_volumes;
use super::{awslogs, secrets};
use crate::domain::arn::{daemon_task_definition_parts, task_definition_parts};
use crate::domain::now;
use crate::driver::{Docker, Health, NetworkAttachment, PortBinding, Protocol};
use crate::store::{Doc, TaskKey};

/// The default seconds between SIGTERM and SIGKILL, as ECS's.
const DEFAULT_STOP_TIMEOUT: i64 = 30;

/// What the tasks controller is to do with a task after [`reconcile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Nothing until its next change (a store write, a Docker event of its containers).
    Settled,
    /// Look again after this long: its Docker engine does not answer.
    Retry(Duration),
}

/// How long a task whose Docker engine does not answer waits before it is looked at again.
const ENGINE_RETRY: Duration = Duration::from_secs(2);

/// Brings a task one step nearer its desired status, from what the store and Docker say now:
/// starts a task its launch handed over ([`TaskRuntime::will_start`]), looks at a RUNNING task's
/// containers (an exit, a health change, its holder gone), and stops what is to stop. Called by
/// the tasks controller, never twice at once for one task; everything it learns is stored, so a
/// berth started again on the data dir picks each task up where it was.
///
/// A RUNNING task whose Docker engine stops answering stays RUNNING, as a task does on AWS
/// while its instance's agent is disconnected: it is looked at again every [`ENGINE_RETRY`]
/// until the engine answers (a StopTask meanwhile takes effect then).
///
/// # Errors
/// When the store cannot be read.
pub async fn reconcile(rt: &Arc<TaskRuntime>, key: &TaskKey) -> crate::store::Result<Next> {
    let Some(doc) = rt.store().get_task(key).await? else {
        rt.forget_start(&key.id);
        rt.stopped(key);
        return Ok(Next::Settled);
    };
    // A task of an external instance is its agent's to run: berth records what it reports.
    if doc.get("launchType").and_then(Value::as_str) == Some("EXTERNAL") {
        rt.forget_start(&key.id);
        // Nor does berth wait for its stop at shutdown: the agent stops it, not berth.
        rt.stopped(key);
        return Ok(Next::Settled);
    }
    let last = doc.get("lastStatus").and_then(Value::as_str).unwrap_or_default().to_owned();
    let stopping = desired_stopped(Some(&doc));
    match last.as_str() {
        "STOPPED" => {
            rt.stopped(key);
            Ok(Next::Settled)
        }
        "PROVISIONING" if !stopping && rt.take_start(&key.id) => {
            let stop = rt.register(&key.id);
            let started = start(rt, key, &stop).await;
            rt.unregister(&key.id);
            match started {
                Ok((docker, running)) => {
                    // A StopTask that came while it started.
                    if desired_stopped(rt.store().get_task(key).await?.as_ref()) {
                        finish(rt, key, &doc, Some(&docker), &running).await;
                    }
                }
                Err((failure, docker)) => {
                    update(rt, key, |doc| set_stop(doc, failure.code, &failure.reason)).await;
                    finish(rt, key, &doc, docker.as_ref(), &[]).await;
                }
            }
            Ok(Next::Settled)
        }
        "RUNNING" if !stopping => observe(rt, key, &doc).await,
        // Stopping; or left before it ran by a berth that stopped (its launch handed it to that
        // berth, not this one); or left stopping by one.
        _ => {
            rt.forget_start(&key.id);
            let before_running = matches!(last.as_str(), "PROVISIONING" | "PENDING" | "ACTIVATING");
            let engine = engine_of(rt, key, Some(&doc)).await;
            let docker = match rt.docker_at(engine).await {
                Ok(docker) if docker.ping().await => Some(docker),
                // Containers that may still run wait for their engine to answer.
                _ if !before_running => return Ok(engine_lost(rt, key, engine)),
                _ => None,
            };
            rt.engine_back(&key.id);
            if before_running {
                let reason = "Task stopped: berth restarted before the task was running.";
                update(rt, key, |doc| set_stop(doc, "TaskFailedToStart", reason)).await;
            }
            // A task stopped before it ran has no containers recorded to stop one by one.
            let running = if before_running {
                Vec::new()
            } else {
                task_definition(rt, key, &doc).await.map(|d| known_running(&doc, &d)).unwrap_or_default()
            };
            finish(rt, key, &doc, docker.as_ref(), &running).await;
            Ok(Next::Settled)
        }
    }
}

/// Looks at a RUNNING task's containers and records what changed: a container's exit or
/// health, and the task's end when an essential container exited or turned UNHEALTHY (a
/// standalone task's) or its holder went. Writes nothing when nothing changed, so that its own
/// writes do not bring it back for nothing.
async fn observe(rt: &Arc<TaskRuntime>, key: &TaskKey, doc: &Doc) -> crate::store::Result<Next> {
    let engine = engine_of(rt, key, Some(doc)).await;
    let Ok(docker) = rt.docker_at(engine).await else { return Ok(engine_lost(rt, key, engine)) };
    let definition = match task_definition(rt, key, doc).await {
        Ok(definition) => definition,
        Err(failure) => {
            update(rt, key, |doc| set_stop(doc, failure.code, &failure.reason)).await;
            finish(rt, key, doc, Some(&docker), &[]).await;
            return Ok(Next::Settled);
        }
    };
    let running = known_running(doc, &definition);
    let mut exited = Vec::new();
    let mut health = Vec::new();
    for r in &running {
        match docker.inspect(&r.id).await {
            Err(crate::driver::Error::Unavailable { .. }) => return Ok(engine_lost(rt, key, engine)),
            Err(_) => exited.push(r),
            Ok(state) if !state.running => exited.push(r),
            Ok(state) if r.health_check => match state.health.as_deref() {
                Some("healthy") => health.push((r, Health::Healthy)),
                Some("unhealthy") => health.push((r, Health::Unhealthy)),
                _ => {}
            },
            Ok(_) => {}
        }
    }
    // The holder owns the task's network namespace and its published ports: if it goes, the
    // task cannot go on (Fargate's pause container is just as essential).
    let holder_gone = if definition.get("networkMode").and_then(Value::as_str) == Some("awsvpc") {
        match docker.inspect(&holder_name(&key.id)).await {
            Err(crate::driver::Error::Unavailable { .. }) => return Ok(engine_lost(rt, key, engine)),
            Err(_) => true,
            Ok(state) => !state.running,
        }
    } else {
        false
    };
    rt.engine_back(&key.id);

    // A service's task that turns UNHEALTHY is the service scheduler's to replace (after the
    // service's health check grace period); a standalone one stops here.
    let of_service = doc.get("startedBy").and_then(Value::as_str).is_some_and(|by| by.starts_with("ecs-svc/"));
    let known = |index: usize| {
        doc.get("containers").and_then(|cs| cs.get(index)).and_then(|c| str_of(c, "healthStatus")).map(str::to_owned)
    };
    // Why the task ends, the first reason found (health, then exits, then the holder).
    let mut end: Option<&str> = None;
    for (r, state) in health {
        let status = if state == Health::Healthy { "HEALTHY" } else { "UNHEALTHY" };
        if known(r.index).as_deref() != Some(status) {
            record_health(rt, key, &running, r.index, state).await;
        }
        if state == Health::Unhealthy && r.essential && !of_service {
            end = end.or(Some(super::UNHEALTHY_REASON));
        }
    }
    for r in exited {
        record_exit(rt, key, &docker, r, true).await;
        if r.essential {
            end = end.or(Some("Essential container in task exited"));
        }
    }
    if holder_gone {
        end = end.or(Some("Task stopped: the container holding its network namespace exited"));
    }
    if let Some(reason) = end {
        update(rt, key, |doc| set_stop(doc, "EssentialContainerExited", reason)).await;
        finish(rt, key, doc, Some(&docker), &running).await;
    }
    Ok(Next::Settled)
}

/// The task's engine does not answer: it is looked at again later (warned of once per loss).
fn engine_lost(rt: &TaskRuntime, key: &TaskKey, engine: usize) -> Next {
    if rt.engine_lost(&key.id) {
        tracing::warn!(task = %key.id, host = %rt.docker_host_name(engine), "lost the task's Docker engine; waiting for it");
    }
    Next::Retry(ENGINE_RETRY)
}

/// The containers of a task that have not stopped, as its stored document and task definition
/// say.
fn known_running(doc: &Doc, definition: &Doc) -> Vec<Running> {
    let definitions: &[Value] =
        definition.get("containerDefinitions").and_then(Value::as_array).map_or(&[], Vec::as_slice);
    let containers: &[Value] = doc.get("containers").and_then(Value::as_array).map_or(&[], Vec::as_slice);
    let mut running = Vec::new();
    for (index, c) in containers.iter().enumerate() {
        if str_of(c, "lastStatus") == Some("STOPPED") {
            continue;
        }
        let Some(id) = str_of(c, "runtimeId") else { continue };
        let def = definitions.get(index);
        let essential = def.and_then(|d| d.get("essential")).and_then(Value::as_bool).unwrap_or(true);
        let stop_timeout =
            def.and_then(|d| d.get("stopTimeout")).and_then(Value::as_i64).unwrap_or(DEFAULT_STOP_TIMEOUT);
        let health_check = def.is_some_and(|d| d.get("healthCheck").is_some());
        running.push(Running { index, id: id.to_owned(), essential, stop_timeout, health_check });
    }
    running
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

    // awslogs: the group must be there (or be created) before any container starts.
    let account = doc.get("taskArn").and_then(Value::as_str).and_then(|a| a.split(':').nth(4)).unwrap_or_default();
    let fargate = doc.get("launchType").and_then(Value::as_str) == Some("FARGATE");
    let mut log_groups = Vec::with_capacity(containers.len());
    for c in &containers {
        if let Some(reason) = awslogs::unsupported_driver(c) {
            return Err(fail(failed(reason)));
        }
        log_groups.push(match awslogs::awslogs_of(c, &key.region) {
            Some(Err(reason)) => return Err(fail(failed(awslogs::refused(&reason, fargate)))),
            Some(Ok(logs)) => {
                let group =
                    awslogs::ensure_group(rt.store(), &logs, account, fargate).await.map_err(|r| fail(failed(r)))?;
                Some((logs, group))
            }
            None => None,
        });
    }

    let secrets = secrets::resolve(rt.store(), &containers).await.map_err(|r| fail(failed(r)))?;

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
        let mut spec = container_spec(key, &labels, c, over, &attachment, &volumes, limits);
        spec.env.retain(|(k, _)| !secrets[index].iter().any(|(s, _)| s == k));
        spec.env.extend(secrets[index].iter().cloned());
        let id = docker.create(&spec).await.map_err(|e| fail(failed(format!("CannotStartContainerError: {e}"))))?;
        running.push(Running {
            index,
            id: id.clone(),
            essential: c.get("essential").and_then(Value::as_bool).unwrap_or(true),
            stop_timeout: spec.stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT),
            health_check: spec.health.is_some(),
        });
        if let Some((logs, group)) = &log_groups[index] {
            let stream = awslogs::stream_name(logs, name, &key.id, &id);
            let arn = labels.get(LABEL_TASK).map_or("", String::as_str);
            if let Err(reason) = awslogs::begin(rt.store(), logs, *group, &stream, &id, engine, arn).await {
                record_runtime_ids(rt, key, &running).await;
                return Err(fail(failed(reason)));
            }
        }
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
    // Keep the next such task of the cluster from waiting for its holder: asked before the task
    // is stored RUNNING, so that the change wakes the warm-holders controller for a pool that is
    // there.
    if doc.get("containerInstanceArn").is_none() && fits_warm_holder(&mode, &containers) {
        rt.want_warm_holders(key, labels.get(LABEL_TASK).map_or("", String::as_str));
    }
    let at = now();
    update(rt, key, |doc| {
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
    Ok((docker, running))
}

async fn task_definition(rt: &TaskRuntime, key: &TaskKey, doc: &Doc) -> Result<Doc, Failure> {
    let arn = doc.get("taskDefinitionArn").and_then(Value::as_str).unwrap_or_default();
    // A daemon's task runs its daemon task definition.
    let found = if let Some((family, revision)) = task_definition_parts(arn) {
        rt.store().get_task_definition(&key.region, family, Some(revision)).await
    } else if let Some((family, revision)) = daemon_task_definition_parts(arn) {
        rt.store().get_daemon_task_definition(&key.region, family, Some(revision)).await
    } else {
        return Err(failed(format!("The task definition {arn} is not a task definition ARN.")));
    };
    match found {
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
async fn finish(rt: &TaskRuntime, key: &TaskKey, read: &Doc, docker: Option<&Docker>, running: &[Running]) {
    let _stopping = super::Stopping::new(&rt.stopping);
    let at = now();
    let task = update(rt, key, |doc| {
        doc.insert("desiredStatus".into(), json!("STOPPED"));
        doc.insert("lastStatus".into(), json!("DEACTIVATING"));
        doc.entry("stoppingAt").or_insert(json!(at));
        doc.entry("executionStoppedAt").or_insert(json!(at));
    })
    .await;
    // The task as last read names it too: a task forgotten meanwhile (a reset) leaves nothing.
    let arn = task.as_ref().unwrap_or(read).get("taskArn").and_then(Value::as_str).map(str::to_owned);
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
            awslogs::wait_shipped(rt.store(), arn).await;
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
    rt.stopped(key);
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
