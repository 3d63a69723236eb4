//! awslogs: containers' stdout and stderr shipped into CloudWatch Logs while they run, under the
//! stream names AWS uses, exactly once across a kill -9 of berth; a missing group stops the task
//! as ECS reports it. Tasks are real containers; the output is read back with GetLogEvents.

use aws_sdk_ecs::types::{ContainerDefinition, LaunchType, LogConfiguration, LogDriver};
use serde_json::{Value, json};

use crate::common::{Berth, unique};
use crate::fixtures::{Launch, container, gone, register, run, secs, until, wait_for};

/// Calls CloudWatch Logs' `op` with `body`; panics unless it answers 200.
async fn logs(berth: &Berth, op: &str, body: Value) -> Value {
    let target = format!("Logs_20140328.{op}");
    let headers = [("X-Amz-Target", target.as_str()), ("Content-Type", "application/x-amz-json-1.1")];
    let response = berth.raw("POST", "/", &headers, body.to_string().as_bytes()).await;
    assert_eq!(response.status, 200, "{op}: {}", response.body);
    response.json()
}

/// Every message of a stream, read from its head with forward tokens until the same one comes back.
async fn messages(berth: &Berth, group: &str, stream: &str) -> Vec<String> {
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"logGroupName": group, "logStreamName": stream, "startFromHead": true});
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        let page = logs(berth, "GetLogEvents", body).await;
        let next = page["nextForwardToken"].as_str().unwrap().to_owned();
        all.extend(page["events"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap().to_owned()));
        if token.as_deref() == Some(next.as_str()) {
            return all;
        }
        token = Some(next);
    }
}

fn awslogs(mut c: ContainerDefinition, group: &str, prefix: Option<&str>, create: bool) -> ContainerDefinition {
    let mut log = LogConfiguration::builder().log_driver(LogDriver::Awslogs).options("awslogs-group", group);
    if let Some(prefix) = prefix {
        log = log.options("awslogs-stream-prefix", prefix);
    }
    if create {
        log = log.options("awslogs-create-group", "true");
    }
    c.log_configuration = Some(log.build().unwrap());
    c.memory = Some(64);
    c
}

fn task_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap()
}

/// The lines of `kind` (`out` or `err`) in `messages`, as the numbers they carry.
fn numbered(messages: &[String], kind: &str) -> Vec<u32> {
    messages.iter().filter_map(|m| m.strip_prefix(&format!("{kind} "))?.parse().ok()).collect()
}

#[tokio::test]
async fn every_line_of_stdout_and_stderr_in_order_on_both_launch_types() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let print = "i=0; while [ $i -lt 5000 ]; do echo out $i; echo err $i >&2; i=$((i+1)); done";
    for launch in [Launch::Fargate, Launch::Ec2] {
        let group = unique("/berth/awslogs/lines");
        // Fargate names the stream prefix/container/task; EC2 without a prefix, the container id.
        let prefix = (launch == Launch::Fargate).then_some("ecs");
        let family = unique("lines");
        register(&ecs, launch, &family, vec![awslogs(container("app", print), &group, prefix, true)]).await;
        let arn = match launch {
            Launch::Fargate => run(&ecs, &family, None).await,
            Launch::Ec2 => {
                let out = ecs.run_task().task_definition(&family).launch_type(LaunchType::Ec2).send().await.unwrap();
                assert!(out.failures().is_empty(), "{:?}", out.failures());
                out.tasks()[0].task_arn().unwrap().to_owned()
            }
        };
        let task = wait_for(&ecs, &arn, "STOPPED").await;
        gone(&arn).await;
        let stream = match prefix {
            Some(prefix) => format!("{prefix}/app/{}", task_id(&arn)),
            None => task.containers()[0].runtime_id().unwrap().to_owned(),
        };
        let all = messages(&berth, &group, &stream).await;
        let expected: Vec<u32> = (0..5000).collect();
        assert_eq!(all.len(), 10_000, "{launch:?}: {} lines in {stream}", all.len());
        assert_eq!(numbered(&all, "out"), expected, "{launch:?}: stdout in order, each once");
        assert_eq!(numbered(&all, "err"), expected, "{launch:?}: stderr in order, each once");
        let groups = logs(&berth, "DescribeLogGroups", json!({"logGroupNamePrefix": group})).await;
        assert_eq!(groups["logGroups"][0]["logGroupName"], json!(group), "awslogs-create-group made it");
    }
}

