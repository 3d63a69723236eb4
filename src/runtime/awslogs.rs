//! The `awslogs` log driver: a container's output goes into CloudWatch Logs. Docker keeps the
//! output in its json-file log; the log-shipping controller ships it from there into the stream
//! this names, under the names AWS gives: `awslogs-stream-prefix/containerName/taskId`, or the
//! Docker container id without a prefix.

use serde_json::{Map, Value};

use crate::store::{LogGroupRow, Store};

/// A container's `awslogs` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AwsLogs {
    /// `awslogs-region`, else the task's region.
    pub region: String,
    /// `awslogs-group`.
    pub group: String,
    /// `awslogs-stream-prefix`.
    pub prefix: Option<String>,
    /// `awslogs-create-group: "true"`.
    pub create_group: bool,
}

/// The `awslogs` options of container definition `c`, if it logs with awslogs.
pub(super) fn awslogs_of(c: &Map<String, Value>, task_region: &str) -> Option<AwsLogs> {
    let log = c.get("logConfiguration")?;
    if log.get("logDriver").and_then(Value::as_str) != Some("awslogs") {
        return None;
    }
    let option = |name: &str| log.get("options").and_then(|o| o.get(name)).and_then(Value::as_str);
    Some(AwsLogs {
        region: option("awslogs-region").unwrap_or(task_region).to_owned(),
        group: option("awslogs-group").unwrap_or_default().to_owned(),
        prefix: option("awslogs-stream-prefix").filter(|p| !p.is_empty()).map(str::to_owned),
        create_group: option("awslogs-create-group").is_some_and(|v| v.eq_ignore_ascii_case("true")),
    })
}

/// The stream a container's output goes to, as AWS names it.
pub(super) fn stream_name(logs: &AwsLogs, container: &str, task_id: &str, container_id: &str) -> String {
    match &logs.prefix {
        Some(prefix) => format!("{prefix}/{container}/{task_id}"),
        None => container_id.to_owned(),
    }
}

/// Makes sure the group exists (creating it with `awslogs-create-group`), or the reason the
/// container cannot start, worded as ECS words it for the launch type.
pub(super) async fn ensure_group(store: &Store, logs: &AwsLogs, account: &str, fargate: bool) -> Result<i64, String> {
    let internal = |e: crate::store::Error| format!("CannotStartContainerError: {e}");
    if let Some(group) = store.get_log_group(&logs.region, &logs.group).await.map_err(internal)? {
        return Ok(group.id);
    }
    if !logs.create_group {
        let cause = "failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist.";
        return Err(if fargate {
            format!(
                "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: {cause} : exit status 1"
            )
        } else {
            format!(
                "CannotStartContainerError: Error response from daemon: failed to initialize logging driver: {cause}"
            )
        });
    }
    let group = LogGroupRow {
        id: 0,
        name: logs.group.clone(),
        created_ms: crate::domain::now_ms(),
        retention_days: None,
        kms_key_id: None,
        class: "STANDARD".to_owned(),
        deletion_protection: false,
        stored_bytes: 0,
        metric_filters: 0,
    };
    let arn = format!("arn:aws:logs:{}:{account}:log-group:{}", logs.region, logs.group);
    // Two containers creating the group at once: one of them stores it.
    store.create_log_group(&logs.region, &group, &arn, &[]).await.map_err(internal)?;
    let stored = store.get_log_group(&logs.region, &logs.group).await.map_err(internal)?;
    stored.map(|g| g.id).ok_or_else(|| "CannotStartContainerError: the log group went away".to_owned())
}

/// Creates (if needed) the stream of a container and records that its output ships there.
pub(super) async fn begin(
    store: &Store,
    group_id: i64,
    stream: &str,
    container_id: &str,
    engine: usize,
    task_arn: &str,
) -> Result<(), String> {
    let internal = |e: crate::store::Error| format!("CannotStartContainerError: {e}");
    store.create_log_stream(group_id, stream, crate::domain::now_ms()).await.map_err(internal)?;
    let stream = store.get_log_stream(group_id, stream).await.map_err(internal)?;
    let stream = stream.ok_or_else(|| "CannotStartContainerError: the log stream went away".to_owned())?;
    let engine = i64::try_from(engine).unwrap_or(i64::MAX);
    store.begin_log_shipping(container_id, engine, task_arn, stream.id).await.map_err(internal)
}

/// How long a stopped task's containers wait for their output to be shipped before they go.
const SHIP_DEADLINE: std::time::Duration = std::time::Duration::from_secs(15);

/// Waits until the output of every awslogs container of the task is shipped to its end (the
/// log-shipping controller does it), for [`SHIP_DEADLINE`] at most: Docker's log of a container
/// goes with the container.
pub(super) async fn wait_shipped(store: &Store, task_arn: &str) {
    let deadline = tokio::time::Instant::now() + SHIP_DEADLINE;
    loop {
        match store.log_shipments_of_task(task_arn).await {
            Ok(shipments) if shipments.iter().all(|s| s.done) => return,
            Ok(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Ok(_) => {
                tracing::warn!(task = task_arn, "its containers' output was not all shipped in {SHIP_DEADLINE:?}");
                return;
            }
            Err(e) => {
                tracing::warn!(task = task_arn, error = %e, "cannot read its log shipments");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn streams_are_named_as_on_aws() {
        let c = json!({"name": "web", "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": "/ecs/app", "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true"}}});
        let logs = awslogs_of(c.as_object().unwrap_or(&Map::new()), "us-east-1");
        let logs = logs.unwrap_or_else(|| panic!("awslogs"));
        assert_eq!(logs.region, "us-east-1");
        assert!(logs.create_group);
        assert_eq!(stream_name(&logs, "web", "abc", "d0cker"), "ecs/web/abc");
        let bare = AwsLogs { prefix: None, ..logs };
        assert_eq!(stream_name(&bare, "web", "abc", "d0cker"), "d0cker");
        let other = json!({"name": "x", "logConfiguration": {"logDriver": "json-file"}});
        assert_eq!(awslogs_of(other.as_object().unwrap_or(&Map::new()), "r"), None);
    }
}
