//! Capacity providers through aws-sdk-ecs: create (AWS's defaults, name rules, duplicates),
//! describe (built-ins, name or ARN, failures, include=TAGS, paging), update, delete (INACTIVE,
//! in use by a cluster), and clusters' capacity providers and default strategy.

use std::collections::HashSet;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    AutoScalingGroupProvider, AutoScalingGroupProviderUpdate, CapacityProvider, CapacityProviderField,
    CapacityProviderStatus, CapacityProviderStrategyItem, CapacityProviderType, CapacityProviderUpdateStatus,
    ManagedDraining, ManagedScaling, ManagedScalingStatus, ManagedTerminationProtection, Tag,
};

use crate::common::{Berth, code, error, unique};

const ACCOUNT_ARN: &str = "arn:aws:ecs:us-east-1:000000000000";

fn arn(name: &str) -> String {
    format!("{ACCOUNT_ARN}:capacity-provider/{name}")
}

/// An Auto Scaling group ARN of its own for each provider (one group backs one provider).
fn asg_arn(name: &str) -> String {
    format!(
        "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:{}:autoScalingGroupName/{name}",
        uuid::Uuid::new_v4()
    )
}

fn asg(name: &str) -> AutoScalingGroupProvider {
    AutoScalingGroupProvider::builder().auto_scaling_group_arn(asg_arn(name)).build().unwrap()
}

fn strategy(provider: &str, base: i32, weight: i32) -> CapacityProviderStrategyItem {
    CapacityProviderStrategyItem::builder().capacity_provider(provider).base(base).weight(weight).build().unwrap()
}

async fn create(ecs: &Client, name: &str) -> CapacityProvider {
    let out = ecs.create_capacity_provider().name(name).auto_scaling_group_provider(asg(name)).send().await.unwrap();
    out.capacity_provider().unwrap().clone()
}

async fn describe_one(ecs: &Client, reference: &str) -> CapacityProvider {
    let out = ecs.describe_capacity_providers().capacity_providers(reference).send().await.unwrap();
    assert!(out.failures().is_empty(), "{:?}", out.failures());
    assert_eq!(out.capacity_providers().len(), 1);
    out.capacity_providers()[0].clone()
}

