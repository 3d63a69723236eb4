//! What a pass of the service scheduler observed, written into the service: counts per
//! deployment, events, rollout state and the circuit breaker, steady state, and for a DRAINING
//! service with no tasks left, INACTIVE.

use serde_json::{Map, Value, json};

use super::service_plan::*;
use crate::domain::deployment::{self};
use crate::domain::now;
use crate::error::Result;
use crate::services::ecs::Ctx;
use crate::services::ecs::services::{BREAKER_REASON, add_events, roll_back};
use crate::store::ServiceRow;

/// Writes what a pass observed and did into the service: counts per deployment, events,
/// rollout state, steady state, and for a DRAINING service with no tasks left, INACTIVE.
pub(super) async fn record(
    ctx: &Ctx<'_>,
    before: &ServiceRow,
    members: &[Member],
    stopped: &[(&Member, String)],
    started: usize,
    outcome: Outcome,
    desired: usize,
) -> Result<()> {
    let stopped_arns: Vec<&str> = stopped.iter().map(|(m, _)| m.arn.as_str()).collect();
    let live: Vec<&Member> =
        members.iter().filter(|m| m.desired_running && !stopped_arns.contains(&m.arn.as_str())).collect();
    let count = |deployment: Option<&str>, running: bool| {
        live.iter()
            .filter(|m| deployment.is_none_or(|d| m.deployment == d))
            .filter(|m| if running { m.last == "RUNNING" } else { m.last != "RUNNING" })
            .count()
    };
    let pending_total = count(None, false) + started;
    let running_total = count(None, true);
    let at = now();
    let Outcome { mut events, failed, seen } = outcome;
    let name = before.name.clone();
    // Every task not yet STOPPED: a deleted service is DRAINING until they all are.
    let remaining = members.len() + started;
    let primary_started = started;
    ctx.store
        .update_service(ctx.region(), &before.cluster, &name, |row| {
            let mut changed = false;
            let mut deployments = row.doc.get("deployments").and_then(Value::as_array).cloned().unwrap_or_default();
            let primary_id =
                deployments.first().and_then(|d| d.get("id")).and_then(Value::as_str).unwrap_or_default().to_owned();
            for d in &mut deployments {
                let id = d.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
                let extra = if id == primary_id { primary_started } else { 0 };
                let running = count(Some(&id), true);
                let pending = count(Some(&id), false) + extra;
                let failed_now = failed.get(&id).copied().unwrap_or(0);
                let prev = (d["runningCount"].clone(), d["pendingCount"].clone());
                d["runningCount"] = json!(running);
                d["pendingCount"] = json!(pending);
                // Failures count while the deployment rolls out; a completed one has proved its
                // tasks run, and its count stays at zero.
                if failed_now > 0 && d["rolloutState"] == json!("IN_PROGRESS") {
                    d["failedTasks"] = json!(d["failedTasks"].as_i64().unwrap_or(0) + failed_now);
                }
                if prev != (d["runningCount"].clone(), d["pendingCount"].clone()) || failed_now > 0 {
                    d["updatedAt"] = json!(at);
                    changed = true;
                }
            }
            // The circuit breaker: too many of the primary's tasks failed to start.
            let breaker = row.doc.get("deploymentConfiguration").and_then(|c| c.get("deploymentCircuitBreaker"));
            let enabled = breaker.and_then(|b| b.get("enable")).and_then(Value::as_bool) == Some(true);
            let rollback = breaker.and_then(|b| b.get("rollback")).and_then(Value::as_bool) == Some(true);
            let threshold = deployment::failure_threshold(desired);
            let mut tripped = false;
            if let Some(primary) = deployments.first_mut() {
                let failed_tasks = primary["failedTasks"].as_i64().unwrap_or(0);
                let in_progress = primary["rolloutState"] == json!("IN_PROGRESS");
                if enabled && in_progress && deployment::breaker_trips(failed_tasks, desired) {
                    primary["rolloutState"] = json!("FAILED");
                    primary["rolloutStateReason"] = json!(BREAKER_REASON);
                    primary["updatedAt"] = json!(at);
                    events.push(format!(
                        "(service {name}) (deployment {primary_id}) deployment failed: tasks failed to start."
                    ));
                    changed = true;
                    tripped = true;
                }
            }
            crate::services::ecs::service_deployments::progress(&mut row.state, &deployments, threshold);
            row.doc.insert("deployments".into(), json!(deployments));
            if tripped {
                let rolled_back = if rollback { roll_back(ctx, row, BREAKER_REASON) } else { None };
                match rolled_back {
                    Some(event) => events.push(event),
                    None => {
                        let service = row.doc.clone();
                        crate::services::ecs::service_deployments::failed(
                            ctx,
                            &mut row.state,
                            &service,
                            &primary_id,
                            None,
                            BREAKER_REASON,
                        );
                    }
                }
            }
            let mut deployments = row.doc.get("deployments").and_then(Value::as_array).cloned().unwrap_or_default();
            // Old deployments with no tasks left are done.
            let before_len = deployments.len();
            let mut i = 0;
            deployments.retain(|d| {
                i += 1;
                i == 1 || d["runningCount"] != json!(0) || d["pendingCount"] != json!(0)
            });
            changed |= before_len != deployments.len();
            // A primary with all its tasks RUNNING and nothing else left: the deployment completed.
            if let Some(primary) = deployments.first_mut() {
                let healthy = live.iter().filter(|m| m.deployment == primary_id && m.healthy).count();
                let done = live.iter().all(|m| m.deployment == primary_id && !m.draining)
                    && healthy == desired
                    && primary["pendingCount"] == json!(0);
                if done && primary["rolloutState"] == json!("IN_PROGRESS") {
                    let id = primary["id"].as_str().unwrap_or_default().to_owned();
                    primary["rolloutState"] = json!("COMPLETED");
                    primary["failedTasks"] = json!(0);
                    primary["rolloutStateReason"] = json!(format!("ECS deployment {id} completed."));
                    primary["updatedAt"] = json!(at);
                    events.push(format!("(service {name}) (deployment {id}) deployment completed."));
                    row.state.insert("lastCompleted".into(), primary.clone());
                    crate::services::ecs::service_deployments::completed(&mut row.state, &id);
                    changed = true;
                }
            }
            if row.doc.get("schedulingStrategy") == Some(&json!("DAEMON"))
                && row.doc.get("desiredCount") != Some(&json!(desired))
            {
                // A daemon's desired count is the number of instances it should run on.
                row.doc.insert("desiredCount".into(), json!(desired));
                if let Some(primary) = deployments.first_mut() {
                    primary["desiredCount"] = json!(desired);
                }
                changed = true;
            }
            // Steady: one deployment, done, with every task RUNNING.
            let steady = deployments.len() == 1
                && deployments.first().and_then(|d| d.get("rolloutState")) == Some(&json!("COMPLETED"))
                && running_total == desired
                && pending_total == 0;
            let was_steady = row.state.get("steady").and_then(Value::as_bool) == Some(true);
            if steady && !was_steady && row.status == "ACTIVE" {
                events.push(format!("(service {name}) has reached a steady state."));
            }
            if steady != was_steady {
                row.state.insert("steady".into(), json!(steady));
                changed = true;
            }
            for (key, value) in [("runningCount", running_total), ("pendingCount", pending_total)] {
                if row.doc.get(key) != Some(&json!(value)) {
                    row.doc.insert(key.into(), json!(value));
                    changed = true;
                }
            }
            row.doc.insert("deployments".into(), json!(deployments));
            if !events.is_empty() {
                add_events(&mut row.doc, std::mem::take(&mut events));
                changed = true;
            }
            let any_running = count(Some(&primary_id), true) > 0;
            changed |= bookkeeping(row, &seen, failed.values().sum(), any_running, remaining);
            changed
        })
        .await?;
    Ok(())
}

