//! ECS Managed Instances capacity providers and the Managed Daemons that run on them, through
//! aws-sdk-ecs: a provider of its cluster that launches instances for tasks, and a daemon that
//! puts one task on each of its instances, follows instances that join, replaces an instance
//! whose daemon task stopped, rolls out a new revision and stops with its deletion.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    CapacityProviderStrategyItem, CapacityProviderType, ContainerInstanceStatus,
    CreateManagedInstancesProviderConfiguration, DaemonContainerDefinition, DaemonDeploymentConfiguration,
    DaemonDeploymentStatus, DaemonStatus, DesiredStatus, InstanceLaunchTemplate, InstanceRequirementsRequest,
    LaunchType, ManagedInstancesNetworkConfiguration, MemoryMiBRequest, Tag, VCpuCountRangeRequest,
};

use crate::common::{BUSYBOX, Berth, error};
use crate::fixtures::{Launch::Fargate, gone, network, register, secs, sleeper, stop, until, wait_for};

/// A Managed Instances provider of `cluster` whose instances have at least `vcpus` and `mib`.
async fn create_provider(ecs: &Client, cluster: &str, name: &str, vcpus: i32, mib: i32) -> String {
    let requirements = InstanceRequirementsRequest::builder()
        .v_cpu_count(VCpuCountRangeRequest::builder().min(vcpus).build().unwrap())
        .memory_mib(MemoryMiBRequest::builder().min(mib).build().unwrap())
        .build();
    let template = InstanceLaunchTemplate::builder()
        .ec2_instance_profile_arn("arn:aws:iam::000000000000:instance-profile/ecsInstanceRole")
        .network_configuration(ManagedInstancesNetworkConfiguration::builder().subnets("subnet-berth").build())
        .instance_requirements(requirements)
        .build()
        .unwrap();
    let provider = CreateManagedInstancesProviderConfiguration::builder()
        .infrastructure_role_arn("arn:aws:iam::000000000000:role/ecsInfrastructureRole")
        .instance_launch_template(template)
        .build()
        .unwrap();
    let out = ecs
        .create_capacity_provider()
        .name(name)
        .cluster(cluster)
        .managed_instances_provider(provider)
        .send()
        .await
        .unwrap();
    out.capacity_provider().unwrap().capacity_provider_arn().unwrap().to_owned()
}

fn strategy(provider: &str) -> CapacityProviderStrategyItem {
    CapacityProviderStrategyItem::builder().capacity_provider(provider).weight(1).build().unwrap()
}

async fn active_instances(ecs: &Client, cluster: &str) -> Vec<String> {
    let out =
        ecs.list_container_instances().cluster(cluster).status(ContainerInstanceStatus::Active).send().await.unwrap();
    let mut arns = out.container_instance_arns().to_vec();
    arns.sort();
    arns
}