#[tokio::test]
async fn create_fills_aws_defaults() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let name = unique("cp");
    let group = asg_arn(&name);
    let out = ecs
        .create_capacity_provider()
        .name(&name)
        .auto_scaling_group_provider(
            AutoScalingGroupProvider::builder().auto_scaling_group_arn(&group).build().unwrap(),
        )
        .tags(Tag::builder().key("team").value("core").build())
        .send()
        .await
        .unwrap();
    let cp = out.capacity_provider().unwrap();
    assert_eq!(cp.capacity_provider_arn(), Some(arn(&name).as_str()));
    assert_eq!(cp.name(), Some(name.as_str()));
    assert_eq!(cp.status(), Some(&CapacityProviderStatus::Active));
    assert_eq!(cp.r#type(), Some(&CapacityProviderType::Ec2Autoscaling));
    // The create answer carries the tags.
    assert_eq!(cp.tags().len(), 1);
    assert_eq!((cp.tags()[0].key(), cp.tags()[0].value()), (Some("team"), Some("core")));
    let provider = cp.auto_scaling_group_provider().unwrap();
    assert_eq!(provider.auto_scaling_group_arn(), group);
    // Managed scaling off, with AWS's default numbers; termination protection off; draining on.
    let scaling = provider.managed_scaling().unwrap();
    assert_eq!(scaling.status(), Some(&ManagedScalingStatus::Disabled));
    assert_eq!(scaling.target_capacity(), Some(100));
    assert_eq!(scaling.minimum_scaling_step_size(), Some(1));
    assert_eq!(scaling.maximum_scaling_step_size(), Some(10000));
    assert_eq!(scaling.instance_warmup_period(), Some(300));
    assert_eq!(provider.managed_termination_protection(), Some(&ManagedTerminationProtection::Disabled));
    assert_eq!(provider.managed_draining(), Some(&ManagedDraining::Enabled));

    // Describe returns the same, stored.
    let described = describe_one(&ecs, &name).await;
    assert_eq!(described.auto_scaling_group_provider(), Some(provider));
    assert_eq!(described.r#type(), Some(&CapacityProviderType::Ec2Autoscaling));

    // Given settings are kept; the ones left out of managedScaling get AWS's defaults.
    let other = unique("cp");
    let out = ecs
        .create_capacity_provider()
        .name(&other)
        .auto_scaling_group_provider(
            AutoScalingGroupProvider::builder()
                .auto_scaling_group_arn(asg_arn(&other))
                .managed_scaling(
                    ManagedScaling::builder().status(ManagedScalingStatus::Enabled).target_capacity(80).build(),
                )
                .managed_termination_protection(ManagedTerminationProtection::Disabled)
                .managed_draining(ManagedDraining::Disabled)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let provider = out.capacity_provider().unwrap().auto_scaling_group_provider().unwrap();
    let scaling = provider.managed_scaling().unwrap();
    assert_eq!(scaling.status(), Some(&ManagedScalingStatus::Enabled));
    assert_eq!(scaling.target_capacity(), Some(80));
    assert_eq!(scaling.minimum_scaling_step_size(), Some(1));
    assert_eq!(scaling.maximum_scaling_step_size(), Some(10000));
    assert_eq!(scaling.instance_warmup_period(), Some(300));
    assert_eq!(provider.managed_draining(), Some(&ManagedDraining::Disabled));
    assert!(out.capacity_provider().unwrap().tags().is_empty());
}

#[tokio::test]
async fn create_refuses_bad_input() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    // Names: the characters and length of any ECS name, and no aws/ecs/fargate prefix in any case.
    let long = "x".repeat(256);
    for bad in
        ["aws-x", "ecs-x", "fargate-x", "AWSx", "Ecs_x", "FARGATE", "FARGATE_SPOT", "has space", "dot.ted", &long]
    {
        let (code, message) =
            error(ecs.create_capacity_provider().name(bad).auto_scaling_group_provider(asg(bad)).send().await);
        assert_eq!(code, "ClientException", "{bad}");
        assert!(message.starts_with("The specified capacity provider name is invalid."), "{message}");
    }
    // The prefixes only count at the start.
    let fine = format!("my-aws-ecs-fargate-{}", unique("cp"));
    create(&ecs, &fine).await;
    assert_eq!(ecs.describe_capacity_providers().send().await.unwrap().capacity_providers().len(), 3);

    // A provider needs its Auto Scaling group.
    let (code_, message) = error(ecs.create_capacity_provider().name(unique("cp")).send().await);
    assert_eq!(code_, "ClientException");
    assert!(message.contains("autoScalingGroupProvider"), "{message}");
    // ... and the group's ARN (a required member of the model).
    let raw = berth
        .call(
            "CreateCapacityProvider",
            r#"{"name": "cp-no-arn", "autoScalingGroupProvider": {"managedDraining": "ENABLED"}}"#,
        )
        .await;
    let message = raw.assert_error(400, "InvalidParameterException");
    assert!(message.contains("autoScalingGroupProvider.autoScalingGroupArn"), "{message}");
    // Settings outside AWS's ranges and enums.
    let raw = berth
        .call(
            "CreateCapacityProvider",
            r#"{"name": "cp-range", "autoScalingGroupProvider": {"autoScalingGroupArn": "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:x:autoScalingGroupName/x", "managedScaling": {"targetCapacity": 101}}}"#,
        )
        .await;
    let message = raw.assert_error(400, "InvalidParameterException");
    assert!(message.contains("targetCapacity"), "{message}");
    let raw = berth
        .call(
            "CreateCapacityProvider",
            r#"{"name": "cp-enum", "autoScalingGroupProvider": {"autoScalingGroupArn": "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:x:autoScalingGroupName/x", "managedDraining": "SOMETIMES"}}"#,
        )
        .await;
    raw.assert_error(400, "InvalidParameterException");
    // Tags follow the tag rules.
    let (code_, message) = error(
        ecs.create_capacity_provider()
            .name(unique("cp"))
            .auto_scaling_group_provider(asg("t"))
            .tags(Tag::builder().key("aws:owner").value("me").build())
            .send()
            .await,
    );
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("aws:"), "{message}");
    // A Managed Instances provider belongs to a cluster: it cannot be created without one.
    let raw = berth
        .call(
            "CreateCapacityProvider",
            r#"{"name": "cp-mi", "managedInstancesProvider": {"infrastructureRoleArn": "arn:aws:iam::000000000000:role/x", "instanceLaunchTemplate": {"ec2InstanceProfileArn": "arn:aws:iam::000000000000:instance-profile/x", "networkConfiguration": {"subnets": ["subnet-1"]}}}}"#,
        )
        .await;
    raw.assert_error(400, "InvalidParameterException");
    // Nothing of the refused calls was created.
    let all = ecs.describe_capacity_providers().send().await.unwrap();
    let names: Vec<&str> = all.capacity_providers().iter().filter_map(|c| c.name()).collect();
    // The account's own providers come first, then the built-in ones, as AWS lists them.
    assert_eq!(names, [fine.as_str(), "FARGATE", "FARGATE_SPOT"]);
}

