//! The calls only the ECS container agent makes. DiscoverPollEndpoint answers the endpoints an
//! agent of the region would poll, in AWS's shape; berth serves no agent communication service
//! there (its own virtual instances need no agent), so an external agent that connects to them
//! finds AWS, not berth.
//!
//! SubmitTaskStateChange and SubmitContainerStateChange record what the agent of an external
//! instance (ECS Anywhere: launch type EXTERNAL) reports about the tasks placed on it, which
//! berth does not run: their statuses (never moving back), times, exit codes, runtime ids and
//! network bindings. A task berth runs itself takes no reports.
//!
//! SubmitAttachmentStateChanges records the states an agent reports for the network interface
//! attachments (`attachment/<id>`) of a cluster's tasks.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ctx, clusters};
use crate::domain::now;
use crate::error::Result;
use crate::store::{Doc, TaskKey};

/// What the Submit calls answer once the report is recorded.
const ACKNOWLEDGMENT: &str = "ACK";

/// Any cluster and container instance, or none, get the region's endpoints, as on AWS.
pub(super) async fn discover_poll_endpoint(ctx: &Ctx<'_>, _input: Value) -> Result<Value> {
    let region = ctx.region();
    let endpoint = |kind: &str| format!("https://ecs-{kind}-1.{region}.amazonaws.com/");
    Ok(json!({
        "endpoint": endpoint("a"),
        "telemetryEndpoint": endpoint("t"),
        "serviceConnectEndpoint": endpoint("sc"),
    }))
}

/// The statuses an agent reports for a task or a container, in the order a task goes through
/// them: a report never moves a task back.
const STATUSES: [&str; 3] = ["PENDING", "RUNNING", "STOPPED"];

fn rank(status: &str) -> usize {
    STATUSES.iter().position(|s| *s == status).unwrap_or(0)
}

/// What one container's report changes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ContainerChange {
    container_name: Option<String>,
    runtime_id: Option<String>,
    status: Option<String>,
    exit_code: Option<i64>,
    reason: Option<String>,
    network_bindings: Option<Value>,
    image_digest: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SubmitTaskStateChangeInput {
    cluster: Option<String>,
    task: Option<String>,
    status: Option<String>,
    reason: Option<String>,
    #[serde(default)]
    containers: Vec<ContainerChange>,
    pull_started_at: Option<f64>,
    pull_stopped_at: Option<f64>,
    execution_stopped_at: Option<f64>,
}

/// The external task a report names, checked: the cluster's, and run by an external agent.
async fn reported_task(ctx: &Ctx<'_>, cluster: Option<&str>, task: Option<&str>) -> Result<(TaskKey, Doc)> {
    let cluster = clusters::active_cluster(ctx, cluster).await?;
    let Some(reference) = task.filter(|t| !t.is_empty()) else {
        return Err(aws_error!(InvalidParameterException, "Task cannot be empty."));
    };
    let (key, doc) = super::tasks::find(ctx, &cluster, reference).await?;
    if doc.get("launchType").and_then(Value::as_str) != Some("EXTERNAL") {
        return Err(aws_error!(
            InvalidParameterException,
            "The task {reference} is run by berth itself: only a task on an external instance (launch type EXTERNAL) takes state changes from its agent."
        ));
    }
    Ok((key, doc))
}

fn check_status(status: Option<&str>) -> Result<()> {
    match status {
        Some(s) if !STATUSES.contains(&s) => Err(aws_error!(
            InvalidParameterException,
            "Invalid status '{s}': an agent reports PENDING, RUNNING or STOPPED."
        )),
        _ => Ok(()),
    }
}

/// Records a container's report in the task document; false when the task has no such
/// container.
fn apply_container(doc: &mut Doc, change: &ContainerChange) -> bool {
    let Some(Value::Array(containers)) = doc.get_mut("containers") else { return false };
    let name = change.container_name.as_deref().unwrap_or_default();
    let Some(c) = containers.iter_mut().find(|c| c.get("name").and_then(Value::as_str) == Some(name)) else {
        return false;
    };
    if let Some(status) = &change.status {
        let current = c.get("lastStatus").and_then(Value::as_str).unwrap_or("PENDING");
        if rank(status) >= rank(current) {
            c["lastStatus"] = json!(status);
        }
    }
    let mut set = |member: &str, value: Option<Value>| {
        if let Some(v) = value {
            c[member] = v;
        }
    };
    set("runtimeId", change.runtime_id.clone().map(Value::from));
    set("exitCode", change.exit_code.map(Value::from));
    set("reason", change.reason.clone().map(Value::from));
    set("networkBindings", change.network_bindings.clone());
    set("imageDigest", change.image_digest.clone().map(Value::from));
    true
}

