//! Services with real containers: a REPLICA service reaching a steady state, replacing a task
//! that dies, rolling to a new revision within its percentages, the circuit breaker rolling back,
//! scaling to zero and deleting; DRAINING container instances handing their service tasks over;
//! and the API's errors.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    ContainerDefinition, ContainerInstanceStatus, DeploymentCircuitBreaker, DeploymentConfiguration, LaunchType,
    Service,
};

use crate::common::{BUSYBOX, Berth, error};
use crate::fixtures::{
    Launch::{Ec2, Fargate},
    always, container, describe, gone, network, register, secs, sleeper, until, wait_for, with_memory,
};

pub(crate) async fn describe_service(ecs: &Client, name: &str) -> Service {
    let out = ecs.describe_services().services(name).send().await.unwrap();
    assert!(out.failures().is_empty(), "{:?}", out.failures());
    out.services()[0].clone()
}

/// What `aws ecs wait services-stable` waits for: one deployment and runningCount ==
/// desiredCount (bounded: 90 s).
pub(crate) async fn wait_stable(ecs: &Client, name: &str) -> Service {
    until(&format!("service {name} to be stable"), secs(90), || async {
        let s = describe_service(ecs, name).await;
        let stable = s.deployments().len() == 1 && s.running_count() == s.desired_count() && s.pending_count() == 0;
        if stable { Ok(s) } else { Err(s) }
    })
    .await
}

/// Waits (bounded: 90 s) until the service's deployment has COMPLETED and it reported a steady
/// state, its newest event.
pub(crate) async fn wait_settled(ecs: &Client, name: &str) -> Service {
    until(&format!("service {name} to settle"), secs(90), || async {
        let s = describe_service(ecs, name).await;
        let completed =
            s.deployments().len() == 1 && s.deployments()[0].rollout_state().map(|r| r.as_str()) == Some("COMPLETED");
        let steady =
            s.events().first().and_then(|e| e.message()).is_some_and(|m| m.ends_with("has reached a steady state."));
        if completed && steady && s.running_count() == s.desired_count() { Ok(s) } else { Err(s) }
    })
    .await
}

/// Waits until the task is STOPPED, then checks its containers are gone.
async fn stopped(ecs: &Client, arn: &str) {
    wait_for(ecs, arn, "STOPPED").await;
    gone(arn).await;
}

/// DeleteService with force, then waits (bounded) until the service is INACTIVE: every task
/// of it STOPPED and its containers gone.
pub(crate) async fn delete(ecs: &Client, name: &str) {
    ecs.delete_service().service(name).force(true).send().await.unwrap();
    inactive(ecs, name, secs(60)).await;
}

/// Waits (at most `timeout`) until the service is INACTIVE.
async fn inactive(ecs: &Client, name: &str, timeout: std::time::Duration) {
    until(&format!("service {name} to be INACTIVE"), timeout, || async {
        let s = describe_service(ecs, name).await;
        if s.status() == Some("INACTIVE") { Ok(()) } else { Err(s) }
    })
    .await;
}

/// The ARNs of the service's RUNNING-desired tasks.
async fn service_tasks(ecs: &Client, name: &str) -> Vec<String> {
    ecs.list_tasks().service_name(name).send().await.unwrap().task_arns().to_vec()
}

fn messages(s: &Service) -> Vec<String> {
    s.events().iter().filter_map(|e| e.message().map(str::to_owned)).collect()
}

async fn create(ecs: &Client, name: &str, family: &str, desired: i32) -> Service {
    ecs.create_service()
        .service_name(name)
        .task_definition(family)
        .desired_count(desired)
        .launch_type(LaunchType::Fargate)
        .network_configuration(network())
        .send()
        .await
        .unwrap()
        .service()
        .unwrap()
        .clone()
}

/// The ARNs of the service's tasks that are RUNNING and meant to keep running.
pub(crate) async fn running_tasks(ecs: &Client, name: &str) -> Vec<String> {
    let arns = service_tasks(ecs, name).await;
    if arns.is_empty() {
        return arns;
    }
    let described = ecs.describe_tasks().set_tasks(Some(arns)).send().await.unwrap();
    described
        .tasks()
        .iter()
        .filter(|t| t.last_status() == Some("RUNNING") && t.desired_status() == Some("RUNNING"))
        .filter_map(|t| t.task_arn().map(str::to_owned))
        .collect()
}

/// How many of the service's tasks are RUNNING and meant to keep running.
async fn healthy_count(ecs: &Client, name: &str) -> usize {
    running_tasks(ecs, name).await.len()
}

/// Waits until the service's task list has settled to `n` tasks, none of them `gone`.
async fn wait_replaced(ecs: &Client, name: &str, n: usize, gone: &str) -> Vec<String> {
    until(&format!("{gone} to be replaced in service {name}'s {n} tasks"), secs(60), || async {
        let now = service_tasks(ecs, name).await;
        if now.len() == n && !now.iter().any(|a| a == gone) { Ok(()) } else { Err(now) }
    })
    .await;
    wait_stable(ecs, name).await;
    let now = service_tasks(ecs, name).await;
    assert_eq!(now.len(), n);
    assert!(!now.iter().any(|a| a == gone), "{gone} was not replaced: {now:?}");
    now
}

