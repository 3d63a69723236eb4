//! Task definitions through aws-sdk-ecs and raw JSON: register (revisions, defaults,
//! validation), describe, list (filters, sort, paging), families, deregister, delete, and a
//! round trip of every container definition field of the model.

use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, NetworkMode, PortMapping, SortOrder, TaskDefinitionFamilyStatus,
    TaskDefinitionField, TaskDefinitionStatus,
};
use serde_json::{Value, json};

use crate::common::{Berth, code, error, unique};

fn container(name: &str) -> ContainerDefinition {
    ContainerDefinition::builder().name(name).image("busybox").memory(64).build()
}

#[tokio::test]
async fn revisions_defaults_and_describe() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let family = unique("web");
    for expected in 1..=3 {
        let out = ecs
            .register_task_definition()
            .family(&family)
            .container_definitions(container("app"))
            .send()
            .await
            .unwrap();
        let td = out.task_definition().unwrap();
        assert_eq!(td.revision(), expected);
        assert_eq!(
            td.task_definition_arn(),
            Some(format!("arn:aws:ecs:us-east-1:000000000000:task-definition/{family}:{expected}").as_str())
        );
        assert_eq!(td.status(), Some(&TaskDefinitionStatus::Active));
        assert!(td.registered_at().is_some());
        assert_eq!(td.registered_by(), Some("arn:aws:iam::000000000000:root"));
    }
    // family alone is the latest ACTIVE revision; family:rev and the ARN are exact.
    let latest = ecs.describe_task_definition().task_definition(&family).send().await.unwrap();
    let td = latest.task_definition().unwrap();
    assert_eq!(td.revision(), 3);
    let c = &td.container_definitions()[0];
    assert_eq!(c.cpu(), 0);
    assert_eq!(c.essential(), Some(true));
    assert!(c.port_mappings().is_empty() && c.environment().is_empty() && c.mount_points().is_empty());
    assert_eq!(td.compatibilities(), [Compatibility::External, Compatibility::Ec2]);
    let second = ecs.describe_task_definition().task_definition(format!("{family}:2")).send().await.unwrap();
    assert_eq!(second.task_definition().unwrap().revision(), 2);
    let by_arn =
        ecs.describe_task_definition().task_definition(td.task_definition_arn().unwrap()).send().await.unwrap();
    assert_eq!(by_arn.task_definition().unwrap().revision(), 3);
    let (code, message) = error(ecs.describe_task_definition().task_definition("nope").send().await);
    assert_eq!(code, "ClientException");
    assert_eq!(message, "Unable to describe task definition.");
    assert_eq!(
        crate::common::code(ecs.describe_task_definition().task_definition(format!("{family}:9")).send().await),
        "ClientException"
    );
}

