//! The Docker driver against the real engine: labels, the holder's shared network namespace,
//! published ports, exit codes, OOM kills, stop timeouts, and never touching foreign objects.

use std::collections::BTreeMap;
use std::time::Duration;

use berth::driver::{ContainerSpec, ContainerState, Docker, Error, NetworkAttachment, PortSpec, Protocol, holder};

use crate::common::{BUSYBOX, docker};
use crate::fixtures::{secs, until};

/// Labels every object of one test carries, so the test can clean up exactly its own.
fn test_labels() -> BTreeMap<String, String> {
    BTreeMap::from([("berth.test".to_owned(), uuid::Uuid::new_v4().to_string())])
}

fn busybox(name: &str, labels: &BTreeMap<String, String>, command: &[&str]) -> ContainerSpec {
    ContainerSpec {
        name: format!("{name}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
        image: BUSYBOX.to_owned(),
        command: Some(command.iter().map(|s| (*s).to_owned()).collect()),
        labels: labels.clone(),
        ..Default::default()
    }
}

/// Waits (bounded) until the container is no longer running.
async fn exited(docker: &Docker, id: &str) -> ContainerState {
    until(&format!("container {id} to exit"), secs(30), || async {
        let state = docker.inspect(id).await.unwrap();
        if !state.running && state.status != "created" { Ok(state) } else { Err(state) }
    })
    .await
}

async fn cleanup(docker: &Docker, labels: &BTreeMap<String, String>) {
    for c in docker.list(labels).await.unwrap() {
        docker.remove(&c.id).await.unwrap();
    }
    assert!(docker.list(labels).await.unwrap().is_empty());
}

#[tokio::test]
async fn holder_shares_its_network_namespace_and_ports() {
    let docker = docker().await;
    let labels = test_labels();
    let network = format!("berth-test-{}", &labels["berth.test"][..8]);
    let network_id = docker.ensure_network(&network, &labels).await.unwrap();
    // Idempotent: the same network comes back.
    assert_eq!(docker.ensure_network(&network, &labels).await.unwrap(), network_id);
    docker.ensure_holder_image().await.unwrap();
    assert!(docker.has_image(holder::IMAGE).await.unwrap());

    let holder_spec = ContainerSpec {
        name: format!("holder-{}", &labels["berth.test"][..8]),
        image: holder::IMAGE.to_owned(),
        labels: labels.clone(),
        network: Some(NetworkAttachment::Bridge(network.clone())),
        ports: vec![PortSpec {
            container_port: 8080,
            protocol: Protocol::Tcp,
            host_ip: "127.0.0.1".into(),
            host_port: None,
        }],
        ..Default::default()
    };
    let holder_id = docker.create(&holder_spec).await.unwrap();
    docker.start(&holder_id).await.unwrap();
    let holder_state = docker.inspect(&holder_id).await.unwrap();
    assert!(holder_state.running, "the holder runs: {holder_state:?}");
    assert!(holder_state.addresses.contains_key(&network), "{holder_state:?}");
    let binding = holder_state.ports.iter().find(|p| p.container_port == 8080).expect("8080 is published").clone();
    assert_eq!(binding.host_ip, "127.0.0.1");

    // A web server joins the holder's namespace...
    let mut web = busybox(
        "web",
        &labels,
        &["sh", "-c", "mkdir -p /www && echo hello-from-berth > /www/index.html && exec httpd -f -p 8080 -h /www"],
    );
    web.network = Some(NetworkAttachment::Container(holder_id.clone()));
    let web_id = docker.create(&web).await.unwrap();
    docker.start(&web_id).await.unwrap();

    // ...a second container reaches it on localhost...
    let mut client = busybox(
        "client",
        &labels,
        &["sh", "-c", "for i in $(seq 50); do wget -q -O- http://127.0.0.1:8080/ && exit 0; sleep 0.1; done; exit 1"],
    );
    client.network = Some(NetworkAttachment::Container(holder_id.clone()));
    let client_id = docker.create(&client).await.unwrap();
    docker.start(&client_id).await.unwrap();
    assert_eq!(exited(&docker, &client_id).await.exit_code, Some(0));

    // ...and the host reaches it through the port published on the holder.
    let body = crate::common::http_get(binding.host_port).await.unwrap();
    assert!(body.contains("hello-from-berth"), "{body}");

    cleanup(&docker, &labels).await;
    docker.remove_network(&network).await.unwrap();
    docker.remove_network(&network).await.unwrap();
}

#[tokio::test]
async fn exit_codes_and_oom_kills() {
    let docker = docker().await;
    let labels = test_labels();
    let three = docker.create(&busybox("three", &labels, &["sh", "-c", "exit 3"])).await.unwrap();
    docker.start(&three).await.unwrap();
    let state = exited(&docker, &three).await;
    assert_eq!(state.exit_code, Some(3));
    assert!(!state.oom_killed);

    let mut hog = busybox("hog", &labels, &["sh", "-c", "head -c 100000000 /dev/zero | tail"]);
    hog.memory_mib = Some(8);
    let hog = docker.create(&hog).await.unwrap();
    docker.start(&hog).await.unwrap();
    let state = exited(&docker, &hog).await;
    assert_eq!(state.exit_code, Some(137), "{state:?}");
    // Docker's flag misses an OOM kill reported after the exit (under load); its event does not.
    assert!(docker.saw_oom(&hog, Duration::from_millis(500)).await, "{state:?}");
    assert!(!docker.saw_oom(&three, Duration::from_millis(100)).await, "exit 3 is no OOM kill");
    cleanup(&docker, &labels).await;
}

#[tokio::test]
async fn stop_sends_sigterm_then_sigkill() {
    let docker = docker().await;
    let labels = test_labels();
    // As PID 1 without a handler, sleep ignores SIGTERM: only the SIGKILL after the timeout ends it.
    let stubborn = docker.create(&busybox("stubborn", &labels, &["sleep", "1000"])).await.unwrap();
    docker.start(&stubborn).await.unwrap();
    docker.stop(&stubborn, 1).await.unwrap();
    assert_eq!(exited(&docker, &stubborn).await.exit_code, Some(137));
    assert!(!docker.saw_oom(&stubborn, Duration::from_millis(100)).await, "a SIGKILL is no OOM kill");
    // With an init process as PID 1, SIGTERM reaches sleep and ends it.
    let mut polite = busybox("polite", &labels, &["sleep", "1000"]);
    polite.init = true;
    let polite = docker.create(&polite).await.unwrap();
    docker.start(&polite).await.unwrap();
    docker.stop(&polite, 30).await.unwrap();
    assert_eq!(exited(&docker, &polite).await.exit_code, Some(143));
    // Stopping a stopped container is fine.
    docker.stop(&polite, 1).await.unwrap();
    cleanup(&docker, &labels).await;
}

#[tokio::test]
async fn foreign_objects_are_never_touched() {
    let docker = docker().await;
    let name = format!("foreign-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let created =
        std::process::Command::new("docker").args(["create", "--name", &name, BUSYBOX, "true"]).output().unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let id = String::from_utf8_lossy(&created.stdout).trim().to_owned();

    assert!(matches!(docker.inspect(&id).await, Err(Error::NotFound(m)) if m.contains("not managed")));
    assert!(matches!(docker.stop(&id, 1).await, Err(Error::NotFound(_))));
    assert!(matches!(docker.remove(&id).await, Err(Error::NotFound(_))));
    assert!(docker.list(&BTreeMap::new()).await.unwrap().iter().all(|c| c.id != id));
    // Still there.
    let still = std::process::Command::new("docker").args(["inspect", &id]).output().unwrap();
    assert!(still.status.success());

    // A foreign network of a name berth wants is a conflict, not adopted.
    let network = format!("foreign-net-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let made = std::process::Command::new("docker").args(["network", "create", &network]).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    assert!(matches!(docker.ensure_network(&network, &BTreeMap::new()).await, Err(Error::Conflict(_))));
    docker.remove_network(&network).await.unwrap();
    let kept = std::process::Command::new("docker").args(["network", "inspect", &network]).output().unwrap();
    assert!(kept.status.success(), "berth removed a network it does not own");

    let _ = std::process::Command::new("docker").args(["rm", "-f", &id]).output();
    let _ = std::process::Command::new("docker").args(["network", "rm", &network]).output();
}

#[tokio::test]
async fn missing_images_and_engines_are_errors() {
    let docker = docker().await;
    let labels = test_labels();
    let mut spec = busybox("ghost", &labels, &["true"]);
    spec.image = "berth-test/no-such-image:1".to_owned();
    assert!(matches!(docker.create(&spec).await, Err(Error::NotFound(_))));
    assert!(!docker.has_image(&spec.image).await.unwrap());

    let dir = tempfile::tempdir().unwrap();
    let socket = format!("unix://{}/absent.sock", dir.path().display());
    match Docker::connect(Some(&socket)).await {
        Err(Error::Unavailable { host, .. }) => assert_eq!(host, socket),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
