//! What berth acknowledged survives kill -9; concurrent writers never collide; start-up errors
//! are one clear line; SIGTERM shuts down cleanly.

use aws_sdk_ecs::types::{ContainerDefinition, Tag, TaskDefinitionStatus};

use crate::common::Berth;

#[tokio::test]
async fn kill_9_loses_nothing_acknowledged() {
    let mut berth = Berth::start().await;
    let ecs = berth.client();
    ecs.create_cluster().cluster_name("kept").tags(Tag::builder().key("k").value("v").build()).send().await.unwrap();
    let container = ContainerDefinition::builder().name("c").image("busybox").memory(32).build();
    for _ in 0..5 {
        ecs.register_task_definition().family("kept").container_definitions(container.clone()).send().await.unwrap();
    }
    ecs.deregister_task_definition().task_definition("kept:2").send().await.unwrap();
    ecs.put_account_setting_default()
        .name(aws_sdk_ecs::types::SettingName::ContainerInsights)
        .value("enabled")
        .send()
        .await
        .unwrap();
    // The last write is acknowledged; kill -9 right after it.
    ecs.register_task_definition().family("last").container_definitions(container).send().await.unwrap();
    berth.kill9().await;
    let dir = berth.take_dir();
    drop(berth);

    let berth = Berth::start_in(dir.path()).await;
    let ecs = berth.client();
    let clusters =
        ecs.describe_clusters().clusters("kept").include(aws_sdk_ecs::types::ClusterField::Tags).send().await.unwrap();
    assert_eq!(clusters.clusters()[0].status(), Some("ACTIVE"));
    assert_eq!(clusters.clusters()[0].tags()[0].value(), Some("v"));
    let revisions = ecs.list_task_definitions().family_prefix("kept").send().await.unwrap();
    assert_eq!(revisions.task_definition_arns().len(), 4);
    let inactive = ecs.describe_task_definition().task_definition("kept:2").send().await.unwrap();
    assert_eq!(inactive.task_definition().unwrap().status(), Some(&TaskDefinitionStatus::Inactive));
    let last = ecs.describe_task_definition().task_definition("last").send().await.unwrap();
    assert_eq!(last.task_definition().unwrap().revision(), 1);
    let settings = ecs
        .list_account_settings()
        .name(aws_sdk_ecs::types::SettingName::ContainerInsights)
        .effective_settings(true)
        .send()
        .await
        .unwrap();
    assert_eq!(settings.settings()[0].value(), Some("enabled"));
    // The revision counter carried on.
    let next = ecs
        .register_task_definition()
        .family("kept")
        .container_definitions(ContainerDefinition::builder().name("c").image("busybox").memory(32).build())
        .send()
        .await
        .unwrap();
    assert_eq!(next.task_definition().unwrap().revision(), 6);
}

#[tokio::test]
async fn concurrent_registrations_get_distinct_revisions() {
    // Registrations that arrive together are committed together: each still gets its own
    // revision of its own family, and the answer for its own definition.
    let berth = Berth::start().await;
    let ecs = berth.client();
    let mut handles = Vec::new();
    for i in 0..40 {
        let ecs = ecs.clone();
        handles.push(tokio::spawn(async move {
            let family = if i % 2 == 0 { "race-even" } else { "race-odd" };
            let container = ContainerDefinition::builder().name(format!("c{i}")).image("busybox").memory(32).build();
            let out =
                ecs.register_task_definition().family(family).container_definitions(container).send().await.unwrap();
            let registered = out.task_definition().unwrap();
            assert_eq!(registered.container_definitions()[0].name(), Some(format!("c{i}").as_str()));
            (family, registered.revision(), i)
        }));
    }
    let mut revisions = std::collections::BTreeMap::<&str, Vec<i32>>::new();
    for h in handles {
        let (family, revision, i) = h.await.unwrap();
        // What was stored under that revision is this request's definition.
        let stored =
            ecs.describe_task_definition().task_definition(format!("{family}:{revision}")).send().await.unwrap();
        assert_eq!(stored.task_definition().unwrap().container_definitions()[0].name(), Some(format!("c{i}").as_str()));
        revisions.entry(family).or_default().push(revision);
    }
    for family in ["race-even", "race-odd"] {
        let mut got = revisions.remove(family).unwrap();
        got.sort_unstable();
        assert_eq!(got, (1..=20).collect::<Vec<_>>(), "{family}");
    }
}

#[tokio::test]
async fn startup_errors_are_one_clear_line() {
    let berth = Berth::start().await;
    // The port is taken.
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["--listen", &berth.addr, "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("berth: cannot listen on {}", berth.addr)), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    // Another berth has the data dir (the two would share the database and the Docker objects).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(berth.data_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("another berth is using this data dir"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    // The data dir is a file.
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("berth: cannot create data dir"), "{stderr}");
    // A bad flag value is refused by the parser.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_berth")).args(["--account-id", "12"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("12-digit"));
}

#[tokio::test]
async fn sigterm_shuts_down_cleanly() {
    let mut berth = Berth::start().await;
    berth.client().create_cluster().cluster_name("before-term").send().await.unwrap();
    let status = berth.terminate().await;
    assert!(status.success(), "{status:?}");
    let dir = berth.take_dir();
    drop(berth);
    let berth = Berth::start_in(dir.path()).await;
    let clusters = berth.client().list_clusters().send().await.unwrap();
    assert_eq!(clusters.cluster_arns().len(), 1);
}

/// The WAL is checkpointed as berth writes: a statement left open on a connection would pin
/// it, and it would grow without bound (it once reached 300 MB after 16k registrations).
#[tokio::test]
async fn the_wal_stays_bounded_under_writes() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let mut handles = Vec::new();
    for worker in 0..8 {
        let ecs = ecs.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..250 {
                let container = ContainerDefinition::builder()
                    .name(format!("c{worker}-{i}"))
                    .image("busybox")
                    .memory(32)
                    .command("x".repeat(2000))
                    .build();
                ecs.register_task_definition().family("wal").container_definitions(container).send().await.unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let wal = std::fs::metadata(berth.data_dir().join("berth.sqlite3-wal")).map(|m| m.len()).unwrap_or(0);
    // SQLite checkpoints at 1,000 pages (4 MB); 2,000 revisions unchecked would be far more.
    assert!(wal < 16 << 20, "the WAL is {wal} bytes after 2,000 registrations");
}
