//! The EC2 launch type: tasks placed on container instances by resources, ports, strategies and
//! constraints, with AWS's failures; bridge-mode host ports; placements that race.

use std::collections::BTreeMap;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    ContainerDefinition, LaunchType, NetworkMode, PlacementConstraint, PlacementConstraintType, PlacementStrategy,
    PlacementStrategyType, PortMapping, Task,
};

use crate::common::{Berth, error};
use crate::fixtures::{
    Launch::Ec2, always, container, definition, describe, gone, network, register, secs, sleeper, until, wait_for,
    with_memory,
};

/// A container `main` reserving `cpu` and `memory` that serves a page on port 80, mapped to a
/// host port (`(container, host)`) when `port` is given.
fn placed(cpu: i32, memory: i32, port: Option<(i32, i32)>) -> ContainerDefinition {
    let mut c = with_memory(
        container("main", "mkdir -p /www && echo placed > /www/index.html && exec httpd -f -p 80 -h /www"),
        memory,
    );
    c.cpu = cpu;
    if let Some((container, host)) = port {
        c.port_mappings = Some(vec![PortMapping::builder().container_port(container).host_port(host).build()]);
    }
    c
}

fn strategy(kind: PlacementStrategyType, field: &str) -> PlacementStrategy {
    PlacementStrategy::builder().r#type(kind).field(field).build()
}

/// The instance ARN each task landed on, by instance.
fn by_instance(tasks: &[Task]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for t in tasks {
        *out.entry(t.container_instance_arn().unwrap().to_owned()).or_default() += 1;
    }
    out
}

/// Instance ARN → (remaining CPU, remaining memory, running tasks).
async fn remaining(ecs: &Client) -> BTreeMap<String, (i32, i32, i32)> {
    let arns = ecs.list_container_instances().send().await.unwrap().container_instance_arns().to_vec();
    let described = ecs.describe_container_instances().set_container_instances(Some(arns)).send().await.unwrap();
    described
        .container_instances()
        .iter()
        .map(|i| {
            let get = |name: &str| {
                i.remaining_resources().iter().find(|r| r.name() == Some(name)).map(|r| r.integer_value()).unwrap()
            };
            (i.container_instance_arn().unwrap().to_owned(), (get("CPU"), get("MEMORY"), i.running_tasks_count()))
        })
        .collect()
}

/// Stops every task of the default cluster and waits until their containers are gone.
async fn stop_all(ecs: &Client) {
    let arns = ecs.list_tasks().send().await.unwrap().task_arns().to_vec();
    for arn in &arns {
        ecs.stop_task().task(arn).send().await.unwrap();
    }
    for arn in &arns {
        wait_for(ecs, arn, "STOPPED").await;
        gone(arn).await;
    }
}

#[tokio::test]
async fn binpack_fills_an_instance_first_and_resources_come_back() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Ec2, "packed", vec![placed(256, 1000, None)]).await;
    let run = ecs
        .run_task()
        .task_definition("packed")
        .launch_type(LaunchType::Ec2)
        .count(3)
        .placement_strategy(strategy(PlacementStrategyType::Binpack, "memory"))
        .send()
        .await
        .unwrap();
    assert!(run.failures().is_empty(), "{:?}", run.failures());
    let placed = by_instance(run.tasks());
    assert_eq!(placed.len(), 1, "binpack put all three on one instance: {placed:?}");
    let (full, _) = placed.iter().next().unwrap();
    let task = wait_for(&ecs, run.tasks()[0].task_arn().unwrap(), "RUNNING").await;
    assert_eq!(task.launch_type(), Some(&LaunchType::Ec2));
    assert_eq!(task.attachments().len(), 0, "bridge mode has no ENI");
    let before = remaining(&ecs).await;
    assert_eq!(before[full].0, 2048 - 3 * 256);
    assert_eq!(before[full].1, 3933 - 3 * 1000);
    // The fourth does not fit there (933 MiB left) and goes to the other instance.
    let fourth = ecs
        .run_task()
        .task_definition("packed")
        .placement_strategy(strategy(PlacementStrategyType::Binpack, "memory"))
        .send()
        .await
        .unwrap();
    assert_ne!(fourth.tasks()[0].container_instance_arn(), Some(full.as_str()));
    // Tasks on an instance are listed by it.
    let on_full = ecs.list_tasks().container_instance(full).send().await.unwrap();
    assert_eq!(on_full.task_arns().len(), 3);

    stop_all(&ecs).await;
    let after = remaining(&ecs).await;
    assert!(after.values().all(|(cpu, memory, running)| *cpu == 2048 && *memory == 3933 && *running == 0), "{after:?}");
}

