//! Container instances: berth's own per cluster (on first use), what they report, the cluster
//! query language in ListContainerInstances, DRAINING, deregistration, and the cluster's counts.

use aws_sdk_ecs::types::{ContainerInstanceStatus, Resource};

use crate::common::{Berth, error};

fn resource<'a>(resources: &'a [Resource], name: &str) -> &'a Resource {
    resources.iter().find(|r| r.name() == Some(name)).unwrap_or_else(|| panic!("no {name} in {resources:?}"))
}

#[tokio::test]
async fn each_cluster_gets_instances_that_report_what_the_agent_reports() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().cluster_name("fleet").send().await.unwrap();
    let listed = ecs.list_container_instances().cluster("fleet").send().await.unwrap();
    let arns = listed.container_instance_arns().to_vec();
    assert_eq!(arns.len(), 2, "two instances by default");
    assert!(arns.iter().all(|a| a.starts_with("arn:aws:ecs:us-east-1:000000000000:container-instance/fleet/")));

    let described = ecs
        .describe_container_instances()
        .cluster("fleet")
        .set_container_instances(Some(arns.clone()))
        .send()
        .await
        .unwrap();
    let instances = described.container_instances();
    assert_eq!(instances.len(), 2);
    let mut zones = Vec::new();
    for i in instances {
        assert!(i.ec2_instance_id().is_some_and(|id| id.starts_with("i-") && id.len() == 19), "{i:?}");
        assert_eq!(i.status(), Some("ACTIVE"));
        assert!(i.agent_connected());
        assert_eq!(i.running_tasks_count(), 0);
        assert_eq!(i.pending_tasks_count(), 0);
        let registered = i.registered_resources();
        assert_eq!(resource(registered, "CPU").integer_value(), 2048);
        assert_eq!(resource(registered, "MEMORY").integer_value(), 3933);
        let mut ports = resource(registered, "PORTS").string_set_value().to_vec();
        ports.sort();
        assert_eq!(ports, ["22", "2375", "2376", "51678", "51679"]);
        assert!(resource(registered, "PORTS_UDP").string_set_value().is_empty());
        assert_eq!(i.remaining_resources(), registered);
        let version = i.version_info().unwrap();
        assert!(version.docker_version().is_some_and(|v| v.starts_with("DockerVersion: ") && !v.ends_with("unknown")));
        let attribute =
            |name: &str| i.attributes().iter().find(|a| a.name() == name).and_then(|a| a.value()).map(str::to_owned);
        assert_eq!(attribute("ecs.instance-type").as_deref(), Some("t3.medium"));
        assert_eq!(attribute("ecs.os-type").as_deref(), Some("linux"));
        zones.push(attribute("ecs.availability-zone").unwrap());
    }
    zones.sort();
    assert_eq!(zones, ["us-east-1a", "us-east-1b"], "spread over the region's zones");
    let cluster = ecs.describe_clusters().clusters("fleet").send().await.unwrap().clusters()[0].clone();
    assert_eq!(cluster.registered_container_instances_count(), 2);

    // Missing ones are failures; an id works as well as an ARN.
    let id = arns[0].rsplit('/').next().unwrap();
    let mixed = ecs
        .describe_container_instances()
        .cluster("fleet")
        .container_instances(id)
        .container_instances("0123")
        .send()
        .await
        .unwrap();
    assert_eq!(mixed.container_instances()[0].container_instance_arn(), Some(arns[0].as_str()));
    assert_eq!(mixed.failures()[0].reason(), Some("MISSING"));
}

#[tokio::test]
async fn list_filters_with_the_cluster_query_language() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let all = ecs.list_container_instances().send().await.unwrap().container_instance_arns().to_vec();
    let described = ecs.describe_container_instances().set_container_instances(Some(all.clone())).send().await.unwrap();
    let ec2_id = described.container_instances()[0].ec2_instance_id().unwrap().to_owned();
    for (filter, expected) in [
        ("attribute:ecs.availability-zone == us-east-1a", 1),
        ("attribute:ecs.availability-zone equals us-east-1a", 1),
        ("attribute:ecs.availability-zone != us-east-1a", 1),
        ("attribute:ecs.instance-type =~ t3\\..*", 2),
        ("attribute:ecs.instance-type !~ m5.*", 2),
        ("attribute:ecs.availability-zone in [us-east-1b, us-east-1c]", 1),
        ("attribute:ecs.availability-zone not_in [us-east-1b, us-east-1c]", 1),
        ("not(attribute:ecs.availability-zone == us-east-1a)", 1),
        ("attribute:ecs.os-type exists", 2),
        ("attribute:stack exists", 0),
        ("attribute:stack !exists", 2),
        ("runningTasksCount == 0 and agentConnected == true", 2),
        ("runningTasksCount > 0 or attribute:ecs.availability-zone == us-east-1b", 1),
        ("registeredAt > 2020-01-01", 2),
        ("registeredAt < 2020-01-01", 0),
        (&format!("ec2InstanceId == {ec2_id}"), 1),
        (&format!("ec2InstanceId in ['{ec2_id}', 'i-00000000000000000']"), 1),
    ] {
        let listed = ecs.list_container_instances().filter(filter).send().await.unwrap();
        assert_eq!(listed.container_instance_arns().len(), expected, "{filter}");
    }
    let (code, message) = error(ecs.list_container_instances().filter("attribute:stack ~~ prod").send().await);
    assert_eq!(code, "InvalidParameterException");
    assert!(message.contains("'~~'"), "{message}");
    // Paging with a filter.
    let page =
        ecs.list_container_instances().filter("attribute:ecs.os-type exists").max_results(1).send().await.unwrap();
    assert_eq!(page.container_instance_arns().len(), 1);
    let rest = ecs
        .list_container_instances()
        .filter("attribute:ecs.os-type exists")
        .next_token(page.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.container_instance_arns().len(), 1);
    assert_ne!(rest.container_instance_arns(), page.container_instance_arns());
}

