//! ECS Managed Daemons through aws-sdk-ecs: daemon task definitions (register, describe, list,
//! delete, tag).

use aws_sdk_ecs::types::{
    DaemonContainerDefinition, DaemonTaskDefinitionRevisionFilter, DaemonTaskDefinitionStatus,
    DaemonTaskDefinitionStatusFilter, SortOrder, Tag,
};

use crate::common::{BUSYBOX, Berth, error};

fn agent(command: &str) -> DaemonContainerDefinition {
    DaemonContainerDefinition::builder()
        .name("agent")
        .image(BUSYBOX)
        .command("sh")
        .command("-c")
        .command(command)
        .memory(64)
        .build()
        .unwrap()
}

#[tokio::test]
async fn daemon_task_definitions_register_describe_list_and_delete() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let register = |family: &str, command: &str| {
        ecs.register_daemon_task_definition().family(family).container_definitions(agent(command))
    };
    let first = register("agent", "sleep 1").cpu("256").memory("128").send().await.unwrap();
    let first = first.daemon_task_definition_arn().unwrap().to_owned();
    assert_eq!(first, "arn:aws:ecs:us-east-1:000000000000:daemon-task-definition/agent:1");
    let tag = Tag::builder().key("team").value("ops").build();
    let second = register("agent", "sleep 2").tags(tag).send().await.unwrap();
    let second = second.daemon_task_definition_arn().unwrap().to_owned();
    assert!(second.ends_with("daemon-task-definition/agent:2"), "{second}");
    register("other", "sleep 3").send().await.unwrap();

    // The family alone names its latest ACTIVE revision; family:revision and the ARN one revision.
    let describe = |reference: &str| ecs.describe_daemon_task_definition().daemon_task_definition(reference).send();
    let latest = describe("agent").await.unwrap().daemon_task_definition().unwrap().clone();
    assert_eq!((latest.revision(), latest.daemon_task_definition_arn()), (2, Some(second.as_str())));
    assert_eq!(latest.status(), Some(&DaemonTaskDefinitionStatus::Active));
    assert!(latest.registered_at().is_some());
    assert_eq!(latest.registered_by(), Some("arn:aws:iam::000000000000:root"));
    let by_arn = describe(&first).await.unwrap().daemon_task_definition().unwrap().clone();
    assert_eq!((by_arn.cpu(), by_arn.memory(), by_arn.revision()), (Some("256"), Some("128"), 1));
    let container = &by_arn.container_definitions()[0];
    assert_eq!((container.name(), container.image(), container.memory()), (Some("agent"), BUSYBOX, Some(64)));
    assert_eq!(container.essential(), Some(true));
    // Only the daemon shapes' members: no task definition member leaks into the answer.
    let raw = berth.call("DescribeDaemonTaskDefinition", r#"{"daemonTaskDefinition": "agent:1"}"#).await.json();
    let raw = &raw["daemonTaskDefinition"];
    for absent in ["compatibilities", "requiresAttributes", "networkMode", "taskDefinitionArn"] {
        assert!(raw.get(absent).is_none(), "{absent} in {raw}");
    }
    assert!(raw["containerDefinitions"][0].get("portMappings").is_none(), "{raw}");
    let tags = ecs.list_tags_for_resource().resource_arn(&second).send().await.unwrap();
    assert_eq!(tags.tags()[0].key(), Some("team"));

    let arns = |out: aws_sdk_ecs::operation::list_daemon_task_definitions::ListDaemonTaskDefinitionsOutput| {
        out.daemon_task_definitions()
            .iter()
            .map(|d| d.arn().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    let list = || ecs.list_daemon_task_definitions();
    assert_eq!(arns(list().send().await.unwrap()), ["agent:1", "agent:2", "other:1"]);
    assert_eq!(arns(list().sort(SortOrder::Desc).send().await.unwrap()), ["other:1", "agent:2", "agent:1"]);
    assert_eq!(arns(list().family("agent").send().await.unwrap()), ["agent:1", "agent:2"]);
    assert_eq!(arns(list().family_prefix("oth").send().await.unwrap()), ["other:1"]);
    let last = list().revision(DaemonTaskDefinitionRevisionFilter::LastRegistered).send().await.unwrap();
    assert_eq!(arns(last), ["agent:2", "other:1"]);
    // Pages of one, resumed by nextToken.
    let page = list().max_results(2).send().await.unwrap();
    let token = page.next_token().unwrap().to_owned();
    assert_eq!(arns(page), ["agent:1", "agent:2"]);
    let rest = list().max_results(2).next_token(token).send().await.unwrap();
    assert!(rest.next_token().is_none());
    assert_eq!(arns(rest), ["other:1"]);

    // Deleting: the revision is DELETE_IN_PROGRESS, still described by revision, no longer the
    // family's latest, and cannot be deleted again.
    let deleted = ecs.delete_daemon_task_definition().daemon_task_definition("agent:2").send().await.unwrap();
    assert_eq!(deleted.daemon_task_definition_arn(), Some(second.as_str()));
    let gone = describe("agent:2").await.unwrap().daemon_task_definition().unwrap().clone();
    assert_eq!(gone.status(), Some(&DaemonTaskDefinitionStatus::DeleteInProgress));
    assert!(gone.delete_requested_at().is_some());
    assert_eq!(describe("agent").await.unwrap().daemon_task_definition().unwrap().revision(), 1);
    let deleting = list().status(DaemonTaskDefinitionStatusFilter::DeleteInProgress).send().await.unwrap();
    assert!(deleting.daemon_task_definitions()[0].delete_requested_at().is_some());
    assert_eq!(arns(deleting), ["agent:2"]);
    assert_eq!(arns(list().status(DaemonTaskDefinitionStatusFilter::All).send().await.unwrap()).len(), 3);
    let again = ecs.delete_daemon_task_definition().daemon_task_definition(&second).send().await;
    assert_eq!(error(again).0, "ClientException");
    // A new revision never reuses a number.
    let third = register("agent", "sleep 4").send().await.unwrap();
    assert!(third.daemon_task_definition_arn().unwrap().ends_with("agent:3"));

    // Errors.
    let (code, message) = error(describe("nothing").await);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ClientException", "The specified daemon task definition does not exist.")
    );
    let (code, message) = error(ecs.delete_daemon_task_definition().daemon_task_definition("agent").send().await);
    assert_eq!(code, "ClientException");
    assert!(message.contains("must name a revision"), "{message}");
    let (code, message) = error(register("bad family!", "true").send().await);
    assert_eq!(code, "ClientException");
    assert!(message.starts_with("Family contains invalid characters"), "{message}");
    let nameless = DaemonContainerDefinition::builder().image(BUSYBOX).build().unwrap();
    let (code, _) =
        error(ecs.register_daemon_task_definition().family("f").container_definitions(nameless).send().await);
    assert_eq!(code, "ClientException");
    let (code, _) =
        error(ecs.register_daemon_task_definition().family("f").set_container_definitions(Some(vec![])).send().await);
    assert_eq!(code, "ClientException");
    assert_eq!(error(list().max_results(101).send().await).0, "InvalidParameterException");
}