#[tokio::test]
async fn a_service_reaches_steady_state_replaces_a_dead_task_and_rolls_to_a_new_revision() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let first = register(&ecs, Fargate, "svc-web", vec![sleeper("one")]).await;
    let created = create(&ecs, "web", "svc-web", 3).await;
    // AWS's defaults, as CreateService answers them.
    assert_eq!(created.status(), Some("ACTIVE"));
    assert_eq!(created.task_definition(), Some(first.as_str()));
    assert_eq!(created.scheduling_strategy().map(|s| s.as_str()), Some("REPLICA"));
    let config = created.deployment_configuration().unwrap();
    assert_eq!((config.maximum_percent(), config.minimum_healthy_percent()), (Some(200), Some(100)));
    assert_eq!(config.deployment_circuit_breaker().map(|b| (b.enable(), b.rollback())), Some((false, false)));
    assert_eq!(created.deployments().len(), 1);
    assert_eq!(created.deployments()[0].status(), Some("PRIMARY"));
    assert!(created.deployments()[0].id().unwrap().starts_with("ecs-svc/"));
    assert_eq!(created.platform_version(), Some("LATEST"));

    let steady = wait_settled(&ecs, "web").await;
    assert_eq!(steady.running_count(), 3);
    let events = messages(&steady);
    assert!(events[0].ends_with("has reached a steady state."), "{events:?}");
    assert!(events.iter().any(|m| m.starts_with("(service web) has started 3 tasks: (task ")), "{events:?}");
    assert!(events.iter().any(|m| m.contains("deployment completed.")), "{events:?}");
    assert_eq!(steady.deployments()[0].rollout_state().map(|r| r.as_str()), Some("COMPLETED"));
    let tasks = service_tasks(&ecs, "web").await;
    assert_eq!(tasks.len(), 3);
    let described = ecs.describe_tasks().set_tasks(Some(tasks.clone())).send().await.unwrap();
    let deployment = steady.deployments()[0].id().unwrap();
    for t in described.tasks() {
        assert_eq!(t.group(), Some("service:web"));
        assert_eq!(t.started_by(), Some(deployment));
        assert_eq!(t.last_status(), Some("RUNNING"));
    }
    let clusters = ecs.describe_clusters().send().await.unwrap();
    assert_eq!(clusters.clusters()[0].active_services_count(), 1);

    // A task killed behind berth's back is replaced.
    let victim = described.tasks()[0].task_arn().unwrap().to_owned();
    let runtime_id = described.tasks()[0].containers()[0].runtime_id().unwrap();
    let killed = crate::containers::docker_cli(&["kill", runtime_id]);
    assert!(killed.status.success(), "{}", String::from_utf8_lossy(&killed.stderr));
    let after_kill = wait_replaced(&ecs, "web", 3, &victim).await;
    // And so is one stopped with StopTask.
    let stopped_by_user = after_kill[0].clone();
    ecs.stop_task().task(&stopped_by_user).send().await.unwrap();
    wait_replaced(&ecs, "web", 3, &stopped_by_user).await;

    // desiredCount up, then down.
    ecs.update_service().service("web").desired_count(4).send().await.unwrap();
    until("4 running tasks", secs(10), || async { describe_service(&ecs, "web").await.running_count() == 4 }).await;
    assert_eq!(wait_stable(&ecs, "web").await.running_count(), 4);
    ecs.update_service().service("web").desired_count(3).send().await.unwrap();
    until("3 tasks", secs(30), || async { service_tasks(&ecs, "web").await.len() == 3 }).await;
    let down = wait_stable(&ecs, "web").await;
    assert_eq!((down.desired_count(), down.running_count()), (3, 3));
    let after = service_tasks(&ecs, "web").await;
    assert_eq!(after.len(), 3);

    // A new revision rolls: a second deployment, then only it, with new tasks only; while it
    // runs, the healthy tasks never drop below minimumHealthyPercent (100%: 3).
    let second = register(&ecs, Fargate, "svc-web", vec![sleeper("two")]).await;
    let updated = ecs.update_service().service("web").task_definition("svc-web").send().await.unwrap();
    let updated = updated.service().unwrap();
    assert_eq!(updated.deployments().len(), 2);
    assert_eq!(updated.deployments()[0].status(), Some("PRIMARY"));
    assert_eq!(updated.deployments()[0].task_definition(), Some(second.as_str()));
    assert_eq!(updated.deployments()[1].status(), Some("ACTIVE"));
    until("the rollout to finish", secs(30), || async {
        let healthy = healthy_count(&ecs, "web").await;
        assert!(healthy >= 3, "only {healthy} healthy tasks during the rollout");
        let s = describe_service(&ecs, "web").await;
        if s.deployments().len() == 1 && s.running_count() == 3 { Ok(()) } else { Err(s) }
    })
    .await;
    let rolled = wait_settled(&ecs, "web").await;
    assert_eq!(rolled.task_definition(), Some(second.as_str()));
    assert_eq!(rolled.deployments()[0].task_definition(), Some(second.as_str()));
    assert_eq!(rolled.deployments()[0].rollout_state().map(|r| r.as_str()), Some("COMPLETED"));
    let tasks = service_tasks(&ecs, "web").await;
    let described = ecs.describe_tasks().set_tasks(Some(tasks.clone())).send().await.unwrap();
    assert_eq!(described.tasks().len(), 3);
    assert!(described.tasks().iter().all(|t| t.task_definition_arn() == Some(second.as_str())));
    for old in &after {
        stopped(&ecs, old).await;
    }

    // Scaled to zero and deleted without force: DRAINING, then INACTIVE once its tasks are gone.
    let (code, message) = error(ecs.delete_service().service("web").send().await);
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(message, "The service cannot be stopped while it is scaled above 0.");
    ecs.update_service().service("web").desired_count(0).send().await.unwrap();
    let deleted = ecs.delete_service().service("web").send().await.unwrap();
    assert_eq!(deleted.service().unwrap().status(), Some("DRAINING"));
    for arn in &tasks {
        stopped(&ecs, arn).await;
    }
    inactive(&ecs, "web", secs(30)).await;
    let listed = ecs.list_services().send().await.unwrap();
    assert!(listed.service_arns().is_empty());
}

