//! Tasks as real containers (Fargate-like mode) through aws-sdk-ecs: exit codes and stop codes,
//! non-essential exits, overrides, localhost between a task's containers, published ports,
//! StopTask and stopTimeout, a missing image, validation, and kill -9 of berth while a task runs.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    ContainerDefinition, ContainerOverride, KeyValuePair, LaunchType, PlacementConstraint, PlacementConstraintType,
    PlacementStrategy, PlacementStrategyType, TaskOverride,
};

use crate::common::{Berth, code, error};
use crate::containers::docker_cli;
use crate::fixtures::{
    Launch::Fargate, container, definition, describe, gone, network, register, run, secs, sleeper, stop, until,
    wait_for, web,
};

#[tokio::test]
async fn essential_container_exit_stops_the_task() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Fargate, "exit3", vec![container("main", "sleep 0.5; exit 3")]).await;
    let arn = run(&ecs, "exit3", None).await;
    let task = wait_for(&ecs, &arn, "STOPPED").await;
    assert_eq!(task.desired_status(), Some("STOPPED"));
    assert_eq!(task.stop_code().map(|c| c.as_str()), Some("EssentialContainerExited"));
    assert_eq!(task.stopped_reason(), Some("Essential container in task exited"));
    let c = &task.containers()[0];
    assert_eq!(c.exit_code(), Some(3));
    assert_eq!(c.last_status(), Some("STOPPED"));
    assert!(c.runtime_id().is_some_and(|id| id.len() == 64));
    for at in [task.created_at(), task.started_at(), task.stopping_at(), task.stopped_at(), task.pull_started_at()] {
        assert!(at.is_some(), "{task:?}");
    }
    assert_eq!(task.platform_version(), Some("1.4.0"));
    let eni = &task.attachments()[0];
    assert_eq!(eni.r#type(), Some("ElasticNetworkInterface"));
    assert!(eni.details().iter().any(|d| d.name() == Some("privateIPv4Address")));
    gone(&arn).await;
    // Stopped tasks are listed under desiredStatus STOPPED.
    let stopped = ecs.list_tasks().desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped).send().await.unwrap();
    assert_eq!(stopped.task_arns(), [arn]);
    assert!(ecs.list_tasks().send().await.unwrap().task_arns().is_empty());
    // The tasks controller drove it: woken by its stored changes and by Docker's `die` event
    // (the feed), a few reconciles in all; tasks are not counted one by one.
    let stats = berth.raw("GET", "/_berth/controllers", &[], b"").await.json();
    let tasks = &stats["tasks"];
    let reconciles = tasks["reconciles"].as_u64().unwrap_or(0);
    assert!((2..=12).contains(&reconciles), "{stats}");
    assert_eq!(tasks["errors"], 0, "{stats}");
    assert!(tasks["keys"].as_object().is_some_and(|k| k.is_empty()), "{stats}");
}

#[tokio::test]
async fn containers_share_localhost_ports_are_published_and_stop_task_works() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let web = web("hello-berth", 8080);
    // A non-essential sidecar that reaches the web server on localhost, then exits 0.
    let mut probe = container(
        "probe",
        "for i in $(seq 100); do wget -q -O- http://127.0.0.1:8080/ && exit 0; sleep 0.1; done; exit 1",
    );
    probe.essential = Some(false);
    register(&ecs, Fargate, "web", vec![web, probe]).await;
    let arn = run(&ecs, "web", None).await;
    let task = wait_for(&ecs, &arn, "RUNNING").await;
    assert_eq!(berth.client().describe_clusters().send().await.unwrap().clusters()[0].running_tasks_count(), 1);
    let binding = task.containers()[0].network_bindings()[0].clone();
    assert_eq!(binding.container_port(), Some(8080));
    assert_eq!(binding.bind_ip(), Some("127.0.0.1"));
    let port = binding.host_port().unwrap();

    // The host reaches the task through the published port.
    let body = crate::common::http_get(u16::try_from(port).unwrap()).await.unwrap();
    assert!(body.contains("hello-berth"), "{body}");

    // The sidecar's exit is recorded while the task keeps running.
    let probe_exit = until("the probe's exit", secs(30), || async {
        let t = describe(&ecs, &arn).await;
        let code = t.containers()[1].exit_code();
        assert!(code.is_none() || t.last_status() == Some("RUNNING"), "{t:?}");
        code
    })
    .await;
    assert_eq!(probe_exit, 0, "the probe reached the web server over localhost");

    // DeleteCluster refuses while the task runs.
    assert_eq!(code(ecs.delete_cluster().cluster("default").send().await), "ClusterContainsTasksException");

    let stopped = ecs.stop_task().task(&arn).reason("done testing").send().await.unwrap();
    assert_eq!(stopped.task().unwrap().desired_status(), Some("STOPPED"));
    let task = wait_for(&ecs, &arn, "STOPPED").await;
    assert_eq!(task.stop_code().map(|c| c.as_str()), Some("UserInitiated"));
    assert_eq!(task.stopped_reason(), Some("done testing"));
    gone(&arn).await;
}

