//! Task sets of EXTERNAL services: each set is scaled to its share of the service's desired
//! count (`scale`), and its tasks are started and stopped like a deployment's; part of the
//! service scheduler's pass ([`super::services`]).

use std::collections::HashMap;

use serde_json::{Value, json};

use super::rollout::bookkeeping;
use super::service_plan::*;
use crate::domain::{now, str_of};
use crate::error::Result;
use crate::services::ecs::services::{add_events, computed_desired_count};
use crate::services::ecs::{Ctx, task_definitions};
use crate::store::{Doc, NamedRow, ServiceRow};

/// A pass of an EXTERNAL service: each task set keeps its computed desired count of tasks of
/// its own task definition (no rolling between them: the external controller decides that with
/// CreateTaskSet, UpdateTaskSet and DeleteTaskSet); tasks of no task set stop.
pub(super) async fn reconcile_task_sets(
    ctx: &Ctx<'_>,
    cluster: &NamedRow,
    row: &ServiceRow,
    members: &[Member],
    mut outcome: Outcome,
    may_start: bool,
) -> Result<()> {
    let name = row.name.clone();
    let sets = crate::domain::list_of(&row.doc, "taskSets").to_vec();
    let ids: Vec<&str> = sets.iter().filter_map(|t| t.get("id").and_then(Value::as_str)).collect();
    let live: Vec<&Member> = members.iter().filter(|m| m.desired_running).collect();
    let mut to_stop: Vec<(&Member, String)> = Vec::new();
    for m in live.iter().filter(|m| !ids.contains(&m.deployment.as_str())) {
        to_stop.push((m, "Task set deleted".to_owned()));
    }
    let mut started: HashMap<String, usize> = HashMap::new();
    for set in &sets {
        let Some(id) = set.get("id").and_then(Value::as_str) else { continue };
        let want = usize::try_from(computed_desired_count(row, set)).unwrap_or(0);
        let mut mine: Vec<&Member> = live.iter().copied().filter(|m| m.deployment == id).collect();
        if mine.len() > want {
            // Pending ones first, then the newest.
            mine.sort_by(|a, b| {
                (a.last == "RUNNING").cmp(&(b.last == "RUNNING")).then(b.started_at.total_cmp(&a.started_at))
            });
            // Protected tasks stay until their protection ends.
            let extra = mine.len() - want;
            for m in mine.into_iter().filter(|m| !m.protected).take(extra) {
                to_stop.push((m, format!("Scaling activity initiated by (deployment {id})")));
            }
        } else if mine.len() < want && may_start {
            // The task set's own definition, network and capacity, with the service's placement.
            let mut as_service = row.clone();
            for key in
                ["taskDefinition", "networkConfiguration", "launchType", "capacityProviderStrategy", "platformVersion"]
            {
                match set.get(key) {
                    Some(v) => as_service.doc.insert(key.into(), v.clone()),
                    None => as_service.doc.remove(key),
                };
            }
            match start_tasks(ctx, cluster, &as_service, id, &Start::Count(want - mine.len()), &mine).await {
                Ok((arns, failure)) => {
                    if !arns.is_empty() {
                        let tasks = task_refs(arns.iter().map(String::as_str));
                        outcome
                            .events
                            .push(format!("(service {name}, taskSet {id}) has started {} tasks: {tasks}.", arns.len()));
                    }
                    started.insert(id.to_owned(), arns.len());
                    if let Some(message) = failure {
                        outcome.events.push(format!("(service {name}) {message}"));
                    }
                }
                Err(e) => {
                    outcome.events.push(format!("(service {name}) failed to launch a task with ({}).", e.message))
                }
            }
        }
    }
    stop_members(ctx, &name, &to_stop, &mut outcome.events).await?;
    let stopped: Vec<&str> = to_stop.iter().map(|(m, _)| m.arn.as_str()).collect();
    let kept: Vec<&Member> = live.into_iter().filter(|m| !stopped.contains(&m.arn.as_str())).collect();
    let Outcome { events, failed, seen } = outcome;
    let remaining = members.len() + started.values().sum::<usize>();
    let at = now();
    ctx.store
        .update_service(ctx.region(), &row.cluster, &row.name, |svc| {
            let snapshot = svc.clone();
            let mut changed = false;
            let mut running_total = 0;
            let mut pending_total = 0;
            let mut sets = crate::domain::list_of(&svc.doc, "taskSets").to_vec();
            sets.retain_mut(|set| {
                let id = set.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
                let running = kept.iter().filter(|m| m.deployment == id && m.last == "RUNNING").count();
                let pending = kept.iter().filter(|m| m.deployment == id && m.last != "RUNNING").count()
                    + started.get(&id).copied().unwrap_or(0);
                let left =
                    members.iter().filter(|m| m.deployment == id).count() + started.get(&id).copied().unwrap_or(0);
                if set.get("status") == Some(&json!("DRAINING")) && left == 0 {
                    changed = true;
                    return false;
                }
                running_total += running;
                pending_total += pending;
                let computed = computed_desired_count(&snapshot, set);
                let stability = if i64::try_from(running).unwrap_or(0) == computed && pending == 0 {
                    "STEADY_STATE"
                } else {
                    "STABILIZING"
                };
                let now_counts = json!([computed, running, pending, stability]);
                let before = json!([
                    set["computedDesiredCount"],
                    set["runningCount"],
                    set["pendingCount"],
                    set["stabilityStatus"]
                ]);
                if now_counts != before {
                    set["computedDesiredCount"] = json!(computed);
                    set["runningCount"] = json!(running);
                    set["pendingCount"] = json!(pending);
                    set["stabilityStatus"] = json!(stability);
                    set["stabilityStatusAt"] = json!(at);
                    set["updatedAt"] = json!(at);
                    changed = true;
                }
                true
            });
            svc.doc.insert("taskSets".into(), json!(sets));
            for (key, value) in [("runningCount", running_total), ("pendingCount", pending_total)] {
                if svc.doc.get(key) != Some(&json!(value)) {
                    svc.doc.insert(key.into(), json!(value));
                    changed = true;
                }
            }
            if !events.is_empty() {
                add_events(&mut svc.doc, events.clone());
                changed = true;
            }
            changed |= bookkeeping(svc, &seen, failed.values().sum(), running_total > 0, remaining);
            changed
        })
        .await?;
    Ok(())
}

/// Whether a task's definition has container health checks (looked up once per pass).
pub(super) async fn checked(ctx: &Ctx<'_>, cache: &mut HashMap<String, bool>, task: &Doc) -> Result<bool> {
    let arn = str_of(task, "taskDefinitionArn").unwrap_or_default().to_owned();
    if let Some(known) = cache.get(&arn) {
        return Ok(*known);
    }
    let td = task_definitions::find(ctx, &arn).await?.unwrap_or_default();
    let has = crate::domain::list_of(&td, "containerDefinitions").iter().any(|c| c.get("healthCheck").is_some());
    cache.insert(arn, has);
    Ok(has)
}