#[tokio::test]
async fn the_circuit_breaker_fails_a_deployment_that_cannot_start_and_rolls_back() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let good = register(&ecs, Fargate, "svc-breaker", vec![sleeper("good")]).await;
    ecs.create_service()
        .service_name("breaker")
        .task_definition("svc-breaker")
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(network())
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .deployment_circuit_breaker(DeploymentCircuitBreaker::builder().enable(true).rollback(true).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    wait_settled(&ecs, "breaker").await;
    // A broken revision: its container exits at once.
    register(&ecs, Fargate, "svc-breaker", vec![container("main", "exit 3")]).await;
    ecs.update_service().service("breaker").task_definition("svc-breaker").send().await.unwrap();
    // Three tasks fail to start (the threshold's floor), the deployment fails, and a new one
    // with the last completed revision takes over.
    let failure = "deployment failed: tasks failed to start.";
    until("the deployment to fail", secs(60), || async {
        let events = messages(&describe_service(&ecs, "breaker").await);
        if events.iter().any(|m| m.ends_with(failure)) { Ok(()) } else { Err(events) }
    })
    .await;
    let back = wait_settled(&ecs, "breaker").await;
    let events = messages(&back);
    assert!(events.iter().any(|m| m.ends_with(failure)), "{events:?}");
    assert!(
        events.iter().any(|m| m.starts_with("(service breaker) rolling back to deployment ecs-svc/")),
        "{events:?}"
    );
    let started = events.iter().filter(|m| m.starts_with("(service breaker) has started 1 tasks")).count();
    // The first task, three that failed, and the rollback's.
    assert_eq!(started, 5, "{events:?}");
    assert_eq!(back.task_definition(), Some(good.as_str()));
    assert_eq!(back.deployments()[0].task_definition(), Some(good.as_str()));
    assert_eq!(back.deployments()[0].rollout_state().map(|r| r.as_str()), Some("COMPLETED"));
    // The failed service deployment says how it ended.
    let listed = service_deployments(&ecs, "breaker").await;
    assert_eq!(listed[0].status().map(|s| s.as_str()), Some("ROLLBACK_SUCCESSFUL"), "{listed:?}");
    assert_eq!(listed[0].status_reason(), Some("ECS deployment circuit breaker: tasks failed to start."));
    delete(&ecs, "breaker").await;
}

#[tokio::test]
async fn service_errors_are_the_ones_aws_answers() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Fargate, "svc-errors", vec![sleeper("x")]).await;
    create(&ecs, "dup", "svc-errors", 0).await;
    let again = ecs
        .create_service()
        .service_name("dup")
        .task_definition("svc-errors")
        .launch_type(LaunchType::Fargate)
        .network_configuration(network())
        .send()
        .await;
    assert_eq!(error(again), ("InvalidParameterException".into(), "Creation of service was not idempotent.".into()));
    // Same client token: the same service, answered again.
    let token = crate::common::unique("token");
    for _ in 0..2 {
        let out = ecs
            .create_service()
            .service_name("tokened")
            .task_definition("svc-errors")
            .desired_count(0)
            .launch_type(LaunchType::Fargate)
            .network_configuration(network())
            .client_token(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(out.service().unwrap().service_name(), Some("tokened"));
    }
    let no_network = ecs
        .create_service()
        .service_name("n")
        .task_definition("svc-errors")
        .launch_type(LaunchType::Fargate)
        .send()
        .await;
    assert_eq!(error(no_network).0, "InvalidParameterException");
    let missing = ecs.update_service().service("nope").desired_count(1).send().await;
    assert_eq!(error(missing), ("ServiceNotFoundException".into(), "Service not found.".into()));
    let described = ecs.describe_services().services("nope").services("dup").send().await.unwrap();
    assert_eq!(described.services().len(), 1);
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));
    assert!(described.failures()[0].arn().unwrap().ends_with(":service/default/nope"));
    let both = ecs
        .create_service()
        .service_name("both")
        .task_definition("svc-errors")
        .launch_type(LaunchType::Fargate)
        .capacity_provider_strategy(
            aws_sdk_ecs::types::CapacityProviderStrategyItem::builder().capacity_provider("FARGATE").build().unwrap(),
        )
        .network_configuration(network())
        .send()
        .await;
    assert_eq!(error(both).0, "InvalidParameterException");
    let placed = ecs
        .create_service()
        .service_name("placed")
        .task_definition("svc-errors")
        .launch_type(LaunchType::Fargate)
        .network_configuration(network())
        .placement_strategy(
            aws_sdk_ecs::types::PlacementStrategy::builder()
                .r#type(aws_sdk_ecs::types::PlacementStrategyType::Binpack)
                .field("memory")
                .build(),
        )
        .send()
        .await;
    let fargate_places = "Placement strategies are not supported with FARGATE launch type.";
    assert_eq!(error(placed), ("InvalidParameterException".into(), fargate_places.into()));
    // The cluster cannot go while it has services.
    let busy = ecs.delete_cluster().cluster("default").send().await;
    assert_eq!(error(busy).0, "ClusterContainsServicesException");
    for name in ["dup", "tokened"] {
        ecs.delete_service().service(name).send().await.unwrap();
    }
    // A deleted service leaves ListServices at once; with no tasks to drain, the scheduler's
    // next pass turns it from DRAINING to INACTIVE.
    assert!(ecs.list_services().send().await.unwrap().service_arns().is_empty());
    inactive(&ecs, "dup", secs(10)).await;
}