/// Moves the task to `status` (never back), with the times AWS records on the way.
fn apply_task_status(doc: &mut Doc, status: &str, reason: Option<&str>, execution_stopped_at: Option<f64>) {
    let current = doc.get("lastStatus").and_then(Value::as_str).unwrap_or("PROVISIONING").to_owned();
    if current != "PROVISIONING" && rank(status) < rank(&current) {
        return;
    }
    let at = now();
    doc.insert("lastStatus".into(), json!(status));
    match status {
        "RUNNING" => {
            doc.entry("startedAt").or_insert(json!(at));
            doc.insert("connectivity".into(), json!("CONNECTED"));
            doc.entry("connectivityAt").or_insert(json!(at));
        }
        "STOPPED" => {
            doc.insert("desiredStatus".into(), json!("STOPPED"));
            doc.entry("stoppingAt").or_insert(json!(at));
            doc.entry("executionStoppedAt").or_insert(json!(execution_stopped_at.unwrap_or(at)));
            doc.entry("stoppedAt").or_insert(json!(at));
            // Stopped by its agent on its own (a StopTask set these already).
            doc.entry("stopCode").or_insert(json!("EssentialContainerExited"));
            if let Some(reason) = reason {
                doc.entry("stoppedReason").or_insert(json!(reason));
            }
            doc.insert("connectivity".into(), json!("DISCONNECTED"));
        }
        _ => {}
    }
}