#[tokio::test]
async fn draining_deregistering_and_deleting_the_cluster() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let all = ecs.list_container_instances().send().await.unwrap().container_instance_arns().to_vec();
    let drained = ecs
        .update_container_instances_state()
        .container_instances(&all[0])
        .container_instances("nope")
        .status(ContainerInstanceStatus::Draining)
        .send()
        .await
        .unwrap();
    assert_eq!(drained.container_instances()[0].status(), Some("DRAINING"));
    assert_eq!(drained.container_instances()[0].version(), 2);
    assert_eq!(drained.failures()[0].reason(), Some("MISSING"));
    let draining = ecs.list_container_instances().status(ContainerInstanceStatus::Draining).send().await.unwrap();
    assert_eq!(draining.container_instance_arns(), &all[..1]);
    assert_eq!(ecs.list_container_instances().send().await.unwrap().container_instance_arns().len(), 2);

    let gone = ecs.deregister_container_instance().container_instance(&all[1]).send().await.unwrap();
    assert_eq!(gone.container_instance().unwrap().status(), Some("INACTIVE"));
    assert!(!gone.container_instance().unwrap().agent_connected());
    assert_eq!(ecs.list_container_instances().send().await.unwrap().container_instance_arns(), &all[..1]);
    let still = ecs.describe_container_instances().container_instances(&all[1]).send().await.unwrap();
    assert_eq!(still.container_instances()[0].status(), Some("INACTIVE"));
    let (code, _) = error(ecs.deregister_container_instance().container_instance("nope").send().await);
    assert_eq!(code, "InvalidParameterException");

    // berth's instances go with the cluster; a cluster created again gets new ones.
    ecs.delete_cluster().cluster("default").send().await.unwrap();
    ecs.create_cluster().send().await.unwrap();
    let again = ecs.list_container_instances().send().await.unwrap().container_instance_arns().to_vec();
    assert_eq!(again.len(), 2);
    assert!(again.iter().all(|a| !all.contains(a)));
}

#[tokio::test]
async fn instances_can_be_configured_or_turned_off() {
    let berth = Berth::start_with(&[("BERTH_INSTANCES", "3:m5.xlarge")]).await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let all = ecs.list_container_instances().send().await.unwrap().container_instance_arns().to_vec();
    assert_eq!(all.len(), 3);
    let one = ecs.describe_container_instances().container_instances(&all[0]).send().await.unwrap();
    assert_eq!(resource(one.container_instances()[0].registered_resources(), "CPU").integer_value(), 4096);

    let none = Berth::start_with(&[("BERTH_INSTANCES", "0")]).await;
    let ecs = none.client();
    ecs.create_cluster().send().await.unwrap();
    assert!(ecs.list_container_instances().send().await.unwrap().container_instance_arns().is_empty());
}

#[tokio::test]
async fn an_agent_registers_its_own_instance() {
    let berth = Berth::start_with(&[("BERTH_INSTANCES", "0")]).await;
    let ecs = berth.client();
    ecs.create_cluster().cluster_name("external").send().await.unwrap();
    let identity = r#"{"instanceId": "i-0abc0abc0abc0abc0", "instanceType": "c5.xlarge", "availabilityZone": "us-east-1c", "region": "us-east-1"}"#;
    let registered = ecs
        .register_container_instance()
        .cluster("external")
        .instance_identity_document(identity)
        .attributes(aws_sdk_ecs::types::Attribute::builder().name("stack").value("prod").build().unwrap())
        .tags(aws_sdk_ecs::types::Tag::builder().key("team").value("berth").build())
        .send()
        .await
        .unwrap();
    let instance = registered.container_instance().unwrap();
    assert_eq!(instance.ec2_instance_id(), Some("i-0abc0abc0abc0abc0"));
    assert_eq!(resource(instance.registered_resources(), "CPU").integer_value(), 4096);
    let attribute = |name: &str| instance.attributes().iter().find(|a| a.name() == name).and_then(|a| a.value());
    assert_eq!(attribute("ecs.availability-zone"), Some("us-east-1c"));
    assert_eq!(attribute("stack"), Some("prod"));
    let arn = instance.container_instance_arn().unwrap().to_owned();
    let listed = ecs.list_container_instances().cluster("external").send().await.unwrap();
    assert_eq!(listed.container_instance_arns(), std::slice::from_ref(&arn));
    let tagged = ecs.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    assert_eq!(tagged.tags()[0].key(), Some("team"));

    // Its agent is current.
    let (code, message) = error(ecs.update_container_agent().cluster("external").container_instance(&arn).send().await);
    assert_eq!(code, "NoUpdateAvailableException");
    assert_eq!(message, "There is no update available for your container agent.");
    // A client's instance keeps its cluster.
    let (code, _) = error(ecs.delete_cluster().cluster("external").send().await);
    assert_eq!(code, "ClusterContainsContainerInstancesException");
    ecs.deregister_container_instance().cluster("external").container_instance(&arn).send().await.unwrap();
    ecs.delete_cluster().cluster("external").send().await.unwrap();
}