/// UpdateContainerInstancesState of one instance.
async fn set_state(ecs: &Client, instance: &str, status: ContainerInstanceStatus) {
    ecs.update_container_instances_state().container_instances(instance).status(status).send().await.unwrap();
}

#[tokio::test]
async fn draining_an_instance_moves_its_service_tasks_and_leaves_standalone_ones() {
    let berth = Berth::start_with(&[("BERTH_INSTANCES", "3")]).await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Ec2, "svc-drain", vec![with_memory(sleeper("svc-drain"), 128)]).await;
    ecs.create_service()
        .service_name("drained")
        .task_definition("svc-drain")
        .desired_count(2)
        .launch_type(LaunchType::Ec2)
        .placement_strategy(
            aws_sdk_ecs::types::PlacementStrategy::builder()
                .r#type(aws_sdk_ecs::types::PlacementStrategyType::Spread)
                .field("instanceId")
                .build(),
        )
        .send()
        .await
        .unwrap();
    wait_stable(&ecs, "drained").await;
    let tasks = service_tasks(&ecs, "drained").await;
    let described = ecs.describe_tasks().set_tasks(Some(tasks.clone())).send().await.unwrap();
    let victim = described.tasks()[0].clone();
    let instance = victim.container_instance_arn().unwrap().to_owned();
    // A standalone task on the same instance stays: DRAINING leaves what a service does not own.
    let standalone =
        ecs.start_task().task_definition("svc-drain").container_instances(&instance).send().await.unwrap().tasks()[0]
            .task_arn()
            .unwrap()
            .to_owned();
    wait_for(&ecs, &standalone, "RUNNING").await;
    set_state(&ecs, &instance, ContainerInstanceStatus::Draining).await;
    stopped(&ecs, victim.task_arn().unwrap()).await;
    let moved = wait_stable(&ecs, "drained").await;
    assert_eq!(moved.running_count(), 2);
    let now = service_tasks(&ecs, "drained").await;
    let described = ecs.describe_tasks().set_tasks(Some(now)).send().await.unwrap();
    assert_eq!(described.tasks().len(), 2);
    for t in described.tasks() {
        assert_ne!(
            t.container_instance_arn(),
            Some(instance.as_str()),
            "a service task stayed on the draining instance"
        );
        assert_eq!(t.last_status(), Some("RUNNING"));
    }
    let victim_now = ecs.describe_tasks().tasks(victim.task_arn().unwrap()).send().await.unwrap();
    assert_eq!(victim_now.tasks()[0].stop_code().map(|c| c.as_str()), Some("ServiceSchedulerInitiated"));
    assert_eq!(describe(&ecs, &standalone).await.last_status(), Some("RUNNING"));
    crate::fixtures::stop(&ecs, &standalone).await;
    delete(&ecs, "drained").await;
    for t in described.tasks() {
        stopped(&ecs, t.task_arn().unwrap()).await;
    }
}

/// A container that is healthy for its first seconds, then not.
fn sickly() -> ContainerDefinition {
    ContainerDefinition::builder()
        .name("main")
        .image(BUSYBOX)
        .command("sh")
        .command("-c")
        .command("trap 'exit 0' TERM; mkdir -p /tmp; touch /tmp/ok; (sleep 3; rm /tmp/ok) & sleep 600 & wait")
        .health_check(
            aws_sdk_ecs::types::HealthCheck::builder()
                .command("CMD-SHELL")
                .command("test -f /tmp/ok")
                .interval(5)
                .timeout(2)
                .retries(1)
                .build()
                .unwrap(),
        )
        .build()
}

