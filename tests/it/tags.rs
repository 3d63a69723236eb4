//! Tags through aws-sdk-ecs: TagResource, UntagResource and ListTagsForResource on clusters,
//! task definition revisions and capacity providers; order, overwrite, AWS's limits and rules,
//! and the errors for missing or malformed resource ARNs.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    AutoScalingGroupProvider, CapacityProviderField, ClusterField, ContainerDefinition, Tag, TaskDefinitionField,
};

use serde_json::json;

use crate::common::{Berth, code, error, unique};

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// A resource's tags as (key, value) pairs, in order.
async fn tags_of(ecs: &Client, arn: &str) -> Vec<(String, String)> {
    let out = ecs.list_tags_for_resource().resource_arn(arn).send().await.unwrap();
    out.tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default().to_owned(), t.value().unwrap_or_default().to_owned()))
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

async fn cluster(ecs: &Client) -> String {
    let out = ecs.create_cluster().cluster_name(unique("c")).send().await.unwrap();
    out.cluster().unwrap().cluster_arn().unwrap().to_owned()
}

#[tokio::test]
async fn cluster_tags_keep_their_order() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let name = unique("c");
    let created = ecs.create_cluster().cluster_name(&name).tags(tag("a", "1")).send().await.unwrap();
    let arn = created.cluster().unwrap().cluster_arn().unwrap().to_owned();
    // Tags given at creation are the resource's tags.
    assert_eq!(tags_of(&ecs, &arn).await, pairs(&[("a", "1")]));

    ecs.tag_resource().resource_arn(&arn).tags(tag("b", "2")).tags(tag("c", "3")).send().await.unwrap();
    assert_eq!(tags_of(&ecs, &arn).await, pairs(&[("a", "1"), ("b", "2"), ("c", "3")]));
    // Overwriting a value keeps the tag where it was; keys are case-sensitive.
    ecs.tag_resource().resource_arn(&arn).tags(tag("a", "changed")).tags(tag("A", "upper")).send().await.unwrap();
    assert_eq!(tags_of(&ecs, &arn).await, pairs(&[("a", "changed"), ("b", "2"), ("c", "3"), ("A", "upper")]));
    // An empty value is a value.
    ecs.tag_resource().resource_arn(&arn).tags(tag("c", "")).send().await.unwrap();
    assert_eq!(tags_of(&ecs, &arn).await[2], ("c".to_owned(), String::new()));
    // Untagging ignores keys the resource does not have.
    ecs.untag_resource().resource_arn(&arn).tag_keys("b").tag_keys("never").send().await.unwrap();
    assert_eq!(tags_of(&ecs, &arn).await, pairs(&[("a", "changed"), ("c", ""), ("A", "upper")]));
    // DescribeClusters shows the same tags with include=TAGS.
    let described = ecs.describe_clusters().clusters(&name).include(ClusterField::Tags).send().await.unwrap();
    let keys: Vec<&str> = described.clusters()[0].tags().iter().filter_map(Tag::key).collect();
    assert_eq!(keys, ["a", "c", "A"]);
    // A key removed and added again goes to the end.
    ecs.untag_resource().resource_arn(&arn).tag_keys("a").send().await.unwrap();
    ecs.tag_resource().resource_arn(&arn).tags(tag("a", "back")).send().await.unwrap();
    assert_eq!(tags_of(&ecs, &arn).await, pairs(&[("c", ""), ("A", "upper"), ("a", "back")]));
    ecs.untag_resource().resource_arn(&arn).tag_keys("a").tag_keys("c").tag_keys("A").send().await.unwrap();
    assert!(tags_of(&ecs, &arn).await.is_empty());
    // Other clusters' tags are their own.
    let other = cluster(&ecs).await;
    assert!(tags_of(&ecs, &other).await.is_empty());
}

