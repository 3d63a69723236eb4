//! A first program against berth with the AWS SDK for Rust: create a cluster, register a
//! Fargate task definition, list and describe them.
//!
//! Start berth (`cargo run --release`), then: `cargo run --example control_plane`
//! (`BERTH_ENDPOINT` overrides the default `http://127.0.0.1:4566`).

use aws_sdk_ecs::Client;
use aws_sdk_ecs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ecs::types::{Compatibility, ContainerDefinition, NetworkMode, PortMapping};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = std::env::var("BERTH_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4566".to_owned());
    // Nothing but the endpoint differs from a program that talks to AWS. (A program that already
    // loads its config with aws-config would only add `.endpoint_url(...)`.)
    let config = aws_sdk_ecs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "example"))
        .endpoint_url(&endpoint)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    let ecs = Client::from_conf(config);

    let cluster = ecs.create_cluster().cluster_name("example").send().await?;
    println!("cluster: {}", cluster.cluster().and_then(|c| c.cluster_arn()).unwrap_or_default());

    let registered = ecs
        .register_task_definition()
        .family("example-web")
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder()
                .name("web")
                .image("busybox")
                .command("httpd")
                .command("-f")
                .port_mappings(PortMapping::builder().container_port(8080).build())
                .build(),
        )
        .send()
        .await?;
    let td = registered.task_definition().ok_or("no task definition in the answer")?;
    println!(
        "task definition: {} (compatibilities {:?})",
        td.task_definition_arn().unwrap_or_default(),
        td.compatibilities()
    );

    let families = ecs.list_task_definition_families().send().await?;
    println!("families: {:?}", families.families());
    Ok(())
}