#[tokio::test]
async fn a_task_failing_its_health_checks_is_replaced() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let sick = sickly();
    register(&ecs, Fargate, "svc-sick", vec![sick]).await;
    create(&ecs, "sick", "svc-sick", 1).await;
    let first =
        until("the service's first task", secs(10), || async { service_tasks(&ecs, "sick").await.first().cloned() })
            .await;
    let task = wait_for(&ecs, &first, "STOPPED").await;
    assert_eq!(task.stop_code().map(|c| c.as_str()), Some("ServiceSchedulerInitiated"));
    assert_eq!(task.stopped_reason(), Some("Task failed container health checks"));
    // The scheduler notices on its next pass, and starts a replacement.
    let failed = format!("(service sick) (task {}) failed container health checks.", first.rsplit('/').next().unwrap());
    until("the scheduler to report the failed health checks", secs(2), || async {
        let events = messages(&describe_service(&ecs, "sick").await);
        if events.contains(&failed) { Ok(()) } else { Err(events) }
    })
    .await;
    let replacement = until("a replacement task", secs(2), || async {
        let now = service_tasks(&ecs, "sick").await;
        if now.len() == 1 && now[0] != first { Ok(now) } else { Err(now) }
    })
    .await;
    delete(&ecs, "sick").await;
    stopped(&ecs, &replacement[0]).await;
}

/// How a test stops berth in the middle of a rollout.
enum Interrupt {
    Kill9,
    Sigterm,
}

/// Rolls service `name` of `count` tasks to a second revision, stops berth as `how` says while
/// the new tasks start, and checks that a berth restarted on the data dir finishes the rollout:
/// `count` tasks of the new revision, the others stopped with no container left behind.
async fn rollout_survives(name: &str, count: i32, how: Interrupt) {
    let mut berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let family = format!("svc-{name}");
    register(&ecs, Fargate, &family, vec![sleeper("one")]).await;
    create(&ecs, name, &family, count).await;
    wait_settled(&ecs, name).await;
    let second = register(&ecs, Fargate, &family, vec![sleeper("two")]).await;
    ecs.update_service().service(name).task_definition(&family).send().await.unwrap();
    // Mid-rollout: the new deployment's tasks are being started.
    until("the rollout to begin", secs(10), || async {
        let s = describe_service(&ecs, name).await;
        let begun = s.deployments().first().is_some_and(|d| d.pending_count() + d.running_count() > 0);
        if begun { Ok(()) } else { Err(s) }
    })
    .await;
    match how {
        Interrupt::Kill9 => berth.kill9().await,
        Interrupt::Sigterm => {
            // berth stops its controllers between reconciles and exits within its stop timeout
            // (`terminate` allows 15 s), cleanly.
            let status = berth.terminate().await;
            assert!(status.success(), "berth exited with {status}");
        }
    }
    let dir = berth.take_dir();
    drop(berth);

    let berth = Berth::start_in(dir.path()).await;
    let ecs = berth.client();
    let done = wait_settled(&ecs, name).await;
    assert_eq!(done.task_definition(), Some(second.as_str()));
    assert_eq!(done.running_count(), count);
    let running = service_tasks(&ecs, name).await;
    assert_eq!(running.len(), usize::try_from(count).unwrap(), "{running:?}");
    let described = ecs.describe_tasks().set_tasks(Some(running.clone())).send().await.unwrap();
    assert!(described.tasks().iter().all(|t| t.task_definition_arn() == Some(second.as_str())));
    // Every other task of the service has stopped and left no container behind.
    let stopped_tasks = ecs
        .list_tasks()
        .service_name(name)
        .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
        .send()
        .await
        .unwrap();
    for arn in stopped_tasks.task_arns() {
        stopped(&ecs, arn).await;
    }
    delete(&ecs, name).await;
    for arn in &running {
        stopped(&ecs, arn).await;
    }
}

#[tokio::test]
async fn a_deployment_interrupted_by_kill_9_finishes_after_restart_without_duplicates() {
    rollout_survives("durable", 3, Interrupt::Kill9).await;
}

#[tokio::test]
async fn sigterm_during_a_rolling_update_stops_berth_in_time_and_the_update_finishes_after_restart() {
    rollout_survives("term", 2, Interrupt::Sigterm).await;
}