#[tokio::test]
async fn task_definition_revisions_have_their_own_tags() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let family = unique("td");
    let register = |t: Tag| {
        ecs.register_task_definition()
            .family(&family)
            .container_definitions(ContainerDefinition::builder().name("app").image("busybox").memory(64).build())
            .tags(t)
            .send()
    };
    let first = register(tag("rev", "1")).await.unwrap();
    let first_arn = first.task_definition().unwrap().task_definition_arn().unwrap().to_owned();
    assert_eq!(first.tags().len(), 1);
    let second = register(tag("rev", "2")).await.unwrap();
    let second_arn = second.task_definition().unwrap().task_definition_arn().unwrap().to_owned();
    assert!(second_arn.ends_with(":2"), "{second_arn}");

    assert_eq!(tags_of(&ecs, &first_arn).await, pairs(&[("rev", "1")]));
    assert_eq!(tags_of(&ecs, &second_arn).await, pairs(&[("rev", "2")]));
    ecs.tag_resource().resource_arn(&first_arn).tags(tag("env", "dev")).send().await.unwrap();
    assert_eq!(tags_of(&ecs, &first_arn).await, pairs(&[("rev", "1"), ("env", "dev")]));
    assert_eq!(tags_of(&ecs, &second_arn).await, pairs(&[("rev", "2")]));
    let described = ecs
        .describe_task_definition()
        .task_definition(format!("{family}:1"))
        .include(TaskDefinitionField::Tags)
        .send()
        .await
        .unwrap();
    assert_eq!(described.tags().len(), 2);
    ecs.untag_resource().resource_arn(&first_arn).tag_keys("rev").send().await.unwrap();
    assert_eq!(tags_of(&ecs, &first_arn).await, pairs(&[("env", "dev")]));

    // A deregistered (INACTIVE) revision still exists and can be tagged.
    ecs.deregister_task_definition().task_definition(&second_arn).send().await.unwrap();
    ecs.tag_resource().resource_arn(&second_arn).tags(tag("gone", "yes")).send().await.unwrap();
    assert_eq!(tags_of(&ecs, &second_arn).await, pairs(&[("rev", "2"), ("gone", "yes")]));

    // A revision that does not exist.
    let third = first_arn.replace(":1", ":3");
    assert_eq!(code(ecs.list_tags_for_resource().resource_arn(&third).send().await), "ResourceNotFoundException");
    assert_eq!(
        code(ecs.tag_resource().resource_arn(&third).tags(tag("k", "v")).send().await),
        "ResourceNotFoundException"
    );
}

#[tokio::test]
async fn capacity_provider_tags() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let name = unique("cp");
    let created = ecs
        .create_capacity_provider()
        .name(&name)
        .auto_scaling_group_provider(
            AutoScalingGroupProvider::builder()
                .auto_scaling_group_arn(format!(
                    "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:1:autoScalingGroupName/{name}"
                ))
                .build()
                .unwrap(),
        )
        .tags(tag("owner", "me"))
        .send()
        .await
        .unwrap();
    let arn = created.capacity_provider().unwrap().capacity_provider_arn().unwrap().to_owned();
    assert_eq!(arn, format!("arn:aws:ecs:us-east-1:000000000000:capacity-provider/{name}"));
    assert_eq!(tags_of(&ecs, &arn).await, pairs(&[("owner", "me")]));
    ecs.tag_resource().resource_arn(&arn).tags(tag("tier", "spot")).tags(tag("owner", "you")).send().await.unwrap();
    assert_eq!(tags_of(&ecs, &arn).await, pairs(&[("owner", "you"), ("tier", "spot")]));
    let described = ecs
        .describe_capacity_providers()
        .capacity_providers(&name)
        .include(CapacityProviderField::Tags)
        .send()
        .await
        .unwrap();
    let tags = described.capacity_providers()[0].tags();
    assert_eq!(tags.iter().filter_map(Tag::value).collect::<Vec<_>>(), ["you", "spot"]);
    ecs.untag_resource().resource_arn(&arn).tag_keys("owner").send().await.unwrap();
    assert_eq!(tags_of(&ecs, &arn).await, pairs(&[("tier", "spot")]));
    // The built-in providers are not stored resources that berth can tag.
    let fargate = "arn:aws:ecs:us-east-1:000000000000:capacity-provider/FARGATE";
    assert_eq!(
        code(ecs.tag_resource().resource_arn(fargate).tags(tag("k", "v")).send().await),
        "ResourceNotFoundException"
    );
}