#[tokio::test]
async fn spread_distinct_instance_member_of_and_failures() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Ec2, "spread", vec![placed(0, 64, None)]).await;
    let spread = ecs
        .run_task()
        .task_definition("spread")
        .count(4)
        .placement_strategy(strategy(PlacementStrategyType::Spread, "attribute:ecs.availability-zone"))
        .send()
        .await
        .unwrap();
    let counts: Vec<usize> = by_instance(spread.tasks()).into_values().collect();
    assert_eq!(counts, [2, 2], "spread evenly over the two zones");
    let zones: Vec<&str> = spread.tasks().iter().filter_map(|t| t.availability_zone()).collect();
    assert!(zones.contains(&"us-east-1a") && zones.contains(&"us-east-1b"), "{zones:?}");

    // distinctInstance: the group already has tasks on both instances.
    let distinct = ecs
        .run_task()
        .task_definition("spread")
        .placement_constraints(PlacementConstraint::builder().r#type(PlacementConstraintType::DistinctInstance).build())
        .send()
        .await
        .unwrap();
    assert!(distinct.tasks().is_empty());
    assert_eq!(distinct.failures().len(), 2);
    assert!(
        distinct.failures().iter().all(|f| f.reason() == Some("DistinctInstance placement constraint unsatisfied."))
    );
    // In another group it places one task per instance, and no more.
    let grouped = ecs
        .run_task()
        .task_definition("spread")
        .group("batch")
        .count(3)
        .placement_constraints(PlacementConstraint::builder().r#type(PlacementConstraintType::DistinctInstance).build())
        .send()
        .await
        .unwrap();
    assert_eq!(grouped.tasks().len(), 2);
    assert_eq!(by_instance(grouped.tasks()).len(), 2);
    assert_eq!(grouped.failures().len(), 2);

    // memberOf picks the instances an expression matches.
    let member_of = |expression: &str| {
        ecs.run_task()
            .task_definition("spread")
            .placement_constraints(
                PlacementConstraint::builder().r#type(PlacementConstraintType::MemberOf).expression(expression).build(),
            )
            .send()
    };
    let in_b = member_of("attribute:ecs.availability-zone == us-east-1b and runningTasksCount >= 0").await.unwrap();
    assert_eq!(in_b.tasks()[0].availability_zone(), Some("us-east-1b"));
    let nowhere = member_of("attribute:ecs.instance-type =~ m5\\..*").await.unwrap();
    assert!(nowhere.tasks().is_empty());
    assert!(nowhere.failures().iter().all(|f| f.reason() == Some("MemberOf placement constraint unsatisfied.")));
    let (code, message) = error(member_of("attribute:ecs.instance-type ~= t3").await);
    assert_eq!(code, "InvalidParameterException");
    assert!(message.contains("is not an operator"), "{message}");

    // Too big for any instance: one failure per instance, naming it.
    register(&ecs, Ec2, "huge-memory", vec![placed(0, 8000, None)]).await;
    let too_big = ecs.run_task().task_definition("huge-memory").send().await.unwrap();
    assert!(too_big.tasks().is_empty());
    let instances = ecs.list_container_instances().send().await.unwrap().container_instance_arns().to_vec();
    let mut failed: Vec<String> = too_big.failures().iter().map(|f| f.arn().unwrap().to_owned()).collect();
    failed.sort();
    let mut expected = instances.clone();
    expected.sort();
    assert_eq!(failed, expected);
    assert!(too_big.failures().iter().all(|f| f.reason() == Some("RESOURCE:MEMORY")));
    register(&ecs, Ec2, "huge-cpu", vec![placed(4096, 64, None)]).await;
    let too_busy = ecs.run_task().task_definition("huge-cpu").send().await.unwrap();
    assert!(too_busy.failures().iter().all(|f| f.reason() == Some("RESOURCE:CPU")));
    stop_all(&ecs).await;
}

#[tokio::test]
async fn bridge_ports_static_and_dynamic() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    // A dynamic host port (0), reachable on 127.0.0.1.
    register(&ecs, Ec2, "dynamic", vec![placed(0, 64, Some((80, 0)))]).await;
    let run = ecs.run_task().task_definition("dynamic").send().await.unwrap();
    let arn = run.tasks()[0].task_arn().unwrap().to_owned();
    let task = wait_for(&ecs, &arn, "RUNNING").await;
    let binding = task.containers()[0].network_bindings()[0].clone();
    assert_eq!(binding.container_port(), Some(80));
    let port = u16::try_from(binding.host_port().unwrap()).unwrap();
    assert!((32768..=60999).contains(&port), "{port}");
    let body = crate::common::http_get(port).await.unwrap();
    assert!(body.contains("placed"), "{body}");

    // A static host port fits once per instance: the third task has nowhere to go.
    let static_port = crate::common::free_port();
    register(&ecs, Ec2, "static", vec![placed(0, 64, Some((80, i32::from(static_port))))]).await;
    let run = ecs.run_task().task_definition("static").count(3).send().await.unwrap();
    assert_eq!(run.tasks().len(), 2, "{:?}", run.failures());
    assert_eq!(by_instance(run.tasks()).len(), 2);
    assert!(run.failures().iter().all(|f| f.reason() == Some("RESOURCE:PORTS")));
    let _ = describe(&ecs, &arn).await;
    stop_all(&ecs).await;
}

