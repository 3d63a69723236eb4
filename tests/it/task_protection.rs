//! Task scale-in protection through aws-sdk-ecs: UpdateTaskProtection and GetTaskProtection,
//! honoured by the service scheduler with real containers (a protected task outlives a scale-in
//! and a deployment until its protection expires; an unprotected sibling goes instead), and the
//! API's answers for tasks it cannot protect.

use aws_sdk_ecs::types::LaunchType;

use crate::common::{Berth, code, error};
use crate::fixtures::{
    Launch::Fargate, always, describe, network, register, run, secs, sleeper, stop, until, wait_for,
};
use crate::services::{delete, describe_service, running_tasks, wait_stable};

#[tokio::test]
async fn a_protected_task_outlives_scale_in_and_a_deployment_until_it_expires() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Fargate, "guarded", vec![sleeper("one")]).await;
    ecs.create_service()
        .service_name("guarded")
        .task_definition("guarded")
        .desired_count(2)
        .launch_type(LaunchType::Fargate)
        .network_configuration(network())
        .send()
        .await
        .unwrap();
    wait_stable(&ecs, "guarded").await;
    // The newest task is the one a scale-in would stop first: protect that one.
    let described = ecs.describe_tasks().set_tasks(Some(running_tasks(&ecs, "guarded").await)).send().await.unwrap();
    let mut tasks = described.tasks().to_vec();
    tasks.sort_by_key(|t| t.started_at().map(|d| (d.secs(), d.subsec_nanos())));
    let (sibling, kept) = (tasks[0].task_arn().unwrap().to_owned(), tasks[1].task_arn().unwrap().to_owned());

    // The shortest protection AWS allows: one minute.
    let protected =
        ecs.update_task_protection().cluster("default").tasks(&kept).protection_enabled(true).expires_in_minutes(1);
    let protected = protected.send().await.unwrap();
    assert!(protected.failures().is_empty(), "{:?}", protected.failures());
    let item = &protected.protected_tasks()[0];
    assert_eq!((item.task_arn(), item.protection_enabled()), (Some(kept.as_str()), true));
    let expires = item.expiration_date().unwrap().secs();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((now + 55..=now + 65).contains(&expires), "expires at {expires}, now {now}");
    let read = ecs.get_task_protection().cluster("default").tasks(&kept).tasks(&sibling).send().await.unwrap();
    let enabled: Vec<(Option<&str>, bool)> =
        read.protected_tasks().iter().map(|p| (p.task_arn(), p.protection_enabled())).collect();
    assert_eq!(enabled, [(Some(kept.as_str()), true), (Some(sibling.as_str()), false)]);
    assert!(read.protected_tasks()[1].expiration_date().is_none());

    // Scale-in to one: the unprotected sibling goes, the protected task stays.
    ecs.update_service().service("guarded").desired_count(1).send().await.unwrap();
    let gone = wait_for(&ecs, &sibling, "STOPPED").await;
    assert!(gone.stopped_reason().unwrap_or_default().starts_with("Scaling activity initiated by"), "{gone:?}");
    assert_eq!(running_tasks(&ecs, "guarded").await, std::slice::from_ref(&kept));

    // A deployment to a new revision starts its task, and keeps the protected old one running
    // beside it: the deployment waits for the protection to end.
    register(&ecs, Fargate, "guarded", vec![sleeper("two")]).await;
    ecs.update_service().service("guarded").task_definition("guarded").send().await.unwrap();
    until("the new revision's task to run beside the protected one", secs(60), || async {
        let running = running_tasks(&ecs, "guarded").await;
        if running.len() == 2 && running.contains(&kept) { Ok(()) } else { Err(running) }
    })
    .await;
    always("the protected task keeps running while protected", secs(5), || async {
        let task = describe(&ecs, &kept).await;
        if task.desired_status() == Some("RUNNING") { Ok(()) } else { Err(task) }
    })
    .await;
    assert_eq!(describe_service(&ecs, "guarded").await.deployments().len(), 2);
    // Protecting the new task too would leave more protected tasks than the one desired.
    let newer = running_tasks(&ecs, "guarded").await.into_iter().find(|t| *t != kept).unwrap();
    let refused = ecs.update_task_protection().cluster("default").tasks(&newer).protection_enabled(true);
    let refused = refused.send().await.unwrap();
    assert!(refused.protected_tasks().is_empty(), "{refused:?}");
    assert_eq!(refused.failures()[0].reason(), Some("DEPLOYMENT_BLOCKED"));

    // Once the minute is over it is replaced like any old task, and the deployment completes.
    let ended = until("the protection to expire and the task to stop", secs(90), || async {
        let task = describe(&ecs, &kept).await;
        if task.last_status() == Some("STOPPED") { Ok(task) } else { Err(task.last_status().map(str::to_owned)) }
    })
    .await;
    assert!(ended.stopping_at().unwrap().secs() >= expires, "stopped before its protection expired: {ended:?}");
    let s = wait_stable(&ecs, "guarded").await;
    assert_eq!(s.running_count(), 1);
    // Stopped, it can be protected no more.
    let after = ecs.get_task_protection().cluster("default").tasks(&kept).send().await.unwrap();
    assert!(after.protected_tasks().is_empty(), "{after:?}");
    assert_eq!(after.failures()[0].reason(), Some("TASK_NOT_VALID"));
    delete(&ecs, "guarded").await;
}

#[tokio::test]
async fn protection_answers_for_tasks_it_cannot_protect() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Fargate, "lone", vec![sleeper("lone")]).await;
    let lone = run(&ecs, "lone", None).await;
    let missing = "arn:aws:ecs:us-east-1:000000000000:task/default/0123456789abcdef0123456789abcdef";
    let out = ecs
        .update_task_protection()
        .cluster("default")
        .tasks(&lone)
        .tasks(missing)
        .protection_enabled(true)
        .send()
        .await
        .unwrap();
    assert!(out.protected_tasks().is_empty(), "{out:?}");
    let failures: Vec<(Option<&str>, Option<&str>)> = out.failures().iter().map(|f| (f.arn(), f.reason())).collect();
    assert_eq!(failures, [(Some(lone.as_str()), Some("TASK_NOT_VALID")), (Some(missing), Some("MISSING"))]);

    let update = |minutes: i32| {
        ecs.update_task_protection()
            .cluster("default")
            .tasks(&lone)
            .protection_enabled(true)
            .expires_in_minutes(minutes)
    };
    for minutes in [0, 2881] {
        let (code_, message) = error(update(minutes).send().await);
        assert_eq!(code_, "InvalidParameterException", "{minutes}");
        assert!(message.contains("expiresInMinutes"), "{message}");
    }
    let eleven: Vec<String> = (0..11).map(|i| format!("{i:032x}")).collect();
    let too_many = ecs.update_task_protection().cluster("default").set_tasks(Some(eleven)).protection_enabled(true);
    assert_eq!(code(too_many.send().await), "InvalidParameterException");
    let nowhere = ecs.get_task_protection().cluster("nowhere").tasks(&lone).send().await;
    assert_eq!(code(nowhere), "ClusterNotFoundException");
    berth
        .call("UpdateTaskProtection", r#"{"cluster": "default", "tasks": ["x"]}"#)
        .await
        .assert_error(400, "InvalidParameterException");
    stop(&ecs, &lone).await;
}