#[tokio::test]
async fn duplicates_are_refused_and_a_deleted_name_is_free_again() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let name = unique("cp");
    let group = asg_arn(&name);
    let with_group = |g: &str| AutoScalingGroupProvider::builder().auto_scaling_group_arn(g).build().unwrap();
    ecs.create_capacity_provider()
        .name(&name)
        .auto_scaling_group_provider(with_group(&group))
        .tags(Tag::builder().key("generation").value("1").build())
        .tags(Tag::builder().key("old").value("yes").build())
        .send()
        .await
        .unwrap();
    // The same name again.
    let (code_, message) =
        error(ecs.create_capacity_provider().name(&name).auto_scaling_group_provider(asg(&name)).send().await);
    assert_eq!(code_, "ClientException");
    assert!(message.starts_with("The specified capacity provider already exists."), "{message}");
    // Another name on the same Auto Scaling group.
    let (code_, message) = error(
        ecs.create_capacity_provider().name(unique("cp")).auto_scaling_group_provider(with_group(&group)).send().await,
    );
    assert_eq!(code_, "ClientException");
    assert!(message.contains("Auto Scaling group ARN is already being used"), "{message}");

    // Once deleted, both the name and the group can be used again; the new provider is a new
    // resource under the same ARN, with only its own tags.
    ecs.delete_capacity_provider().capacity_provider(&name).send().await.unwrap();
    let again = ecs
        .create_capacity_provider()
        .name(&name)
        .auto_scaling_group_provider(with_group(&group))
        .tags(Tag::builder().key("generation").value("2").build())
        .send()
        .await
        .unwrap();
    let cp = again.capacity_provider().unwrap();
    assert_eq!(cp.status(), Some(&CapacityProviderStatus::Active));
    assert_eq!(cp.capacity_provider_arn(), Some(arn(&name).as_str()));
    assert_eq!(cp.update_status(), None);
    let tags: Vec<(&str, &str)> =
        cp.tags().iter().map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())).collect();
    assert_eq!(tags, [("generation", "2")]);
    let listed = ecs.list_tags_for_resource().resource_arn(arn(&name)).send().await.unwrap();
    assert_eq!(listed.tags().len(), 1);
    assert_eq!(listed.tags()[0].value(), Some("2"));
}