#[tokio::test]
async fn overrides_reach_the_process() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Fargate, "env", vec![container("main", "exit 1")]).await;
    let overrides = TaskOverride::builder()
        .container_overrides(
            ContainerOverride::builder()
                .name("main")
                .command("sh")
                .command("-c")
                .command("[ \"$AWS_REGION\" = us-east-1 ] || exit 9; exit $CODE")
                .environment(KeyValuePair::builder().name("CODE").value("7").build())
                .build(),
        )
        .build();
    let arn = run(&ecs, "env", Some(overrides)).await;
    let task = wait_for(&ecs, &arn, "STOPPED").await;
    assert_eq!(task.containers()[0].exit_code(), Some(7));
    gone(&arn).await;
}

/// Creates the default cluster and runs a task of `family` whose container ignores SIGTERM and
/// has a stop timeout of two seconds; answers it once RUNNING.
async fn run_stubborn(ecs: &Client, family: &str) -> String {
    ecs.create_cluster().send().await.unwrap();
    let mut stubborn = container("main", "trap '' TERM; sleep 1000 & wait");
    stubborn.stop_timeout = Some(2);
    register(ecs, Fargate, family, vec![stubborn]).await;
    let arn = run(ecs, family, None).await;
    wait_for(ecs, &arn, "RUNNING").await;
    arn
}

#[tokio::test]
async fn stop_timeout_kills_a_container_ignoring_sigterm() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let arn = run_stubborn(&ecs, "stubborn").await;
    let task = stop(&ecs, &arn).await;
    // SIGKILL after the timeout: 128 + 9.
    assert_eq!(task.containers()[0].exit_code(), Some(137));
}

#[tokio::test]
async fn a_task_stopping_when_berth_stops_finishes_first() {
    let mut berth = Berth::start().await;
    let ecs = berth.client();
    let arn = run_stubborn(&ecs, "stubborn-at-exit").await;
    let network = berth.network().await;
    // Stopping takes the two seconds of the stop timeout; berth is told to stop meanwhile.
    ecs.stop_task().task(&arn).send().await.unwrap();
    assert!(berth.terminate().await.success());
    gone(&arn).await;
    assert!(!docker_cli(&["network", "inspect", &network]).status.success(), "berth removed its network");

    let dir = berth.take_dir();
    drop(berth);
    let mut berth = Berth::start_in(dir.path()).await;
    let task = describe(&berth.client(), &arn).await;
    assert_eq!(task.last_status(), Some("STOPPED"), "recorded before berth exited: {task:?}");
    assert_eq!(task.containers()[0].exit_code(), Some(137));
    assert!(berth.terminate().await.success());
}

