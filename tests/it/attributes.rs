//! Custom attributes through aws-sdk-ecs: PutAttributes, DeleteAttributes, ListAttributes on
//! container instances; unknown targets (TargetNotFoundException); names, values and clusters
//! checked as on AWS; attributes in DescribeContainerInstances, the query language and placement.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{Attribute, TargetType};

use crate::common::{Berth, code, error, unique};

fn attribute(name: &str, value: Option<&str>, target: Option<&str>) -> Attribute {
    Attribute::builder()
        .name(name)
        .set_value(value.map(str::to_owned))
        .set_target_id(target.map(str::to_owned))
        .target_type(TargetType::ContainerInstance)
        .build()
        .unwrap()
}

async fn cluster(ecs: &Client) -> String {
    let name = unique("c");
    ecs.create_cluster().cluster_name(&name).send().await.unwrap();
    name
}

async fn listed(ecs: &Client, cluster: &str) -> usize {
    let out = ecs.list_attributes().cluster(cluster).target_type(TargetType::ContainerInstance).send().await.unwrap();
    assert_eq!(out.next_token(), None);
    out.attributes().len()
}

#[tokio::test]
async fn attributes_mark_instances_for_queries_and_placement() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let instances = ecs.list_container_instances().send().await.unwrap().container_instance_arns().to_vec();
    let id = instances[1].rsplit('/').next().unwrap();
    ecs.put_attributes().attributes(attribute("stack", Some("prod"), Some(id))).send().await.unwrap();
    ecs.put_attributes().attributes(attribute("gpu", None, Some(&instances[1]))).send().await.unwrap();
    assert_eq!(listed(&ecs, "default").await, 2);
    let described = ecs.describe_container_instances().container_instances(&instances[1]).send().await.unwrap();
    let attributes = described.container_instances()[0].attributes();
    assert!(attributes.iter().any(|a| a.name() == "stack" && a.value() == Some("prod")), "{attributes:?}");
    let prod =
        ecs.list_container_instances().filter("attribute:stack == prod and attribute:gpu exists").send().await.unwrap();
    assert_eq!(prod.container_instance_arns(), &instances[1..2]);
    let not_prod = ecs.list_container_instances().filter("attribute:stack != prod").send().await.unwrap();
    assert_eq!(not_prod.container_instance_arns(), &instances[..1]);
    ecs.delete_attributes().attributes(attribute("stack", None, Some(&instances[1]))).send().await.unwrap();
    assert_eq!(listed(&ecs, "default").await, 1);
    assert!(
        ecs.list_container_instances()
            .filter("attribute:stack == prod")
            .send()
            .await
            .unwrap()
            .container_instance_arns()
            .is_empty()
    );
}

#[tokio::test]
async fn every_target_is_unknown() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let name = cluster(&ecs).await;
    let instance =
        format!("arn:aws:ecs:us-east-1:000000000000:container-instance/{name}/0123456789abcdef0123456789abcdef");
    for target in [instance.as_str(), "0123456789abcdef0123456789abcdef"] {
        let (code_, message) = error(
            ecs.put_attributes().cluster(&name).attributes(attribute("stack", Some("prod"), Some(target))).send().await,
        );
        assert_eq!(code_, "TargetNotFoundException", "{target}");
        assert!(message.contains(target), "{message}");
        let (code_, _) = error(
            ecs.delete_attributes().cluster(&name).attributes(attribute("stack", None, Some(target))).send().await,
        );
        assert_eq!(code_, "TargetNotFoundException", "{target}");
    }
    // An attribute without a value is fine until its target is looked up.
    assert_eq!(
        code(ecs.put_attributes().cluster(&name).attributes(attribute("flag", None, Some(&instance))).send().await),
        "TargetNotFoundException"
    );
    // By the cluster's ARN just the same.
    let arn = format!("arn:aws:ecs:us-east-1:000000000000:cluster/{name}");
    assert_eq!(
        code(ecs.put_attributes().cluster(&arn).attributes(attribute("a", Some("b"), Some(&instance))).send().await),
        "TargetNotFoundException"
    );
    // Nothing was stored.
    assert_eq!(listed(&ecs, &name).await, 0);
}

#[tokio::test]
async fn attributes_need_an_existing_cluster() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let put = |cluster: Option<&str>| {
        ecs.put_attributes()
            .set_cluster(cluster.map(str::to_owned))
            .attributes(attribute("stack", Some("prod"), Some("0123456789abcdef")))
            .send()
    };
    assert_eq!(code(put(Some("c-missing")).await), "ClusterNotFoundException");
    // No cluster is the default cluster, which does not exist yet.
    assert_eq!(code(put(None).await), "ClusterNotFoundException");
    let raw = berth
        .call("DeleteAttributes", r#"{"cluster": "c-missing", "attributes": [{"name": "a", "targetId": "x"}]}"#)
        .await;
    raw.assert_error(400, "ClusterNotFoundException");
    ecs.create_cluster().send().await.unwrap();
    assert_eq!(code(put(None).await), "TargetNotFoundException");
    // A deleted cluster is not found either.
    let name = cluster(&ecs).await;
    ecs.delete_cluster().cluster(&name).send().await.unwrap();
    assert_eq!(code(put(Some(&name)).await), "ClusterNotFoundException");
}

