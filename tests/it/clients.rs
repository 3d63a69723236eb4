//! The other real clients against a fresh berth: boto3 and aws-cli smoke scripts, and the
//! examples a newcomer copies (examples/cli, examples/python), run as their READMEs say.

use crate::common::Berth;

/// Runs `program args` from the repository root with `env`; panics with its output unless it
/// succeeds and prints `ok`.
async fn run(program: &str, args: &[&str], env: &[(&str, &str)], ok: &str) {
    let out = tokio::process::Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {program} (the test command installs it): {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{program} {args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains(ok) || stderr.contains(ok),
        "no '{ok}' from {program} {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
}

#[tokio::test]
async fn boto3_lifecycle() {
    let berth = Berth::start().await;
    run("python3", &["tests/smoke/boto3_smoke.py", &berth.url], &[], "smoke: ok").await;
}

#[tokio::test]
async fn aws_cli_lifecycle() {
    let berth = Berth::start().await;
    run("bash", &["tests/smoke/cli_smoke.sh", &berth.url], &[], "smoke: ok").await;
}

#[tokio::test]
async fn aws_cli_waits_for_a_stable_service_and_only_for_one() {
    let berth = Berth::start().await;
    run("bash", &["tests/smoke/services_wait.sh", &berth.url], &[], "smoke: ok").await;
}

#[tokio::test]
async fn cli_example_runs_with_endpoint_url() {
    let berth = Berth::start().await;
    run("bash", &["examples/cli/workflow.sh", &berth.url], &[], "workflow: ok").await;
}

#[tokio::test]
async fn cli_example_runs_with_aws_endpoint_url_ecs_alone() {
    let berth = Berth::start().await;
    run("bash", &["examples/cli/workflow.sh"], &[("AWS_ENDPOINT_URL_ECS", &berth.url)], "workflow: ok").await;
}

#[tokio::test]
async fn python_example_suite_passes() {
    let berth = Berth::start().await;
    let args = ["-m", "unittest", "-v", "examples/python/test_web_service.py"];
    run("python3", &args, &[("BERTH_URL", &berth.url)], "\nOK").await;
}

#[tokio::test]
async fn boto3_speaks_logs_cloudwatch_and_sts_in_their_own_protocols() {
    let berth = Berth::start().await;
    run("python3", &["tests/smoke/aws_services.py", &berth.url], &[], "services: ok").await;
}

#[tokio::test]
async fn boto3_drives_every_cloudwatch_logs_operation() {
    let berth = Berth::start().await;
    run("python3", &["tests/smoke/logs.py", &berth.url], &[], "logs: ok").await;
}

#[tokio::test]
async fn boto3_drives_every_secrets_manager_operation_and_no_value_reaches_the_log() {
    let berth = Berth::start_logging("debug").await;
    let marker = format!("s3cr3t-{}", uuid_like());
    run("python3", &["tests/smoke/secretsmanager.py", &berth.url, &marker], &[], "secrets: ok").await;
    let log = berth.log();
    assert!(log.contains("secretsmanager.GetSecretValue"), "berth logged its requests at debug: {log}");
    assert!(!log.contains(&marker), "a secret value reached berth's log");
}

#[tokio::test]
async fn aws_cli_creates_reads_versions_and_deletes_secrets() {
    let berth = Berth::start().await;
    run("bash", &["tests/smoke/secrets_cli.sh", &berth.url], &[], "secrets-cli: ok").await;
}

/// A random-enough marker for one test run.
fn uuid_like() -> String {
    format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos())
}

#[tokio::test]
async fn aws_cli_puts_reads_and_filters_log_events() {
    let berth = Berth::start().await;
    run("bash", &["tests/smoke/logs_cli.sh", &berth.url], &[], "logs-cli: ok").await;
}

#[tokio::test]
async fn aws_cli_reaches_sts_and_logs_on_the_same_endpoint() {
    let berth = Berth::start().await;
    let env = [("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"), ("AWS_DEFAULT_REGION", "us-east-1")];
    let url = berth.url.as_str();
    run("aws", &["--endpoint-url", url, "sts", "get-caller-identity"], &env, "\"Account\": \"000000000000\"").await;
    run("aws", &["--endpoint-url", url, "logs", "create-log-group", "--log-group-name", "cli-group"], &env, "").await;
    let describe = ["--endpoint-url", url, "logs", "describe-log-groups", "--log-group-name-prefix", "cli-"];
    run("aws", &describe, &env, "\"logGroupName\": \"cli-group\"").await;
}