#[tokio::test]
async fn built_in_providers_always_exist() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let all = ecs.describe_capacity_providers().send().await.unwrap();
    assert!(all.failures().is_empty());
    assert_eq!(all.next_token(), None);
    let providers = all.capacity_providers();
    assert_eq!(providers.len(), 2);
    for (cp, (name, kind)) in providers
        .iter()
        .zip([("FARGATE", CapacityProviderType::Fargate), ("FARGATE_SPOT", CapacityProviderType::FargateSpot)])
    {
        assert_eq!(cp.name(), Some(name));
        assert_eq!(cp.capacity_provider_arn(), Some(arn(name).as_str()));
        assert_eq!(cp.status(), Some(&CapacityProviderStatus::Active));
        assert_eq!(cp.r#type(), Some(&kind));
        assert!(cp.auto_scaling_group_provider().is_none());
    }
    // By name and by ARN.
    assert_eq!(describe_one(&ecs, "FARGATE_SPOT").await.name(), Some("FARGATE_SPOT"));
    assert_eq!(describe_one(&ecs, &arn("FARGATE")).await.name(), Some("FARGATE"));
    // Each region has its own.
    let west = berth.client_in("eu-west-1");
    let out = west.describe_capacity_providers().capacity_providers("FARGATE").send().await.unwrap();
    assert_eq!(
        out.capacity_providers()[0].capacity_provider_arn(),
        Some("arn:aws:ecs:eu-west-1:000000000000:capacity-provider/FARGATE")
    );
    // They can be neither updated nor deleted, by name or ARN.
    for reference in ["FARGATE", "FARGATE_SPOT", &arn("FARGATE")] {
        let (code_, message) = error(ecs.delete_capacity_provider().capacity_provider(reference).send().await);
        assert_eq!(code_, "ClientException", "{reference}");
        assert!(message.contains("cannot be deleted"), "{message}");
        let (code_, message) = error(
            ecs.update_capacity_provider()
                .name(reference)
                .auto_scaling_group_provider(
                    AutoScalingGroupProviderUpdate::builder().managed_draining(ManagedDraining::Disabled).build(),
                )
                .send()
                .await,
        );
        assert_eq!(code_, "ClientException", "{reference}");
        assert!(message.contains("cannot be updated"), "{message}");
    }
}

#[tokio::test]
async fn describe_by_name_or_arn_with_failures_and_tags() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let name = unique("cp");
    ecs.create_capacity_provider()
        .name(&name)
        .auto_scaling_group_provider(asg(&name))
        .tags(Tag::builder().key("a").value("1").build())
        .tags(Tag::builder().key("b").value("2").build())
        .send()
        .await
        .unwrap();
    let wrong_type = format!("{ACCOUNT_ARN}:cluster/{name}");
    let other_region = format!("arn:aws:ecs:eu-west-1:000000000000:capacity-provider/{name}");
    let out = ecs
        .describe_capacity_providers()
        .capacity_providers(&name)
        .capacity_providers(arn(&name))
        .capacity_providers("FARGATE")
        .capacity_providers("nope")
        .capacity_providers(&wrong_type)
        .capacity_providers(&other_region)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = out.capacity_providers().iter().filter_map(|c| c.name()).collect();
    assert_eq!(names, [name.as_str(), name.as_str(), "FARGATE"]);
    let failures: Vec<(&str, &str)> =
        out.failures().iter().map(|f| (f.arn().unwrap_or_default(), f.reason().unwrap_or_default())).collect();
    let nope = arn("nope");
    assert_eq!(
        failures,
        [(nope.as_str(), "MISSING"), (wrong_type.as_str(), "MISSING"), (other_region.as_str(), "MISSING")]
    );
    // Tags only with include=TAGS, in the order they were given.
    assert!(out.capacity_providers()[0].tags().is_empty());
    let out = ecs
        .describe_capacity_providers()
        .capacity_providers(&name)
        .include(CapacityProviderField::Tags)
        .send()
        .await
        .unwrap();
    let tags: Vec<(&str, &str)> = out.capacity_providers()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
        .collect();
    assert_eq!(tags, [("a", "1"), ("b", "2")]);
    // Every provider with tags, too.
    let all = ecs.describe_capacity_providers().include(CapacityProviderField::Tags).send().await.unwrap();
    assert_eq!(all.capacity_providers()[0].tags().len(), 2);
    // At most 100 names in one call.
    let mut many = ecs.describe_capacity_providers();
    for i in 0..101 {
        many = many.capacity_providers(format!("cp-{i}"));
    }
    assert_eq!(code(many.send().await), "InvalidParameterException");
    let mut hundred = ecs.describe_capacity_providers();
    for i in 0..100 {
        hundred = hundred.capacity_providers(format!("cp-{i}"));
    }
    assert_eq!(hundred.send().await.unwrap().failures().len(), 100);
}