/// Task sets are taggable like any ECS resource: at CreateTaskSet, then with TagResource and
/// UntagResource, read with ListTagsForResource and DescribeTaskSets' TAGS; a deleted one is gone.
#[tokio::test]
async fn task_set_tags() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let td = json!({"family": "tagged-set", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64}]});
    berth.call("RegisterTaskDefinition", &td.to_string()).await;
    let service = json!({"serviceName": "ext", "taskDefinition": "tagged-set", "desiredCount": 0,
        "deploymentController": {"type": "EXTERNAL"}});
    assert_eq!(berth.call("CreateService", &service.to_string()).await.status, 200);
    let created = ecs
        .create_task_set()
        .cluster("default")
        .service("ext")
        .task_definition("tagged-set")
        .tags(tag("team", "blue"))
        .send()
        .await
        .unwrap();
    let set = created.task_set().unwrap();
    let arn = set.task_set_arn().unwrap().to_owned();
    // Neither a launch type nor a strategy, and the cluster has no default: EC2, as AWS answers.
    assert_eq!(set.launch_type().map(|l| l.as_str()), Some("EC2"));
    assert_eq!(tags_of(&ecs, &arn).await, pairs(&[("team", "blue")]));
    ecs.tag_resource().resource_arn(&arn).tags(tag("tier", "web")).send().await.unwrap();
    ecs.untag_resource().resource_arn(&arn).tag_keys("team").send().await.unwrap();
    assert_eq!(tags_of(&ecs, &arn).await, pairs(&[("tier", "web")]));
    let described = ecs
        .describe_task_sets()
        .cluster("default")
        .service("ext")
        .include(aws_sdk_ecs::types::TaskSetField::Tags)
        .send()
        .await
        .unwrap();
    assert_eq!(described.task_sets()[0].tags(), [tag("tier", "web")]);

    ecs.delete_task_set().cluster("default").service("ext").task_set(&arn).send().await.unwrap();
    crate::fixtures::until("the deleted task set to go", crate::fixtures::secs(30), || async {
        let out = ecs.describe_task_sets().cluster("default").service("ext").send().await.unwrap();
        if out.task_sets().is_empty() { Ok(()) } else { Err(out) }
    })
    .await;
    assert_eq!(code(ecs.list_tags_for_resource().resource_arn(&arn).send().await), "ResourceNotFoundException");
}