#[tokio::test]
async fn a_daemon_service_runs_one_task_per_active_instance() {
    let berth = Berth::start_with(&[("BERTH_INSTANCES", "3")]).await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Ec2, "svc-daemon", vec![with_memory(sleeper("svc-daemon"), 128)]).await;
    let refused = ecs
        .create_service()
        .service_name("d")
        .task_definition("svc-daemon")
        .scheduling_strategy(aws_sdk_ecs::types::SchedulingStrategy::Daemon)
        .desired_count(2)
        .send()
        .await;
    let (code, message) = error(refused);
    assert_eq!(code, "InvalidParameterException");
    assert!(message.starts_with("The daemon scheduling strategy does not support a desired count"), "{message}");
    let created = ecs
        .create_service()
        .service_name("d")
        .task_definition("svc-daemon")
        .scheduling_strategy(aws_sdk_ecs::types::SchedulingStrategy::Daemon)
        .send()
        .await
        .unwrap();
    let config = created.service().unwrap().deployment_configuration().unwrap();
    assert_eq!((config.maximum_percent(), config.minimum_healthy_percent()), (Some(100), Some(0)));
    let steady = wait_stable(&ecs, "d").await;
    assert_eq!(steady.desired_count(), 3);
    let tasks = service_tasks(&ecs, "d").await;
    let described = ecs.describe_tasks().set_tasks(Some(tasks.clone())).send().await.unwrap();
    let instances: std::collections::BTreeSet<&str> =
        described.tasks().iter().map(|t| t.container_instance_arn().unwrap()).collect();
    assert_eq!(instances.len(), 3, "one task per instance");

    // A DRAINING instance loses its daemon task, which is not replaced elsewhere.
    let drained = described.tasks()[0].clone();
    let instance = drained.container_instance_arn().unwrap().to_owned();
    set_state(&ecs, &instance, ContainerInstanceStatus::Draining).await;
    stopped(&ecs, drained.task_arn().unwrap()).await;
    until("desiredCount 2", secs(10), || async { describe_service(&ecs, "d").await.desired_count() == 2 }).await;
    let fewer = wait_stable(&ecs, "d").await;
    assert_eq!((fewer.desired_count(), fewer.running_count()), (2, 2));
    // Back to ACTIVE: it gets one again.
    set_state(&ecs, &instance, ContainerInstanceStatus::Active).await;
    until("desiredCount 3", secs(10), || async { describe_service(&ecs, "d").await.desired_count() == 3 }).await;
    let back = wait_stable(&ecs, "d").await;
    assert_eq!(back.running_count(), 3);
    // An instance that joins gets one too.
    let identity = r#"{"instanceId": "i-0d0d0d0d0d0d0d0d0", "instanceType": "t3.medium", "availabilityZone": "us-east-1b", "region": "us-east-1"}"#;
    let joined = ecs.register_container_instance().instance_identity_document(identity).send().await.unwrap();
    let joined = joined.container_instance().unwrap().container_instance_arn().unwrap().to_owned();
    until("desiredCount 4", secs(10), || async { describe_service(&ecs, "d").await.desired_count() == 4 }).await;
    assert_eq!(wait_stable(&ecs, "d").await.running_count(), 4);
    let on_joined = ecs.list_tasks().container_instance(&joined).send().await.unwrap();
    assert_eq!(on_joined.task_arns().len(), 1);
    delete(&ecs, "d").await;
    ecs.deregister_container_instance().container_instance(&joined).send().await.unwrap();
    for arn in service_tasks(&ecs, "d").await.iter().chain(&tasks) {
        stopped(&ecs, arn).await;
    }
}

async fn service_deployments(ecs: &Client, service: &str) -> Vec<aws_sdk_ecs::types::ServiceDeploymentBrief> {
    ecs.list_service_deployments().service(service).send().await.unwrap().service_deployments().to_vec()
}

#[tokio::test]
async fn service_deployments_and_revisions_follow_the_rollouts_and_a_stop_rolls_back() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let first = register(&ecs, Fargate, "svc-history", vec![sleeper("one")]).await;
    create(&ecs, "history", "svc-history", 1).await;
    let steady = wait_settled(&ecs, "history").await;
    let digits = steady.deployments()[0].id().unwrap().trim_start_matches("ecs-svc/").to_owned();
    let listed = service_deployments(&ecs, "history").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status().map(|s| s.as_str()), Some("SUCCESSFUL"));
    // What Terraform matches a PRIMARY deployment by.
    let revision = listed[0].target_service_revision_arn().unwrap().to_owned();
    assert!(revision.ends_with(&format!(":service-revision/default/history/{digits}")), "{revision}");
    let revisions = ecs.describe_service_revisions().service_revision_arns(&revision).send().await.unwrap();
    assert_eq!(revisions.service_revisions()[0].task_definition(), Some(first.as_str()));
    assert_eq!(revisions.service_revisions()[0].launch_type().map(|l| l.as_str()), Some("FARGATE"));

    // A deployment that cannot finish (its image does not exist, no circuit breaker) stays
    // IN_PROGRESS until StopServiceDeployment rolls it back.
    let missing = ContainerDefinition::builder().name("main").image("berth-test/not-here:1").build();
    register(&ecs, Fargate, "svc-history", vec![missing]).await;
    ecs.update_service().service("history").task_definition("svc-history").send().await.unwrap();
    let listed = service_deployments(&ecs, "history").await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].status().map(|s| s.as_str()), Some("IN_PROGRESS"));
    let stuck = listed[0].service_deployment_arn().unwrap().to_owned();
    let described = ecs.describe_service_deployments().service_deployment_arns(&stuck).send().await.unwrap();
    let sources = described.service_deployments()[0].source_service_revisions();
    assert_eq!(sources[0].arn(), Some(revision.as_str()));
    let done = listed[1].service_deployment_arn().unwrap();
    let (code, _) = error(ecs.stop_service_deployment().service_deployment_arn(done).send().await);
    assert_eq!(code, "ConflictException");
    ecs.stop_service_deployment().service_deployment_arn(&stuck).send().await.unwrap();
    let back = wait_settled(&ecs, "history").await;
    assert_eq!(back.task_definition(), Some(first.as_str()));
    let rolled_back = until("the stopped deployment to be ROLLBACK_SUCCESSFUL", secs(10), || async {
        let described = ecs.describe_service_deployments().service_deployment_arns(&stuck).send().await.unwrap();
        let d = described.service_deployments()[0].clone();
        if d.status().map(|s| s.as_str()) == Some("ROLLBACK_SUCCESSFUL") { Ok(d) } else { Err(d) }
    })
    .await;
    assert_eq!(rolled_back.rollback().unwrap().service_revision_arn(), Some(revision.as_str()));
    let events = messages(&back);
    assert!(
        events.iter().any(|m| m == &format!("(service history) rolling back to deployment ecs-svc/{digits}.")),
        "{events:?}"
    );
    delete(&ecs, "history").await;
}

