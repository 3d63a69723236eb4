//! How a task definition's container settings reach Docker: volumes shared between a task's
//! containers, mount points and volumesFrom (dockerVolumeConfiguration and host paths are EC2's:
//! they are tested with the EC2-like mode), ulimits, linuxParameters, a read-only root, the
//! task's CPU and memory as limits, image digests, berth's own network (tasks reach each other
//! by their ENI address), and a container killed behind berth's back.

use aws_sdk_ecs::types::{
    KernelCapabilities, LinuxParameters, MountPoint, Tmpfs, Ulimit, UlimitName, Volume, VolumeFrom,
};
use serde_json::Value;

use aws_sdk_ecs::types::Task;

use crate::common::Berth;
use crate::fixtures::{
    Launch::Fargate, container, definition, describe, gone, register, run, secs, stop, until, wait_for, web,
};

/// Runs the docker CLI.
pub(crate) fn docker_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new("docker").args(args).output().unwrap()
}

/// `docker inspect` of a container, network or volume, as JSON.
fn inspect(kind: &str, id: &str) -> Value {
    let out = docker_cli(&[kind, "inspect", id]);
    assert!(out.status.success(), "docker {kind} inspect {id}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout).unwrap()[0].clone()
}

/// Names of the Docker volumes carrying `label=value`.
fn volumes(label: &str, value: &str) -> Vec<String> {
    let out = docker_cli(&["volume", "ls", "-q", "--filter", &format!("label={label}={value}")]);
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect()
}

/// Waits (bounded: 30 s) for container `index` of the task to exit, and returns its exit code.
async fn exit_code(ecs: &aws_sdk_ecs::Client, arn: &str, index: usize) -> i32 {
    until(&format!("container {index} of {arn} to exit"), secs(30), || async {
        describe(ecs, arn).await.containers()[index].exit_code()
    })
    .await
}

fn mount(volume: &str, path: &str, read_only: bool) -> MountPoint {
    MountPoint::builder().source_volume(volume).container_path(path).read_only(read_only).build()
}

#[tokio::test]
async fn volumes_are_shared_between_a_tasks_containers_and_removed_with_it() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let mut writer = container("writer", "echo shared > /data/file && exec sleep 1000");
    writer.mount_points = Some(vec![mount("scratch", "/data", false)]);
    // Reads the writer's file through its own mount of the same volume.
    let mut reader = container(
        "reader",
        "for i in $(seq 100); do [ \"$(cat /shared/file 2>/dev/null)\" = shared ] && exit 0; sleep 0.1; done; exit 1",
    );
    reader.mount_points = Some(vec![mount("scratch", "/shared", true)]);
    reader.essential = Some(false);
    // Read-only: writing fails.
    let mut read_only = container("read-only", "sleep 0.2; echo no > /shared/other && exit 0; exit 7");
    read_only.mount_points = Some(vec![mount("scratch", "/shared", true)]);
    read_only.essential = Some(false);
    // volumesFrom: the writer's mount points, at the same paths.
    let mut from = container(
        "from",
        "for i in $(seq 100); do [ \"$(cat /data/file 2>/dev/null)\" = shared ] && exit 0; sleep 0.1; done; exit 1",
    );
    from.volumes_from = Some(vec![VolumeFrom::builder().source_container("writer").read_only(true).build()]);
    from.essential = Some(false);
    definition(&ecs, Fargate, "volumes", vec![writer, reader, read_only, from])
        .volumes(Volume::builder().name("scratch").build())
        .send()
        .await
        .unwrap();
    let arn = run(&ecs, "volumes", None).await;
    wait_for(&ecs, &arn, "RUNNING").await;
    assert_eq!(exit_code(&ecs, &arn, 1).await, 0, "the reader saw the writer's file");
    assert_eq!(exit_code(&ecs, &arn, 2).await, 7, "a read-only mount refuses writes");
    assert_eq!(exit_code(&ecs, &arn, 3).await, 0, "volumesFrom mounts the writer's volume");
    let task_volumes = volumes("berth.task-arn", &arn);
    assert_eq!(task_volumes.len(), 1, "{task_volumes:?}");
    assert!(task_volumes[0].ends_with("-scratch"), "{task_volumes:?}");

    stop(&ecs, &arn).await;
    assert!(volumes("berth.task-arn", &arn).is_empty(), "task-scoped volumes are removed with the task");
}