/// Every provider, walking pages of `size` (AWS's default of 10 when None).
async fn walk(ecs: &Client, size: Option<i32>) -> Vec<String> {
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = ecs
            .describe_capacity_providers()
            .set_max_results(size)
            .set_next_token(token.clone())
            .include(CapacityProviderField::Tags)
            .send()
            .await
            .unwrap();
        let limit = usize::try_from(size.unwrap_or(10)).unwrap();
        assert!(page.capacity_providers().len() <= limit, "page larger than {limit}");
        assert!(page.failures().is_empty());
        seen.extend(page.capacity_providers().iter().map(|c| c.name().unwrap().to_owned()));
        pages += 1;
        assert!(pages < 100, "paging does not end");
        match page.next_token() {
            Some(next) => {
                // A token only comes with a full page.
                assert_eq!(page.capacity_providers().len(), limit);
                token = Some(next.to_owned());
            }
            None => return seen,
        }
    }
}

#[tokio::test]
async fn describe_pages_through_built_in_and_own_providers() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let mut names: Vec<String> = (0..13).map(|i| format!("page-{i:02}-{}", unique("cp"))).collect();
    // Created out of order: pages are by name.
    for name in names.iter().rev() {
        create(&ecs, name).await;
    }
    names.sort();
    let mut expected = names.clone();
    expected.extend(["FARGATE".to_owned(), "FARGATE_SPOT".to_owned()]);
    for size in [Some(1), Some(2), Some(3), Some(4), Some(7), Some(10), None] {
        let seen = walk(&ecs, size).await;
        assert_eq!(seen, expected, "maxResults {size:?}");
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len(), "duplicates with maxResults {size:?}");
    }
    // The default page is AWS's 10, with a token for the rest.
    let first = ecs.describe_capacity_providers().send().await.unwrap();
    assert_eq!(first.capacity_providers().len(), 10);
    assert!(first.next_token().is_some());
    // maxResults is 1 to 10; tokens are berth's own.
    for bad in [0, 11, -1] {
        assert_eq!(code(ecs.describe_capacity_providers().max_results(bad).send().await), "InvalidParameterException");
    }
    assert_eq!(code(ecs.describe_capacity_providers().next_token("garbage").send().await), "InvalidParameterException");
    // A token of another list is refused too.
    for i in 0..3 {
        ecs.create_cluster().cluster_name(format!("c{i}")).send().await.unwrap();
    }
    let cluster_token = ecs.list_clusters().max_results(1).send().await.unwrap().next_token().unwrap().to_owned();
    assert_eq!(
        code(ecs.describe_capacity_providers().next_token(cluster_token).send().await),
        "InvalidParameterException"
    );
}

