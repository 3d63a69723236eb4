//! The rules of a service deployment, pure: how far a rolling update may go in one step
//! (`maximumPercent`, `minimumHealthyPercent`), which tasks a DAEMON service starts and stops,
//! and when the deployment circuit breaker trips. The service scheduler
//! ([`crate::controllers::services`]) maps stored tasks to [`Replica`]s, asks these rules, and
//! acts on the answer.

/// A live task of a service (desired RUNNING), as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Replica {
    /// Of the PRIMARY deployment (else of an older one, to be replaced).
    pub primary: bool,
    /// lastStatus RUNNING.
    pub running: bool,
    /// RUNNING, and HEALTHY when its task definition has health checks.
    pub healthy: bool,
    /// On a DRAINING container instance: to be replaced.
    pub draining: bool,
    /// When it started (seconds since the epoch): the newest go first when there are too many.
    pub started_at: f64,
    /// Its container instance (EC2), or empty.
    pub instance: String,
    /// Under task scale-in protection: neither scale-in nor a deployment stops it (until its
    /// protection ends; the scheduler then sees it unprotected).
    pub protected: bool,
}

/// Why the scheduler stops a task, as its stoppedReason words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Too many tasks, or an older deployment's: `Scaling activity initiated by (deployment ID)`.
    Scaling,
    /// Its container instance is DRAINING.
    Draining,
}

/// A deployment's limits for a desired count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// The most tasks that may be live at once: `maximumPercent` of desired, rounded down.
    pub max_total: usize,
    /// The fewest that must stay healthy: `minimumHealthyPercent` of desired, rounded up.
    pub min_healthy: usize,
}

/// The bounds of `desired` tasks under `maximumPercent` and `minimumHealthyPercent` (ECS rounds
/// the maximum down and the minimum up; a negative percentage counts as 0).
#[must_use]
pub fn bounds(desired: usize, maximum_percent: i64, minimum_healthy_percent: i64) -> Bounds {
    let percent = |p: i64| usize::try_from(p).unwrap_or(0);
    Bounds {
        max_total: desired.saturating_mul(percent(maximum_percent)) / 100,
        min_healthy: desired.saturating_mul(percent(minimum_healthy_percent)).div_ceil(100),
    }
}

/// One step of a REPLICA service: which of `live` to stop (indices, with why) and how many of
/// the PRIMARY deployment to start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaStep {
    /// Indices into `live`, each once.
    pub stop: Vec<(usize, StopReason)>,
    /// New tasks of the PRIMARY deployment.
    pub start: usize,
}

/// One step towards `desired` tasks of the PRIMARY deployment:
/// - the PRIMARY's tasks beyond desired stop, those not healthy and then the newest first;
/// - new ones start up to desired, while all live tasks stay within `maximumPercent` (or the
///   desired count, when that is more) and `may_start` (no start when the circuit breaker failed
///   the deployment or a start is already under way);
/// - older deployments' tasks and those on DRAINING instances stop while the healthy ones stay
///   at or above `minimumHealthyPercent` ([`stop_within_minimum`]);
/// - protected tasks stop for none of these: an unprotected one goes in a protected one's place
///   when there is one, else the service runs more tasks than desired (or an older deployment's
///   task) until the protection ends, as ECS does.
#[must_use]
pub fn replica_step(live: &[Replica], desired: usize, bounds: Bounds, may_start: bool) -> ReplicaStep {
    let mut stop = Vec::new();
    let keepers: Vec<usize> = (0..live.len()).filter(|&i| live[i].primary && !live[i].draining).collect();
    let replaceable: Vec<usize> =
        (0..live.len()).filter(|&i| (!live[i].primary || live[i].draining) && !live[i].protected).collect();
    if keepers.len() > desired {
        let mut extra: Vec<usize> = keepers.iter().copied().filter(|&i| !live[i].protected).collect();
        extra.sort_by(|&a, &b| {
            live[a].healthy.cmp(&live[b].healthy).then(live[b].started_at.total_cmp(&live[a].started_at))
        });
        stop.extend(extra.into_iter().take(keepers.len() - desired).map(|i| (i, StopReason::Scaling)));
    }
    let kept = keepers.len().min(desired);
    let mut start = 0;
    if kept < desired && may_start {
        let room = bounds.max_total.max(desired).saturating_sub(live.len() - stop.len());
        start = (desired - kept).min(room);
    }
    stop_within_minimum(live, replaceable, bounds.min_healthy, &mut stop);
    ReplicaStep { stop, start }
}

