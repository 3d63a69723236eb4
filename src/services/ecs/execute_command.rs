//! ExecuteCommand (ECS Exec): every error AWS answers before a session opens, then a clear
//! UnsupportedFeatureException for the session itself, which berth does not build yet (it needs
//! an SSM Session Manager channel into the container).

use serde::Deserialize;
use serde_json::Value;

use super::{Ctx, clusters};
use crate::error::Result;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ExecuteCommandInput {
    cluster: Option<String>,
    container: Option<String>,
    command: String,
    interactive: bool,
    task: String,
}

/// What AWS answers when the task cannot take a command: exec not enabled when the task was
/// run, or its agent not running (the task is not running).
const NOT_ENABLED: &str = "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn\u{2019}t running. Wait and try again or run a new task with execute command enabled and try again.";

pub(super) async fn execute_command(ctx: &Ctx<'_>, input: ExecuteCommandInput) -> Result<Value> {
    if !input.interactive {
        return Err(aws_error!(InvalidParameterException, "Interactive is the only mode supported currently."));
    }
    if input.command.trim().is_empty() {
        return Err(aws_error!(InvalidParameterException, "Command cannot be empty."));
    }
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    let reference = input.task.rsplit('/').next().unwrap_or_default();
    if !matches!(reference.len(), 32 | 36) {
        return Err(aws_error!(InvalidParameterException, "task length should be one of [32,36]"));
    }
    let (_, task) = super::tasks::find(ctx, &cluster, &input.task).await?;
    let containers = task.get("containers").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let name_of = |c: &Value| c.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
    let container = match input.container.as_deref() {
        Some(wanted) => containers.iter().find(|c| name_of(c) == wanted).ok_or_else(|| {
            aws_error!(InvalidParameterException, "The container {wanted} was not found in the task {}.", input.task)
        })?,
        None => match containers {
            [only] => only,
            _ => {
                return Err(aws_error!(
                    InvalidParameterException,
                    "The task has {} containers: name the one to run the command in with container.",
                    containers.len()
                ));
            }
        },
    };
    let enabled = task.get("enableExecuteCommand").and_then(Value::as_bool) == Some(true);
    let running = container.get("lastStatus").and_then(Value::as_str) == Some("RUNNING");
    if !enabled || !running {
        return Err(aws_error!(InvalidParameterException, "{NOT_ENABLED}"));
    }
    Err(aws_error!(
        UnsupportedFeatureException,
        "ExecuteCommand is not implemented by berth yet: the task and container {} can take a command, but berth does not open ECS Exec sessions (run `docker exec` on the container berth started for it)",
        name_of(container)
    ))
}
