//! External instances (ECS Anywhere) through aws-sdk-ecs: an instance registered by its own agent
//! takes EXTERNAL tasks, berth runs nothing for them, and what the agent reports with
//! SubmitTaskStateChange and SubmitContainerStateChange is what DescribeTasks answers; and
//! SubmitAttachmentStateChanges records the states of a task's network interface.

use aws_sdk_ecs::primitives::DateTime;
use aws_sdk_ecs::types::{AttachmentStateChange, ContainerStateChange, LaunchType};

use crate::common::{Berth, code, error};
use crate::fixtures::{
    Launch::Ec2, Launch::Fargate, always, container, describe, gone, register, run, secs, stop, with_memory,
};

#[tokio::test]
async fn an_external_instance_runs_what_its_agent_reports() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().cluster_name("anywhere").send().await.unwrap();
    register(&ecs, Ec2, "edge", vec![with_memory(container("main", "exec sleep 600"), 64)]).await;
    let run_external = || ecs.run_task().cluster("anywhere").task_definition("edge").launch_type(LaunchType::External);
    // No external instance yet: nowhere to run, not even beside berth's own EC2 instances.
    assert_eq!(code(run_external().send().await), "InvalidParameterException");
    ecs.list_container_instances().cluster("anywhere").send().await.unwrap();
    let (code_, message) = error(run_external().send().await);
    assert_eq!(
        (code_.as_str(), message.as_str()),
        ("InvalidParameterException", "No Container Instances were found in your cluster.")
    );

    // The agent registers with the Systems Manager id of its machine.
    let identity = r#"{"instanceId": "mi-0123456789abcdef0", "availabilityZone": "on-premises"}"#;
    let registered = ecs
        .register_container_instance()
        .cluster("anywhere")
        .instance_identity_document(identity)
        .send()
        .await
        .unwrap();
    let instance = registered.container_instance().unwrap();
    assert_eq!(instance.ec2_instance_id(), Some("mi-0123456789abcdef0"));
    let instance_arn = instance.container_instance_arn().unwrap().to_owned();

    // Or as the agent in external mode does: no identity document, the external capability.
    let capability = aws_sdk_ecs::types::Attribute::builder().name("ecs.capability.external").build().unwrap();
    let by_agent = ecs
        .register_container_instance()
        .cluster("anywhere")
        .instance_identity_document("")
        .attributes(capability)
        .send()
        .await
        .unwrap();
    let by_agent = by_agent.container_instance().unwrap();
    assert!(by_agent.ec2_instance_id().unwrap().starts_with("mi-"), "{by_agent:?}");
    let names: Vec<&str> = by_agent.attributes().iter().map(|a| a.name()).collect();
    assert!(names.contains(&"ecs.capability.external") && !names.contains(&"ecs.capability.task-eni"), "{names:?}");
    ecs.deregister_container_instance()
        .cluster("anywhere")
        .container_instance(by_agent.container_instance_arn().unwrap())
        .send()
        .await
        .unwrap();

    let out = run_external().send().await.unwrap();
    assert!(out.failures().is_empty(), "{:?}", out.failures());
    let task = &out.tasks()[0];
    assert_eq!(task.launch_type(), Some(&LaunchType::External));
    assert_eq!(task.container_instance_arn(), Some(instance_arn.as_str()));
    let arn = task.task_arn().unwrap().to_owned();
    // berth starts nothing for it: it waits for its agent.
    always("the external task to wait for its agent", secs(2), || async {
        let t = describe(&ecs, &arn).await;
        if t.last_status() == Some("PROVISIONING") { Ok(()) } else { Err(t) }
    })
    .await;
    gone(&arn).await;

    let pulled = DateTime::from_secs(1_800_000_000);
    let running = ContainerStateChange::builder().container_name("main").status("RUNNING").runtime_id("c0ffee").build();
    let ack = ecs
        .submit_task_state_change()
        .cluster("anywhere")
        .task(&arn)
        .status("RUNNING")
        .pull_started_at(pulled)
        .containers(running)
        .send()
        .await
        .unwrap();
    assert_eq!(ack.acknowledgment(), Some("ACK"));
    let t = describe(&ecs, &arn).await;
    assert_eq!(t.last_status(), Some("RUNNING"));
    assert!(t.started_at().is_some());
    assert_eq!(t.pull_started_at(), Some(&pulled));
    assert_eq!(t.containers()[0].last_status(), Some("RUNNING"));
    assert_eq!(t.containers()[0].runtime_id(), Some("c0ffee"));

    // StopTask asks; the agent stops the container, then reports the task.
    ecs.stop_task().cluster("anywhere").task(&arn).reason("done here").send().await.unwrap();
    let t = describe(&ecs, &arn).await;
    assert_eq!((t.desired_status(), t.last_status()), (Some("STOPPED"), Some("RUNNING")));
    let exited = ecs
        .submit_container_state_change()
        .cluster("anywhere")
        .task(&arn)
        .container_name("main")
        .status("STOPPED")
        .exit_code(143)
        .send()
        .await
        .unwrap();
    assert_eq!(exited.acknowledgment(), Some("ACK"));
    assert_eq!(describe(&ecs, &arn).await.containers()[0].exit_code(), Some(143));
    ecs.submit_task_state_change().cluster("anywhere").task(&arn).status("STOPPED").send().await.unwrap();
    let t = describe(&ecs, &arn).await;
    assert_eq!(t.last_status(), Some("STOPPED"));
    assert!(t.stopped_at().is_some());
    assert_eq!((t.stop_code().map(|c| c.as_str()), t.stopped_reason()), (Some("UserInitiated"), Some("done here")));
    // A late report cannot move it back.
    ecs.submit_task_state_change().cluster("anywhere").task(&arn).status("RUNNING").send().await.unwrap();
    assert_eq!(describe(&ecs, &arn).await.last_status(), Some("STOPPED"));

    // Reports berth refuses.
    let submit = || ecs.submit_task_state_change().cluster("anywhere").task(&arn);
    let ghost = ContainerStateChange::builder().container_name("ghost").status("RUNNING").build();
    let (code_, message) = error(submit().containers(ghost).send().await);
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("ghost"), "{message}");
    assert_eq!(code(submit().status("DANCING").send().await), "InvalidParameterException");
    assert_eq!(code(submit().cluster("nowhere").send().await), "ClusterNotFoundException");
    let missing = "arn:aws:ecs:us-east-1:000000000000:task/anywhere/0123456789abcdef0123456789abcdef";
    let (code_, message) = error(ecs.submit_task_state_change().cluster("anywhere").task(missing).send().await);
    assert_eq!((code_.as_str(), message.as_str()), ("InvalidParameterException", "The referenced task was not found."));
    // A task berth runs itself takes no reports.
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Fargate, "own", vec![container("main", "exec sleep 600")]).await;
    // External instances have no task ENIs: an awsvpc definition is not EXTERNAL-compatible.
    let vpc = r#"{"family": "vpc", "networkMode": "awsvpc", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64}]}"#;
    berth.call("RegisterTaskDefinition", vpc).await.json();
    let awsvpc = ecs.run_task().cluster("anywhere").task_definition("vpc").launch_type(LaunchType::External);
    let (code_, message) = error(awsvpc.network_configuration(crate::fixtures::network()).send().await);
    assert_eq!(code_, "InvalidParameterException");
    assert_eq!(message, "Task definition does not support launch_type EXTERNAL.");
    let own = run(&ecs, "own", None).await;
    let (code_, message) = error(ecs.submit_task_state_change().task(&own).status("STOPPED").send().await);
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("EXTERNAL"), "{message}");
    stop(&ecs, &own).await;
}