/// Adds to `stop` the `replaceable` tasks (indices into `live`) that may go now: those not
/// RUNNING at once, then RUNNING ones not yet healthy, then healthy ones, while the healthy tasks
/// left (those of `live` not in `stop`) stay at or above `min_healthy`. A RUNNING task still
/// settling is kept while fewer than `min_healthy` are healthy. With a minimum of 0 every one
/// goes at once.
pub fn stop_within_minimum(
    live: &[Replica],
    mut replaceable: Vec<usize>,
    min_healthy: usize,
    stop: &mut Vec<(usize, StopReason)>,
) {
    let stopping = |i: usize, stop: &[(usize, StopReason)]| stop.iter().any(|(s, _)| *s == i);
    let mut healthy_left = (0..live.len()).filter(|&i| live[i].healthy && !stopping(i, stop)).count();
    replaceable.retain(|&i| !stopping(i, stop));
    replaceable.sort_by_key(|&i| (live[i].running, live[i].healthy));
    for i in replaceable {
        let task = &live[i];
        if task.healthy {
            if healthy_left <= min_healthy {
                continue;
            }
            healthy_left -= 1;
        } else if task.running && healthy_left < min_healthy {
            continue;
        }
        stop.push((i, if task.draining { StopReason::Draining } else { StopReason::Scaling }));
    }
}

/// One step of a DAEMON service: which of `live` to stop and on which of `active` (the
/// cluster's ACTIVE container instances) to start one task each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DaemonStep {
    /// Indices into `live`, each once.
    pub stop: Vec<(usize, StopReason)>,
    /// Indices into `active`.
    pub start_on: Vec<usize>,
}

/// One step towards one task of the PRIMARY deployment on each ACTIVE instance: tasks on other
/// instances stop; of the PRIMARY's on one instance, one stays; an instance with none of any
/// deployment gets one (when `may_start`); older deployments' tasks are replaced within
/// `minimumHealthyPercent` of the instance count (`min_healthy`), their instance getting its new
/// task once they have gone. Protected tasks on an ACTIVE instance are stopped for none of this.
#[must_use]
pub fn daemon_step(live: &[Replica], active: &[String], min_healthy: usize, may_start: bool) -> DaemonStep {
    let mut stop: Vec<(usize, StopReason)> = (0..live.len())
        .filter(|&i| !active.contains(&live[i].instance))
        .map(|i| (i, if live[i].draining { StopReason::Draining } else { StopReason::Scaling }))
        .collect();
    let mut replaceable = Vec::new();
    let mut start_on = Vec::new();
    for (a, instance) in active.iter().enumerate() {
        let here: Vec<usize> = (0..live.len()).filter(|&i| live[i].instance == *instance).collect();
        // A protected one is the one that stays, when there is one.
        let mut current: Vec<usize> = here.iter().copied().filter(|&i| live[i].primary).collect();
        current.sort_by_key(|&i| !live[i].protected);
        let keeps = !current.is_empty();
        stop.extend(current.into_iter().skip(1).filter(|&i| !live[i].protected).map(|i| (i, StopReason::Scaling)));
        let old: Vec<usize> = here.iter().copied().filter(|&i| !live[i].primary).collect();
        if !keeps && old.is_empty() && may_start {
            start_on.push(a);
        }
        replaceable.extend(old.into_iter().filter(|&i| !live[i].protected));
    }
    stop_within_minimum(live, replaceable, min_healthy, &mut stop);
    DaemonStep { stop, start_on }
}

/// How many of a deployment's tasks must fail to start before the circuit breaker fails it:
/// half the desired count, rounded up, at least 3 and at most 200, as the ECS API reference
/// documents for `ServiceDeploymentCircuitBreaker.threshold`
/// (<https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentCircuitBreaker.html>:
/// "a minimum threshold of 3 and a maximum threshold of 200 ... 0.5 * desired task count").
#[must_use]
pub fn failure_threshold(desired: usize) -> i64 {
    i64::try_from(desired.div_ceil(2)).unwrap_or(200).clamp(3, 200)
}

