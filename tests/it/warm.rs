//! Warm holders: once a Fargate-like task has started in a cluster, berth keeps holders started
//! for the cluster's next tasks, each made for the task id it will give; tasks that publish ports
//! get their own. None outlives berth, a deleted cluster, or a killed berth's next start.

use std::collections::BTreeMap;

use berth::driver::ContainerState;

use crate::common::{Berth, docker, http_get};
use crate::containers::docker_cli;
use crate::fixtures::{
    Launch::Fargate, always, container, describe, network, register, run, secs, stop, until, wait_for, web,
};

/// The warm holders `berth` keeps, by the task ARN each is for.
async fn warm_holders(berth: &Berth) -> BTreeMap<String, ContainerState> {
    let network = berth.network().await;
    let instance = network.strip_prefix("berth-").unwrap().to_owned();
    let labels = BTreeMap::from([("berth.warm".to_owned(), instance)]);
    let holders = docker().await.list(&labels).await.unwrap();
    holders.into_iter().map(|h| (h.labels["berth.task-arn"].clone(), h)).collect()
}

/// Waits (bounded: 30 s) until `berth` keeps `count` started warm holders that are not `taken`'s.
async fn wait_warm(berth: &Berth, count: usize, taken: &[&str]) -> BTreeMap<String, ContainerState> {
    until(&format!("{count} started warm holders besides {taken:?}"), secs(30), || async {
        let mut warm = warm_holders(berth).await;
        warm.retain(|arn, _| !taken.contains(&arn.as_str()));
        if warm.values().filter(|h| h.running).count() == count { Ok(warm) } else { Err(warm) }
    })
    .await
}

/// Creates the default cluster, registers `family` (one sleeping container) and runs a task of
/// it, which makes its own holder; answers that task and the two warm holders berth then keeps.
async fn first_task(berth: &Berth, family: &str) -> (String, BTreeMap<String, ContainerState>) {
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Fargate, family, vec![container("main", "exec sleep 1000")]).await;
    let first = run(&ecs, family, None).await;
    wait_for(&ecs, &first, "RUNNING").await;
    let warm = wait_warm(berth, 2, &[&first]).await;
    (first, warm)
}

#[tokio::test]
async fn the_next_fargate_task_takes_a_holder_started_before_it() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    assert!(warm_holders(&berth).await.is_empty(), "no warm holders before a task ran");

    // The first task makes its own holder; two more are then kept for the cluster.
    let (first, warm) = first_task(&berth, "warm-one").await;
    for (arn, holder) in &warm {
        let id = arn.rsplit('/').next().unwrap();
        assert!(arn.starts_with("arn:aws:ecs:us-east-1:000000000000:task/default/"), "{arn}");
        assert_eq!(holder.labels["berth.cluster"], "default");
        assert_eq!(holder.labels["berth.container-name"], "~holder");
        assert_eq!(holder.labels["berth.managed"], "true");
        let inspected = docker_cli(&["inspect", "--format", "{{.Name}}", &holder.id]);
        assert_eq!(String::from_utf8_lossy(&inspected.stdout).trim(), format!("/berth-{id}-holder"));
    }

    // The next task is one of them: its ARN, its holder and its address were there before it.
    let second = run(&ecs, "warm-one", None).await;
    let holder = warm.get(&second).unwrap_or_else(|| panic!("{second} took none of {warm:?}"));
    let task = wait_for(&ecs, &second, "RUNNING").await;
    let network = berth.network().await;
    let ip = task.containers()[0].network_interfaces()[0].private_ipv4_address().unwrap();
    assert_eq!(ip, holder.addresses[&network]);
    let runtime_id = task.containers()[0].runtime_id().unwrap();
    let mode = docker_cli(&["inspect", "--format", "{{.HostConfig.NetworkMode}}", runtime_id]);
    assert_eq!(String::from_utf8_lossy(&mode.stdout).trim(), format!("container:{}", holder.id));
    let refilled = wait_warm(&berth, 2, &[&first, &second]).await;
    assert!(!refilled.contains_key(&first) && !refilled.contains_key(&second));
    // The warm-holders controller keeps them, keyed by the cluster.
    let stats = berth.raw("GET", "/_berth/controllers", &[], b"").await.json();
    let reconciles = &stats["warm-holders"]["keys"]["us-east-1/default"]["reconciles"];
    assert!(reconciles.as_u64().is_some_and(|n| n >= 2), "{stats}");

    // A task that publishes a port needs a holder of its own, and gets one.
    register(&ecs, Fargate, "warm-web", vec![web("warm", 80)]).await;
    let third = run(&ecs, "warm-web", None).await;
    assert!(!refilled.contains_key(&third), "a task publishing a port took a warm holder");
    let task = wait_for(&ecs, &third, "RUNNING").await;
    let port = u16::try_from(task.containers()[0].network_bindings()[0].host_port().unwrap()).unwrap();
    until("the port of the task with its own holder to answer", secs(10), || async {
        http_get(port).await.filter(|r| r.contains("warm")).ok_or("no page")
    })
    .await;

    for arn in [&first, &second, &third] {
        stop(&ecs, arn).await;
    }
    // Deleting the cluster removes what it kept.
    ecs.delete_cluster().cluster("default").send().await.unwrap();
    assert!(warm_holders(&berth).await.is_empty(), "warm holders of a deleted cluster are removed");
}