#[tokio::test]
async fn a_running_container_s_lines_are_readable_while_it_runs() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let group = unique("/berth/awslogs/live");
    let tick = "trap 'exit 0' TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done";
    register(&ecs, Launch::Fargate, "live", vec![awslogs(container("app", tick), &group, Some("live"), true)]).await;
    let arn = run(&ecs, "live", None).await;
    wait_for(&ecs, &arn, "RUNNING").await;
    let stream = format!("live/app/{}", task_id(&arn));
    let body = json!({"logGroupName": group, "logStreamName": stream, "limit": 1});
    let (lag, seen) = until("a tick in the stream", secs(30), || async {
        let page = berth
            .raw(
                "POST",
                "/",
                &[("X-Amz-Target", "Logs_20140328.GetLogEvents"), ("Content-Type", "application/x-amz-json-1.1")],
                body.to_string().as_bytes(),
            )
            .await
            .json();
        match page["events"].as_array().and_then(|e| e.first()) {
            Some(e) => {
                Ok((e["ingestionTime"].as_i64().unwrap() - e["timestamp"].as_i64().unwrap(), e["message"].clone()))
            }
            None => Err(page),
        }
    })
    .await;
    assert!(seen.as_str().unwrap().starts_with("tick "), "{seen}");
    assert_eq!(crate::fixtures::describe(&ecs, &arn).await.last_status(), Some("RUNNING"), "read while it runs");
    println!("awslogs lag of the latest line: {lag} ms");
    crate::fixtures::stop(&ecs, &arn).await;
}

#[tokio::test]
async fn kill_9_while_a_task_prints_loses_no_line_and_repeats_none() {
    let mut berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let group = unique("/berth/awslogs/crash");
    let print = "i=0; while [ $i -lt 600 ]; do echo line $i; i=$((i+1)); sleep 0.01; done";
    register(&ecs, Launch::Fargate, "crash", vec![awslogs(container("app", print), &group, Some("c"), true)]).await;
    let arn = run(&ecs, "crash", None).await;
    let stream = format!("c/app/{}", task_id(&arn));
    until("some lines shipped", secs(60), || async {
        let body = json!({"logGroupName": group, "logStreamName": stream, "limit": 1});
        let headers = [("X-Amz-Target", "Logs_20140328.GetLogEvents"), ("Content-Type", "application/x-amz-json-1.1")];
        let page = berth.raw("POST", "/", &headers, body.to_string().as_bytes()).await.json();
        let last = page["events"][0]["message"].as_str().and_then(|m| m.strip_prefix("line ")?.parse::<u32>().ok());
        if last.is_some_and(|n| n >= 50) { Ok(()) } else { Err(page) }
    })
    .await;
    berth.kill9().await;
    // The container goes on printing while berth is down.
    tokio::time::sleep(secs(1)).await;
    let dir = berth.take_dir();
    drop(berth);
    let berth = Berth::start_in(dir.path()).await;
    let ecs = berth.client();
    wait_for(&ecs, &arn, "STOPPED").await;
    gone(&arn).await;
    let all = messages(&berth, &group, &stream).await;
    let numbers: Vec<u32> = all.iter().filter_map(|m| m.strip_prefix("line ")?.parse().ok()).collect();
    assert_eq!(numbers, (0..600).collect::<Vec<u32>>(), "every line exactly once, in order");
}

#[tokio::test]
async fn a_missing_group_stops_the_task_as_ecs_says_unless_it_may_be_created() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let group = unique("/berth/awslogs/missing");
    let c = awslogs(container("app", "echo hello"), &group, Some("m"), false);
    register(&ecs, Launch::Fargate, "missing", vec![c]).await;
    let arn = run(&ecs, "missing", None).await;
    let task = wait_for(&ecs, &arn, "STOPPED").await;
    gone(&arn).await;
    let reason = task.stopped_reason().unwrap_or_default();
    assert!(
        reason.starts_with("ResourceInitializationError:")
            && reason.contains("The specified log group does not exist."),
        "{reason}"
    );
    // Once the group is there, the same task definition runs and ships.
    logs(&berth, "CreateLogGroup", json!({"logGroupName": group})).await;
    let arn = run(&ecs, "missing", None).await;
    wait_for(&ecs, &arn, "STOPPED").await;
    gone(&arn).await;
    assert_eq!(messages(&berth, &group, &format!("m/app/{}", task_id(&arn))).await, ["hello"]);
    // `berth logs` prints it too, with its time and container.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["logs", &arn, "--endpoint", &berth.url])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let line = stdout.trim_end();
    assert!(line.ends_with("Z app hello") && line.starts_with("20") && !line.contains('\n'), "{stdout}");
    let unknown = tokio::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["logs", "nosuchtask", "--endpoint", &berth.url])
        .output()
        .await
        .unwrap();
    assert!(!unknown.status.success() && String::from_utf8_lossy(&unknown.stderr).contains("no task nosuchtask"));
}