#[tokio::test]
async fn racing_run_tasks_never_overcommit_an_instance() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    // 3933 MiB per instance: three 1200 MiB tasks fit on each, six in all.
    register(&ecs, Ec2, "race", vec![placed(0, 1200, None)]).await;
    let runs = (0..10).map(|_| {
        let ecs = ecs.clone();
        async move { ecs.run_task().task_definition("race").send().await.unwrap() }
    });
    let results = futures_util::future::join_all(runs).await;
    let placed: Vec<Task> = results.iter().flat_map(|r| r.tasks().to_vec()).collect();
    assert_eq!(placed.len(), 6);
    assert!(by_instance(&placed).values().all(|n| *n == 3));
    assert!(remaining(&ecs).await.values().all(|(_, memory, _)| *memory >= 0));
    assert_eq!(results.iter().filter(|r| r.tasks().is_empty()).count(), 4);
    stop_all(&ecs).await;
}

#[tokio::test]
async fn a_cluster_without_instances() {
    let berth = Berth::start_with(&[("BERTH_INSTANCES", "0")]).await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Ec2, "lonely", vec![placed(0, 64, None)]).await;
    let (code, message) = error(ecs.run_task().task_definition("lonely").send().await);
    assert_eq!(code, "InvalidParameterException");
    assert_eq!(message, "No Container Instances were found in your cluster.");
}

#[tokio::test]
async fn start_task_runs_on_the_instances_named() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Ec2, "chosen", vec![placed(0, 3000, None)]).await;
    let instances = ecs.list_container_instances().send().await.unwrap().container_instance_arns().to_vec();
    let id = instances[1].rsplit('/').next().unwrap().to_owned();
    let started = ecs
        .start_task()
        .task_definition("chosen")
        .container_instances(&instances[0])
        .container_instances(&id)
        .container_instances("0000")
        .started_by("tester")
        .send()
        .await
        .unwrap();
    assert_eq!(started.tasks().len(), 2);
    assert_eq!(by_instance(started.tasks()).len(), 2);
    assert_eq!(started.failures().len(), 1);
    assert_eq!(started.failures()[0].reason(), Some("MISSING"));
    assert_eq!(started.tasks()[0].started_by(), Some("tester"));
    // No room left for another 3000 MiB on the first instance.
    let again = ecs.start_task().task_definition("chosen").container_instances(&instances[0]).send().await.unwrap();
    assert!(again.tasks().is_empty());
    assert_eq!(again.failures()[0].reason(), Some("RESOURCE:MEMORY"));
    assert_eq!(again.failures()[0].arn(), Some(instances[0].as_str()));
    for t in started.tasks() {
        wait_for(&ecs, t.task_arn().unwrap(), "RUNNING").await;
    }
    // An instance with tasks is deregistered only with force.
    let (code, _) = error(ecs.deregister_container_instance().container_instance(&instances[0]).send().await);
    assert_eq!(code, "InvalidParameterException");
    stop_all(&ecs).await;
    let gone_instance = ecs.deregister_container_instance().container_instance(&instances[0]).send().await.unwrap();
    assert_eq!(gone_instance.container_instance().unwrap().status(), Some("INACTIVE"));
}