#[tokio::test]
async fn update_replaces_given_settings() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let name = unique("cp");
    let created = create(&ecs, &name).await;
    let group = created.auto_scaling_group_provider().unwrap().auto_scaling_group_arn().to_owned();
    let out = ecs
        .update_capacity_provider()
        .name(&name)
        .auto_scaling_group_provider(
            AutoScalingGroupProviderUpdate::builder()
                .managed_scaling(
                    ManagedScaling::builder()
                        .status(ManagedScalingStatus::Enabled)
                        .target_capacity(50)
                        .maximum_scaling_step_size(20)
                        .build(),
                )
                .managed_draining(ManagedDraining::Disabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let cp = out.capacity_provider().unwrap();
    assert_eq!(cp.update_status(), Some(&CapacityProviderUpdateStatus::UpdateComplete));
    assert_eq!(cp.status(), Some(&CapacityProviderStatus::Active));
    let provider = cp.auto_scaling_group_provider().unwrap();
    // The group is not something an update can change.
    assert_eq!(provider.auto_scaling_group_arn(), group);
    let scaling = provider.managed_scaling().unwrap();
    assert_eq!(scaling.status(), Some(&ManagedScalingStatus::Enabled));
    assert_eq!(scaling.target_capacity(), Some(50));
    assert_eq!(scaling.maximum_scaling_step_size(), Some(20));
    assert_eq!(scaling.minimum_scaling_step_size(), Some(1));
    assert_eq!(scaling.instance_warmup_period(), Some(300));
    assert_eq!(provider.managed_draining(), Some(&ManagedDraining::Disabled));
    // What the update left out stays as it was.
    assert_eq!(provider.managed_termination_protection(), Some(&ManagedTerminationProtection::Disabled));
    // Stored: describe shows the same.
    let described = describe_one(&ecs, &arn(&name)).await;
    assert_eq!(described.auto_scaling_group_provider(), Some(provider));
    assert_eq!(described.update_status(), Some(&CapacityProviderUpdateStatus::UpdateComplete));

    // A second update changes only what it names.
    let out = ecs
        .update_capacity_provider()
        .name(&name)
        .auto_scaling_group_provider(
            AutoScalingGroupProviderUpdate::builder().managed_draining(ManagedDraining::Enabled).build(),
        )
        .send()
        .await
        .unwrap();
    let provider = out.capacity_provider().unwrap().auto_scaling_group_provider().unwrap();
    assert_eq!(provider.managed_draining(), Some(&ManagedDraining::Enabled));
    assert_eq!(provider.managed_scaling().unwrap().target_capacity(), Some(50));

    // Missing, deleted, or out of range.
    let (code_, message) = error(ecs.update_capacity_provider().name("cp-missing").send().await);
    assert_eq!(code_, "ClientException");
    assert!(message.contains("does not exist"), "{message}");
    let raw = berth
        .call(
            "UpdateCapacityProvider",
            &format!(
                r#"{{"name": "{name}", "autoScalingGroupProvider": {{"managedScaling": {{"targetCapacity": 0}}}}}}"#
            ),
        )
        .await;
    raw.assert_error(400, "InvalidParameterException");
    let raw = berth
        .call(
            "UpdateCapacityProvider",
            &format!(r#"{{"name": "{name}", "autoScalingGroupProvider": {{"autoScalingGroupArn": "x"}}}}"#),
        )
        .await;
    raw.assert_error(400, "SerializationException");
    ecs.delete_capacity_provider().capacity_provider(&name).send().await.unwrap();
    assert_eq!(code(ecs.update_capacity_provider().name(&name).send().await), "ClientException");
}

#[tokio::test]
async fn delete_makes_a_provider_inactive() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let name = unique("cp");
    create(&ecs, &name).await;
    let out = ecs.delete_capacity_provider().capacity_provider(arn(&name)).send().await.unwrap();
    let cp = out.capacity_provider().unwrap();
    assert_eq!(cp.name(), Some(name.as_str()));
    assert_eq!(cp.status(), Some(&CapacityProviderStatus::Inactive));
    assert_eq!(cp.update_status(), Some(&CapacityProviderUpdateStatus::DeleteComplete));
    // Still described by name and by ARN, INACTIVE.
    for reference in [name.clone(), arn(&name)] {
        let described = describe_one(&ecs, &reference).await;
        assert_eq!(described.status(), Some(&CapacityProviderStatus::Inactive));
        assert_eq!(described.update_status(), Some(&CapacityProviderUpdateStatus::DeleteComplete));
    }
    // Deleting it again, or one that never was.
    for reference in [name.as_str(), "cp-never"] {
        let (code_, message) = error(ecs.delete_capacity_provider().capacity_provider(reference).send().await);
        assert_eq!(code_, "ClientException", "{reference}");
        assert!(message.contains("does not exist"), "{message}");
    }
    // An INACTIVE provider cannot be given to a cluster.
    let (code_, message) = error(ecs.create_cluster().cluster_name(unique("c")).capacity_providers(&name).send().await);
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains(&name), "{message}");
}