#[tokio::test]
async fn run_task_tags_are_stored_with_the_task() {
    use aws_sdk_ecs::types::{PropagateTags, Tag, TaskField};
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let registered = |family: &'static str, tags: Vec<Tag>| {
        definition(&ecs, Fargate, family, vec![container("main", "exec sleep 1000")]).set_tags(Some(tags)).send()
    };
    registered("tagged", vec![tag("team", "definition"), tag("tier", "web")]).await.unwrap();
    let run_tagged = |family: &'static str, tags: Vec<Tag>| {
        ecs.run_task()
            .task_definition(family)
            .launch_type(LaunchType::Fargate)
            .network_configuration(network())
            .propagate_tags(PropagateTags::TaskDefinition)
            .set_tags(Some(tags))
            .send()
    };

    // The request's tags, then the definition's it does not set.
    let out = run_tagged("tagged", vec![tag("team", "request")]).await.unwrap();
    let arn = out.tasks()[0].task_arn().unwrap().to_owned();
    let described = ecs.describe_tasks().tasks(&arn).include(TaskField::Tags).send().await.unwrap();
    let tags: Vec<(&str, &str)> =
        described.tasks()[0].tags().iter().map(|t| (t.key().unwrap(), t.value().unwrap())).collect();
    assert_eq!(tags, [("team", "request"), ("tier", "web")]);
    let listed = ecs.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    assert_eq!(listed.tags().len(), 2);
    stop(&ecs, &arn).await;

    // More than 50 with the definition's: refused, and no task is left behind.
    let many = |prefix: &str| (0..30).map(|i| tag(&format!("{prefix}{i}"), "v")).collect::<Vec<_>>();
    registered("tagged-many", many("d")).await.unwrap();
    let (code_, message) = error(run_tagged("tagged-many", many("r")).await);
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("at most 50 tags"), "{message}");
    for status in [aws_sdk_ecs::types::DesiredStatus::Running, aws_sdk_ecs::types::DesiredStatus::Stopped] {
        let listed = ecs.list_tasks().family("tagged-many").desired_status(status).send().await.unwrap();
        assert!(listed.task_arns().is_empty(), "a refused RunTask stored {:?}", listed.task_arns());
    }
}

#[tokio::test]
async fn a_missing_image_fails_to_start() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let missing = ContainerDefinition::builder().name("main").image("berth-test/not-here:1").build();
    register(&ecs, Fargate, "missing", vec![missing]).await;
    let arn = run(&ecs, "missing", None).await;
    let task = wait_for(&ecs, &arn, "STOPPED").await;
    assert_eq!(task.stop_code().map(|c| c.as_str()), Some("TaskFailedToStart"));
    assert!(task.stopped_reason().unwrap().starts_with("CannotPullContainerError"), "{task:?}");
    gone(&arn).await;
}

#[tokio::test]
async fn run_task_validation() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Fargate, "v", vec![container("main", "true")]).await;
    // Launch type EC2 by default; awsvpc either way.
    let (code_, message) = error(ecs.run_task().task_definition("v").send().await);
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("Network Configuration must be provided"), "{message}");
    let (code_, message) = error(ecs.run_task().task_definition("v").launch_type(LaunchType::Fargate).send().await);
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("Network Configuration must be provided"), "{message}");
    assert_eq!(
        code(
            ecs.run_task()
                .task_definition("nope")
                .launch_type(LaunchType::Fargate)
                .network_configuration(network())
                .send()
                .await
        ),
        "ClientException"
    );
    assert_eq!(
        code(
            ecs.run_task()
                .task_definition("v")
                .launch_type(LaunchType::Fargate)
                .network_configuration(network())
                .count(11)
                .send()
                .await
        ),
        "InvalidParameterException"
    );
    let bad_override =
        TaskOverride::builder().container_overrides(ContainerOverride::builder().name("ghost").build()).build();
    assert_eq!(
        code(
            ecs.run_task()
                .task_definition("v")
                .launch_type(LaunchType::Fargate)
                .network_configuration(network())
                .overrides(bad_override)
                .send()
                .await
        ),
        "InvalidParameterException"
    );
    // Fargate places tasks itself: constraints are refused first, then strategies.
    let fargate =
        || ecs.run_task().task_definition("v").launch_type(LaunchType::Fargate).network_configuration(network());
    let distinct = PlacementConstraint::builder().r#type(PlacementConstraintType::DistinctInstance).build();
    let spread = PlacementStrategy::builder().r#type(PlacementStrategyType::Spread).field("instanceId").build();
    for (request, wanted) in [
        (
            fargate().placement_constraints(distinct).placement_strategy(spread.clone()),
            "Placement constraints are not supported with FARGATE launch type.",
        ),
        (fargate().placement_strategy(spread), "Placement strategies are not supported with FARGATE launch type."),
    ] {
        assert_eq!(error(request.send().await), ("InvalidParameterException".to_owned(), wanted.to_owned()));
    }
    assert_eq!(code(ecs.stop_task().task("0123456789abcdef").send().await), "InvalidParameterException");
    let described = ecs.describe_tasks().tasks("0123456789abcdef").send().await.unwrap();
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));
}