#[tokio::test]
async fn docker_volumes_and_host_paths_on_ec2() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let name = crate::common::unique("berth-shared");
    let host_dir = tempfile::tempdir().unwrap();
    std::fs::write(host_dir.path().join("greeting"), "from-the-host").unwrap();
    let shared = |autoprovision: bool| {
        aws_sdk_ecs::types::Volume::builder()
            .name(&name)
            .docker_volume_configuration(
                aws_sdk_ecs::types::DockerVolumeConfiguration::builder()
                    .scope(aws_sdk_ecs::types::Scope::Shared)
                    .autoprovision(autoprovision)
                    .labels("team", "berth")
                    .build(),
            )
            .build()
    };
    let host = aws_sdk_ecs::types::Volume::builder()
        .name("host")
        .host(
            aws_sdk_ecs::types::HostVolumeProperties::builder().source_path(host_dir.path().to_str().unwrap()).build(),
        )
        .build();
    let mount = |volume: &str, path: &str| {
        aws_sdk_ecs::types::MountPoint::builder().source_volume(volume).container_path(path).build()
    };
    for (family, autoprovision, command) in [
        ("shared-1", true, "[ \"$(cat /h/greeting)\" = from-the-host ] && echo kept > /v/file"),
        ("shared-2", false, "[ \"$(cat /v/file)\" = kept ]"),
    ] {
        let mut c = with_memory(container("main", command), 64);
        c.mount_points = Some(vec![mount(&name, "/v"), mount("host", "/h")]);
        definition(&ecs, Ec2, family, vec![c])
            .volumes(shared(autoprovision))
            .volumes(host.clone())
            .send()
            .await
            .unwrap();
    }
    // Without autoprovision a missing shared volume fails the task, in the agent's words.
    let early = ecs.run_task().task_definition("shared-2").send().await.unwrap();
    let failed = wait_for(&ecs, early.tasks()[0].task_arn().unwrap(), "STOPPED").await;
    assert_eq!(failed.stop_code().map(|c| c.as_str()), Some("TaskFailedToStart"));
    let reason = failed.stopped_reason().unwrap();
    assert!(reason.ends_with(&format!("volume '{name}' does not exist and autoprovision is set to false")), "{reason}");

    let one = ecs.run_task().task_definition("shared-1").send().await.unwrap();
    let one = wait_for(&ecs, one.tasks()[0].task_arn().unwrap(), "STOPPED").await;
    assert_eq!(one.containers()[0].exit_code(), Some(0), "the host path was mounted: {one:?}");
    let two = ecs.run_task().task_definition("shared-2").send().await.unwrap();
    let two = wait_for(&ecs, two.tasks()[0].task_arn().unwrap(), "STOPPED").await;
    assert_eq!(two.containers()[0].exit_code(), Some(0), "the shared volume kept the file");
    // Shared volumes stay, as the ECS agent leaves them; this test removes its own.
    let inspected = std::process::Command::new("docker").args(["volume", "inspect", &name]).output().unwrap();
    let inspected: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
    assert_eq!(inspected[0]["Labels"]["team"], "berth");
    assert_eq!(inspected[0]["Labels"]["berth.managed"], "true");
    assert!(std::process::Command::new("docker").args(["volume", "rm", &name]).status().unwrap().success());
}

#[tokio::test]
async fn two_docker_engines_each_back_instances_and_run_tasks() {
    let second = std::env::var("BERTH_TEST_SECOND_ENGINE")
        .expect("BERTH_TEST_SECOND_ENGINE names a second Docker engine: bash scripts/test starts one");
    let first = std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_owned());
    let hosts = format!("{first},{second}");
    let berth = Berth::start_with(&[("BERTH_DOCKER_HOST", &hosts), ("BERTH_INSTANCES", "1")]).await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let instances = ecs.list_container_instances().send().await.unwrap().container_instance_arns().to_vec();
    assert_eq!(instances.len(), 2, "one instance per engine");
    register(&ecs, Ec2, "both", vec![placed(0, 64, Some((80, 0)))]).await;
    let run = ecs
        .run_task()
        .task_definition("both")
        .count(2)
        .placement_strategy(strategy(PlacementStrategyType::Spread, "instanceId"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_instance(run.tasks()).len(), 2);
    for t in run.tasks() {
        wait_for(&ecs, t.task_arn().unwrap(), "RUNNING").await;
    }
    // Each engine runs one of the tasks. The first engine's is reachable through its published
    // port (the second engine lives in a network namespace of its own).
    let on = |host: &str, arn: &str| {
        let labelled = std::process::Command::new("docker")
            .args(["-H", host, "ps", "-q", "--filter", &format!("label=berth.task-arn={arn}")])
            .output()
            .unwrap();
        !labelled.stdout.is_empty()
    };
    let arns: Vec<String> = run.tasks().iter().map(|t| t.task_arn().unwrap().to_owned()).collect();
    assert_eq!(arns.iter().filter(|a| on(&first, a)).count(), 1, "the first engine runs one task");
    assert_eq!(arns.iter().filter(|a| on(&second, a)).count(), 1, "the second engine runs one task");
    let local = arns.iter().find(|a| on(&first, a)).unwrap();
    let task = wait_for(&ecs, local, "RUNNING").await;
    let port = u16::try_from(task.containers()[0].network_bindings()[0].host_port().unwrap()).unwrap();
    let body = crate::common::http_get(port).await.unwrap();
    assert!(body.contains("placed"), "{body}");
    for arn in &arns {
        ecs.stop_task().task(arn).send().await.unwrap();
    }
    for arn in &arns {
        wait_for(&ecs, arn, "STOPPED").await;
        for host in [&first, &second] {
            let left = std::process::Command::new("docker")
                .args(["-H", host, "ps", "-aq", "--filter", &format!("label=berth.task-arn={arn}")])
                .output()
                .unwrap();
            assert!(left.stdout.is_empty(), "containers of {arn} left on {host}");
        }
    }
}