/// Whether the circuit breaker fails a deployment of `desired` tasks with `failed` of them
/// failed to start.
#[must_use]
pub fn breaker_trips(failed: i64, desired: usize) -> bool {
    failed >= failure_threshold(desired)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn replica(primary: bool, running: bool, healthy: bool, draining: bool) -> Replica {
        Replica {
            primary,
            running,
            healthy: healthy && running,
            draining,
            started_at: 0.0,
            instance: String::new(),
            protected: false,
        }
    }

    fn any_replica() -> impl Strategy<Value = Replica> {
        let flags = (any::<bool>(), any::<bool>(), any::<bool>(), prop::bool::weighted(0.2), prop::bool::weighted(0.2));
        (flags, 0.0..100.0f64, 0..4u8).prop_map(
            |((primary, running, healthy, draining, protected), started_at, instance)| Replica {
                started_at,
                instance: format!("i-{instance}"),
                protected,
                ..replica(primary, running, healthy, draining)
            },
        )
    }

    fn healthy_left(live: &[Replica], stop: &[(usize, StopReason)]) -> usize {
        (0..live.len()).filter(|&i| live[i].healthy && !stop.iter().any(|(s, _)| *s == i)).count()
    }

    fn unique(stop: &[(usize, StopReason)], len: usize) -> bool {
        let mut seen: Vec<usize> = stop.iter().map(|(i, _)| *i).collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len() == stop.len() && seen.iter().all(|&i| i < len)
    }

    #[test]
    fn bounds_round_as_ecs_does() {
        assert_eq!(bounds(3, 200, 100), Bounds { max_total: 6, min_healthy: 3 });
        assert_eq!(bounds(3, 150, 50), Bounds { max_total: 4, min_healthy: 2 });
        assert_eq!(bounds(1, 100, 0), Bounds { max_total: 1, min_healthy: 0 });
        assert_eq!(bounds(0, 200, 100), Bounds { max_total: 0, min_healthy: 0 });
    }

    #[test]
    fn a_rolling_update_starts_within_maximum_and_stops_within_minimum() {
        // Two old healthy tasks, desired 2, 200%/100%: start two new, stop none yet.
        let live = vec![replica(false, true, true, false), replica(false, true, true, false)];
        let step = replica_step(&live, 2, bounds(2, 200, 100), true);
        assert_eq!(step, ReplicaStep { stop: vec![], start: 2 });
        // Once the two new are healthy, the two old go.
        let mut live = live;
        live.extend([replica(true, true, true, false), replica(true, true, true, false)]);
        let step = replica_step(&live, 2, bounds(2, 200, 100), true);
        assert_eq!(step, ReplicaStep { stop: vec![(0, StopReason::Scaling), (1, StopReason::Scaling)], start: 0 });
        // 100%/50%: no room to start, one old may go first.
        let live = vec![replica(false, true, true, false), replica(false, true, true, false)];
        let step = replica_step(&live, 2, bounds(2, 100, 50), true);
        assert_eq!(step, ReplicaStep { stop: vec![(0, StopReason::Scaling)], start: 0 });
    }

    #[test]
    fn protected_tasks_outlive_scale_in_and_deployments() {
        let protect = |r: Replica| Replica { protected: true, ..r };
        // Scale-in from 3 to 1: the two unprotected go, the protected newest stays.
        let live = vec![
            replica(true, true, true, false),
            Replica { started_at: 9.0, ..protect(replica(true, true, true, false)) },
            replica(true, true, true, false),
        ];
        let step = replica_step(&live, 1, bounds(1, 200, 100), true);
        assert_eq!(step, ReplicaStep { stop: vec![(0, StopReason::Scaling), (2, StopReason::Scaling)], start: 0 });
        // Scale-in to 0 with only protected tasks: none goes.
        let live = vec![protect(replica(true, true, true, false))];
        assert_eq!(replica_step(&live, 0, bounds(0, 200, 100), true), ReplicaStep::default());
        // A deployment: the protected old task stays beside its healthy replacement.
        let live = vec![protect(replica(false, true, true, false)), replica(true, true, true, false)];
        assert_eq!(replica_step(&live, 1, bounds(1, 200, 0), true), ReplicaStep::default());
    }

    #[test]
    fn a_task_on_a_draining_instance_is_replaced_with_that_reason() {
        let live = vec![replica(true, true, true, true), replica(true, true, true, false)];
        let step = replica_step(&live, 2, bounds(2, 200, 50), true);
        assert_eq!(step, ReplicaStep { stop: vec![(0, StopReason::Draining)], start: 1 });
    }

    #[test]
    fn the_breaker_trips_at_half_the_desired_count_between_3_and_200() {
        assert_eq!(failure_threshold(0), 3);
        assert_eq!(failure_threshold(1), 3);
        assert_eq!(failure_threshold(6), 3);
        assert_eq!(failure_threshold(7), 4);
        assert_eq!(failure_threshold(10), 5);
        assert_eq!(failure_threshold(399), 200);
        assert_eq!(failure_threshold(10_000), 200);
        assert!(!breaker_trips(4, 10));
        assert!(breaker_trips(5, 10));
    }

    #[test]
    fn a_daemon_runs_one_task_per_active_instance() {
        let on = |instance: &str, primary: bool| Replica {
            instance: instance.into(),
            ..replica(primary, true, true, false)
        };
        let active = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        // a: two of the primary's (one goes); b: none (one starts); gone: stops.
        let live = vec![on("a", true), on("a", true), on("gone", true)];
        let step = daemon_step(&live, &active, 0, true);
        assert_eq!(step.start_on, vec![1, 2]);
        assert_eq!(step.stop, vec![(2, StopReason::Scaling), (1, StopReason::Scaling)]);
    }

    proptest! {
        #[test]
        fn a_replica_step_keeps_within_its_percentages(
            live in prop::collection::vec(any_replica(), 0..12),
            desired in 0usize..10,
            max_percent in 100i64..=200,
            min_percent in 0i64..=100,
            may_start: bool,
        ) {
            let b = bounds(desired, max_percent, min_percent);
            let step = replica_step(&live, desired, b, may_start);
            prop_assert!(unique(&step.stop, live.len()));
            prop_assert!(step.stop.iter().all(|(i, _)| !live[*i].protected), "a protected task stopped");
            // Never below the healthy minimum (nor below what was healthy, when that was less).
            let healthy_before = live.iter().filter(|r| r.healthy).count();
            // (Protected tasks that are not healthy may stay in place of healthy ones a scale-in
            // stops: scale-in follows protection, as on ECS.)
            if live.iter().all(|r| !r.protected) {
                prop_assert!(healthy_left(&live, &step.stop) >= b.min_healthy.min(healthy_before));
            }
            // Starts only towards desired, and only within maximumPercent of live tasks.
            let primaries = live.iter().filter(|r| r.primary && !r.draining).count();
            prop_assert!(step.start <= desired.saturating_sub(primaries));
            prop_assert!(may_start || step.start == 0);
            let after = live.len() - step.stop.len() + step.start;
            prop_assert!(step.start == 0 || after <= b.max_total.max(desired));
        }

        #[test]
        fn a_rolling_update_reaches_the_desired_count_of_the_new_deployment(
            live in prop::collection::vec(any_replica(), 0..10),
            desired in 1usize..8,
            max_percent in 100i64..=200,
            min_percent in 0i64..=100,
        ) {
            let b = bounds(desired, max_percent, min_percent);
            // ECS cannot roll when, once rounded, neither bound leaves room (100% and 100% with
            // old tasks to replace: no room to start one more, none may stop first).
            prop_assume!(b.max_total > desired || b.min_healthy < desired);
            let mut live: Vec<Replica> =
                live.into_iter().map(|r| Replica { instance: String::new(), protected: false, ..r }).collect();
            for _ in 0..4 * desired + 8 {
                let step = replica_step(&live, desired, b, true);
                let mut stopped: Vec<usize> = step.stop.iter().map(|(i, _)| *i).collect();
                stopped.sort_unstable();
                for i in stopped.into_iter().rev() {
                    live.remove(i);
                }
                // What survives the step settles (starts and turns healthy); new tasks join.
                for r in &mut live {
                    r.running = true;
                    r.healthy = true;
                }
                live.extend((0..step.start).map(|_| replica(true, false, false, false)));
            }
            prop_assert_eq!(live.len(), desired);
            prop_assert!(live.iter().all(|r| r.primary && !r.draining));
        }

        #[test]
        fn a_daemon_step_never_doubles_up_and_stops_what_is_off_its_instances(
            live in prop::collection::vec(any_replica(), 0..12),
            active_count in 0usize..4,
            may_start: bool,
        ) {
            let active: Vec<String> = (0..active_count).map(|i| format!("i-{i}")).collect();
            let step = daemon_step(&live, &active, 0, may_start);
            prop_assert!(unique(&step.stop, live.len()));
            let stopped = |i: usize| step.stop.iter().any(|(s, _)| *s == i);
            for (a, instance) in active.iter().enumerate() {
                let primaries = (0..live.len()).filter(|&i| !stopped(i) && live[i].primary && live[i].instance == *instance).count();
                let protected = (0..live.len()).filter(|&i| live[i].protected && live[i].primary && live[i].instance == *instance).count();
                prop_assert!(primaries <= protected.max(1), "{} of the primary's left on {}", primaries, instance);
                let starts = step.start_on.iter().filter(|&&s| s == a).count();
                let any_here = live.iter().any(|r| r.instance == *instance);
                prop_assert!(starts <= 1 && (starts == 0 || (!any_here && may_start)));
            }
            for (i, r) in live.iter().enumerate() {
                if !active.contains(&r.instance) {
                    prop_assert!(stopped(i));
                } else if r.protected {
                    prop_assert!(!stopped(i), "a protected task on an active instance stopped");
                }
            }
        }

        #[test]
        fn the_breaker_threshold_is_bounded_and_monotone(desired in 0usize..1000) {
            let t = failure_threshold(desired);
            prop_assert!((3..=200).contains(&t));
            prop_assert!(failure_threshold(desired + 1) >= t);
            prop_assert!(breaker_trips(t, desired) && !breaker_trips(t - 1, desired));
        }
    }
}
