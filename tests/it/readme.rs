//! The README's quickstart, executed verbatim: the shell block between the `quickstart:begin`
//! and `quickstart:end` markers runs in bash from the repository root, as a newcomer pastes it,
//! and must serve the page it promises.
//!
//! It runs berth on its default address, so it needs 127.0.0.1:4566 free; its data dir is a
//! temporary one (`BERTH_DATA_DIR`), so a developer's `.berth/` is left alone.

use std::time::Duration;

use tokio::io::AsyncReadExt;

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
    let mut child = tokio::process::Command::new("bash")
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
    // berth inherits the pipes, so read them beside the script rather than wait for their end.
    let read = |pipe: Option<Box<dyn tokio::io::AsyncRead + Unpin + Send>>| {
        tokio::spawn(async move {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text).await;
            }
            text
        })
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as _));
    let status = tokio::time::timeout(Duration::from_secs(900), child.wait()).await;
    // berth runs in the script's process group: wait until it has shut down (and removed its
    // Docker network); stop it when the script did not, and wait for that too.
    let signal = |signal: &str| {
        std::process::Command::new("kill")
            .args([signal, "--", &format!("-{group}")])
            .status()
            .is_ok_and(|s| s.success())
    };
    let gone = || async {
        for _ in 0..200 {
            if !signal("-0") {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    };
    let stopped = gone().await;
    if !stopped {
        signal("-TERM");
        if !gone().await {
            signal("-KILL");
        }
    }
    let (stdout, stderr) = (stdout.await.unwrap(), stderr.await.unwrap());
    let status =
        status.unwrap_or_else(|_| panic!("the quickstart ran over 15 minutes\nstdout:\n{stdout}\nstderr:\n{stderr}"));
    assert!(status.unwrap().success(), "the quickstart failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stopped, "berth was still running after the quickstart's last line");
    assert!(stdout.contains("hello from berth"), "the task's page is not in the output:\n{stdout}");
    assert!(stdout.contains("\"STOPPED\""), "the task did not stop:\n{stdout}");
    assert!(stdout.contains("\"INACTIVE\""), "the cluster was not deleted:\n{stdout}");
}