#[tokio::test]
async fn instances_of_an_engine_that_does_not_answer_are_disconnected() {
    let first = std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_owned());
    let hosts = format!("{first},unix:///tmp/berth-test-no-such-engine.sock");
    let berth = Berth::start_with(&[("BERTH_DOCKER_HOST", &hosts), ("BERTH_INSTANCES", "1")]).await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let arns = ecs.list_container_instances().send().await.unwrap().container_instance_arns().to_vec();
    let described = ecs.describe_container_instances().set_container_instances(Some(arns)).send().await.unwrap();
    let (up, down): (Vec<_>, Vec<_>) = described.container_instances().iter().partition(|i| i.agent_connected());
    assert_eq!((up.len(), down.len()), (1, 1), "{described:?}");
    let up = up[0].container_instance_arn().unwrap().to_owned();
    let down = down[0].container_instance_arn().unwrap().to_owned();
    let listed = ecs.list_container_instances().filter("agentConnected == false").send().await.unwrap();
    assert_eq!(listed.container_instance_arns(), std::slice::from_ref(&down));

    register(&ecs, Ec2, "connected", vec![placed(0, 64, None)]).await;
    // Only the connected instance takes tasks; the other is refused as AGENT.
    let refused = ecs
        .run_task()
        .task_definition("connected")
        .count(2)
        .placement_constraints(PlacementConstraint::builder().r#type(PlacementConstraintType::DistinctInstance).build())
        .send()
        .await
        .unwrap();
    assert_eq!(refused.tasks().len(), 1);
    assert_eq!(refused.tasks()[0].container_instance_arn(), Some(up.as_str()));
    let agent = refused.failures().iter().find(|f| f.arn() == Some(down.as_str())).unwrap();
    assert_eq!(agent.reason(), Some("AGENT"));
    stop_all(&ecs).await;
}

#[tokio::test]
async fn bridge_links_reach_another_container_of_the_task_by_alias() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let mut db = with_memory(
        container("db", "mkdir -p /www && echo linked > /www/index.html && exec httpd -f -p 80 -h /www"),
        64,
    );
    db.essential = Some(false);
    let mut app = with_memory(
        container(
            "app",
            "for i in $(seq 1 100); do wget -qO- http://database/ | grep -q linked && exit 0; sleep 0.1; done; exit 1",
        ),
        64,
    );
    app.links = Some(vec!["db:database".to_owned()]);
    register(&ecs, Ec2, "linked", vec![app, db]).await;
    let out = ecs.run_task().task_definition("linked").send().await.unwrap();
    let arn = out.tasks()[0].task_arn().unwrap().to_owned();
    let stopped = wait_for(&ecs, &arn, "STOPPED").await;
    let app = stopped.containers().iter().find(|c| c.name() == Some("app")).unwrap();
    // The linked container started first (app is listed first) and answered by its alias.
    assert_eq!(app.exit_code(), Some(0), "{stopped:?}");
    gone(&arn).await;
}

