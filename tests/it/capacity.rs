//! Capacity providers at work: cluster auto scaling (a task waiting in PROVISIONING until its
//! provider's group grows, and the group shrinking when idle), groups without managed scaling,
//! and capacity provider strategies' base and weight.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    AutoScalingGroupProvider, CapacityProviderStrategyItem, ContainerInstanceStatus, ManagedScaling,
    ManagedScalingStatus, Tag,
};

use crate::common::{Berth, error};
use crate::fixtures::{
    Launch::{Ec2, Fargate},
    network, register, secs, sleeper, stop, until, wait_for, with_memory,
};

fn item(provider: &str, base: i32, weight: i32) -> CapacityProviderStrategyItem {
    CapacityProviderStrategyItem::builder().capacity_provider(provider).base(base).weight(weight).build().unwrap()
}

async fn create_provider(ecs: &Client, name: &str, scaling: Option<ManagedScaling>) {
    let group = format!(
        "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:{}:autoScalingGroupName/{name}",
        uuid::Uuid::new_v4()
    );
    ecs.create_capacity_provider()
        .name(name)
        .auto_scaling_group_provider(
            AutoScalingGroupProvider::builder()
                .auto_scaling_group_arn(group)
                .set_managed_scaling(scaling)
                .build()
                .unwrap(),
        )
        .tags(Tag::builder().key("berth:instance-type").value("t3.medium").build())
        .send()
        .await
        .unwrap();
}

async fn active_instances(ecs: &Client, cluster: &str) -> Vec<String> {
    let out =
        ecs.list_container_instances().cluster(cluster).status(ContainerInstanceStatus::Active).send().await.unwrap();
    out.container_instance_arns().to_vec()
}

#[tokio::test]
async fn managed_scaling_grows_the_group_for_waiting_tasks_and_shrinks_it_when_idle() {
    let berth = Berth::start_with(&[("BERTH_SCALE_IN_AFTER", "1")]).await;
    let ecs = berth.client();
    let scaling = ManagedScaling::builder()
        .status(ManagedScalingStatus::Enabled)
        .target_capacity(100)
        .minimum_scaling_step_size(1)
        .maximum_scaling_step_size(10)
        .build();
    create_provider(&ecs, "scaled", Some(scaling)).await;
    ecs.create_cluster()
        .cluster_name("asg")
        .capacity_providers("scaled")
        .default_capacity_provider_strategy(item("scaled", 0, 1))
        .send()
        .await
        .unwrap();
    // A t3.medium has 3932 MiB for tasks: one of these per instance.
    register(&ecs, Ec2, "big", vec![with_memory(sleeper("big"), 3000)]).await;
    assert!(active_instances(&ecs, "asg").await.is_empty(), "a group with managed scaling starts empty");

    // No launch type and no strategy: the cluster's default strategy, and the tasks wait for
    // capacity instead of failing.
    let out = ecs.run_task().cluster("asg").task_definition("big").count(2).send().await.unwrap();
    assert!(out.failures().is_empty(), "{:?}", out.failures());
    assert_eq!(out.tasks().len(), 2);
    for t in out.tasks() {
        assert_eq!(t.last_status(), Some("PROVISIONING"));
        assert_eq!(t.capacity_provider_name(), Some("scaled"));
        assert_eq!(t.container_instance_arn(), None);
    }
    let mut instances = std::collections::BTreeSet::new();
    for t in out.tasks() {
        let arn = t.task_arn().unwrap();
        let running = wait_for(&ecs, arn, "RUNNING").await;
        instances.insert(running.container_instance_arn().unwrap().to_owned());
    }
    assert_eq!(instances.len(), 2, "one instance was added per task that did not fit");
    let listed = active_instances(&ecs, "asg").await;
    assert_eq!(listed.len(), 2);
    let described =
        ecs.describe_container_instances().cluster("asg").set_container_instances(Some(listed)).send().await.unwrap();
    for i in described.container_instances() {
        assert_eq!(i.capacity_provider_name(), Some("scaled"));
        assert_eq!(i.running_tasks_count(), 1);
    }

    // Idle instances go (after BERTH_SCALE_IN_AFTER) and stay describable as INACTIVE.
    for t in out.tasks() {
        stop(&ecs, t.task_arn().unwrap()).await;
    }
    until("idle instances to be scaled in", secs(10), || async {
        let active = active_instances(&ecs, "asg").await;
        if active.is_empty() { Ok(()) } else { Err(active) }
    })
    .await;
    let gone = ecs
        .describe_container_instances()
        .cluster("asg")
        .set_container_instances(Some(instances.into_iter().collect()))
        .send()
        .await
        .unwrap();
    assert!(gone.container_instances().iter().all(|i| i.status() == Some("INACTIVE")));

    // A task that waits is stopped by StopTask at once, with no instance ever given to it.
    register(&ecs, Ec2, "huge", vec![with_memory(sleeper("huge"), 100_000)]).await;
    let waiting = ecs.run_task().cluster("asg").task_definition("huge").send().await.unwrap();
    let arn = waiting.tasks()[0].task_arn().unwrap().to_owned();
    let stopped = ecs.stop_task().cluster("asg").task(&arn).send().await.unwrap();
    assert_eq!(stopped.task().unwrap().last_status(), Some("STOPPED"));
    assert!(active_instances(&ecs, "asg").await.is_empty(), "no instance fits 100000 MiB, so none was added");
}

