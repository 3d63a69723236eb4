//! Clusters through aws-sdk-ecs: create (idempotent), describe (include, failures), list
//! (paging), update, settings, delete, name-or-ARN, regions.

use aws_sdk_ecs::types::{
    ClusterConfiguration, ClusterField, ClusterSetting, ClusterSettingName, ExecuteCommandConfiguration,
    ExecuteCommandLogging, Tag,
};

use crate::common::{Berth, code, error, unique};

#[tokio::test]
async fn create_describe_list_delete() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let name = unique("c");
    let created = ecs
        .create_cluster()
        .cluster_name(&name)
        .tags(Tag::builder().key("team").value("core").build())
        .send()
        .await
        .unwrap();
    let cluster = created.cluster().unwrap();
    let arn = format!("arn:aws:ecs:us-east-1:000000000000:cluster/{name}");
    assert_eq!(cluster.cluster_arn(), Some(arn.as_str()));
    assert_eq!(cluster.cluster_name(), Some(name.as_str()));
    assert_eq!(cluster.status(), Some("ACTIVE"));
    assert_eq!(cluster.registered_container_instances_count(), 0);
    assert_eq!(cluster.running_tasks_count(), 0);
    assert_eq!(cluster.pending_tasks_count(), 0);
    assert_eq!(cluster.active_services_count(), 0);
    assert_eq!(cluster.tags().len(), 1);
    let insights = &cluster.settings()[0];
    assert_eq!(insights.name(), Some(&ClusterSettingName::ContainerInsights));
    assert_eq!(insights.value(), Some("disabled"));

    // Name and ARN both work; a missing one is a failure with reason MISSING.
    let described = ecs.describe_clusters().clusters(&name).clusters(&arn).clusters("nope").send().await.unwrap();
    assert_eq!(described.clusters().len(), 2);
    assert!(described.clusters().iter().all(|c| c.cluster_arn() == Some(arn.as_str())));
    assert_eq!(described.failures().len(), 1);
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));
    assert_eq!(described.failures()[0].arn(), Some("arn:aws:ecs:us-east-1:000000000000:cluster/nope"));
    // Tags and settings only when asked for.
    assert!(described.clusters()[0].tags().is_empty());
    let with_tags = ecs
        .describe_clusters()
        .clusters(&name)
        .include(ClusterField::Tags)
        .include(ClusterField::Settings)
        .include(ClusterField::Statistics)
        .send()
        .await
        .unwrap();
    let c = &with_tags.clusters()[0];
    assert_eq!(c.tags()[0].key(), Some("team"));
    assert_eq!(c.tags()[0].value(), Some("core"));
    assert_eq!(c.settings().len(), 1);
    assert!(c.statistics().iter().any(|s| s.name() == Some("runningFargateTasksCount")));

    let listed = ecs.list_clusters().send().await.unwrap();
    assert_eq!(listed.cluster_arns(), std::slice::from_ref(&arn));

    let deleted = ecs.delete_cluster().cluster(&arn).send().await.unwrap();
    assert_eq!(deleted.cluster().unwrap().status(), Some("INACTIVE"));
    // INACTIVE clusters are still described, but no longer listed.
    let described = ecs.describe_clusters().clusters(&name).send().await.unwrap();
    assert_eq!(described.clusters()[0].status(), Some("INACTIVE"));
    assert!(ecs.list_clusters().send().await.unwrap().cluster_arns().is_empty());
    // Deleting it again answers the INACTIVE cluster; other writes say it is not found.
    let again = ecs.delete_cluster().cluster(&name).send().await.unwrap();
    assert_eq!(again.cluster().unwrap().status(), Some("INACTIVE"));
    assert_eq!(code(ecs.delete_cluster().cluster("never-was").send().await), "ClusterNotFoundException");
    assert_eq!(
        code(
            ecs.update_cluster_settings()
                .cluster(&name)
                .settings(
                    ClusterSetting::builder().name(ClusterSettingName::ContainerInsights).value("enabled").build()
                )
                .send()
                .await
        ),
        "ClusterNotFoundException"
    );

    // Tags of an INACTIVE cluster cannot be changed or read.
    let (code_, message) = error(ecs.list_tags_for_resource().resource_arn(&arn).send().await);
    assert_eq!(code_, "InvalidParameterException");
    assert_eq!(message, "The specified cluster is inactive. Specify an active cluster and try again.");

    // Creating it again brings it back, same ARN, without the old cluster's tags.
    let again = ecs.create_cluster().cluster_name(&name).send().await.unwrap();
    assert_eq!(again.cluster().unwrap().status(), Some("ACTIVE"));
    assert_eq!(again.cluster().unwrap().cluster_arn(), Some(arn.as_str()));
    assert!(ecs.list_tags_for_resource().resource_arn(&arn).send().await.unwrap().tags().is_empty());
    // An ARN of another region does not find it.
    let elsewhere = arn.replace("us-east-1", "eu-west-1");
    let described = ecs.describe_clusters().clusters(&elsewhere).send().await.unwrap();
    assert_eq!(described.failures()[0].arn(), Some(elsewhere.as_str()));
}