#[tokio::test]
async fn services_are_listed_by_their_service_connect_namespace() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster()
        .service_connect_defaults(
            aws_sdk_ecs::types::ClusterServiceConnectDefaultsRequest::builder().namespace("shop").build().unwrap(),
        )
        .send()
        .await
        .unwrap();
    register(&ecs, Fargate, "svc-ns", vec![sleeper("x")]).await;
    for (name, namespace) in [("a", None), ("b", Some("other")), ("c", None)] {
        let mut connect = aws_sdk_ecs::types::ServiceConnectConfiguration::builder().enabled(name != "c");
        if let Some(ns) = namespace {
            connect = connect.namespace(ns);
        }
        ecs.create_service()
            .service_name(name)
            .task_definition("svc-ns")
            .desired_count(0)
            .launch_type(LaunchType::Fargate)
            .network_configuration(network())
            .service_connect_configuration(connect.build())
            .send()
            .await
            .unwrap();
    }
    // a uses the cluster's default namespace; b names its own; c has Service Connect off.
    let shop = ecs.list_services_by_namespace().namespace("shop").send().await.unwrap();
    assert_eq!(shop.service_arns().len(), 1);
    assert!(shop.service_arns()[0].ends_with(":service/default/a"));
    let other = ecs.list_services_by_namespace().namespace("other").send().await.unwrap();
    assert!(other.service_arns()[0].ends_with(":service/default/b"));
    let (code, _) = error(ecs.list_services_by_namespace().namespace("nowhere").send().await);
    assert_eq!(code, "NamespaceNotFoundException");
    for name in ["a", "b", "c"] {
        ecs.delete_service().service(name).send().await.unwrap();
    }
}

async fn task_set(ecs: &Client, id: &str) -> aws_sdk_ecs::types::TaskSet {
    let out = ecs.describe_task_sets().cluster("default").service("ext").task_sets(id).send().await.unwrap();
    out.task_sets()[0].clone()
}

/// Waits until the task set runs `n` tasks and is steady.
async fn task_set_steady(ecs: &Client, id: &str, n: i32) {
    until(&format!("task set {id} to run {n} tasks"), secs(60), || async {
        let s = task_set(ecs, id).await;
        if s.running_count() == n && s.pending_count() == 0 && s.computed_desired_count() == n {
            Ok(())
        } else {
            Err(s)
        }
    })
    .await;
}