#[tokio::test]
async fn fargate_definition() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let out = ecs
        .register_task_definition()
        .family(unique("fg"))
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu("1 vCPU")
        .memory("2GB")
        .container_definitions(
            ContainerDefinition::builder()
                .name("web")
                .image("busybox")
                .port_mappings(PortMapping::builder().container_port(8080).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let td = out.task_definition().unwrap();
    assert_eq!(td.cpu(), Some("1024"));
    assert_eq!(td.memory(), Some("2048"));
    assert_eq!(td.compatibilities(), [Compatibility::Ec2, Compatibility::Fargate, Compatibility::ManagedInstances]);
    let mapping = &td.container_definitions()[0].port_mappings()[0];
    assert_eq!(mapping.host_port(), Some(8080));
    assert_eq!(mapping.protocol().map(|p| p.as_str()), Some("tcp"));
    assert!(td.requires_attributes().iter().any(|a| a.name() == "ecs.capability.task-eni"));
}

#[tokio::test]
async fn validation_errors() {
    let berth = Berth::start().await;
    // (request, expected __type, a piece of the message)
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"family": "f"}), "InvalidParameterException", "containerDefinitions"),
        (
            json!({"family": "bad name", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64}]}),
            "ClientException",
            "Family contains invalid characters",
        ),
        (json!({"family": "f", "containerDefinitions": []}), "ClientException", "Container list cannot be empty."),
        (
            json!({"family": "f", "containerDefinitions": [{"image": "i", "memory": 64}]}),
            "ClientException",
            "Container.name",
        ),
        (
            json!({"family": "f", "containerDefinitions": [{"name": "a", "memory": 64}]}),
            "ClientException",
            "Container.image",
        ),
        (
            json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64}, {"name": "a", "image": "i", "memory": 64}]}),
            "ClientException",
            "unique",
        ),
        (
            json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64, "essential": false}]}),
            "ClientException",
            "essential",
        ),
        (
            json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "i"}]}),
            "ClientException",
            "At least one of 'memory' or 'memoryReservation'",
        ),
        (
            json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64, "memoryReservation": 128}]}),
            "ClientException",
            "memoryReservation",
        ),
        (
            json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64, "dependsOn": [{"containerName": "ghost", "condition": "START"}]}]}),
            "ClientException",
            "Cannot depend on container + 'ghost' because it does not exist",
        ),
        (
            json!({"family": "f", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "i"}]}),
            "ClientException",
            "awsvpc",
        ),
        (
            json!({"family": "f", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "memory": "512", "containerDefinitions": [{"name": "a", "image": "i"}]}),
            "ClientException",
            "'cpu'",
        ),
        (
            json!({"family": "f", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "8192", "containerDefinitions": [{"name": "a", "image": "i"}]}),
            "ClientException",
            "No Fargate configuration exists",
        ),
        (
            json!({"family": "f", "networkMode": "awsvpc", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64, "portMappings": [{"containerPort": 80, "hostPort": 81}]}]}),
            "ClientException",
            "must match",
        ),
        (
            json!({"family": "f", "networkMode": "mesh", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64}]}),
            "InvalidParameterException",
            "networkMode",
        ),
        (
            json!({"family": "f", "cpu": "1e9", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64}]}),
            "InvalidParameterException",
            "Invalid 'cpu' setting for task",
        ),
        (
            json!({"family": "f", "cpu": "262144", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64}]}),
            "InvalidParameterException",
            "Invalid 'cpu' setting for task",
        ),
        (
            json!({"family": "f", "volumes": [{"name": "v"}, {"name": "v"}], "containerDefinitions": [{"name": "a", "image": "i", "memory": 64}]}),
            "ClientException",
            "Volume names must be unique",
        ),
        (
            json!({"family": "f", "cpu": "lots", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64}]}),
            "InvalidParameterException",
            "Invalid 'cpu' setting for task",
        ),
        (
            json!({"family": "f", "memory": "512", "containerDefinitions": [{"name": "a", "image": "i", "memoryReservation": 300}, {"name": "b", "image": "i", "memoryReservation": 300}]}),
            "ClientException",
            "sum of all container 'memoryReservation'",
        ),
        (
            json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64, "dependsOn": [{"containerName": "b", "condition": "SUCCESS"}]}, {"name": "b", "image": "i", "memory": 64}]}),
            "ClientException",
            "cannot be an essential container",
        ),
        (
            json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64, "mountPoints": [{"sourceVolume": "v", "containerPath": "/v"}]}]}),
            "ClientException",
            "Unknown volume 'v'.",
        ),
        (
            json!({"family": "f", "networkMode": "awsvpc", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64, "hostname": "web"}]}),
            "ClientException",
            "hostname is not supported on container when networkMode=awsvpc.",
        ),
        (
            json!({"family": "f", "networkMode": "awsvpc", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64, "extraHosts": [{"hostname": "db", "ipAddress": "10.0.0.1"}]}]}),
            "ClientException",
            "Extra hosts are not supported on container when networkMode=awsvpc",
        ),
        (
            json!({"family": "f", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512", "volumes": [{"name": "v", "host": {"sourcePath": "/srv"}}], "containerDefinitions": [{"name": "a", "image": "i"}]}),
            "ClientException",
            "Fargate compatible task definitions do not support sourcePath",
        ),
        (
            json!({"family": "f", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512", "volumes": [{"name": "v", "dockerVolumeConfiguration": {"scope": "task"}}], "containerDefinitions": [{"name": "a", "image": "i"}]}),
            "ClientException",
            "Fargate compatible task definitions do not support dockerVolumeConfiguration",
        ),
        (
            json!({"family": "f", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "i", "privileged": true}]}),
            "ClientException",
            "Fargate compatible task definitions do not support privileged",
        ),
        (
            json!({"family": "f", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "i", "linuxParameters": {"sharedMemorySize": 64}}]}),
            "ClientException",
            "Fargate compatible task definitions do not support sharedMemorySize",
        ),
        (
            json!({"family": "f", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "i", "linuxParameters": {"capabilities": {"add": ["NET_ADMIN"]}}}]}),
            "ClientException",
            "only support adding the 'SYS_PTRACE' kernel capability",
        ),
        (
            json!({"family": "f", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512", "pidMode": "host", "containerDefinitions": [{"name": "a", "image": "i"}]}),
            "ClientException",
            "Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode is 'task'.",
        ),
        (
            json!({"family": "f", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512", "ipcMode": "host", "containerDefinitions": [{"name": "a", "image": "i"}]}),
            "ClientException",
            "Tasks using the Fargate launch type do not support ipcMode.",
        ),
        (
            json!({"family": "f", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512", "ephemeralStorage": {"sizeInGiB": 20}, "containerDefinitions": [{"name": "a", "image": "i"}]}),
            "ClientException",
            "EphemeralStorage size should be at least 21",
        ),
        (
            json!({"family": "f", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64, "portMappings": [{"containerPort": "80"}]}]}),
            "SerializationException",
            "containerDefinitions[0].portMappings[0].containerPort",
        ),
    ];
    for (body, expected, fragment) in cases {
        let response = berth.call("RegisterTaskDefinition", &body.to_string()).await;
        let message = response.assert_error(400, expected);
        assert!(message.contains(fragment), "{body}: {message}");
    }
    // Nothing was registered by any of them.
    let families = berth.client().list_task_definition_families().send().await.unwrap();
    assert!(families.families().is_empty());
}

#[tokio::test]
async fn list_filters_sort_and_pages() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    for family in ["alpha", "beta", "alphabet"] {
        for _ in 0..3 {
            ecs.register_task_definition().family(family).container_definitions(container("c")).send().await.unwrap();
        }
    }
    let arn = |f: &str, r: i64| format!("arn:aws:ecs:us-east-1:000000000000:task-definition/{f}:{r}");
    let all = ecs.list_task_definitions().send().await.unwrap();
    let expected: Vec<String> =
        ["alpha", "alphabet", "beta"].iter().flat_map(|f| (1..=3).map(move |r| arn(f, r))).collect();
    assert_eq!(all.task_definition_arns(), expected.as_slice());
    // familyPrefix is the whole family name for ListTaskDefinitions.
    let alpha = ecs.list_task_definitions().family_prefix("alpha").send().await.unwrap();
    assert_eq!(alpha.task_definition_arns(), [arn("alpha", 1), arn("alpha", 2), arn("alpha", 3)]);
    let desc = ecs.list_task_definitions().family_prefix("beta").sort(SortOrder::Desc).send().await.unwrap();
    assert_eq!(desc.task_definition_arns(), [arn("beta", 3), arn("beta", 2), arn("beta", 1)]);

    // Pages of 4 ascending and descending cover everything once, in order.
    for (sort, mut want) in [(SortOrder::Asc, expected.clone()), (SortOrder::Desc, expected.clone())] {
        if sort == SortOrder::Desc {
            want.reverse();
        }
        let mut got = Vec::new();
        let mut token = None;
        loop {
            let page = ecs
                .list_task_definitions()
                .sort(sort.clone())
                .max_results(4)
                .set_next_token(token)
                .send()
                .await
                .unwrap();
            got.extend(page.task_definition_arns().iter().cloned());
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        assert_eq!(got, want);
    }

    // Deregistered revisions move to the INACTIVE listing.
    ecs.deregister_task_definition().task_definition("beta:2").send().await.unwrap();
    let active = ecs.list_task_definitions().family_prefix("beta").send().await.unwrap();
    assert_eq!(active.task_definition_arns(), [arn("beta", 1), arn("beta", 3)]);
    let inactive = ecs.list_task_definitions().status(TaskDefinitionStatus::Inactive).send().await.unwrap();
    assert_eq!(inactive.task_definition_arns(), [arn("beta", 2)]);

    // Families: prefix is a real prefix here; status follows ACTIVE revisions.
    let families = ecs.list_task_definition_families().family_prefix("alpha").send().await.unwrap();
    assert_eq!(families.families(), ["alpha", "alphabet"]);
    for r in 1..=3 {
        ecs.deregister_task_definition().task_definition(arn("alpha", r)).send().await.unwrap();
    }
    let active = ecs.list_task_definition_families().status(TaskDefinitionFamilyStatus::Active).send().await.unwrap();
    assert_eq!(active.families(), ["alphabet", "beta"]);
    let inactive =
        ecs.list_task_definition_families().status(TaskDefinitionFamilyStatus::Inactive).send().await.unwrap();
    assert_eq!(inactive.families(), ["alpha"]);
    let paged = ecs.list_task_definition_families().max_results(2).send().await.unwrap();
    assert_eq!(paged.families(), ["alpha", "alphabet"]);
    let rest = ecs
        .list_task_definition_families()
        .max_results(2)
        .next_token(paged.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.families(), ["beta"]);
    assert!(rest.next_token().is_none());
}

#[tokio::test]
async fn deregister_and_delete() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let family = unique("del");
    ecs.register_task_definition().family(&family).container_definitions(container("c")).send().await.unwrap();
    let rev = format!("{family}:1");

    // Deleting an ACTIVE revision is a failure, not an error.
    let out = ecs.delete_task_definitions().task_definitions(&rev).send().await.unwrap();
    assert!(out.task_definitions().is_empty());
    assert!(out.failures()[0].reason().unwrap().contains("ACTIVE"));

    let out = ecs.deregister_task_definition().task_definition(&rev).send().await.unwrap();
    let td = out.task_definition().unwrap();
    assert_eq!(td.status(), Some(&TaskDefinitionStatus::Inactive));
    assert!(td.deregistered_at().is_some());
    // The family name alone no longer resolves (no ACTIVE revision); the revision does.
    assert_eq!(code(ecs.describe_task_definition().task_definition(&family).send().await), "ClientException");
    let described = ecs.describe_task_definition().task_definition(&rev).send().await.unwrap();
    assert_eq!(described.task_definition().unwrap().status(), Some(&TaskDefinitionStatus::Inactive));
    // A revision is required to deregister.
    assert_eq!(code(ecs.deregister_task_definition().task_definition(&family).send().await), "ClientException");
    assert_eq!(
        code(ecs.deregister_task_definition().task_definition(format!("{family}:7")).send().await),
        "ClientException"
    );

    let out = ecs
        .delete_task_definitions()
        .task_definitions(&rev)
        .task_definitions(format!("{family}:5"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.task_definitions()[0].status(), Some(&TaskDefinitionStatus::DeleteInProgress));
    assert!(out.task_definitions()[0].delete_requested_at().is_some());
    assert_eq!(out.failures().len(), 1);
    let listed = ecs.list_task_definitions().status(TaskDefinitionStatus::DeleteInProgress).send().await.unwrap();
    assert_eq!(listed.task_definition_arns().len(), 1);

    // Revision numbers keep counting after deletion.
    let next =
        ecs.register_task_definition().family(&family).container_definitions(container("c")).send().await.unwrap();
    assert_eq!(next.task_definition().unwrap().revision(), 2);
}

#[tokio::test]
async fn tags_on_register_and_describe() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let family = unique("tagged");
    let out = ecs
        .register_task_definition()
        .family(&family)
        .container_definitions(container("c"))
        .tags(aws_sdk_ecs::types::Tag::builder().key("env").value("dev").build())
        .send()
        .await
        .unwrap();
    assert_eq!(out.tags()[0].key(), Some("env"));
    let plain = ecs.describe_task_definition().task_definition(&family).send().await.unwrap();
    assert!(plain.tags().is_empty());
    let with = ecs
        .describe_task_definition()
        .task_definition(&family)
        .include(TaskDefinitionField::Tags)
        .send()
        .await
        .unwrap();
    assert_eq!(with.tags()[0].value(), Some("dev"));
}

/// A container definition that sets every field of the model's ContainerDefinition.
fn every_field_container() -> Value {
    json!({
        "name": "main",
        "image": "public.ecr.aws/docker/library/busybox:1.36",
        "repositoryCredentials": {"credentialsParameter": "arn:aws:secretsmanager:us-east-1:000000000000:secret:creds"},
        "cpu": 256,
        "memory": 512,
        "memoryReservation": 256,
        "links": ["side"],
        "portMappings": [
            {"containerPort": 8080, "hostPort": 18080, "protocol": "tcp", "name": "http", "appProtocol": "http"},
            {"containerPortRange": "9000-9010", "protocol": "udp"}
        ],
        "essential": true,
        "restartPolicy": {"enabled": true, "ignoredExitCodes": [0, 3], "restartAttemptPeriod": 120},
        "entryPoint": ["/bin/sh", "-c"],
        "command": ["echo hello"],
        "environment": [{"name": "A", "value": "1"}],
        "environmentFiles": [{"value": "arn:aws:s3:::bucket/app.env", "type": "s3"}],
        "mountPoints": [{"sourceVolume": "data", "containerPath": "/data", "readOnly": false}],
        "volumesFrom": [{"sourceContainer": "side", "readOnly": true}],
        "linuxParameters": {
            "capabilities": {"add": ["NET_ADMIN"], "drop": ["MKNOD"]},
            "devices": [{"hostPath": "/dev/fuse", "containerPath": "/dev/fuse", "permissions": ["read", "write"]}],
            "initProcessEnabled": true,
            "sharedMemorySize": 64,
            "tmpfs": [{"containerPath": "/scratch", "size": 16, "mountOptions": ["rw"]}],
            "maxSwap": 0,
            "swappiness": 60
        },
        "secrets": [{"name": "TOKEN", "valueFrom": "arn:aws:ssm:us-east-1:000000000000:parameter/token"}],
        "dependsOn": [{"containerName": "side", "condition": "START"}],
        "startTimeout": 60,
        "stopTimeout": 20,
        "versionConsistency": "disabled",
        "hostname": "main-host",
        "user": "1000:1000",
        "workingDirectory": "/work",
        "disableNetworking": false,
        "privileged": false,
        "readonlyRootFilesystem": true,
        "dnsServers": ["10.0.0.2"],
        "dnsSearchDomains": ["example.internal"],
        "extraHosts": [{"hostname": "db", "ipAddress": "10.0.0.9"}],
        "dockerSecurityOptions": ["no-new-privileges"],
        "interactive": true,
        "pseudoTerminal": true,
        "dockerLabels": {"com.example.team": "core"},
        "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": "/ecs/main", "awslogs-region": "us-east-1"},
            "secretOptions": [{"name": "KEY", "valueFrom": "arn:aws:ssm:us-east-1:000000000000:parameter/key"}]
        },
        "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 10, "timeout": 3, "retries": 2, "startPeriod": 5},
        "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}],
        "resourceRequirements": [{"value": "1", "type": "GPU"}],
        "firelensConfiguration": {"type": "fluentbit", "options": {"enable-ecs-log-metadata": "true"}},
        "credentialSpecs": ["credentialspec:arn:aws:s3:::bucket/spec.json"]
    })
}