#[tokio::test]
async fn create_is_idempotent_and_default_cluster_is_default() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let first = ecs.create_cluster().send().await.unwrap();
    assert_eq!(first.cluster().unwrap().cluster_name(), Some("default"));
    let second = ecs.create_cluster().cluster_name("default").send().await.unwrap();
    assert_eq!(first.cluster().unwrap().cluster_arn(), second.cluster().unwrap().cluster_arn());
    assert_eq!(ecs.list_clusters().send().await.unwrap().cluster_arns().len(), 1);
    // The same name with other arguments is not idempotent.
    let (code_, message) = error(
        ecs.create_cluster().cluster_name("default").tags(Tag::builder().key("k").value("v").build()).send().await,
    );
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("inconsistent"), "{message}");
    // DescribeClusters with no names describes "default".
    let described = ecs.describe_clusters().send().await.unwrap();
    assert_eq!(described.clusters()[0].cluster_name(), Some("default"));
}

#[tokio::test]
async fn describe_default_when_missing_is_a_failure() {
    let berth = Berth::start().await;
    let described = berth.client().describe_clusters().send().await.unwrap();
    assert!(described.clusters().is_empty());
    assert_eq!(described.failures()[0].arn(), Some("arn:aws:ecs:us-east-1:000000000000:cluster/default"));
}

#[tokio::test]
async fn invalid_names_are_refused() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    for bad in ["has space", "dot.ted", &"x".repeat(256)] {
        let (code, message) = error(ecs.create_cluster().cluster_name(bad).send().await);
        assert_eq!(code, "InvalidParameterException", "{bad}");
        assert!(message.contains("letters, numbers, hyphens and underscores"), "{message}");
    }
}

#[tokio::test]
async fn update_cluster_and_settings() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let name = unique("u");
    ecs.create_cluster().cluster_name(&name).send().await.unwrap();
    let updated = ecs
        .update_cluster_settings()
        .cluster(&name)
        .settings(ClusterSetting::builder().name(ClusterSettingName::ContainerInsights).value("enhanced").build())
        .send()
        .await
        .unwrap();
    assert_eq!(updated.cluster().unwrap().settings()[0].value(), Some("enhanced"));
    let configuration = ClusterConfiguration::builder()
        .execute_command_configuration(
            ExecuteCommandConfiguration::builder().logging(ExecuteCommandLogging::Default).build(),
        )
        .build();
    let updated = ecs.update_cluster().cluster(&name).configuration(configuration).send().await.unwrap();
    let c = updated.cluster().unwrap();
    assert_eq!(
        c.configuration().unwrap().execute_command_configuration().unwrap().logging(),
        Some(&ExecuteCommandLogging::Default)
    );
    // Settings survive the update and show up on describe with include.
    let described = ecs
        .describe_clusters()
        .clusters(&name)
        .include(ClusterField::Settings)
        .include(ClusterField::Configurations)
        .send()
        .await
        .unwrap();
    let c = &described.clusters()[0];
    assert_eq!(c.settings()[0].value(), Some("enhanced"));
    assert!(c.configuration().is_some());
    assert_eq!(code(ecs.update_cluster().cluster("missing").send().await), "ClusterNotFoundException");
    let (code_, message) = error(
        ecs.update_cluster_settings()
            .cluster(&name)
            .settings(ClusterSetting::builder().name(ClusterSettingName::ContainerInsights).value("enhaced").build())
            .send()
            .await,
    );
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("Invalid setting 'value'"), "{message}");
    assert_eq!(code(ecs.describe_clusters().clusters("").send().await), "InvalidParameterException");
}

#[tokio::test]
async fn list_clusters_pages() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let mut names: Vec<String> = (0..7).map(|i| format!("page-{i:02}")).collect();
    for name in &names {
        ecs.create_cluster().cluster_name(name).send().await.unwrap();
    }
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = ecs.list_clusters().max_results(3).set_next_token(token).send().await.unwrap();
        assert!(page.cluster_arns().len() <= 3);
        seen.extend(page.cluster_arns().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    names.sort();
    let expected: Vec<String> =
        names.iter().map(|n| format!("arn:aws:ecs:us-east-1:000000000000:cluster/{n}")).collect();
    assert_eq!(seen, expected);
    // The SDK's paginator walks the same pages.
    let all: Vec<String> = ecs
        .list_clusters()
        .max_results(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(all, expected);
    assert_eq!(code(ecs.list_clusters().max_results(101).send().await), "InvalidParameterException");
    assert_eq!(code(ecs.list_clusters().next_token("not-a-token").send().await), "InvalidParameterException");
}

#[tokio::test]
async fn regions_are_separate() {
    let berth = Berth::start().await;
    let east = berth.client();
    let west = berth.client_in("eu-west-1");
    let created = west.create_cluster().cluster_name("regional").send().await.unwrap();
    assert_eq!(created.cluster().unwrap().cluster_arn(), Some("arn:aws:ecs:eu-west-1:000000000000:cluster/regional"));
    assert_eq!(west.list_clusters().send().await.unwrap().cluster_arns().len(), 1);
    assert!(east.list_clusters().send().await.unwrap().cluster_arns().is_empty());
}