#[tokio::test]
async fn a_group_without_managed_scaling_has_its_instances_and_refuses_what_does_not_fit() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    create_provider(&ecs, "fixed", None).await;
    ecs.create_cluster().cluster_name("fixed").capacity_providers("fixed").send().await.unwrap();
    register(&ecs, Ec2, "fits-one", vec![with_memory(sleeper("fits-one"), 3000)]).await;
    let strategy = item("fixed", 0, 1);
    let out = ecs
        .run_task()
        .cluster("fixed")
        .task_definition("fits-one")
        .capacity_provider_strategy(strategy.clone())
        .count(3)
        .send()
        .await
        .unwrap();
    // `--instances` (two) instances: two tasks fit, the third is refused as on AWS.
    assert_eq!(out.tasks().len(), 2);
    assert_eq!(out.failures().len(), 2);
    assert!(out.failures().iter().all(|f| f.reason() == Some("RESOURCE:MEMORY")));
    for t in out.tasks() {
        assert_eq!(t.capacity_provider_name(), Some("fixed"));
        let arn = t.task_arn().unwrap();
        wait_for(&ecs, arn, "RUNNING").await;
        stop(&ecs, arn).await;
    }
    // A strategy naming a provider the cluster does not have is refused.
    let foreign = ecs
        .run_task()
        .cluster("fixed")
        .task_definition("fits-one")
        .capacity_provider_strategy(item("FARGATE", 0, 1))
        .send()
        .await;
    let (code, message) = error(foreign);
    assert_eq!(code, "InvalidParameterException");
    assert!(message.contains("not associated with the cluster"), "{message}");
    let both = ecs
        .run_task()
        .cluster("fixed")
        .task_definition("fits-one")
        .launch_type(aws_sdk_ecs::types::LaunchType::Ec2)
        .capacity_provider_strategy(strategy)
        .send()
        .await;
    assert_eq!(error(both).0, "InvalidParameterException");
}

#[tokio::test]
async fn a_strategy_fills_base_first_then_splits_by_weight() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().capacity_providers("FARGATE").capacity_providers("FARGATE_SPOT").send().await.unwrap();
    register(&ecs, Fargate, "weighted", vec![sleeper("weighted")]).await;
    let out = ecs
        .run_task()
        .task_definition("weighted")
        .capacity_provider_strategy(item("FARGATE", 1, 1))
        .capacity_provider_strategy(item("FARGATE_SPOT", 0, 3))
        .network_configuration(network())
        .count(5)
        .send()
        .await
        .unwrap();
    assert!(out.failures().is_empty(), "{:?}", out.failures());
    let on = |p: &str| out.tasks().iter().filter(|t| t.capacity_provider_name() == Some(p)).count();
    // One for FARGATE's base, then the other four 1:3.
    assert_eq!((on("FARGATE"), on("FARGATE_SPOT")), (2, 3));
    for t in out.tasks() {
        assert_eq!(t.launch_type().map(|l| l.as_str()), Some("FARGATE"));
        wait_for(&ecs, t.task_arn().unwrap(), "RUNNING").await;
    }
    for t in out.tasks() {
        stop(&ecs, t.task_arn().unwrap()).await;
    }
    let two_bases = ecs
        .run_task()
        .task_definition("weighted")
        .capacity_provider_strategy(item("FARGATE", 1, 1))
        .capacity_provider_strategy(item("FARGATE_SPOT", 1, 1))
        .network_configuration(network())
        .send()
        .await;
    assert_eq!(error(two_bases).0, "InvalidParameterException");
}