#[tokio::test]
async fn every_container_definition_field_round_trips() {
    // The test's container must set every member the model defines, so a model update that adds
    // a field makes this test name it.
    let model: Value = serde_json::from_str(include_str!("../../api-models/ecs.json")).unwrap();
    let members = model["shapes"]["ContainerDefinition"]["members"].as_object().unwrap();
    let main = every_field_container();
    for member in members.keys() {
        assert!(main.get(member).is_some(), "the round-trip container does not set {member}");
    }

    let berth = Berth::start().await;
    let family = unique("every");
    let request = json!({
        "family": family,
        "taskRoleArn": "arn:aws:iam::000000000000:role/task",
        "executionRoleArn": "arn:aws:iam::000000000000:role/exec",
        "networkMode": "bridge",
        "containerDefinitions": [main, {"name": "side", "image": "busybox", "memory": 64, "essential": false,
            // The main container is a FireLens log router, which AWS accepts only with a
            // container that logs to it.
            "logConfiguration": {"logDriver": "awsfirelens"}}],
        "volumes": [{"name": "data", "host": {"sourcePath": "/tmp/data"}}],
        "placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t3.*"}],
        "cpu": "1024",
        "memory": "2048",
        "pidMode": "task",
        "ipcMode": "task",
        "proxyConfiguration": {"type": "APPMESH", "containerName": "side", "properties": [{"name": "IgnoredUID", "value": "1337"}]},
        "inferenceAccelerators": [{"deviceName": "d1", "deviceType": "eia2.medium"}],
        "ephemeralStorage": {"sizeInGiB": 30},
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        "enableFaultInjection": true
    });
    let registered = berth.call("RegisterTaskDefinition", &request.to_string()).await;
    assert_eq!(registered.status, 200, "{}", registered.body);
    let described =
        berth.call("DescribeTaskDefinition", &json!({"taskDefinition": format!("{family}:1")}).to_string()).await;
    assert_eq!(described.status, 200, "{}", described.body);
    let td = &described.json()["taskDefinition"];
    let sent = &request["containerDefinitions"][0];
    let got = &td["containerDefinitions"][0];
    for (key, value) in sent.as_object().unwrap() {
        assert_eq!(&got[key], value, "containerDefinitions[0].{key}");
    }
    for (key, value) in request.as_object().unwrap() {
        if key != "containerDefinitions" {
            assert_eq!(&td[key], value, "{key}");
        }
    }
    let attributes: Vec<&str> =
        td["requiresAttributes"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    for expected in [
        "com.amazonaws.ecs.capability.task-iam-role",
        "ecs.capability.container-health-check",
        "com.amazonaws.ecs.capability.logging-driver.awslogs",
        "ecs.capability.execution-role-awslogs",
        "ecs.capability.container-ordering",
        "ecs.capability.secrets.ssm.environment-variables",
    ] {
        assert!(attributes.contains(&expected), "{expected} in {attributes:?}");
    }

    // The AWS SDK reads the same document back without losing anything it models.
    let sdk = berth.client().describe_task_definition().task_definition(format!("{family}:1")).send().await.unwrap();
    let c = &sdk.task_definition().unwrap().container_definitions()[0];
    assert_eq!(c.linux_parameters().unwrap().tmpfs()[0].size(), 16);
    assert_eq!(c.health_check().unwrap().retries(), Some(2));
    assert_eq!(c.docker_labels().unwrap().get("com.example.team").map(String::as_str), Some("core"));
    assert_eq!(c.port_mappings()[1].container_port_range(), Some("9000-9010"));
}
