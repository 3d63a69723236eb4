//! The `awslogs` log driver: a container's output goes into CloudWatch Logs. Docker keeps the
//! output in its json-file log; the log-shipping controller ships it from there into the stream
//! this names, under the names AWS gives: `awslogs-stream-prefix/containerName/taskId`, or the
//! Docker container id without a prefix.

use serde_json::{Map, Value};

use crate::domain::log_multiline;
use crate::domain::task_definition::log_driver;
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
    /// The pattern that starts a multi-line event (`awslogs-multiline-pattern`, or
    /// `awslogs-datetime-format` as a regular expression).
    pub multiline: Option<String>,
    /// `awslogs-force-flush-interval-seconds`, in ms.
    pub flush_ms: i64,
}

/// The options the awslogs driver knows: Docker's, and the ones ECS adds or passes on.
const KNOWN_OPTIONS: &[&str] = &[
    "awslogs-region",
    "awslogs-endpoint",
    "awslogs-group",
    "awslogs-stream",
    "awslogs-stream-prefix",
    "awslogs-create-group",
    "awslogs-create-stream",
    "awslogs-datetime-format",
    "awslogs-multiline-pattern",
    "awslogs-credentials-endpoint",
    "awslogs-force-flush-interval-seconds",
    "awslogs-max-buffered-events",
    "awslogs-format",
    "tag",
    "mode",
    "max-buffer-size",
];

/// Go's `strconv.ParseBool`, which Docker reads the boolean options with.
fn go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// The `awslogs` options of container definition `c`, if it logs with awslogs: the options, or
/// the Docker engine's words for why it refuses them.
pub(super) fn awslogs_of(c: &Map<String, Value>, task_region: &str) -> Option<Result<AwsLogs, String>> {
    if log_driver(c) != Some("awslogs") {
        return None;
    }
    let options = c.get("logConfiguration").and_then(|l| l.get("options")).and_then(Value::as_object);
    Some(parse_options(options.unwrap_or(&Map::new()), task_region))
}

fn parse_options(options: &Map<String, Value>, task_region: &str) -> Result<AwsLogs, String> {
    let option = |name: &str| options.get(name).and_then(Value::as_str);
    if let Some(unknown) = options.keys().find(|k| !KNOWN_OPTIONS.contains(&k.as_str())) {
        return Err(format!("unknown log opt '{unknown}' for awslogs log driver"));
    }
    let group = option("awslogs-group").unwrap_or_default();
    if group.is_empty() {
        return Err("must specify a value for log opt 'awslogs-group'".to_owned());
    }
    let create_group = match option("awslogs-create-group").filter(|v| !v.is_empty()) {
        None => false,
        Some(v) => go_bool(v).ok_or_else(|| {
            format!(
                "must specify valid value for log opt 'awslogs-create-group': strconv.ParseBool: parsing {v:?}: invalid syntax"
            )
        })?,
    };
    let flush_ms = match option("awslogs-force-flush-interval-seconds").filter(|v| !v.is_empty()) {
        None => log_multiline::DEFAULT_FLUSH_MS,
        Some(v) => match v.parse::<i64>() {
            Ok(seconds) if seconds > 0 => seconds.saturating_mul(1000),
            _ => {
                return Err(format!(
                    "must specify a positive integer for log opt 'awslogs-force-flush-interval-seconds': {v}"
                ));
            }
        },
    };
    if let Some(mode) = option("mode").filter(|m| !m.is_empty() && *m != "blocking" && *m != "non-blocking") {
        return Err(format!("logger: logging mode not supported: {mode}"));
    }
    let datetime = options.get("awslogs-datetime-format").map(|v| v.as_str().unwrap_or_default());
    let pattern = options.get("awslogs-multiline-pattern").map(|v| v.as_str().unwrap_or_default());
    Ok(AwsLogs {
        region: option("awslogs-region").filter(|r| !r.is_empty()).unwrap_or(task_region).to_owned(),
        group: group.to_owned(),
        prefix: option("awslogs-stream-prefix").filter(|p| !p.is_empty()).map(str::to_owned),
        create_group,
        multiline: log_multiline::start_pattern(datetime, pattern)?,
        flush_ms,
    })
}

/// Why container definition `c` cannot start here because of its log driver: FireLens log
/// routing (`awsfirelens`) is not built into berth yet.
pub(super) fn unsupported_driver(c: &Map<String, Value>) -> Option<String> {
    (log_driver(c)? == "awsfirelens").then(|| {
        let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
        format!(
            "CannotStartContainerError: container {name} logs with awsfirelens: berth does not run FireLens log routing yet; use the awslogs log driver"
        )
    })
}

/// Why a container whose awslogs options the engine refuses does not start, worded as ECS words
/// it for the launch type.
pub(super) fn refused(reason: &str, fargate: bool) -> String {
    if fargate {
        format!("ResourceInitializationError: failed to validate logger args: {reason} : exit status 1")
    } else {
        format!("CannotCreateContainerError: Error response from daemon: {reason}")
    }
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
    logs: &AwsLogs,
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
    store
        .begin_log_shipping(container_id, engine, task_arn, stream.id, logs.multiline.as_deref(), logs.flush_ms)
        .await
        .map_err(internal)
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
        let logs = logs.and_then(Result::ok).unwrap_or_else(|| panic!("awslogs"));
        assert_eq!(logs.region, "us-east-1");
        assert!(logs.create_group);
        assert_eq!(stream_name(&logs, "web", "abc", "d0cker"), "ecs/web/abc");
        let bare = AwsLogs { prefix: None, ..logs };
        assert_eq!(stream_name(&bare, "web", "abc", "d0cker"), "d0cker");
        let other = json!({"name": "x", "logConfiguration": {"logDriver": "json-file"}});
        assert_eq!(awslogs_of(other.as_object().unwrap_or(&Map::new()), "r"), None);
    }

    fn refusal(options: Value) -> Option<String> {
        parse_options(options.as_object().unwrap_or(&Map::new()), "r").err()
    }

    #[test]
    fn options_the_engine_refuses_are_refused_with_its_words() {
        assert_eq!(
            refusal(json!({"awslogs-group": "g", "color": "red"})).as_deref(),
            Some("unknown log opt 'color' for awslogs log driver")
        );
        assert_eq!(refusal(json!({})).as_deref(), Some("must specify a value for log opt 'awslogs-group'"));
        assert!(
            refusal(json!({"awslogs-group": "g", "awslogs-create-group": "yes"}))
                .is_some_and(|e| e.contains("parsing \"yes\": invalid syntax"))
        );
        assert!(refusal(json!({"awslogs-group": "g", "awslogs-force-flush-interval-seconds": "0"})).is_some());
        assert!(refusal(json!({"awslogs-group": "g", "mode": "eventually"})).is_some());
        assert!(
            refusal(json!({"awslogs-group": "g", "awslogs-datetime-format": "%Y",
            "awslogs-multiline-pattern": "^x"}))
            .is_some_and(|e| e.contains("at the same time"))
        );
        let ok = parse_options(
            json!({"awslogs-group": "g", "awslogs-create-group": "True",
            "awslogs-datetime-format": "%Y", "awslogs-force-flush-interval-seconds": "2",
            "mode": "non-blocking", "max-buffer-size": "4m"})
            .as_object()
            .unwrap_or(&Map::new()),
            "r",
        );
        assert_eq!(ok.map(|l| (l.create_group, l.multiline, l.flush_ms)), Ok((true, Some(r"\d{4}".to_owned()), 2000)));
    }
}