#[tokio::test]
async fn kill_9_while_running_keeps_the_task() {
    let mut berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Fargate, "long", vec![container("main", "exec sleep 1000")]).await;
    let arn = run(&ecs, "long", None).await;
    let before = wait_for(&ecs, &arn, "RUNNING").await;
    let runtime_id = before.containers()[0].runtime_id().unwrap().to_owned();
    berth.kill9().await;
    let dir = berth.take_dir();
    drop(berth);

    let berth = Berth::start_in(dir.path()).await;
    let ecs = berth.client();
    let after = describe(&ecs, &arn).await;
    assert_eq!(after.last_status(), Some("RUNNING"));
    assert_eq!(after.containers()[0].runtime_id(), Some(runtime_id.as_str()));
    let docker = crate::common::docker().await;
    let labels = std::collections::BTreeMap::from([("berth.task-arn".to_owned(), arn.clone())]);
    // The task's container and its holder: no duplicates.
    assert_eq!(docker.list(&labels).await.unwrap().len(), 2);
    let task = stop(&ecs, &arn).await;
    assert_eq!(task.stop_code().map(|c| c.as_str()), Some("UserInitiated"));
}

fn health_check(command: &str) -> aws_sdk_ecs::types::HealthCheck {
    aws_sdk_ecs::types::HealthCheck::builder()
        .command("CMD-SHELL")
        .command(command)
        .interval(5)
        .timeout(2)
        .retries(1)
        .build()
        .unwrap()
}

fn depends_on(
    name: &str,
    condition: aws_sdk_ecs::types::ContainerCondition,
) -> aws_sdk_ecs::types::ContainerDependency {
    aws_sdk_ecs::types::ContainerDependency::builder().container_name(name).condition(condition).build().unwrap()
}

#[tokio::test]
async fn a_failing_health_check_stops_the_task() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let mut sick = container("main", "exec sleep 1000");
    sick.health_check = Some(health_check("exit 1"));
    register(&ecs, Fargate, "sick", vec![sick]).await;
    let arn = run(&ecs, "sick", None).await;
    let task = wait_for(&ecs, &arn, "STOPPED").await;
    assert_eq!(task.health_status().map(|h| h.as_str()), Some("UNHEALTHY"));
    assert_eq!(task.containers()[0].health_status().map(|h| h.as_str()), Some("UNHEALTHY"));
    assert_eq!(task.stopped_reason(), Some("Task failed container health checks"));
    gone(&arn).await;
}

#[tokio::test]
async fn healthy_dependencies_start_first() {
    use aws_sdk_ecs::types::ContainerCondition;
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    // db serves only after a while; its health check passes once it does.
    let mut db =
        container("db", "sleep 2; mkdir -p /www && echo up > /www/index.html && exec httpd -f -p 8080 -h /www");
    db.health_check = Some(health_check("wget -q -O- http://127.0.0.1:8080/"));
    // app fails at once unless db already serves: it must start after db is HEALTHY.
    let mut app = container("app", "wget -q -O- http://127.0.0.1:8080/ || exit 5; exec sleep 1000");
    app.depends_on = Some(vec![depends_on("db", ContainerCondition::Healthy)]);
    register(&ecs, Fargate, "healthy-dep", vec![db, app]).await;
    let arn = run(&ecs, "healthy-dep", None).await;
    wait_for(&ecs, &arn, "RUNNING").await;
    let task = until("the task to be HEALTHY", secs(30), || async {
        let task = describe(&ecs, &arn).await;
        assert!(task.containers()[1].exit_code().is_none(), "app started before db was healthy: {task:?}");
        if task.health_status().map(|h| h.as_str()) == Some("HEALTHY") { Ok(task) } else { Err(task) }
    })
    .await;
    assert_eq!(task.containers()[0].health_status().map(|h| h.as_str()), Some("HEALTHY"));
    stop(&ecs, &arn).await;
}