#[tokio::test]
async fn a_provider_in_use_by_a_cluster_cannot_be_deleted() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let name = unique("cp");
    create(&ecs, &name).await;
    let cluster = unique("c");
    ecs.create_cluster().cluster_name(&cluster).send().await.unwrap();
    let out = ecs
        .put_cluster_capacity_providers()
        .cluster(&cluster)
        .capacity_providers(&name)
        .capacity_providers("FARGATE")
        .default_capacity_provider_strategy(strategy(&name, 1, 1))
        .send()
        .await
        .unwrap();
    let c = out.cluster().unwrap();
    assert_eq!(c.capacity_providers(), [name.clone(), "FARGATE".to_owned()]);
    assert_eq!(c.default_capacity_provider_strategy()[0].capacity_provider(), name);

    let (code_, message) = error(ecs.delete_capacity_provider().capacity_provider(&name).send().await);
    assert_eq!(code_, "ResourceInUseException");
    assert!(message.contains(&cluster), "{message}");
    assert_eq!(describe_one(&ecs, &name).await.status(), Some(&CapacityProviderStatus::Active));

    // Taken off the cluster, it can go.
    ecs.put_cluster_capacity_providers()
        .cluster(&cluster)
        .set_capacity_providers(Some(vec![]))
        .set_default_capacity_provider_strategy(Some(vec![]))
        .send()
        .await
        .unwrap();
    let out = ecs.delete_capacity_provider().capacity_provider(&name).send().await.unwrap();
    assert_eq!(out.capacity_provider().unwrap().status(), Some(&CapacityProviderStatus::Inactive));

    // A cluster that names the provider by ARN uses it just the same.
    let by_arn = unique("cp");
    create(&ecs, &by_arn).await;
    let out = ecs
        .put_cluster_capacity_providers()
        .cluster(&cluster)
        .capacity_providers(arn(&by_arn))
        .set_default_capacity_provider_strategy(Some(vec![]))
        .send()
        .await
        .unwrap();
    // The cluster lists it by name, as AWS does.
    assert_eq!(out.cluster().unwrap().capacity_providers(), std::slice::from_ref(&by_arn));
    // So does its default strategy, and a provider may be listed once only.
    let out = ecs
        .put_cluster_capacity_providers()
        .cluster(&cluster)
        .capacity_providers(arn(&by_arn))
        .default_capacity_provider_strategy(strategy(&arn(&by_arn), 0, 1))
        .send()
        .await
        .unwrap();
    assert_eq!(out.cluster().unwrap().default_capacity_provider_strategy()[0].capacity_provider(), by_arn);
    assert_eq!(
        code(
            ecs.put_cluster_capacity_providers()
                .cluster(&cluster)
                .capacity_providers(&by_arn)
                .capacity_providers(arn(&by_arn))
                .set_default_capacity_provider_strategy(Some(vec![]))
                .send()
                .await
        ),
        "InvalidParameterException"
    );
    assert_eq!(code(ecs.delete_capacity_provider().capacity_provider(&by_arn).send().await), "ResourceInUseException");

    // A deleted cluster holds no provider.
    let via_create = unique("cp");
    create(&ecs, &via_create).await;
    let short_lived = unique("c");
    ecs.create_cluster().cluster_name(&short_lived).capacity_providers(&via_create).send().await.unwrap();
    assert_eq!(
        code(ecs.delete_capacity_provider().capacity_provider(&via_create).send().await),
        "ResourceInUseException"
    );
    ecs.delete_cluster().cluster(&short_lived).send().await.unwrap();
    ecs.delete_capacity_provider().capacity_provider(&via_create).send().await.unwrap();
}

