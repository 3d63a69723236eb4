//! Waiting for a container's dependencies (`dependsOn`) to meet their conditions before it
//! starts: START, COMPLETE, SUCCESS or HEALTHY, watched on Docker.
//!
//! It may call the Docker driver and [`super::spec`]; only [`super::lifecycle`] calls it, with
//! the containers started so far (`Running`), and it fails the way the lifecycle records
//! (`Failure`).

use serde_json::{Map, Value};
use tokio::sync::Notify;

use super::spec::str_of;
use super::task::{Failure, Running, failed};
use crate::domain::list_of;
use crate::driver::{Docker, Health};

/// Waits until the dependencies of container `index` meet their conditions (START: started;
/// COMPLETE: exited; SUCCESS: exited 0; HEALTHY: health check passed). A stop request ends the
/// wait; a dependency that cannot meet its condition fails the task.
pub(super) async fn dependencies_met(
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
