//! How long a one-container task takes to reach RUNNING through berth, next to a raw Docker
//! create + start of the same container (the floor berth stands on), and the same for stopping.
//!
//! Start berth (`cargo run --release`), then:
//! `cargo run --release --example task_start -- IMAGE [ROUNDS]` (IMAGE must be on the engine and
//! have `sleep`; `BERTH_ENDPOINT` overrides `http://127.0.0.1:4566`). Prints the medians.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ecs::types::{
    AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType, NetworkConfiguration, NetworkMode,
};
use berth::driver::{ContainerSpec, Docker};

type Error = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let image = args.next().ok_or("usage: task_start IMAGE [ROUNDS]")?;
    let rounds: usize = args.next().map_or(Ok(10), |r| r.parse())?;
    let endpoint = std::env::var("BERTH_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4566".to_owned());
    let config = aws_sdk_ecs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "example"))
        .endpoint_url(&endpoint)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    let ecs = Client::from_conf(config);
    let docker = Docker::connect(None).await?;

    ecs.create_cluster().cluster_name("task-start").send().await?;
    ecs.register_task_definition()
        .family("task-start")
        .requires_compatibilities(Compatibility::Fargate)
        .network_mode(NetworkMode::Awsvpc)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder().name("main").image(&image).command("sleep").command("1000").build(),
        )
        .send()
        .await?;

    let (mut raw_start, mut raw_stop, mut task_start, mut task_stop) = (vec![], vec![], vec![], vec![]);
    for round in 0..rounds {
        let spec = ContainerSpec {
            name: format!("berth-task-start-raw-{round}"),
            image: image.clone(),
            command: Some(vec!["sleep".into(), "1000".into()]),
            labels: BTreeMap::from([("berth.example".to_owned(), "task_start".to_owned())]),
            init: true,
            ..Default::default()
        };
        let t = Instant::now();
        let id = docker.create(&spec).await?;
        docker.start(&id).await?;
        raw_start.push(t.elapsed());
        let t = Instant::now();
        docker.stop(&id, 30).await?;
        raw_stop.push(t.elapsed());
        docker.remove(&id).await?;

        let t = Instant::now();
        let run = ecs
            .run_task()
            .cluster("task-start")
            .task_definition("task-start")
            .launch_type(LaunchType::Fargate)
            .network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(AwsVpcConfiguration::builder().subnets("subnet-example").build()?)
                    .build(),
            )
            .send()
            .await?;
        let arn = run.tasks().first().and_then(|t| t.task_arn()).ok_or("RunTask started no task")?.to_owned();
        wait(&ecs, &arn, "RUNNING").await?;
        task_start.push(t.elapsed());
        let t = Instant::now();
        ecs.stop_task().cluster("task-start").task(&arn).send().await?;
        wait(&ecs, &arn, "STOPPED").await?;
        task_stop.push(t.elapsed());
    }
    println!("rounds: {rounds} (image {image})");
    println!("raw Docker create+start: {:>7.1} ms", median(&mut raw_start));
    println!("RunTask -> RUNNING:      {:>7.1} ms", median(&mut task_start));
    println!("raw Docker stop:         {:>7.1} ms", median(&mut raw_stop));
    println!("StopTask -> STOPPED:     {:>7.1} ms", median(&mut task_stop));
    ecs.delete_cluster().cluster("task-start").send().await?;
    Ok(())
}

/// Polls DescribeTasks every 5 ms until the task's lastStatus is `status` (60 s at most).
async fn wait(ecs: &Client, arn: &str, status: &str) -> Result<(), Error> {
    for _ in 0..12_000 {
        let described = ecs.describe_tasks().cluster("task-start").tasks(arn).send().await?;
        let task = described.tasks().first().ok_or("the task vanished")?;
        if task.last_status() == Some(status) {
            return Ok(());
        }
        if task.last_status() == Some("STOPPED") {
            return Err(format!("the task stopped: {:?}", task.stopped_reason()).into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Err(format!("{arn} did not reach {status} in 60 s").into())
}

fn median(samples: &mut [Duration]) -> f64 {
    samples.sort();
    samples.get(samples.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}