#[tokio::test]
async fn names_values_and_counts_are_checked() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let name = cluster(&ecs).await;
    let target = Some("0123456789abcdef");
    let long = "x".repeat(129);
    for bad in ["", "has space", "semi;colon", "colon:name", "at@sign", long.as_str()] {
        let (code_, message) =
            error(ecs.put_attributes().cluster(&name).attributes(attribute(bad, Some("v"), target)).send().await);
        assert_eq!(code_, "InvalidParameterException", "name {bad:?}");
        assert!(message.contains("Attribute name"), "{message}");
        assert_eq!(
            code(ecs.delete_attributes().cluster(&name).attributes(attribute(bad, None, target)).send().await),
            "InvalidParameterException",
            "name {bad:?}"
        );
    }
    for bad in ["", " leading", "trailing ", "semi;colon", "hash#", long.as_str()] {
        let (code_, message) =
            error(ecs.put_attributes().cluster(&name).attributes(attribute("ok", Some(bad), target)).send().await);
        assert_eq!(code_, "InvalidParameterException", "value {bad:?}");
        assert!(message.contains("Attribute value"), "{message}");
    }
    // Every character AWS allows gets past the checks, to the missing target.
    let name_ok = format!("ecs.os-type/x\\y_Z9{}", "n".repeat(128 - 18));
    assert_eq!(name_ok.len(), 128);
    let value_ok = format!("a b@c:d/e\\f.g-h_I0{}", "v".repeat(128 - 18));
    assert_eq!(value_ok.len(), 128);
    assert_eq!(
        code(ecs.put_attributes().cluster(&name).attributes(attribute(&name_ok, Some(&value_ok), target)).send().await),
        "TargetNotFoundException"
    );
    // A target is needed.
    let (code_, message) =
        error(ecs.put_attributes().cluster(&name).attributes(attribute("ok", Some("v"), None)).send().await);
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("targetId"), "{message}");
    // Up to 10 attributes in one call.
    let mut call = ecs.put_attributes().cluster(&name);
    for i in 0..11 {
        call = call.attributes(attribute(&format!("a{i}"), Some("v"), target));
    }
    let (code_, message) = error(call.send().await);
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("10"), "{message}");
    let mut call = ecs.put_attributes().cluster(&name);
    for i in 0..10 {
        call = call.attributes(attribute(&format!("a{i}"), Some("v"), target));
    }
    assert_eq!(code(call.send().await), "TargetNotFoundException");
    // The model's rules: a name is required, the target type is container-instance.
    let raw = berth
        .call(
            "PutAttributes",
            &format!(r#"{{"cluster": "{name}", "attributes": [{{"value": "v", "targetId": "x"}}]}}"#),
        )
        .await;
    let message = raw.assert_error(400, "InvalidParameterException");
    assert!(message.contains("attributes[0].name"), "{message}");
    let raw = berth
        .call(
            "PutAttributes",
            &format!(
                r#"{{"cluster": "{name}", "attributes": [{{"name": "a", "targetId": "x", "targetType": "instance"}}]}}"#
            ),
        )
        .await;
    raw.assert_error(400, "InvalidParameterException");
    berth
        .call("PutAttributes", &format!(r#"{{"cluster": "{name}"}}"#))
        .await
        .assert_error(400, "InvalidParameterException");
    assert_eq!(listed(&ecs, &name).await, 0);
}

#[tokio::test]
async fn list_attributes_of_a_cluster() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let name = cluster(&ecs).await;
    assert_eq!(listed(&ecs, &name).await, 0);
    assert_eq!(listed(&ecs, &format!("arn:aws:ecs:us-east-1:000000000000:cluster/{name}")).await, 0);
    let filtered = ecs
        .list_attributes()
        .cluster(&name)
        .target_type(TargetType::ContainerInstance)
        .attribute_name("ecs.os-type")
        .attribute_value("linux")
        .max_results(100)
        .send()
        .await
        .unwrap();
    assert!(filtered.attributes().is_empty());
    let paged: Vec<Attribute> = ecs
        .list_attributes()
        .cluster(&name)
        .target_type(TargetType::ContainerInstance)
        .max_results(1)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert!(paged.is_empty());

    // A missing, deleted, or default-but-absent cluster.
    let list = |cluster: Option<&str>| {
        ecs.list_attributes().set_cluster(cluster.map(str::to_owned)).target_type(TargetType::ContainerInstance).send()
    };
    assert_eq!(code(list(Some("c-missing")).await), "ClusterNotFoundException");
    assert_eq!(code(list(None).await), "ClusterNotFoundException");
    let gone = cluster(&ecs).await;
    ecs.delete_cluster().cluster(&gone).send().await.unwrap();
    assert_eq!(code(list(Some(&gone)).await), "ClusterNotFoundException");
    ecs.create_cluster().send().await.unwrap();
    assert!(list(None).await.unwrap().attributes().is_empty());

    // A value filter needs a name; maxResults is 1 to 100; tokens are berth's own.
    let (code_, message) = error(
        ecs.list_attributes()
            .cluster(&name)
            .target_type(TargetType::ContainerInstance)
            .attribute_value("linux")
            .send()
            .await,
    );
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("attributeName"), "{message}");
    for bad in [0, 101] {
        assert_eq!(
            code(
                ecs.list_attributes()
                    .cluster(&name)
                    .target_type(TargetType::ContainerInstance)
                    .max_results(bad)
                    .send()
                    .await
            ),
            "InvalidParameterException"
        );
    }
    assert_eq!(
        code(
            ecs.list_attributes()
                .cluster(&name)
                .target_type(TargetType::ContainerInstance)
                .next_token("garbage")
                .send()
                .await
        ),
        "InvalidParameterException"
    );
    // targetType is required and container-instance is its only value.
    berth
        .call("ListAttributes", &format!(r#"{{"cluster": "{name}"}}"#))
        .await
        .assert_error(400, "InvalidParameterException");
    berth
        .call("ListAttributes", &format!(r#"{{"cluster": "{name}", "targetType": "task"}}"#))
        .await
        .assert_error(400, "InvalidParameterException");
}