/// SubmitTaskStateChange: an external instance's agent reports a task's state, and its
/// containers'.
pub(super) async fn submit_task_state_change(ctx: &Ctx<'_>, input: SubmitTaskStateChangeInput) -> Result<Value> {
    check_status(input.status.as_deref())?;
    for c in &input.containers {
        check_status(c.status.as_deref())?;
    }
    let (key, doc) = reported_task(ctx, input.cluster.as_deref(), input.task.as_deref()).await?;
    let mut probe = doc.clone();
    if let Some(missing) = input.containers.iter().find(|c| !apply_container(&mut probe, c)) {
        return Err(aws_error!(
            InvalidParameterException,
            "The task has no container named '{}'.",
            missing.container_name.as_deref().unwrap_or_default()
        ));
    }
    ctx.store
        .update_task(&key, |doc| {
            for c in &input.containers {
                apply_container(doc, c);
            }
            if let Some(at) = input.pull_started_at {
                doc.insert("pullStartedAt".into(), json!(at));
            }
            if let Some(at) = input.pull_stopped_at {
                doc.insert("pullStoppedAt".into(), json!(at));
            }
            if let Some(status) = &input.status {
                apply_task_status(doc, status, input.reason.as_deref(), input.execution_stopped_at);
            }
        })
        .await?;
    Ok(json!({"acknowledgment": ACKNOWLEDGMENT}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SubmitContainerStateChangeInput {
    cluster: Option<String>,
    task: Option<String>,
    #[serde(flatten)]
    change: ContainerChange,
}

/// SubmitContainerStateChange: an external instance's agent reports one container's state.
pub(super) async fn submit_container_state_change(
    ctx: &Ctx<'_>,
    input: SubmitContainerStateChangeInput,
) -> Result<Value> {
    check_status(input.change.status.as_deref())?;
    let (key, mut doc) = reported_task(ctx, input.cluster.as_deref(), input.task.as_deref()).await?;
    if !apply_container(&mut doc, &input.change) {
        return Err(aws_error!(
            InvalidParameterException,
            "The task has no container named '{}'.",
            input.change.container_name.as_deref().unwrap_or_default()
        ));
    }
    ctx.store
        .update_task(&key, |doc| {
            apply_container(doc, &input.change);
        })
        .await?;
    Ok(json!({"acknowledgment": ACKNOWLEDGMENT}))
}

/// The statuses of an attachment (an elastic network interface), in the order it goes through
/// them; FAILED ends it from any of them.
const ATTACHMENT_STATUSES: [&str; 7] =
    ["PRECREATED", "CREATED", "ATTACHING", "ATTACHED", "DETACHING", "DETACHED", "DELETED"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AttachmentChange {
    attachment_arn: String,
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SubmitAttachmentStateChangesInput {
    cluster: Option<String>,
    attachments: Vec<AttachmentChange>,
}

/// The attachment id an attachment ARN (`attachment/<id>`, of this region and account) names.
fn attachment_id<'a>(ctx: &Ctx<'_>, arn: &'a str) -> Option<&'a str> {
    let id = arn.strip_prefix("arn:")?.rsplit_once(":attachment/")?.1;
    (ctx.scope.arn(&format!("attachment/{id}")) == arn).then_some(id)
}

/// SubmitAttachmentStateChanges: an agent reports the states of its tasks' network interface
/// attachments; each is recorded in its task (a status never moves back, and FAILED or DELETED
/// is where it ends).
pub(super) async fn submit_attachment_state_changes(
    ctx: &Ctx<'_>,
    input: SubmitAttachmentStateChangesInput,
) -> Result<Value> {
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    if input.attachments.is_empty() {
        return Err(aws_error!(InvalidParameterException, "Attachments cannot be empty."));
    }
    let mut changes = Vec::with_capacity(input.attachments.len());
    for change in &input.attachments {
        let Some(id) = attachment_id(ctx, &change.attachment_arn) else {
            return Err(aws_error!(
                InvalidParameterException,
                "'{}' is not an attachment ARN: arn:aws:ecs:<region>:<account>:attachment/<id>.",
                change.attachment_arn
            ));
        };
        if change.status != "FAILED" && !ATTACHMENT_STATUSES.contains(&change.status.as_str()) {
            return Err(aws_error!(
                InvalidParameterException,
                "Invalid attachment status '{}': one of {}, or FAILED.",
                change.status,
                ATTACHMENT_STATUSES.join(", ")
            ));
        }
        changes.push((id, change));
    }
    // The tasks (running or stopped: an interface detaches after its task stops) that hold them.
    let mut holders: Vec<(TaskKey, &str)> = Vec::new();
    for desired_status in ["RUNNING", "STOPPED"] {
        let filter = crate::store::TaskFilter { desired_status, ..Default::default() };
        for (task, text) in ctx.store.matching_task_texts(ctx.region(), &cluster.name, &filter).await? {
            for (id, _) in &changes {
                if text.contains(&format!("\"id\":\"{id}\"")) {
                    let key =
                        TaskKey { region: ctx.region().to_owned(), cluster: cluster.name.clone(), id: task.clone() };
                    holders.push((key, id));
                }
            }
        }
    }
    if let Some((_, change)) = changes.iter().find(|(id, _)| !holders.iter().any(|(_, h)| h == id)) {
        return Err(aws_error!(
            InvalidParameterException,
            "The attachment {} was not found in cluster {}.",
            change.attachment_arn,
            cluster.name
        ));
    }
    for (key, id) in &holders {
        let Some((_, change)) = changes.iter().find(|(c, _)| c == id) else { continue };
        ctx.store
            .update_task(key, |doc| {
                let Some(Value::Array(attachments)) = doc.get_mut("attachments") else { return };
                for a in attachments.iter_mut().filter(|a| a.get("id").and_then(Value::as_str) == Some(id)) {
                    let current = a.get("status").and_then(Value::as_str).unwrap_or("PRECREATED");
                    let rank = |s: &str| ATTACHMENT_STATUSES.iter().position(|x| *x == s);
                    let ended = current == "FAILED" || current == "DELETED";
                    let forward = change.status == "FAILED" || rank(&change.status) >= rank(current);
                    if !ended && forward {
                        a["status"] = json!(change.status);
                    }
                }
            })
            .await?;
    }
    Ok(json!({"acknowledgment": ACKNOWLEDGMENT}))
}