#[tokio::test]
async fn reserved_prefix_and_limits() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let arn = cluster(&ecs).await;
    ecs.tag_resource().resource_arn(&arn).tags(tag("keep", "me")).send().await.unwrap();

    // aws: in any case is AWS's; the whole call is refused.
    for key in ["aws:owner", "AWS:owner", "Aws:x"] {
        let (code_, message) =
            error(ecs.tag_resource().resource_arn(&arn).tags(tag("fine", "1")).tags(tag(key, "v")).send().await);
        assert_eq!(code_, "InvalidParameterException", "{key}");
        assert!(message.contains("aws:"), "{message}");
    }
    // "aws" without the colon is an ordinary key.
    ecs.tag_resource().resource_arn(&arn).tags(tag("awsome", "yes")).send().await.unwrap();
    assert_eq!(tags_of(&ecs, &arn).await, pairs(&[("keep", "me"), ("awsome", "yes")]));
    let (code_, _) = error(ecs.create_cluster().cluster_name(unique("c")).tags(tag("aws:x", "y")).send().await);
    assert_eq!(code_, "InvalidParameterException");

    // Keys of 1 to 128 characters, values up to 256, from AWS's character set.
    let (code_, message) = error(ecs.tag_resource().resource_arn(&arn).tags(tag(&"k".repeat(129), "v")).send().await);
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("tags[0].key"), "{message}");
    assert!(message.contains("length"), "{message}");
    let (code_, message) = error(ecs.tag_resource().resource_arn(&arn).tags(tag("k", &"v".repeat(257))).send().await);
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("tags[0].value"), "{message}");
    assert_eq!(
        code(ecs.tag_resource().resource_arn(&arn).tags(tag("", "v")).send().await),
        "InvalidParameterException"
    );
    assert_eq!(
        code(ecs.tag_resource().resource_arn(&arn).tags(tag("hash#key", "v")).send().await),
        "InvalidParameterException"
    );
    let raw =
        berth.call("TagResource", &format!(r#"{{"resourceArn": "{arn}", "tags": [{{"value": "no key"}}]}}"#)).await;
    raw.assert_error(400, "InvalidParameterException");
    let long_key = "k".repeat(128);
    let long_value = "v".repeat(256);
    ecs.tag_resource()
        .resource_arn(&arn)
        .tags(tag(&long_key, &long_value))
        .tags(tag("with space:/=+-@._", "ü ñ"))
        .send()
        .await
        .unwrap();
    let now = tags_of(&ecs, &arn).await;
    assert_eq!(now.len(), 4);
    assert_eq!(now[2], (long_key.clone(), long_value));
    assert_eq!(now[3], ("with space:/=+-@._".to_owned(), "ü ñ".to_owned()));

    // At most 50 tags on a resource: fill it to 50, then one more is refused.
    let mut call = ecs.tag_resource().resource_arn(&arn);
    for i in 0..46 {
        call = call.tags(tag(&format!("k{i:02}"), "v"));
    }
    call.send().await.unwrap();
    assert_eq!(tags_of(&ecs, &arn).await.len(), 50);
    let (code_, message) = error(ecs.tag_resource().resource_arn(&arn).tags(tag("one-more", "v")).send().await);
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("50"), "{message}");
    // The refused call changed nothing, not even values it would have overwritten.
    let (code_, _) = error(
        ecs.tag_resource().resource_arn(&arn).tags(tag("keep", "overwritten")).tags(tag("one-more", "v")).send().await,
    );
    assert_eq!(code_, "InvalidParameterException");
    let now = tags_of(&ecs, &arn).await;
    assert_eq!(now.len(), 50);
    assert_eq!(now[0], ("keep".to_owned(), "me".to_owned()));
    // Overwriting at the limit is fine; so is adding after removing.
    ecs.tag_resource().resource_arn(&arn).tags(tag("keep", "still")).send().await.unwrap();
    ecs.untag_resource().resource_arn(&arn).tag_keys("k00").send().await.unwrap();
    ecs.tag_resource().resource_arn(&arn).tags(tag("one-more", "v")).send().await.unwrap();
    let now = tags_of(&ecs, &arn).await;
    assert_eq!(now.len(), 50);
    assert_eq!(now[0], ("keep".to_owned(), "still".to_owned()));
    assert_eq!(now[49], ("one-more".to_owned(), "v".to_owned()));

    // More than 50 in one call is refused by the model; 50 at creation plus one later by the total.
    let mut create = ecs.create_cluster().cluster_name(unique("c"));
    for i in 0..51 {
        create = create.tags(tag(&format!("k{i:02}"), "v"));
    }
    let (code_, message) = error(create.send().await);
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("tags"), "{message}");
    let mut create = ecs.create_cluster().cluster_name(unique("c"));
    for i in 0..50 {
        create = create.tags(tag(&format!("k{i:02}"), "v"));
    }
    let full = create.send().await.unwrap().cluster().unwrap().cluster_arn().unwrap().to_owned();
    assert_eq!(tags_of(&ecs, &full).await.len(), 50);
    assert_eq!(
        code(ecs.tag_resource().resource_arn(&full).tags(tag("k50", "v")).send().await),
        "InvalidParameterException"
    );
}