#[tokio::test]
async fn an_external_controller_deploys_with_task_sets() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let blue_td = register(&ecs, Fargate, "svc-ext", vec![sleeper("blue")]).await;
    let green_td = register(&ecs, Fargate, "svc-ext", vec![sleeper("green")]).await;
    let created = ecs
        .create_service()
        .service_name("ext")
        .desired_count(2)
        .deployment_controller(
            aws_sdk_ecs::types::DeploymentController::builder()
                .r#type(aws_sdk_ecs::types::DeploymentControllerType::External)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert!(created.service().unwrap().deployments().is_empty());
    let create_set = |td: String, scale: f64, external: &'static str| {
        let ecs = ecs.clone();
        async move {
            let out = ecs
                .create_task_set()
                .cluster("default")
                .service("ext")
                .task_definition(td)
                .external_id(external)
                .launch_type(LaunchType::Fargate)
                .network_configuration(network())
                .scale(
                    aws_sdk_ecs::types::Scale::builder()
                        .value(scale)
                        .unit(aws_sdk_ecs::types::ScaleUnit::Percent)
                        .build(),
                )
                .send()
                .await
                .unwrap();
            out.task_set().unwrap().clone()
        }
    };
    let blue = create_set(blue_td.clone(), 100.0, "blue").await;
    assert_eq!(blue.status(), Some("ACTIVE"));
    assert_eq!(blue.computed_desired_count(), 2);
    let blue_id = blue.id().unwrap().to_owned();
    task_set_steady(&ecs, &blue_id, 2).await;
    let primary = ecs
        .update_service_primary_task_set()
        .cluster("default")
        .service("ext")
        .primary_task_set(blue.task_set_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(primary.task_set().unwrap().status(), Some("PRIMARY"));
    assert_eq!(describe_service(&ecs, "ext").await.task_definition(), Some(blue_td.as_str()));

    // Green at half the desired count, then all of it; blue scaled to 0 and deleted.
    let green = create_set(green_td.clone(), 50.0, "green").await;
    let green_id = green.id().unwrap().to_owned();
    assert_eq!(green.computed_desired_count(), 1);
    task_set_steady(&ecs, &green_id, 1).await;
    let scale =
        |v: f64| aws_sdk_ecs::types::Scale::builder().value(v).unit(aws_sdk_ecs::types::ScaleUnit::Percent).build();
    ecs.update_task_set()
        .cluster("default")
        .service("ext")
        .task_set(&green_id)
        .scale(scale(100.0))
        .send()
        .await
        .unwrap();
    task_set_steady(&ecs, &green_id, 2).await;
    ecs.update_service_primary_task_set()
        .cluster("default")
        .service("ext")
        .primary_task_set(&green_id)
        .send()
        .await
        .unwrap();
    assert_eq!(task_set(&ecs, &blue_id).await.status(), Some("ACTIVE"));
    let refused = ecs.delete_task_set().cluster("default").service("ext").task_set(&blue_id).send().await;
    assert_eq!(error(refused).0, "InvalidParameterException");
    ecs.update_task_set().cluster("default").service("ext").task_set(&blue_id).scale(scale(0.0)).send().await.unwrap();
    let deleted = ecs.delete_task_set().cluster("default").service("ext").task_set(&blue_id).send().await.unwrap();
    assert_eq!(deleted.task_set().unwrap().status(), Some("DRAINING"));
    until("the deleted task set to go", secs(30), || async {
        let out = ecs.describe_task_sets().cluster("default").service("ext").send().await.unwrap();
        if out.task_sets().len() == 1 { Ok(()) } else { Err(out) }
    })
    .await;
    let s = describe_service(&ecs, "ext").await;
    assert_eq!((s.running_count(), s.task_definition()), (2, Some(green_td.as_str())));
    let tasks = service_tasks(&ecs, "ext").await;
    let described = ecs.describe_tasks().set_tasks(Some(tasks)).send().await.unwrap();
    assert!(described.tasks().iter().all(|t| t.task_definition_arn() == Some(green_td.as_str())));
    let missing = ecs.describe_task_sets().cluster("default").service("ext").task_sets(&blue_id).send().await.unwrap();
    assert_eq!(missing.failures()[0].reason(), Some("MISSING"));
    delete(&ecs, "ext").await;
}

#[tokio::test]
async fn an_unhealthy_task_is_left_alone_during_the_grace_period() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Fargate, "svc-graced", vec![sickly()]).await;
    ecs.create_service()
        .service_name("graced")
        .task_definition("svc-graced")
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(network())
        .health_check_grace_period_seconds(3600)
        .send()
        .await
        .unwrap();
    let first = until("the service's task to turn UNHEALTHY", secs(30), || async {
        let arn = service_tasks(&ecs, "graced").await.first().cloned()?;
        let health = describe(&ecs, &arn).await.health_status().map(|h| h.as_str().to_owned());
        (health.as_deref() == Some("UNHEALTHY")).then_some(arn)
    })
    .await;
    // For two scheduler passes and more it stays the service's task, RUNNING.
    always("the unhealthy task is left alone", secs(3), || async {
        let tasks = service_tasks(&ecs, "graced").await;
        let status = describe(&ecs, &first).await.last_status().map(str::to_owned);
        if tasks == [first.clone()] && status.as_deref() == Some("RUNNING") { Ok(()) } else { Err((tasks, status)) }
    })
    .await;
    delete(&ecs, "graced").await;
}

/// The service controller's counters for the service `name` of the default cluster: its
/// triggers and reconciles, and the controller's resyncs.
async fn service_counters(berth: &Berth, name: &str) -> (u64, u64, u64) {
    let stats = berth.raw("GET", "/_berth/controllers", &[], b"").await.json();
    let key = &stats["services"]["keys"][format!("us-east-1/default/{name}")];
    let count = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    (count(&key["triggers"]), count(&key["reconciles"]), count(&stats["services"]["resyncs"]))
}

#[tokio::test]
async fn a_burst_of_task_changes_reconciles_its_service_a_bounded_number_of_times() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Fargate, "burst", vec![sleeper("x")]).await;
    // Ten tasks starting, then stopping: each task change (PROVISIONING, PENDING, RUNNING, its
    // containers' ids, desired STOPPED, STOPPING, STOPPED, ...) tells the service's controller.
    create(&ecs, "burst", "burst", 10).await;
    wait_stable(&ecs, "burst").await;
    let tasks = service_tasks(&ecs, "burst").await;
    ecs.update_service().service("burst").desired_count(0).send().await.unwrap();
    for arn in &tasks {
        wait_for(&ecs, arn, "STOPPED").await;
    }
    let (triggers, reconciles, resyncs) = service_counters(&berth, "burst").await;
    eprintln!("service burst: {triggers} triggers, {reconciles} reconciles, {resyncs} resyncs");
    assert!(triggers >= 100, "only {triggers} changes of the service's tasks were seen");
    // Changes that come together reconcile once: beside the once-a-second resyncs, far fewer
    // reconciles than changes.
    let triggered = reconciles.saturating_sub(resyncs);
    assert!(triggered * 5 <= triggers, "{triggered} reconciles (beside {resyncs} resyncs) for {triggers} changes");
    delete(&ecs, "burst").await;
}
