//! The README's quickstart, executed verbatim: the shell block between the `quickstart:begin`
//! and `quickstart:end` markers runs in bash from the repository root, as a newcomer pastes it,
//! and must serve the page it promises.
//!
//! It runs berth on its default address, so it needs 127.0.0.1:4566 free; its data dir is a
//! temporary one (`BERTH_DATA_DIR`), so a developer's `.berth/` is left alone.

use std::time::Duration;

/// The quickstart's commands: the fenced block between the markers.
fn quickstart() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("<!-- quickstart:begin -->").expect("the README marks its quickstart");
    let end = readme.find("<!-- quickstart:end -->").expect("the README marks its quickstart's end");
    let block = &readme[start..end];
    let body = block.split_once("```sh\n").expect("the quickstart is a ```sh block").1;
    body.rsplit_once("```").expect("the quickstart block is closed").0.to_owned()
}

#[tokio::test]
async fn readme_quickstart_works_as_written() {
    let script = quickstart();
    assert!(script.contains("127.0.0.1:4566"), "{script}");
    if let Err(e) = std::net::TcpListener::bind("127.0.0.1:4566") {
        panic!("127.0.0.1:4566 is taken ({e}): the README quickstart test runs berth on its default address");
    }
    let data_dir = tempfile::tempdir().unwrap();
    let child = tokio::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("BERTH_DATA_DIR", data_dir.path())
        .env("RUST_LOG", "warn")
        .env_remove("AWS_ENDPOINT_URL_ECS")
        .env_remove("AWS_ENDPOINT_URL")
        .process_group(0)
        .kill_on_drop(true)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let group = child.id().unwrap().to_string();
    let finished = tokio::time::timeout(Duration::from_secs(900), child.wait_with_output()).await;
    // berth runs in the script's process group: wait until it has shut down (and removed its
    // Docker network); stop it when the script did not.
    let signal = |signal: &str| {
        std::process::Command::new("kill")
            .args([signal, "--", &format!("-{group}")])
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut stopped = false;
    for _ in 0..150 {
        if !signal("-0") {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !stopped {
        signal("-TERM");
    }
    let out = finished.expect("the quickstart finished within 15 minutes").unwrap();
    assert!(stopped, "berth was still running after the quickstart's last line");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the quickstart failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("hello from berth"), "the task's page is not in the output:\n{stdout}");
    assert!(stdout.contains("\"STOPPED\""), "the task did not stop:\n{stdout}");
    assert!(stdout.contains("\"INACTIVE\""), "the cluster was not deleted:\n{stdout}");
}