#[tokio::test]
async fn missing_and_malformed_resources() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let existing = cluster(&ecs).await;
    let missing = [
        "arn:aws:ecs:us-east-1:000000000000:cluster/never".to_owned(),
        "arn:aws:ecs:us-east-1:000000000000:capacity-provider/cp-never".to_owned(),
        "arn:aws:ecs:us-east-1:000000000000:task-definition/never:1".to_owned(),
        "arn:aws:ecs:us-east-1:000000000000:service/c/s".to_owned(),
        "arn:aws:ecs:us-east-1:000000000000:task-set/c/s/ecs-svc/1234567890123456789".to_owned(),
        "arn:aws:ecs:us-east-1:000000000000:task/c/0123456789abcdef".to_owned(),
        "arn:aws:ecs:us-east-1:000000000000:container-instance/c/0123456789abcdef".to_owned(),
        // An existing cluster's ARN with another account, or another region than the call's.
        existing.replace("000000000000", "111111111111"),
        existing.replace("us-east-1", "eu-west-1"),
    ];
    for arn in &missing {
        assert_eq!(
            code(ecs.list_tags_for_resource().resource_arn(arn).send().await),
            "ResourceNotFoundException",
            "{arn}"
        );
        assert_eq!(
            code(ecs.tag_resource().resource_arn(arn).tags(tag("k", "v")).send().await),
            "ResourceNotFoundException",
            "{arn}"
        );
        assert_eq!(
            code(ecs.untag_resource().resource_arn(arn).tag_keys("k").send().await),
            "ResourceNotFoundException",
            "{arn}"
        );
    }
    let malformed = [
        "not-an-arn",
        "cluster/x",
        "arn:aws:ecs",
        "arn:aws:iam::000000000000:role/x",
        "arn:aws:ecs:us-east-1:000000000000:widget/x",
    ];
    for arn in malformed {
        let (code_, message) = error(ecs.list_tags_for_resource().resource_arn(arn).send().await);
        assert_eq!(code_, "InvalidParameterException", "{arn}");
        assert!(!message.is_empty());
        assert_eq!(
            code(ecs.tag_resource().resource_arn(arn).tags(tag("k", "v")).send().await),
            "InvalidParameterException",
            "{arn}"
        );
        assert_eq!(
            code(ecs.untag_resource().resource_arn(arn).tag_keys("k").send().await),
            "InvalidParameterException",
            "{arn}"
        );
    }
    // The resource ARN and the tags are required.
    berth.call("TagResource", r#"{"tags": []}"#).await.assert_error(400, "InvalidParameterException");
    berth
        .call("TagResource", &format!(r#"{{"resourceArn": "{existing}"}}"#))
        .await
        .assert_error(400, "InvalidParameterException");
    berth
        .call("UntagResource", &format!(r#"{{"resourceArn": "{existing}"}}"#))
        .await
        .assert_error(400, "InvalidParameterException");
    berth.call("ListTagsForResource", "{}").await.assert_error(400, "InvalidParameterException");

    // A cluster of another region is found in its own region.
    let west = berth.client_in("eu-west-1");
    let created = west.create_cluster().cluster_name("regional").tags(tag("r", "west")).send().await.unwrap();
    let west_arn = created.cluster().unwrap().cluster_arn().unwrap().to_owned();
    assert_eq!(tags_of(&west, &west_arn).await, pairs(&[("r", "west")]));
    assert_eq!(code(ecs.list_tags_for_resource().resource_arn(&west_arn).send().await), "ResourceNotFoundException");
}