/// `c` logging to `group` with awslogs and the extra `options`.
fn awslogs_with(c: ContainerDefinition, group: &str, options: &[(&str, &str)]) -> ContainerDefinition {
    let mut c = awslogs(c, group, Some("ml"), true);
    if let Some(log) = c.log_configuration.as_mut() {
        let all = log.options.get_or_insert_with(Default::default);
        all.extend(options.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    }
    c
}

#[tokio::test]
async fn multi_line_records_are_joined_as_docker_s_awslogs_driver_joins_them() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let group = unique("/berth/awslogs/multiline");
    // awslogs-datetime-format: a line with a date starts an event; a stack trace joins it.
    let dated = "echo '2026-12-07 10:00:00 boom'; echo 'Traceback:'; echo '  at a'; echo '2026-12-07 10:00:01 fine'";
    let dated = awslogs_with(container("dated", dated), &group, &[("awslogs-datetime-format", "%Y-%m-%d %H:%M:%S")]);
    // awslogs-multiline-pattern, with a record left open while the container runs: the flush
    // interval sends it as it is.
    let open = "trap 'exit 0' TERM; echo 'INFO one'; echo '  more'; sleep 600 & wait";
    let open = awslogs_with(
        container("open", open),
        &group,
        &[("awslogs-multiline-pattern", "^INFO"), ("awslogs-force-flush-interval-seconds", "1")],
    );
    let mut dated = dated;
    dated.essential = Some(false);
    register(&ecs, Launch::Fargate, "multiline", vec![dated, open]).await;
    let arn = run(&ecs, "multiline", None).await;
    wait_for(&ecs, &arn, "RUNNING").await;
    let id = task_id(&arn).to_owned();
    let open_stream = format!("ml/open/{id}");
    until("the open record flushed while it runs", secs(30), || async {
        let got = messages(&berth, &group, &open_stream).await;
        if got == ["INFO one\n  more\n"] { Ok(()) } else { Err(got) }
    })
    .await;
    assert_eq!(crate::fixtures::describe(&ecs, &arn).await.last_status(), Some("RUNNING"));
    until("the dated container's records", secs(30), || async {
        let got = messages(&berth, &group, &format!("ml/dated/{id}")).await;
        let want = ["2026-12-07 10:00:00 boom\nTraceback:\n  at a\n", "2026-12-07 10:00:01 fine\n"];
        if got == want { Ok(()) } else { Err(got) }
    })
    .await;
    crate::fixtures::stop(&ecs, &arn).await;
    gone(&arn).await;

    // Options the Docker engine refuses stop the task with its words.
    let both = [("awslogs-datetime-format", "%Y"), ("awslogs-multiline-pattern", "^x")];
    register(&ecs, Launch::Fargate, "both", vec![awslogs_with(container("app", "true"), &group, &both)]).await;
    let arn = run(&ecs, "both", None).await;
    let task = wait_for(&ecs, &arn, "STOPPED").await;
    gone(&arn).await;
    let reason = task.stopped_reason().unwrap_or_default();
    assert!(
        reason.starts_with("ResourceInitializationError: failed to validate logger args:")
            && reason.contains("you cannot configure log opt 'awslogs-datetime-format' and 'awslogs-multiline-pattern' at the same time"),
        "{reason}"
    );
}

#[tokio::test]
async fn awsfirelens_gets_aws_s_registration_rules_and_says_it_is_not_run_yet() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let mut app = container("app", "echo hi");
    app.log_configuration = Some(LogConfiguration::builder().log_driver(LogDriver::Awsfirelens).build().unwrap());
    let lonely = crate::fixtures::definition(&ecs, Launch::Fargate, "firelens", vec![app.clone()]).send().await;
    let e = lonely.unwrap_err().into_service_error();
    assert!(e.is_client_exception(), "{e:?}");
    assert!(format!("{e:?}").contains("a firelens configuration object must be configured in one of the containers"));
    let router = ContainerDefinition::builder()
        .name("log_router")
        .image(crate::common::BUSYBOX)
        .firelens_configuration(
            aws_sdk_ecs::types::FirelensConfiguration::builder()
                .r#type(aws_sdk_ecs::types::FirelensConfigurationType::Fluentbit)
                .build()
                .unwrap(),
        )
        .build();
    register(&ecs, Launch::Fargate, "firelens", vec![app, router]).await;
    let arn = run(&ecs, "firelens", None).await;
    let task = wait_for(&ecs, &arn, "STOPPED").await;
    gone(&arn).await;
    let reason = task.stopped_reason().unwrap_or_default();
    assert!(reason.contains("awsfirelens") && reason.contains("FireLens"), "{reason}");
}
