//! What the black-box tests share above the harness: one way to register a task definition
//! ([`register`], or [`definition`] to add to first), one way to run a task ([`run`]), and one
//! way to wait ([`until`], which every other wait is built on and which fails with what it
//! waited for and what it saw last). Containers come from [`container`], [`sleeper`] and [`web`].

use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder;
use aws_sdk_ecs::types::{
    AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType, NetworkConfiguration, NetworkMode,
    PortMapping, Task, TaskOverride,
};

use crate::common::{BUSYBOX, docker};

/// How often [`until`] and [`always`] look again (often enough to sample a rolling update).
const POLL: Duration = Duration::from_millis(50);

/// What a check passed to [`until`] answers: done (with a value), or not yet (with what it saw).
pub trait Check {
    /// What [`until`] answers once the check holds.
    type Done;
    /// `Ok` when the check holds; otherwise what was seen, for the timeout message.
    fn outcome(self) -> Result<Self::Done, String>;
}

impl Check for bool {
    type Done = ();
    fn outcome(self) -> Result<(), String> {
        if self { Ok(()) } else { Err("false".to_owned()) }
    }
}

impl<T> Check for Option<T> {
    type Done = T;
    fn outcome(self) -> Result<T, String> {
        self.ok_or_else(|| "nothing yet".to_owned())
    }
}

impl<T, D: Debug> Check for Result<T, D> {
    type Done = T;
    fn outcome(self) -> Result<T, String> {
        self.map_err(|seen| format!("{seen:?}"))
    }
}