#[tokio::test]
async fn clusters_take_known_providers_and_a_strategy_over_them() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let own = unique("cp");
    create(&ecs, &own).await;
    let name = unique("c");
    let out = ecs
        .create_cluster()
        .cluster_name(&name)
        .capacity_providers("FARGATE")
        .capacity_providers("FARGATE_SPOT")
        .capacity_providers(&own)
        .default_capacity_provider_strategy(strategy("FARGATE", 1, 1))
        .default_capacity_provider_strategy(strategy("FARGATE_SPOT", 0, 4))
        .send()
        .await
        .unwrap();
    let c = out.cluster().unwrap();
    assert_eq!(c.capacity_providers(), ["FARGATE".to_owned(), "FARGATE_SPOT".to_owned(), own.clone()]);
    let items: Vec<(&str, i32, i32)> =
        c.default_capacity_provider_strategy().iter().map(|i| (i.capacity_provider(), i.base(), i.weight())).collect();
    assert_eq!(items, [("FARGATE", 1, 1), ("FARGATE_SPOT", 0, 4)]);
    let described = ecs.describe_clusters().clusters(&name).send().await.unwrap();
    assert_eq!(described.clusters()[0].capacity_providers().len(), 3);
    assert_eq!(described.clusters()[0].default_capacity_provider_strategy().len(), 2);

    // An unknown provider, on create and on put.
    let (code_, message) =
        error(ecs.create_cluster().cluster_name(unique("c")).capacity_providers("cp-unknown").send().await);
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("cp-unknown"), "{message}");
    let (code_, _) = error(
        ecs.put_cluster_capacity_providers()
            .cluster(&name)
            .capacity_providers("cp-unknown")
            .set_default_capacity_provider_strategy(Some(vec![]))
            .send()
            .await,
    );
    assert_eq!(code_, "InvalidParameterException");
    // A strategy naming a provider the cluster does not have.
    let (code_, message) = error(
        ecs.create_cluster()
            .cluster_name(unique("c"))
            .capacity_providers("FARGATE")
            .default_capacity_provider_strategy(strategy("FARGATE_SPOT", 0, 1))
            .send()
            .await,
    );
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("not associated with the cluster"), "{message}");
    let (code_, message) = error(
        ecs.put_cluster_capacity_providers()
            .cluster(&name)
            .capacity_providers("FARGATE")
            .default_capacity_provider_strategy(strategy(&own, 0, 1))
            .send()
            .await,
    );
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("not associated with the cluster"), "{message}");
    // The same provider twice in a strategy.
    let (code_, message) = error(
        ecs.put_cluster_capacity_providers()
            .cluster(&name)
            .capacity_providers("FARGATE")
            .default_capacity_provider_strategy(strategy("FARGATE", 0, 1))
            .default_capacity_provider_strategy(strategy("FARGATE", 0, 2))
            .send()
            .await,
    );
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("duplicate"), "{message}");
    // Weights and bases within AWS's ranges.
    let raw = berth
        .call(
            "PutClusterCapacityProviders",
            &format!(
                r#"{{"cluster": "{name}", "capacityProviders": ["FARGATE"], "defaultCapacityProviderStrategy": [{{"capacityProvider": "FARGATE", "weight": 1001}}]}}"#
            ),
        )
        .await;
    raw.assert_error(400, "InvalidParameterException");
    // A missing cluster.
    assert_eq!(
        code(
            ecs.put_cluster_capacity_providers()
                .cluster("c-missing")
                .capacity_providers("FARGATE")
                .set_default_capacity_provider_strategy(Some(vec![]))
                .send()
                .await
        ),
        "ClusterNotFoundException"
    );
    // None of the refused calls changed the cluster.
    let described = ecs.describe_clusters().clusters(&name).send().await.unwrap();
    assert_eq!(described.clusters()[0].capacity_providers().len(), 3);
    assert_eq!(described.clusters()[0].default_capacity_provider_strategy().len(), 2);
}