#[tokio::test]
async fn awsvpc_tasks_on_ec2_count_against_the_instance_network_interfaces() {
    let berth = Berth::start_with(&[("BERTH_INSTANCES", "1")]).await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let eni = with_memory(sleeper("eni"), 32);
    definition(&ecs, Ec2, "eni", vec![eni]).network_mode(NetworkMode::Awsvpc).send().await.unwrap();
    // A t3.medium has three interfaces: its own, and two for tasks.
    let out = ecs
        .run_task()
        .task_definition("eni")
        .launch_type(LaunchType::Ec2)
        .network_configuration(network())
        .count(3)
        .send()
        .await
        .unwrap();
    assert_eq!(out.tasks().len(), 2);
    assert_eq!(out.failures().len(), 1);
    assert_eq!(out.failures()[0].reason(), Some("RESOURCE:ENI"));
    for t in out.tasks() {
        let arn = t.task_arn().unwrap();
        let running = wait_for(&ecs, arn, "RUNNING").await;
        assert!(running.attachments()[0].details().iter().any(|d| d.name() == Some("privateIPv4Address")));
    }
    stop_all(&ecs).await;
}

/// A Docker engine that can go away and come back: a unix socket forwarding to the real one.
struct EngineProxy {
    path: std::path::PathBuf,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl EngineProxy {
    fn start(path: &std::path::Path) -> Self {
        let proxy = Self { path: path.to_owned(), tasks: Default::default() };
        proxy.restore();
        proxy
    }

    /// Serves again on the same socket.
    fn restore(&self) {
        let _ = std::fs::remove_file(&self.path);
        let listener = tokio::net::UnixListener::bind(&self.path).unwrap();
        let engine = std::env::var("DOCKER_HOST")
            .ok()
            .and_then(|h| h.strip_prefix("unix://").map(str::to_owned))
            .unwrap_or_else(|| "/var/run/docker.sock".to_owned());
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let engine = engine.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::UnixStream::connect(&engine).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(conn);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }

    /// Stops answering: every open connection drops, new ones are refused.
    fn cut(&self) {
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

#[tokio::test]
async fn a_task_on_an_engine_that_stops_answering_stays_running_until_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("engine.sock");
    let proxy = EngineProxy::start(&socket);
    let host = format!("unix://{}", socket.display());
    let mut berth = Berth::start_with(&[("BERTH_DOCKER_HOST", &host), ("BERTH_INSTANCES", "1")]).await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Ec2, "lost", vec![placed(0, 64, None)]).await;
    let kept = ecs.run_task().task_definition("lost").send().await.unwrap().tasks()[0].task_arn().unwrap().to_owned();
    let stopped_meanwhile =
        ecs.run_task().task_definition("lost").send().await.unwrap().tasks()[0].task_arn().unwrap().to_owned();
    wait_for(&ecs, &kept, "RUNNING").await;
    wait_for(&ecs, &stopped_meanwhile, "RUNNING").await;

    proxy.cut();
    let instance = describe(&ecs, &kept).await.container_instance_arn().unwrap().to_owned();
    let connected = || async {
        let out = ecs.describe_container_instances().container_instances(&instance).send().await.unwrap();
        out.container_instances()[0].agent_connected()
    };
    until("the instance of a lost engine to be disconnected", secs(5), || async { !connected().await }).await;
    // As on AWS with a disconnected agent: the tasks keep their last state, and a StopTask is
    // recorded but takes effect only when the engine is back.
    ecs.stop_task().task(&stopped_meanwhile).send().await.unwrap();
    always("both tasks keeping their last state while the engine is gone", secs(3), || async {
        let kept = describe(&ecs, &kept).await.last_status().map(str::to_owned);
        let waiting = describe(&ecs, &stopped_meanwhile).await;
        let waiting = (waiting.last_status().map(str::to_owned), waiting.desired_status().map(str::to_owned));
        let expected = (Some("RUNNING".to_owned()), Some("STOPPED".to_owned()));
        if kept.as_deref() == Some("RUNNING") && waiting == expected { Ok(()) } else { Err((kept, waiting)) }
    })
    .await;

    proxy.restore();
    wait_for(&ecs, &stopped_meanwhile, "STOPPED").await;
    gone(&stopped_meanwhile).await;
    assert!(connected().await);
    // The other one was picked up again: still running, and it stops as usual.
    assert_eq!(describe(&ecs, &kept).await.last_status(), Some("RUNNING"));
    ecs.stop_task().task(&kept).send().await.unwrap();
    wait_for(&ecs, &kept, "STOPPED").await;
    gone(&kept).await;
    // berth removes its network on the way out, through the proxy: it must outlive berth.
    berth.terminate().await;
    drop(proxy);
}