/// Polls `check` every 50 ms until it holds (`until_held`) or fails (otherwise), or `period`
/// is over: answers its last outcome and when that was.
async fn poll<F, Fut, C>(period: Duration, mut check: F, until_held: bool) -> (Result<C::Done, String>, Duration)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = C>,
    C: Check,
{
    let start = Instant::now();
    loop {
        let outcome = check().await.outcome();
        if outcome.is_ok() == until_held || start.elapsed() >= period {
            return (outcome, start.elapsed());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Polls `check` every 50 ms until it holds and answers what it answered then; after
/// `timeout` the test fails with "timed out after ..s waiting for `what`" and the last thing
/// the check saw. A check that sees something that can never turn out well panics itself.
#[track_caller]
pub fn until<F, Fut, C>(what: &str, timeout: Duration, check: F) -> impl Future<Output = C::Done>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = C>,
    C: Check,
{
    let (caller, what) = (std::panic::Location::caller(), what.to_owned());
    async move {
        match poll(timeout, check, true).await {
            (Ok(done), _) => done,
            (Err(last), _) => {
                panic!("{caller}: timed out after {}s waiting for {what}; last: {last}", timeout.as_secs_f32())
            }
        }
    }
}

/// Polls `check` every 50 ms for all of `period` and fails the test the first time it does
/// not hold: for what must stay so (a task left alone, a stop that must wait).
#[track_caller]
pub fn always<Fut: Future<Output: Check>>(
    what: &str,
    period: Duration,
    check: impl FnMut() -> Fut,
) -> impl Future<Output = ()> {
    let caller = std::panic::Location::caller();
    let what = what.to_owned();
    async move {
        if let (Err(seen), at) = poll(period, check, false).await {
            panic!("{caller}: {what} stopped holding after {:.1}s; saw: {seen}", at.as_secs_f32());
        }
    }
}

/// `n` seconds, for [`until`]'s timeouts.
pub const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Where a task definition's tasks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Launch {
    /// FARGATE, awsvpc, 256 CPU units and 512 MiB for the task.
    Fargate,
    /// EC2, bridge networking, resources reserved per container.
    Ec2,
}

/// A RegisterTaskDefinition of `family` of `containers` for `launch`, to add to and send.
pub fn definition(
    ecs: &Client,
    launch: Launch,
    family: &str,
    containers: Vec<ContainerDefinition>,
) -> RegisterTaskDefinitionFluentBuilder {
    let register = ecs.register_task_definition().family(family).set_container_definitions(Some(containers));
    match launch {
        Launch::Fargate => register
            .requires_compatibilities(Compatibility::Fargate)
            .network_mode(NetworkMode::Awsvpc)
            .cpu("256")
            .memory("512"),
        Launch::Ec2 => register.requires_compatibilities(Compatibility::Ec2).network_mode(NetworkMode::Bridge),
    }
}

/// Registers `family` of `containers` for `launch`; answers the revision's ARN.
pub async fn register(ecs: &Client, launch: Launch, family: &str, containers: Vec<ContainerDefinition>) -> String {
    let out = definition(ecs, launch, family, containers).send().await.unwrap();
    out.task_definition().and_then(|td| td.task_definition_arn()).unwrap().to_owned()
}

/// A busybox container `name` running `sh -c command`.
pub fn container(name: &str, command: &str) -> ContainerDefinition {
    ContainerDefinition::builder().name(name).image(BUSYBOX).command("sh").command("-c").command(command).build()
}

/// A container `main` that prints `tag` (to tell revisions apart), then sleeps until SIGTERM,
/// on which it exits 0.
pub fn sleeper(tag: &str) -> ContainerDefinition {
    container("main", &format!("trap 'exit 0' TERM; echo {tag}; sleep 600 & wait"))
}

/// `c` reserving `mib` MiB (hard limit), as EC2 placement counts it.
pub fn with_memory(mut c: ContainerDefinition, mib: i32) -> ContainerDefinition {
    c.memory = Some(mib);
    c
}

/// A container named `web` that serves `page` with busybox httpd on `port`, published.
pub fn web(page: &str, port: i32) -> ContainerDefinition {
    let mut web =
        container("web", &format!("mkdir -p /www && echo {page} > /www/index.html && exec httpd -f -p {port} -h /www"));
    web.port_mappings = Some(vec![PortMapping::builder().container_port(port).build()]);
    web
}

/// The awsvpc network configuration Fargate tasks and services need.
pub fn network() -> NetworkConfiguration {
    NetworkConfiguration::builder()
        .awsvpc_configuration(AwsVpcConfiguration::builder().subnets("subnet-berth").build().unwrap())
        .build()
}

/// RunTask of one Fargate task of `family` in the default cluster; answers its ARN.
pub async fn run(ecs: &Client, family: &str, overrides: Option<TaskOverride>) -> String {
    let out = ecs
        .run_task()
        .task_definition(family)
        .launch_type(LaunchType::Fargate)
        .network_configuration(network())
        .set_overrides(overrides)
        .send()
        .await
        .unwrap();
    assert!(out.failures().is_empty(), "{:?}", out.failures());
    out.tasks()[0].task_arn().unwrap().to_owned()
}

/// The cluster a task ARN names (`...:task/<cluster>/<id>`).
fn cluster_of(task_arn: &str) -> &str {
    task_arn.split_once(":task/").and_then(|(_, rest)| rest.split_once('/')).map_or("default", |(cluster, _)| cluster)
}

/// DescribeTasks of one task, in the cluster its ARN names.
pub async fn describe(ecs: &Client, arn: &str) -> Task {
    let out = ecs.describe_tasks().cluster(cluster_of(arn)).tasks(arn).send().await.unwrap();
    out.tasks().first().cloned().unwrap_or_else(|| panic!("{arn} is not described: {:?}", out.failures()))
}

/// Waits (at most 60 s) until the task's lastStatus is `status`; a task waited on to run that
/// stops instead fails the test at once.
pub async fn wait_for(ecs: &Client, arn: &str, status: &str) -> Task {
    until(&format!("{arn} to be {status}"), secs(60), || async {
        let task = describe(ecs, arn).await;
        assert!(
            !(status == "RUNNING" && task.last_status() == Some("STOPPED")),
            "task stopped instead of running: {task:?}"
        );
        if task.last_status() == Some(status) { Ok(task) } else { Err(task.last_status().map(str::to_owned)) }
    })
    .await
}

/// StopTask, then waits until the task is STOPPED and its containers are gone.
pub async fn stop(ecs: &Client, arn: &str) -> Task {
    ecs.stop_task().cluster(cluster_of(arn)).task(arn).send().await.unwrap();
    let task = wait_for(ecs, arn, "STOPPED").await;
    gone(arn).await;
    task
}

/// No container of the task is left on the engine.
pub async fn gone(arn: &str) {
    let docker = docker().await;
    let labels = std::collections::BTreeMap::from([("berth.task-arn".to_owned(), arn.to_owned())]);
    assert!(docker.list(&labels).await.unwrap().is_empty(), "containers of {arn} left behind");
}

#[cfg(test)]
mod tests {
    use super::cluster_of;

    #[test]
    fn the_cluster_comes_from_the_task_arn() {
        assert_eq!(cluster_of("arn:aws:ecs:us-east-1:000000000000:task/asg/0123abcd"), "asg");
        assert_eq!(cluster_of("0123abcd"), "default");
    }
}