#[tokio::test]
async fn success_and_complete_dependencies() {
    use aws_sdk_ecs::types::ContainerCondition;
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    // SUCCESS: an init container exiting 3 keeps the app from ever starting.
    let mut init = container("init", "sleep 0.5; exit 3");
    init.essential = Some(false);
    let mut app = container("app", "exec sleep 1000");
    app.depends_on = Some(vec![depends_on("init", ContainerCondition::Success)]);
    register(&ecs, Fargate, "needs-success", vec![init.clone(), app.clone()]).await;
    let arn = run(&ecs, "needs-success", None).await;
    let task = wait_for(&ecs, &arn, "STOPPED").await;
    assert_eq!(task.stop_code().map(|c| c.as_str()), Some("TaskFailedToStart"));
    assert!(task.stopped_reason().unwrap().contains("exited with code 3"), "{task:?}");
    assert!(task.containers()[1].runtime_id().is_none(), "app was created: {task:?}");
    gone(&arn).await;

    // COMPLETE: any exit lets the app start.
    app.depends_on = Some(vec![depends_on("init", ContainerCondition::Complete)]);
    register(&ecs, Fargate, "needs-complete", vec![init, app]).await;
    let arn = run(&ecs, "needs-complete", None).await;
    wait_for(&ecs, &arn, "RUNNING").await;
    // The init container's exit is recorded while the task runs on.
    let init_exit = until("the init container's exit", secs(10), || async {
        let task = describe(&ecs, &arn).await;
        assert!(task.containers()[1].runtime_id().is_some());
        assert_eq!(task.last_status(), Some("RUNNING"));
        task.containers()[0].exit_code()
    })
    .await;
    assert_eq!(init_exit, 3);
    stop(&ecs, &arn).await;
}

#[tokio::test]
async fn an_oom_kill_is_reported_as_ecs_does() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let mut hog = container("hog", "head -c 100000000 /dev/zero | tail");
    hog.memory = Some(8);
    register(&ecs, Fargate, "hog", vec![hog]).await;
    let arn = run(&ecs, "hog", None).await;
    let task = wait_for(&ecs, &arn, "STOPPED").await;
    let c = &task.containers()[0];
    assert_eq!(c.reason(), Some("OutOfMemoryError: Container killed due to memory usage"), "{task:?}");
    assert_eq!(c.exit_code(), Some(137));
    assert_eq!(task.stop_code().map(|c| c.as_str()), Some("EssentialContainerExited"));
    gone(&arn).await;
}

#[tokio::test]
async fn run_task_is_idempotent_with_a_client_token() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Fargate, "once", vec![container("main", "exec sleep 1000")]).await;
    let send = |count: i32| {
        ecs.run_task()
            .task_definition("once")
            .launch_type(LaunchType::Fargate)
            .network_configuration(network())
            .count(count)
            .client_token("retry-me")
            .send()
    };
    let first = send(1).await.unwrap();
    let arn = first.tasks()[0].task_arn().unwrap().to_owned();
    // The retry answers the same task and starts none.
    let retry = send(1).await.unwrap();
    assert_eq!(retry.tasks().len(), 1);
    assert_eq!(retry.tasks()[0].task_arn(), Some(arn.as_str()));
    assert_eq!(ecs.list_tasks().send().await.unwrap().task_arns(), std::slice::from_ref(&arn));
    // The same token with another request is a conflict naming the first request's tasks.
    let conflict = send(2).await.unwrap_err().into_service_error();
    let aws_sdk_ecs::operation::run_task::RunTaskError::ConflictException(e) = conflict else {
        panic!("a ConflictException, got {conflict:?}");
    };
    assert_eq!(e.resource_ids(), std::slice::from_ref(&arn));
    wait_for(&ecs, &arn, "RUNNING").await;
    // Tasks can be tagged.
    let tag = aws_sdk_ecs::types::Tag::builder().key("run").value("1").build();
    ecs.tag_resource().resource_arn(&arn).tags(tag).send().await.unwrap();
    let tags = ecs.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    assert_eq!(tags.tags()[0].key(), Some("run"));
    stop(&ecs, &arn).await;
}