#[tokio::test]
async fn warm_holders_do_not_outlive_berth() {
    // Stopped: berth removes them, and then its network.
    let mut berth = Berth::start().await;
    let ecs = berth.client();
    let (arn, warm) = first_task(&berth, "warm-short").await;
    stop(&ecs, &arn).await;
    let network = berth.network().await;
    assert!(berth.terminate().await.success());
    for holder in warm.values() {
        assert!(!docker_cli(&["inspect", &holder.id]).status.success(), "{holder:?} outlived berth");
    }
    assert!(!docker_cli(&["network", "inspect", &network]).status.success(), "berth removed its network");
}

#[tokio::test]
async fn a_killed_berths_idle_warm_holders_are_removed_when_the_next_starts() {
    let mut berth = Berth::start().await;
    let ecs = berth.client();
    let (first, warm) = first_task(&berth, "warm-killed").await;
    // This one runs in a warm holder: labelled berth.warm, and not idle.
    let second = run(&ecs, "warm-killed", None).await;
    assert!(warm.contains_key(&second), "{second} took none of {warm:?}");
    wait_for(&ecs, &second, "RUNNING").await;
    let idle = wait_warm(&berth, 2, &[&first, &second]).await;
    berth.kill9().await;
    let dir = berth.take_dir();
    drop(berth);
    for holder in idle.values() {
        assert!(docker_cli(&["inspect", &holder.id]).status.success(), "kill -9 leaves {holder:?}");
    }

    // The next berth on the data dir removes the idle holders and keeps the running tasks'.
    let mut berth = Berth::start_in(dir.path()).await;
    let ecs = berth.client();
    until("the killed berth's idle warm holders to be removed", secs(30), || async {
        idle.values().all(|holder| !docker_cli(&["inspect", &holder.id]).status.success())
    })
    .await;
    for arn in [&first, &second] {
        assert_eq!(describe(&ecs, arn).await.last_status(), Some("RUNNING"));
        let id = arn.rsplit('/').next().unwrap();
        let holder = docker_cli(&["inspect", "--format", "{{.State.Running}}", &format!("berth-{id}-holder")]);
        assert_eq!(String::from_utf8_lossy(&holder.stdout).trim(), "true", "{arn} keeps its holder");
    }
    for arn in [&first, &second] {
        stop(&ecs, arn).await;
    }
    assert!(berth.terminate().await.success());
}

#[tokio::test]
async fn a_replayed_run_task_gives_back_the_holder_it_took() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let (first, warm) = first_task(&berth, "warm-replay").await;

    let run_with_token = |token: Option<&'static str>| {
        ecs.run_task()
            .task_definition("warm-replay")
            .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
            .network_configuration(network())
            .set_client_token(token.map(str::to_owned))
            .send()
    };
    let once = run_with_token(Some("warm-replay-token")).await.unwrap().tasks()[0].task_arn().unwrap().to_owned();
    assert!(warm.contains_key(&once), "{once} took none of {warm:?}");
    // The replay answers the same task; the holder it took for a task it did not store goes
    // back to the pool. The pool refills to its two (the controller may already be at it), and
    // a holder the replay kept would be a third idle one that no task takes.
    let again = run_with_token(Some("warm-replay-token")).await.unwrap().tasks()[0].task_arn().unwrap().to_owned();
    assert_eq!(again, once);
    let idle = wait_warm(&berth, 2, &[&first, &once]).await;
    always("berth to keep no more than two idle warm holders", secs(2), || async {
        let warm = warm_holders(&berth).await;
        warm.iter().filter(|(arn, h)| h.running && *arn != &first && *arn != &once).count() <= 2
    })
    .await;
    let next = run_with_token(None).await.unwrap().tasks()[0].task_arn().unwrap().to_owned();
    assert!(idle.contains_key(&next), "{next} took none of {idle:?}");
    for arn in [&first, &once, &next] {
        wait_for(&ecs, arn, "RUNNING").await;
        stop(&ecs, arn).await;
    }
}