/// What every pass records besides counts and events: the ended tasks it has seen, the back-off
/// after failures (1, 2, 4 ... up to 60 seconds, as ECS throttles a service whose tasks keep
/// failing to start; cleared once a task of the service runs), and a DRAINING service with no
/// task left turning INACTIVE. Answers whether anything changed.
pub(super) fn bookkeeping(
    row: &mut ServiceRow,
    seen: &[String],
    failures: i64,
    any_running: bool,
    remaining: usize,
) -> bool {
    let at = now();
    let mut changed = false;
    if !seen.is_empty() {
        let mut kept: Map<String, Value> = row
            .state
            .get("seen")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, t)| t.as_f64().unwrap_or(0.0) > at - 3.0 * SEEN_WINDOW)
            .collect();
        for arn in seen {
            kept.insert(arn.clone(), json!(at));
        }
        row.state.insert("seen".into(), Value::Object(kept));
        changed = true;
    }
    if failures > 0 {
        let streak = row.state.get("failStreak").and_then(Value::as_i64).unwrap_or(0) + failures;
        let delay = 2_f64.powi(i32::try_from(streak.min(6)).unwrap_or(6) - 1).min(60.0);
        row.state.insert("failStreak".into(), json!(streak));
        row.state.insert("backoffUntil".into(), json!(at + delay));
        changed = true;
    } else if any_running && row.state.contains_key("failStreak") {
        row.state.remove("failStreak");
        row.state.remove("backoffUntil");
        changed = true;
    }
    if row.status == "DRAINING" && remaining == 0 {
        row.status = "INACTIVE".into();
        row.doc.insert("status".into(), json!("INACTIVE"));
        changed = true;
    }
    changed
}