#[tokio::test]
async fn stopped_tasks_are_forgotten_after_the_retention() {
    let berth = Berth::start_with(&[("BERTH_STOPPED_TASK_RETENTION", "1")]).await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Fargate, "brief", vec![container("main", "exit 0")]).await;
    let arn = run(&ecs, "brief", None).await;
    wait_for(&ecs, &arn, "STOPPED").await;
    let described = until("the stopped task to be forgotten after a 1 s retention", secs(10), || async {
        let described = ecs.describe_tasks().tasks(&arn).send().await.unwrap();
        if described.tasks().is_empty() { Ok(described) } else { Err(described) }
    })
    .await;
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));
    let stopped = ecs.list_tasks().desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped).send().await.unwrap();
    assert!(stopped.task_arns().is_empty());
}

#[tokio::test]
async fn execute_command_answers_every_error_before_a_session() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Fargate, "pair", vec![sleeper("a"), container("side", "exec sleep 1000")]).await;
    let run_pair = |exec: bool| {
        ecs.run_task()
            .task_definition("pair")
            .launch_type(LaunchType::Fargate)
            .network_configuration(network())
            .enable_execute_command(exec)
    };
    let plain = run_pair(false).send().await.unwrap().tasks()[0].task_arn().unwrap().to_owned();
    let enabled = run_pair(true).send().await.unwrap().tasks()[0].task_arn().unwrap().to_owned();
    assert!(wait_for(&ecs, &enabled, "RUNNING").await.enable_execute_command());
    wait_for(&ecs, &plain, "RUNNING").await;
    let exec = |task: &str| ecs.execute_command().task(task).command("ls").interactive(true);

    let not_enabled = "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn\u{2019}t running. Wait and try again or run a new task with execute command enabled and try again.";
    let invalid = |message: &str| ("InvalidParameterException".to_owned(), message.to_owned());
    assert_eq!(error(exec(&plain).container("main").send().await), invalid(not_enabled));
    assert_eq!(
        error(exec(&enabled).interactive(false).send().await),
        invalid("Interactive is the only mode supported currently.")
    );
    assert_eq!(error(exec("0123456789abcdef").send().await), invalid("task length should be one of [32,36]"));
    let missing = "arn:aws:ecs:us-east-1:000000000000:task/default/0123456789abcdef0123456789abcdef";
    assert_eq!(error(exec(missing).send().await), invalid("The referenced task was not found."));
    assert_eq!(code(exec(&enabled).cluster("nowhere").send().await), "ClusterNotFoundException");
    let (code_, message) = error(exec(&enabled).send().await);
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("2 containers"), "{message}");
    let (code_, message) = error(exec(&enabled).container("ghost").send().await);
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("ghost"), "{message}");
    // Everything is in order: berth says plainly that it opens no session.
    let (code_, message) = error(exec(&enabled).container("side").send().await);
    assert_eq!(code_, "UnsupportedFeatureException");
    assert!(message.contains("ExecuteCommand is not implemented by berth yet"), "{message}");
    // A stopped task's agent is not running.
    stop(&ecs, &enabled).await;
    assert_eq!(error(exec(&enabled).container("side").send().await), invalid(not_enabled));
    stop(&ecs, &plain).await;

    let polled = ecs.discover_poll_endpoint().container_instance("anything").send().await.unwrap();
    assert_eq!(polled.endpoint(), Some("https://ecs-a-1.us-east-1.amazonaws.com/"));
    assert_eq!(polled.telemetry_endpoint(), Some("https://ecs-t-1.us-east-1.amazonaws.com/"));
    assert_eq!(polled.service_connect_endpoint(), Some("https://ecs-sc-1.us-east-1.amazonaws.com/"));
}