#[tokio::test]
async fn linux_settings_and_task_limits_reach_docker() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    // The process checks what it can observe; `docker inspect` shows the rest.
    let checks = [
        "[ \"$(ulimit -n)\" = 1234 ]",
        "! touch /root-is-read-only 2>/dev/null",
        "touch /scratch/tmpfs-is-writable",
        "grep -q ' /scratch tmpfs' /proc/mounts",
        "[ -t 0 ]",
    ]
    .join(" && ");
    let mut checker = container("checker", &format!("{checks} && exec sleep 1000"));
    checker.ulimits =
        Some(vec![Ulimit::builder().name(UlimitName::Nofile).soft_limit(1234).hard_limit(2048).build().unwrap()]);
    checker.readonly_root_filesystem = Some(true);
    checker.pseudo_terminal = Some(true);
    checker.interactive = Some(true);
    checker.linux_parameters = Some(
        LinuxParameters::builder()
            .capabilities(KernelCapabilities::builder().add("SYS_PTRACE").drop("NET_RAW").build())
            .tmpfs(Tmpfs::builder().container_path("/scratch").size(16).mount_options("noexec").build().unwrap())
            .init_process_enabled(false)
            .build(),
    );
    checker.docker_labels = Some([("com.example.team".to_owned(), "berth".to_owned())].into());
    register(&ecs, Fargate, "linux", vec![checker]).await;
    let arn = run(&ecs, "linux", None).await;
    let task = wait_for(&ecs, &arn, "RUNNING").await;
    let c = &task.containers()[0];
    assert!(c.image_digest().is_some_and(|d| d.starts_with("sha256:") && d.len() == 71), "{c:?}");

    let inspected = inspect("container", c.runtime_id().unwrap());
    let host = &inspected["HostConfig"];
    assert_eq!(host["Ulimits"][0], serde_json::json!({"Name": "nofile", "Soft": 1234, "Hard": 2048}));
    assert_eq!(host["ReadonlyRootfs"], true);
    assert_eq!(host["CapAdd"], serde_json::json!(["SYS_PTRACE"]));
    assert_eq!(host["CapDrop"], serde_json::json!(["NET_RAW"]));
    assert_eq!(host["Tmpfs"]["/scratch"], "size=16m,noexec");
    assert!(host["Init"].is_null() || host["Init"] == false, "initProcessEnabled false: no init");
    // Task size 256 CPU units and 512 MiB: a quarter of a CPU and 512 MiB for a container that
    // sets no limit of its own.
    assert_eq!(host["NanoCpus"], 250_000_000);
    assert_eq!(host["Memory"], 512 * 1024 * 1024);
    assert_eq!(inspected["Config"]["Tty"], true);
    assert_eq!(inspected["Config"]["OpenStdin"], true);
    assert_eq!(inspected["Config"]["Labels"]["com.example.team"], "berth");
    assert_eq!(inspected["Config"]["Labels"]["berth.container-name"], "checker");
    // The checks passed: the container is still running.
    assert_eq!(describe(&ecs, &arn).await.last_status(), Some("RUNNING"));
    stop(&ecs, &arn).await;
}