#[tokio::test]
async fn submit_attachment_state_changes_records_an_agents_interface_states() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Fargate, "eni", vec![container("main", "exec sleep 600")]).await;
    let arn = run(&ecs, "eni", None).await;
    let task = crate::fixtures::wait_for(&ecs, &arn, "RUNNING").await;
    let attachment = task.attachments()[0].clone();
    assert_eq!(attachment.status(), Some("ATTACHED"));
    let attachment_arn = format!("arn:aws:ecs:us-east-1:000000000000:attachment/{}", attachment.id().unwrap());
    let submit = |status: &str| {
        let change = AttachmentStateChange::builder().attachment_arn(&attachment_arn).status(status).build().unwrap();
        ecs.submit_attachment_state_changes().attachments(change).send()
    };
    let out = submit("DETACHING").await.unwrap();
    assert_eq!(out.acknowledgment(), Some("ACK"));
    let status = || async { describe(&ecs, &arn).await.attachments()[0].status().map(str::to_owned) };
    assert_eq!(status().await.as_deref(), Some("DETACHING"));
    // A report never moves an attachment back.
    submit("ATTACHING").await.unwrap();
    assert_eq!(status().await.as_deref(), Some("DETACHING"));

    // Errors: an unknown status, an ARN that is not an attachment's, one that names nothing, a
    // missing cluster.
    let (code_, message) = error(submit("SIDEWAYS").await);
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.starts_with("Invalid attachment status 'SIDEWAYS'"), "{message}");
    let change = |arn: &str| AttachmentStateChange::builder().attachment_arn(arn).status("ATTACHED").build().unwrap();
    let not_an_arn = ecs.submit_attachment_state_changes().attachments(change(&arn)).send().await;
    assert_eq!(error(not_an_arn).0, "InvalidParameterException");
    let nothing = change("arn:aws:ecs:us-east-1:000000000000:attachment/00000000-0000-0000-0000-000000000000");
    let (code_, message) = error(ecs.submit_attachment_state_changes().attachments(nothing).send().await);
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("was not found in cluster default"), "{message}");
    let elsewhere = ecs.submit_attachment_state_changes().cluster("nowhere").attachments(change(&attachment_arn));
    assert_eq!(error(elsewhere.send().await).0, "ClusterNotFoundException");
    stop(&ecs, &arn).await;
}

/// What an external instance's agent does for a task berth placed on it: runs it, and reports.
async fn agent_reports(ecs: &aws_sdk_ecs::Client, cluster: &str, arn: &str, status: &str) {
    let container = ContainerStateChange::builder().container_name("main").status(status).build();
    let change = ecs.submit_task_state_change().cluster(cluster).task(arn).status(status).containers(container);
    change.send().await.unwrap();
}

