//! The other real clients: boto3 and aws-cli run their smoke scripts against a fresh berth.

use crate::common::Berth;

async fn run(program: &str, script: &str) {
    let berth = Berth::start().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smoke/").to_owned() + script;
    let out = tokio::process::Command::new(program).arg(&script).arg(&berth.url).output().await.unwrap_or_else(|e| {
        panic!("cannot run {program} (the test command installs it): {e}");
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script} failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("smoke: ok"), "{stdout}");
}

#[tokio::test]
async fn boto3_lifecycle() {
    run("python3", "boto3_smoke.py").await;
}

#[tokio::test]
async fn aws_cli_lifecycle() {
    run("bash", "cli_smoke.sh").await;
}

#[tokio::test]
async fn aws_cli_waits_for_a_stable_service_and_only_for_one() {
    run("bash", "services_wait.sh").await;
}
