//! A container definition's `secrets` from Secrets Manager, resolved into the environment of a
//! real container as its task starts: a whole secret, one JSON key of it and its AWSPREVIOUS
//! version; a missing secret stops the task before any container starts, with ECS's reason;
//! and no value appears in DescribeTasks, DescribeTaskDefinition or berth's log.

use aws_sdk_ecs::types::{ContainerDefinition, LogConfiguration, LogDriver, Secret};
use serde_json::{Value, json};

use crate::common::{Berth, code, unique};
use crate::fixtures::{Launch, container, definition, run, secs, until, wait_for};

const EXECUTION_ROLE: &str = "arn:aws:iam::000000000000:role/ecsTaskExecutionRole";

async fn secrets_call(berth: &Berth, op: &str, body: Value) -> Value {
    let target = format!("secretsmanager.{op}");
    let headers = [("X-Amz-Target", target.as_str()), ("Content-Type", "application/x-amz-json-1.1")];
    let response = berth.raw("POST", "/", &headers, body.to_string().as_bytes()).await;
    assert_eq!(response.status, 200, "{op}: {}", response.body);
    response.json()
}

fn with_secrets(mut c: ContainerDefinition, group: &str, secrets: &[(&str, String)]) -> ContainerDefinition {
    for (name, from) in secrets {
        c.secrets.get_or_insert_with(Vec::new).push(Secret::builder().name(*name).value_from(from).build().unwrap());
    }
    let log = LogConfiguration::builder()
        .log_driver(LogDriver::Awslogs)
        .options("awslogs-group", group)
        .options("awslogs-stream-prefix", "s")
        .options("awslogs-create-group", "true");
    c.log_configuration = Some(log.build().unwrap());
    c
}

#[tokio::test]
async fn secrets_manager_values_reach_the_container_and_nothing_else() {
    let berth = Berth::start_logging("debug").await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let marker = unique("m").replace('-', "");
    let old = json!({"user": "app", "password": format!("{marker}old")}).to_string();
    let new = json!({"user": "app", "password": format!("{marker}new")}).to_string();
    let created = secrets_call(&berth, "CreateSecret", json!({"Name": unique("db"), "SecretString": old})).await;
    let arn = created["ARN"].as_str().unwrap().to_owned();
    secrets_call(&berth, "PutSecretValue", json!({"SecretId": arn, "SecretString": new})).await;

    // Registration asks for the execution role that fetches secrets, as ECS does.
    let print = r#"echo "WHOLE=$WHOLE"; echo "PASSWORD=$PASSWORD"; echo "PREVIOUS=$PREVIOUS""#;
    let group = unique("/berth/secrets");
    let secrets = [
        ("WHOLE", arn.clone()),
        ("PASSWORD", format!("{arn}:password::")),
        ("PREVIOUS", format!("{arn}:password:AWSPREVIOUS:")),
    ];
    let app = with_secrets(container("app", print), &group, &secrets);
    let refused = definition(&ecs, Launch::Fargate, "sec", vec![app.clone()]).send().await;
    assert_eq!(code(refused), "ClientException");
    definition(&ecs, Launch::Fargate, "sec", vec![app]).execution_role_arn(EXECUTION_ROLE).send().await.unwrap();

    let task_arn = run(&ecs, "sec", None).await;
    wait_for(&ecs, &task_arn, "STOPPED").await;
    let stream = format!("s/app/{}", task_arn.rsplit('/').next().unwrap());
    let target = [("X-Amz-Target", "Logs_20140328.GetLogEvents"), ("Content-Type", "application/x-amz-json-1.1")];
    let body = json!({"logGroupName": group, "logStreamName": stream, "startFromHead": true}).to_string();
    let lines: Vec<String> = until("the task's three lines", secs(30), || async {
        let page = berth.raw("POST", "/", &target, body.as_bytes()).await.json();
        let lines: Vec<String> = page["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["message"].as_str())
            .map(str::to_owned)
            .collect();
        if lines.len() == 3 { Ok(lines) } else { Err(page) }
    })
    .await;
    assert_eq!(
        lines,
        vec![format!("WHOLE={new}"), format!("PASSWORD={marker}new"), format!("PREVIOUS={marker}old")],
        "each secret as ECS resolves it"
    );

    // The values are in the container only.
    let described = berth.call("DescribeTasks", &json!({"tasks": [task_arn]}).to_string()).await.body;
    let definition = berth.call("DescribeTaskDefinition", r#"{"taskDefinition": "sec"}"#).await.body;
    assert!(described.contains(&task_arn) && definition.contains(&arn), "{described} {definition}");
    assert!(!described.contains(&marker) && !definition.contains(&marker), "a value in an ECS answer");
    let log = berth.log();
    assert!(log.contains("RunTask"), "berth logged its requests at debug");
    let leaks: Vec<&str> = log.lines().filter(|l| l.contains(&marker)).collect();
    assert!(leaks.is_empty(), "a secret value reached berth's log: {leaks:#?}");
}

#[tokio::test]
async fn a_missing_secret_stops_the_task_before_any_container_starts() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let missing = "arn:aws:secretsmanager:us-east-1:000000000000:secret:nope-AbCdEf";
    let app = with_secrets(container("app", "echo started"), &unique("/berth/secrets"), &[("X", missing.to_owned())]);
    definition(&ecs, Launch::Fargate, "gone", vec![app]).execution_role_arn(EXECUTION_ROLE).send().await.unwrap();
    let task_arn = run(&ecs, "gone", None).await;
    let task = wait_for(&ecs, &task_arn, "STOPPED").await;
    assert_eq!(task.stop_code().map(|c| c.as_str()), Some("TaskFailedToStart"));
    let reason = task.stopped_reason().unwrap_or_default();
    assert!(
        reason.starts_with("ResourceInitializationError: unable to pull secrets or registry auth:")
            && reason.contains(missing)
            && reason.contains("ResourceNotFoundException: Secrets Manager can't find the specified secret."),
        "{reason}"
    );
    assert!(task.containers()[0].runtime_id().is_none(), "no container was created: {task:?}");
}