#[tokio::test]
async fn an_external_service_keeps_its_count_with_what_the_agents_report() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().cluster_name("edge").send().await.unwrap();
    let identity = r#"{"instanceId": "mi-0fedcba9876543210", "availabilityZone": "on-premises"}"#;
    let registered =
        ecs.register_container_instance().cluster("edge").instance_identity_document(identity).send().await.unwrap();
    let instance = registered.container_instance().unwrap().container_instance_arn().unwrap().to_owned();
    register(&ecs, Ec2, "site", vec![with_memory(container("main", "exec sleep 600"), 64)]).await;
    let create = || {
        ecs.create_service()
            .cluster("edge")
            .service_name("site")
            .task_definition("site")
            .desired_count(2)
            .launch_type(LaunchType::External)
    };
    // ECS Anywhere has no service load balancing.
    let balanced = create()
        .load_balancers(
            aws_sdk_ecs::types::LoadBalancer::builder()
                .target_group_arn("arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/t/1")
                .container_name("main")
                .container_port(80)
                .build(),
        )
        .send()
        .await;
    assert_eq!(error(balanced).0, "InvalidParameterException");
    create().send().await.unwrap();

    // The scheduler places the tasks on the external instance; berth runs none of them.
    let list = || async {
        let out = ecs.list_tasks().cluster("edge").service_name("site").send().await.unwrap();
        out.task_arns().to_vec()
    };
    let tasks = crate::fixtures::until("the service's 2 tasks", secs(30), || async {
        let arns = list().await;
        if arns.len() == 2 { Ok(arns) } else { Err(arns) }
    })
    .await;
    for arn in &tasks {
        let t = describe(&ecs, arn).await;
        assert_eq!(t.launch_type(), Some(&LaunchType::External));
        assert_eq!(t.container_instance_arn(), Some(instance.as_str()));
        assert_eq!(t.last_status(), Some("PROVISIONING"));
        gone(arn).await;
    }
    // The agent reports them RUNNING: the service counts them and reaches a steady state.
    for arn in &tasks {
        agent_reports(&ecs, "edge", arn, "RUNNING").await;
    }
    let service = || async {
        ecs.describe_services().cluster("edge").services("site").send().await.unwrap().services()[0].clone()
    };
    crate::fixtures::until("the service to count 2 running tasks", secs(30), || async {
        let s = service().await;
        let completed = s.deployments().first().and_then(|d| d.rollout_state()).map(|r| r.as_str().to_owned());
        if s.running_count() == 2 && completed.as_deref() == Some("COMPLETED") { Ok(()) } else { Err(s) }
    })
    .await;
    assert_eq!(service().await.launch_type(), Some(&LaunchType::External));

    // A task its agent reports STOPPED is replaced on the instance.
    agent_reports(&ecs, "edge", &tasks[0], "STOPPED").await;
    let replacement = crate::fixtures::until("a replacement task", secs(30), || async {
        let arns = list().await;
        match arns.iter().find(|a| !tasks.contains(a)) {
            Some(new) if arns.len() == 2 => Ok(new.clone()),
            _ => Err(arns),
        }
    })
    .await;
    assert_eq!(describe(&ecs, &replacement).await.container_instance_arn(), Some(instance.as_str()));

    // Scaled to zero, the service asks for its tasks to stop; the agent stops them.
    ecs.update_service().cluster("edge").service("site").desired_count(0).send().await.unwrap();
    let left = [tasks[1].clone(), replacement];
    crate::fixtures::until("the tasks to be asked to stop", secs(30), || async {
        let mut asked = true;
        for arn in &left {
            asked &= describe(&ecs, arn).await.desired_status() == Some("STOPPED");
        }
        if asked { Ok(()) } else { Err("still desired RUNNING") }
    })
    .await;
    for arn in &left {
        agent_reports(&ecs, "edge", arn, "STOPPED").await;
    }
    ecs.delete_service().cluster("edge").service("site").send().await.unwrap();

    // A DAEMON service of launch type EXTERNAL puts one task on each external instance (and
    // none on berth's own).
    ecs.create_service()
        .cluster("edge")
        .service_name("probe")
        .task_definition("site")
        .scheduling_strategy(aws_sdk_ecs::types::SchedulingStrategy::Daemon)
        .launch_type(LaunchType::External)
        .send()
        .await
        .unwrap();
    let probe = crate::fixtures::until("the daemon's task", secs(30), || async {
        let out = ecs.list_tasks().cluster("edge").service_name("probe").send().await.unwrap();
        match out.task_arns() {
            [one] => Ok(one.clone()),
            other => Err(other.to_vec()),
        }
    })
    .await;
    assert_eq!(describe(&ecs, &probe).await.container_instance_arn(), Some(instance.as_str()));
    ecs.delete_service().cluster("edge").service("probe").force(true).send().await.unwrap();
    agent_reports(&ecs, "edge", &probe, "STOPPED").await;
}