#[tokio::test]
async fn a_managed_instances_provider_belongs_to_its_cluster_and_launches_instances_for_tasks() {
    let berth = Berth::start_with(&[("BERTH_SCALE_IN_AFTER", "1")]).await;
    let ecs = berth.client();
    ecs.create_cluster().cluster_name("mi").send().await.unwrap();
    ecs.create_cluster().cluster_name("other").send().await.unwrap();
    let arn = create_provider(&ecs, "mi", "mi-cp", 2, 4096).await;
    // Cluster-scoped, yet its ARN has no cluster in it.
    assert_eq!(arn, "arn:aws:ecs:us-east-1:000000000000:capacity-provider/mi-cp");
    let described = ecs.describe_capacity_providers().capacity_providers("mi-cp").send().await.unwrap();
    let provider = &described.capacity_providers()[0];
    assert_eq!(provider.r#type(), Some(&CapacityProviderType::ManagedInstances));
    assert_eq!(provider.cluster(), Some("mi"));
    let template = provider.managed_instances_provider().unwrap().instance_launch_template().unwrap();
    assert_eq!(template.capacity_option_type().map(|c| c.as_str()), Some("ON_DEMAND"));
    // It is the cluster's from its creation, whatever PutClusterCapacityProviders says; another
    // cluster cannot take it.
    let cluster = ecs.describe_clusters().clusters("mi").send().await.unwrap();
    assert_eq!(cluster.clusters()[0].capacity_providers(), ["mi-cp"]);
    ecs.put_cluster_capacity_providers()
        .cluster("mi")
        .capacity_providers("FARGATE")
        .set_default_capacity_provider_strategy(Some(vec![]))
        .send()
        .await
        .unwrap();
    let cluster = ecs.describe_clusters().clusters("mi").send().await.unwrap();
    assert_eq!(cluster.clusters()[0].capacity_providers(), ["mi-cp", "FARGATE"]);
    let taken = ecs
        .put_cluster_capacity_providers()
        .cluster("other")
        .capacity_providers("mi-cp")
        .set_default_capacity_provider_strategy(Some(vec![]))
        .send()
        .await;
    let (code, message) = error(taken);
    assert_eq!(code, "InvalidParameterException");
    assert!(message.starts_with("Cannot associate Managed Instances capacity provider to clusters using this API."));
    let in_cluster = ecs.describe_capacity_providers().cluster("other").send().await.unwrap();
    assert!(in_cluster.capacity_providers().is_empty(), "{in_cluster:?}");
    let in_cluster = ecs.describe_capacity_providers().cluster("mi").send().await.unwrap();
    let names: Vec<_> = in_cluster.capacity_providers().iter().filter_map(|p| p.name()).collect();
    assert_eq!(names, ["mi-cp", "FARGATE"]);

    // Tasks use it through a strategy; the launch type itself is refused, as on AWS.
    register(&ecs, Fargate, "app", vec![sleeper("app")]).await;
    let direct = ecs
        .run_task()
        .cluster("mi")
        .task_definition("app")
        .launch_type(LaunchType::ManagedInstances)
        .network_configuration(network())
        .send()
        .await;
    let (code, message) = error(direct);
    assert_eq!(code, "InvalidParameterException");
    assert!(
        message
            .starts_with("If you want to use Amazon ECS Managed Instances, you must use the capacityProviderStrategy")
    );
    let mixed = ecs
        .run_task()
        .cluster("mi")
        .task_definition("app")
        .capacity_provider_strategy(strategy("mi-cp"))
        .capacity_provider_strategy(strategy("FARGATE"))
        .network_configuration(network())
        .send()
        .await;
    assert_eq!(error(mixed).0, "InvalidParameterException");
    assert!(active_instances(&ecs, "mi").await.is_empty(), "a Managed Instances provider starts with no instance");
    let out = ecs
        .run_task()
        .cluster("mi")
        .task_definition("app")
        .capacity_provider_strategy(strategy("mi-cp"))
        .network_configuration(network())
        .send()
        .await
        .unwrap();
    assert!(out.failures().is_empty(), "{:?}", out.failures());
    let task = out.tasks()[0].clone();
    assert_eq!(task.launch_type(), Some(&LaunchType::ManagedInstances));
    assert_eq!(task.capacity_provider_name(), Some("mi-cp"));
    let running = wait_for(&ecs, task.task_arn().unwrap(), "RUNNING").await;
    let instance_arn = running.container_instance_arn().unwrap().to_owned();
    let instance = ecs.describe_container_instances().cluster("mi").container_instances(&instance_arn).send().await;
    let instance = instance.unwrap().container_instances()[0].clone();
    assert_eq!(instance.capacity_provider_name(), Some("mi-cp"));
    assert!(instance.ec2_instance_id().unwrap().starts_with("i-"), "{instance:?}");
    let instance_type = instance.attributes().iter().find(|a| a.name() == "ecs.instance-type");
    assert_eq!(instance_type.and_then(|a| a.value()), Some("t3.medium"), "the smallest type with 2 vCPUs and 4096 MiB");

    // Idle, the instance ends; deleting the provider takes it out of its cluster.
    stop(&ecs, task.task_arn().unwrap()).await;
    until("the idle instance to end", secs(15), || async {
        let active = active_instances(&ecs, "mi").await;
        if active.is_empty() { Ok(()) } else { Err(active) }
    })
    .await;
    let deleted = ecs.delete_capacity_provider().capacity_provider("mi-cp").send().await.unwrap();
    assert_eq!(deleted.capacity_provider().unwrap().status().map(|s| s.as_str()), Some("INACTIVE"));
    let cluster = ecs.describe_clusters().clusters("mi").send().await.unwrap();
    assert_eq!(cluster.clusters()[0].capacity_providers(), ["FARGATE"]);

    // Errors: a Managed Instances provider needs its cluster, an existing one.
    let nameless = ecs.create_capacity_provider().name("no-cluster").managed_instances_provider(
        CreateManagedInstancesProviderConfiguration::builder()
            .infrastructure_role_arn("arn:aws:iam::000000000000:role/r")
            .instance_launch_template(
                InstanceLaunchTemplate::builder()
                    .ec2_instance_profile_arn("arn:aws:iam::000000000000:instance-profile/p")
                    .network_configuration(ManagedInstancesNetworkConfiguration::builder().build())
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap(),
    );
    assert_eq!(error(nameless.clone().send().await).0, "InvalidParameterException");
    assert_eq!(error(nameless.cluster("nowhere").send().await).0, "ClusterNotFoundException");
}

/// A daemon container that takes 3 s to stop (so that a deletion is seen in progress).
fn agent(tag: &str) -> DaemonContainerDefinition {
    DaemonContainerDefinition::builder()
        .name("agent")
        .image(BUSYBOX)
        .command("sh")
        .command("-c")
        .command(format!("trap 'sleep 3; exit 0' TERM; echo {tag}; sleep 600 & wait"))
        .memory(32)
        .build()
        .unwrap()
}

/// The daemon's live tasks: (task ARN, container instance ARN, startedBy), RUNNING ones only.
async fn daemon_tasks(ecs: &Client, cluster: &str, daemon: &str) -> Vec<(String, String, String)> {
    let list = ecs.list_tasks().cluster(cluster).daemon_name(daemon).send().await.unwrap();
    if list.task_arns().is_empty() {
        return Vec::new();
    }
    let described =
        ecs.describe_tasks().cluster(cluster).set_tasks(Some(list.task_arns().to_vec())).send().await.unwrap();
    let mut out: Vec<_> = described
        .tasks()
        .iter()
        .filter(|t| t.last_status() == Some("RUNNING"))
        .map(|t| {
            (
                t.task_arn().unwrap_or_default().to_owned(),
                t.container_instance_arn().unwrap_or_default().to_owned(),
                t.started_by().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// Waits until every ACTIVE instance of the cluster runs exactly one RUNNING task of the
/// daemon started by `by` (any revision when empty), `count` instances in all.
async fn one_on_each(ecs: &Client, cluster: &str, daemon: &str, count: usize, by: &str) -> Vec<String> {
    until(&format!("a daemon task on each of {count} instances"), secs(60), || async {
        let instances = active_instances(ecs, cluster).await;
        let tasks = daemon_tasks(ecs, cluster, daemon).await;
        let on: Vec<String> = tasks.iter().map(|t| t.1.clone()).collect();
        let right_revision = tasks.iter().all(|t| by.is_empty() || t.2 == by);
        if instances.len() == count && on == instances && right_revision {
            Ok(instances)
        } else {
            Err(format!("instances {instances:?}, daemon tasks {tasks:?}"))
        }
    })
    .await
}

async fn deployment_status(ecs: &Client, arn: &str) -> DaemonDeploymentStatus {
    let out = ecs.describe_daemon_deployments().daemon_deployment_arns(arn).send().await.unwrap();
    out.daemon_deployments()[0].status().cloned().unwrap()
}

async fn until_successful(ecs: &Client, arn: &str) {
    until("the daemon deployment to succeed", secs(60), || async {
        let status = deployment_status(ecs, arn).await;
        if status == DaemonDeploymentStatus::Successful { Ok(()) } else { Err(status) }
    })
    .await;
}

#[tokio::test]
async fn a_daemon_runs_on_each_instance_follows_new_ones_and_replaces_an_instance_whose_task_stopped() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().cluster_name("d").send().await.unwrap();
    // t3.micro: one awsvpc task per instance (one network interface beyond its own).
    let provider = create_provider(&ecs, "d", "d-cp", 1, 1024).await;
    let td = ecs.register_daemon_task_definition().family("agent").container_definitions(agent("v1")).send().await;
    let td = td.unwrap().daemon_task_definition_arn().unwrap().to_owned();
    let created = ecs
        .create_daemon()
        .cluster_arn("d")
        .daemon_name("agent")
        .daemon_task_definition_arn(&td)
        .capacity_provider_arns(&provider)
        .tags(Tag::builder().key("team").value("ops").build())
        .send()
        .await
        .unwrap();
    let daemon = created.daemon_arn().unwrap().to_owned();
    assert_eq!(daemon, "arn:aws:ecs:us-east-1:000000000000:daemon/d/agent");
    assert_eq!(created.status(), Some(&DaemonStatus::Active));
    let first = created.deployment_arn().unwrap().to_owned();
    assert!(first.starts_with("arn:aws:ecs:us-east-1:000000000000:daemon-deployment/d/agent/"), "{first}");
    // No instance yet: the deployment has nothing to do.
    until_successful(&ecs, &first).await;
    let tags = ecs.list_tags_for_resource().resource_arn(&daemon).send().await.unwrap();
    assert_eq!(tags.tags()[0].key(), Some("team"));

    // A service's tasks bring instances; each runs the daemon first.
    ecs.create_service()
        .cluster("d")
        .service_name("app")
        .task_definition(register(&ecs, Fargate, "app", vec![sleeper("app")]).await)
        .desired_count(2)
        .capacity_provider_strategy(strategy("d-cp"))
        .network_configuration(network())
        .send()
        .await
        .unwrap();
    let revision = ecs.describe_daemon().daemon_arn(&daemon).send().await.unwrap();
    let revision_arn = revision.daemon().unwrap().current_revisions()[0].arn().unwrap().to_owned();
    let v1 = format!("ecs-daemon/{}", revision_arn.rsplit('/').next().unwrap());
    let two = one_on_each(&ecs, "d", "agent", 2, &v1).await;
    let described = ecs.describe_daemon().daemon_arn(&daemon).send().await.unwrap();
    let detail = described.daemon().unwrap();
    assert_eq!(detail.current_revisions()[0].total_running_count(), 2);
    assert_eq!(detail.current_revisions()[0].capacity_providers()[0].arn(), Some(provider.as_str()));
    let tasks = daemon_tasks(&ecs, "d", "agent").await;
    let task = ecs.describe_tasks().cluster("d").tasks(&tasks[0].0).send().await.unwrap().tasks()[0].clone();
    assert_eq!(task.launch_type(), Some(&LaunchType::ManagedInstances));
    assert_eq!(task.group(), Some("daemon:agent"));
    assert!(task.task_definition_arn().unwrap().ends_with(":daemon-task-definition/agent:1"));

    // One more instance joins: it gets the daemon too.
    ecs.update_service().cluster("d").service("app").desired_count(3).send().await.unwrap();
    let three = one_on_each(&ecs, "d", "agent", 3, &v1).await;
    assert!(two.iter().all(|i| three.contains(i)));

    // The daemon task on one instance stops: that instance is replaced by a new one.
    let victim = daemon_tasks(&ecs, "d", "agent").await[0].clone();
    ecs.stop_task().cluster("d").task(&victim.0).send().await.unwrap();
    let replaced = one_on_each(&ecs, "d", "agent", 3, &v1).await;
    assert!(!replaced.contains(&victim.1), "the instance whose daemon task stopped is gone: {replaced:?}");
    // It drains (the service moves its task) and then ends.
    until("the replaced instance to end", secs(60), || async {
        let old = ecs.describe_container_instances().cluster("d").container_instances(&victim.1).send().await;
        let status = old.unwrap().container_instances()[0].status().map(str::to_owned);
        if status.as_deref() == Some("INACTIVE") { Ok(()) } else { Err(status) }
    })
    .await;
    until("the service to run its 3 tasks again", secs(60), || async {
        let s = ecs.describe_services().cluster("d").services("app").send().await.unwrap().services()[0].clone();
        if s.running_count() == 3 { Ok(()) } else { Err(s.running_count()) }
    })
    .await;

    // A new revision rolls out over every instance; the deployment before it is done.
    let td2 = ecs.register_daemon_task_definition().family("agent").container_definitions(agent("v2")).send().await;
    let td2 = td2.unwrap().daemon_task_definition_arn().unwrap().to_owned();
    let updated = ecs
        .update_daemon()
        .daemon_arn(&daemon)
        .daemon_task_definition_arn(&td2)
        .capacity_provider_arns(&provider)
        .deployment_configuration(DaemonDeploymentConfiguration::builder().drain_percent(100.0).build())
        .send()
        .await
        .unwrap();
    let second = updated.deployment_arn().unwrap().to_owned();
    until_successful(&ecs, &second).await;
    let described = ecs.describe_daemon().daemon_arn(&daemon).send().await.unwrap();
    let current = described.daemon().unwrap().current_revisions();
    assert_eq!(current.len(), 1, "only the new revision runs: {current:?}");
    let v2 = format!("ecs-daemon/{}", current[0].arn().unwrap().rsplit('/').next().unwrap());
    assert_ne!(v1, v2);
    one_on_each(&ecs, "d", "agent", 3, &v2).await;
    let list = ecs.list_daemon_deployments().daemon_arn(&daemon).send().await.unwrap();
    let listed: Vec<_> = list.daemon_deployments().iter().filter_map(|d| d.daemon_deployment_arn()).collect();
    assert_eq!(listed, [second.as_str(), first.as_str()], "newest first");
    let revisions = ecs.describe_daemon_revisions().daemon_revision_arns(&revision_arn).send().await.unwrap();
    assert_eq!(revisions.daemon_revisions()[0].daemon_task_definition_arn(), Some(td.as_str()));

    // Deleted, the daemon stops its tasks and is gone; while they stop it takes no update.
    let deleted = ecs.delete_daemon().daemon_arn(&daemon).send().await.unwrap();
    assert_eq!(deleted.status(), Some(&DaemonStatus::DeleteInProgress));
    let update =
        ecs.update_daemon().daemon_arn(&daemon).daemon_task_definition_arn(&td2).capacity_provider_arns(&provider);
    let (code, message) = error(update.send().await);
    assert_eq!(code, "DaemonNotActiveException");
    assert!(message.starts_with("The specified daemon isn't active."), "{message}");
    until_successful(&ecs, deleted.deployment_arn().unwrap()).await;
    assert_eq!(error(ecs.describe_daemon().daemon_arn(&daemon).send().await).0, "DaemonNotFoundException");
    until("the daemon's tasks to stop", secs(30), || async {
        let left = daemon_tasks(&ecs, "d", "agent").await;
        if left.is_empty() { Ok(()) } else { Err(left) }
    })
    .await;

    // Leave nothing behind: the service, then the provider with its instances.
    ecs.delete_service().cluster("d").service("app").force(true).send().await.unwrap();
    until("the service's tasks to stop", secs(60), || async {
        let left = ecs.list_tasks().cluster("d").send().await.unwrap();
        if left.task_arns().is_empty() { Ok(()) } else { Err(left.task_arns().len()) }
    })
    .await;
    ecs.delete_capacity_provider().capacity_provider("d-cp").send().await.unwrap();
    let stopped = ecs.list_tasks().cluster("d").desired_status(DesiredStatus::Stopped).send().await.unwrap();
    for arn in stopped.task_arns() {
        wait_for(&ecs, arn, "STOPPED").await;
        gone(arn).await;
    }
}

#[tokio::test]
async fn daemon_calls_answer_aws_errors() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().cluster_name("e").send().await.unwrap();
    let provider = create_provider(&ecs, "e", "e-cp", 1, 1024).await;
    let td = ecs.register_daemon_task_definition().family("agent").container_definitions(agent("e")).send().await;
    let td = td.unwrap().daemon_task_definition_arn().unwrap().to_owned();
    let create = |name: &str, provider: &str| {
        ecs.create_daemon()
            .cluster_arn("e")
            .daemon_name(name)
            .daemon_task_definition_arn(&td)
            .capacity_provider_arns(provider)
    };
    let (code, message) = error(create("f", "FARGATE").send().await);
    assert_eq!(code, "UnsupportedFeatureException");
    assert!(message.starts_with("ECS Managed Daemons is only supported for Amazon ECS Managed Instances"), "{message}");
    assert_eq!(error(create("f", "nothing").send().await).0, "InvalidParameterException");
    assert_eq!(error(create("bad name!", &provider).send().await).0, "InvalidParameterException");
    let missing_td = create("f", &provider).daemon_task_definition_arn("nothing:1").send().await;
    assert_eq!(error(missing_td).0, "ClientException");
    let nowhere = create("f", &provider).cluster_arn("nowhere").send().await;
    assert_eq!(error(nowhere).0, "ClusterNotFoundException");
    let bad_drain = create("f", &provider)
        .deployment_configuration(DaemonDeploymentConfiguration::builder().drain_percent(0.5).build())
        .send()
        .await;
    assert_eq!(error(bad_drain).0, "InvalidParameterException");

    // The same client token answers the first create again; another create of the name fails.
    let first = create("a", &provider).client_token("token-1").send().await.unwrap();
    let again = create("a", &provider).client_token("token-1").send().await.unwrap();
    assert_eq!(first.deployment_arn(), again.deployment_arn());
    assert_eq!(error(create("a", &provider).send().await).0, "InvalidParameterException");
    create("b", &provider).send().await.unwrap();

    // Listing: every cluster's, one cluster's, by provider, in pages.
    let all = ecs.list_daemons().send().await.unwrap();
    let arns: Vec<_> = all.daemon_summaries_list().iter().filter_map(|d| d.daemon_arn()).collect();
    assert_eq!(
        arns,
        ["arn:aws:ecs:us-east-1:000000000000:daemon/e/a", "arn:aws:ecs:us-east-1:000000000000:daemon/e/b"]
    );
    let page = ecs.list_daemons().cluster_arn("e").max_results(1).send().await.unwrap();
    assert_eq!(page.daemon_summaries_list().len(), 1);
    let rest = ecs.list_daemons().cluster_arn("e").next_token(page.next_token().unwrap()).send().await.unwrap();
    assert_eq!(rest.daemon_summaries_list()[0].daemon_arn(), Some(arns[1]));
    let none = ecs.list_daemons().capacity_provider_arns("arn:aws:ecs:us-east-1:000000000000:capacity-provider/x");
    assert!(none.send().await.unwrap().daemon_summaries_list().is_empty());
    assert_eq!(error(ecs.list_daemons().cluster_arn("nowhere").send().await).0, "ClusterNotFoundException");

    // Unknown daemons, deployments and revisions.
    let unknown = "arn:aws:ecs:us-east-1:000000000000:daemon/e/unknown";
    let (code, message) = error(ecs.describe_daemon().daemon_arn(unknown).send().await);
    assert_eq!(code, "DaemonNotFoundException");
    assert!(message.starts_with("The specified daemon wasn't found."), "{message}");
    assert_eq!(error(ecs.describe_daemon().daemon_arn("agent").send().await).0, "InvalidParameterException");
    let update =
        ecs.update_daemon().daemon_arn(unknown).daemon_task_definition_arn(&td).capacity_provider_arns(&provider);
    assert_eq!(error(update.send().await).0, "DaemonNotFoundException");
    assert_eq!(error(ecs.delete_daemon().daemon_arn(unknown).send().await).0, "DaemonNotFoundException");
    let missing = "arn:aws:ecs:us-east-1:000000000000:daemon-deployment/e/a/nothing";
    let out = ecs.describe_daemon_deployments().daemon_deployment_arns(missing).send().await.unwrap();
    assert_eq!(out.failures()[0].reason(), Some("MISSING"));
    let missing = "arn:aws:ecs:us-east-1:000000000000:daemon-revision/e/a/1";
    let out = ecs.describe_daemon_revisions().daemon_revision_arns(missing).send().await.unwrap();
    assert_eq!(out.failures()[0].reason(), Some("MISSING"));

    // Its provider cannot be deleted while a daemon runs on it.
    let (code, _) = error(ecs.delete_capacity_provider().capacity_provider("e-cp").send().await);
    assert_eq!(code, "ResourceInUseException");
    // Deleted without tasks, a daemon is gone at once, and its name free again.
    let daemon = first.daemon_arn().unwrap();
    let deleted = ecs.delete_daemon().daemon_arn(daemon).send().await.unwrap();
    until_successful(&ecs, deleted.deployment_arn().unwrap()).await;
    assert_eq!(error(ecs.delete_daemon().daemon_arn(daemon).send().await).0, "DaemonNotFoundException");
    create("a", &provider).send().await.unwrap();
}