#[tokio::test]
async fn tasks_reach_each_other_on_berths_network_which_goes_with_berth() {
    let mut berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Fargate, "task-a", vec![web("from-task-a", 80)]).await;
    let a = run(&ecs, "task-a", None).await;
    let task_a = wait_for(&ecs, &a, "RUNNING").await;
    let eni = &task_a.attachments()[0];
    let detail =
        |name: &str| eni.details().iter().find(|d| d.name() == Some(name)).and_then(|d| d.value()).unwrap().to_owned();
    let ip = detail("privateIPv4Address");
    assert_eq!(task_a.containers()[0].network_interfaces()[0].private_ipv4_address(), Some(ip.as_str()));
    assert_eq!(detail("privateDnsName"), format!("ip-{}.ec2.internal", ip.replace('.', "-")));

    // Task B fetches task A's page at its ENI address, over berth's network.
    register(
        &ecs,
        Fargate,
        "task-b",
        vec![container(
            "client",
            &format!(
                "for i in $(seq 100); do [ \"$(wget -q -O- http://{ip}/)\" = from-task-a ] && exit 0; sleep 0.1; done; exit 1"
            ),
        )],
    )
    .await;
    let b = run(&ecs, "task-b", None).await;
    let task_b = wait_for(&ecs, &b, "STOPPED").await;
    assert_eq!(task_b.containers()[0].exit_code(), Some(0), "task B reached task A: {task_b:?}");

    let network = berth.network().await;
    let holder_networks = inspect("network", &network);
    assert_eq!(holder_networks["Labels"]["berth.managed"], "true");
    stop(&ecs, &a).await;
    assert!(berth.terminate().await.success());
    assert!(
        !docker_cli(&["network", "inspect", &network]).status.success(),
        "berth removed its network when it shut down with no task running"
    );
}

/// Runs a one-container task, kills (with `docker kill`) the container `target` names, and
/// returns the task once STOPPED.
async fn kill_behind_berths_back(family: &str, target: impl Fn(&aws_sdk_ecs::types::Task) -> String) -> Task {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    register(&ecs, Fargate, family, vec![container("main", "exec sleep 1000")]).await;
    let arn = run(&ecs, family, None).await;
    let task = wait_for(&ecs, &arn, "RUNNING").await;
    let killed = docker_cli(&["kill", &target(&task)]);
    assert!(killed.status.success(), "{}", String::from_utf8_lossy(&killed.stderr));
    let stopped = wait_for(&ecs, &arn, "STOPPED").await;
    assert_eq!(stopped.stop_code().map(|c| c.as_str()), Some("EssentialContainerExited"));
    gone(&arn).await;
    stopped
}

#[tokio::test]
async fn a_container_killed_behind_berths_back_stops_the_task() {
    let task = kill_behind_berths_back("victim", |t| t.containers()[0].runtime_id().unwrap().to_owned()).await;
    assert_eq!(task.stopped_reason(), Some("Essential container in task exited"));
    assert_eq!(task.containers()[0].exit_code(), Some(137));
}

#[tokio::test]
async fn the_task_stops_when_its_network_holder_is_killed() {
    let task = kill_behind_berths_back("holderless", |t| {
        format!("berth-{}-holder", t.task_arn().unwrap().rsplit('/').next().unwrap())
    })
    .await;
    assert!(task.stopped_reason().unwrap().contains("network namespace"), "{task:?}");
}

#[tokio::test]
async fn efs_volumes_are_shared_by_the_tasks_that_mount_the_file_system() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().send().await.unwrap();
    let file_system = crate::common::unique("fs");
    let efs = Volume::builder()
        .name("shared")
        .efs_volume_configuration(
            aws_sdk_ecs::types::EfsVolumeConfiguration::builder().file_system_id(&file_system).build().unwrap(),
        )
        .build();
    for (family, command) in [("efs-write", "echo kept > /efs/file"), ("efs-read", "[ \"$(cat /efs/file)\" = kept ]")] {
        let mut c = container("main", command);
        c.mount_points = Some(vec![mount("shared", "/efs", false)]);
        definition(&ecs, Fargate, family, vec![c]).volumes(efs.clone()).send().await.unwrap();
    }
    let write = run(&ecs, "efs-write", None).await;
    assert_eq!(wait_for(&ecs, &write, "STOPPED").await.containers()[0].exit_code(), Some(0));
    let read = run(&ecs, "efs-read", None).await;
    assert_eq!(wait_for(&ecs, &read, "STOPPED").await.containers()[0].exit_code(), Some(0), "the file was kept");
    // The file system outlives its tasks; this test removes its own.
    let volume = format!("berth-efs-{file_system}");
    assert_eq!(inspect("volume", &volume)["Labels"]["berth.managed"], "true");
    assert!(docker_cli(&["volume", "rm", &volume]).status.success());
}
