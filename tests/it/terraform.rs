//! Terraform and the hashicorp/aws provider against berth, with real containers: apply, a plan
//! that shows no changes, an in-place update that rolls the service, destroy that leaves nothing.
//! The modules are tests/terraform/main.tf and examples/terraform/main.tf; the provider comes
//! from the local filesystem mirror (`BERTH_TF_MIRROR`, found by scripts/test), since nothing
//! can be downloaded. Every call the provider makes is recorded from its debug log and checked
//! against tests/terraform/provider-calls.txt.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use crate::common::Berth;
use crate::fixtures::{secs, until};

/// Runs terraform in `dir`; panics with its output when it fails, unless `allowed` lists the
/// exit code.
async fn terraform<S: AsRef<str> + std::fmt::Debug>(dir: &Path, args: &[S], allowed: &[i32]) -> Output {
    let out = tokio::process::Command::new("terraform")
        .args(args.iter().map(AsRef::as_ref))
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", dir.join("cli.tfrc"))
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_LOG", "DEBUG")
        .env("TF_LOG_PATH", dir.join("terraform.log"))
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run terraform (the test command installs or finds it): {e}"));
    let code = out.status.code().unwrap_or(-1);
    if !out.status.success() && !allowed.contains(&code) {
        panic!(
            "terraform {args:?} exited {code}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// The calls the provider made, as `SERVICE Operation` (from the debug log's "HTTP Response
/// Received" lines), after checking that berth answered every one of them with 200.
fn provider_calls(dir: &Path) -> BTreeSet<String> {
    let log = std::fs::read_to_string(dir.join("terraform.log")).unwrap();
    let field = |line: &str, name: &str| -> Option<String> {
        let start = line.find(&format!(" {name}="))? + name.len() + 2;
        Some(line[start..].split_whitespace().next()?.trim_matches('"').to_owned())
    };
    // A log record starts with its timestamp; a response's body continues it on further lines.
    let mut records: Vec<String> = Vec::new();
    for line in log.lines() {
        let starts_record =
            line.len() > 11 && line.as_bytes()[..4].iter().all(u8::is_ascii_digit) && line.as_bytes()[10] == b'T';
        match records.last_mut() {
            Some(record) if !starts_record => {
                record.push(' ');
                record.push_str(line);
            }
            _ => records.push(line.to_owned()),
        }
    }
    let mut calls = BTreeSet::new();
    for line in records.iter().filter(|l| l.contains("HTTP Response Received")) {
        let (Some(service), Some(method)) = (field(line, "rpc.service"), field(line, "rpc.method")) else {
            continue;
        };
        let status = field(line, "http.status_code").unwrap_or_default();
        let error = field(line, "http.response.header.x_amzn_errortype").unwrap_or_default();
        // After DeleteSecret the provider polls DescribeSecret until the secret is gone, as on AWS.
        let awaited_gone = (service.as_str(), method.as_str(), error.as_str())
            == ("Secrets", "DescribeSecret", "ResourceNotFoundException");
        if awaited_gone {
            calls.insert(format!("{service} {method} -> {error}"));
            continue;
        }
        assert_eq!(status, "200", "berth answered the provider's {service} {method} with {status}:\n{line}");
        calls.insert(format!("{service} {method}"));
    }
    calls
}

/// Checks the calls against the record in tests/terraform/provider-calls.txt, which
/// `BERTH_UPDATE_PROVIDER_CALLS=1` rewrites.
fn check_recorded_calls(calls: &BTreeSet<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/terraform/provider-calls.txt");
    let header = "# Every call the hashicorp/aws provider (5.100.0 here) makes to berth while\n\
                  # tests/terraform/main.tf is applied, planned, updated and destroyed; berth answers each\n\
                  # with 200. tests/it/terraform.rs records them; BERTH_UPDATE_PROVIDER_CALLS=1 rewrites this.\n";
    let recorded: String = header.to_owned() + &calls.iter().map(|c| format!("{c}\n")).collect::<String>();
    if std::env::var_os("BERTH_UPDATE_PROVIDER_CALLS").is_some() {
        std::fs::write(&path, &recorded).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        recorded,
        expected,
        "the provider's calls differ from {} (BERTH_UPDATE_PROVIDER_CALLS=1 rewrites it)",
        path.display()
    );
}

/// After `terraform destroy`: the cluster is INACTIVE and none of its berth containers is left.
async fn assert_destroyed(ecs: &aws_sdk_ecs::Client, cluster: &str) {
    let clusters = ecs.describe_clusters().clusters(cluster).send().await.unwrap();
    assert_eq!(clusters.clusters()[0].status(), Some("INACTIVE"));
    let docker = crate::common::docker().await;
    let labels = std::collections::BTreeMap::from([("berth.cluster".to_owned(), cluster.to_owned())]);
    until(&format!("berth containers of cluster {cluster} to go after destroy"), secs(10), || async {
        let left = docker.list(&labels).await.unwrap();
        if left.is_empty() { Ok(()) } else { Err(left) }
    })
    .await;
}

/// A temporary directory holding a copy of the module at `path` (relative to the repository)
/// and a CLI configuration that installs the provider from the local mirror.
fn module(path: &str) -> tempfile::TempDir {
    let mirror = std::env::var("BERTH_TF_MIRROR").unwrap_or_else(|_| "/opt/tf-plugins".to_owned());
    assert!(
        Path::new(&mirror).join("registry.terraform.io/hashicorp/aws").is_dir(),
        "no hashicorp/aws provider mirror at {mirror} (BERTH_TF_MIRROR; bash scripts/test finds it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::copy(&source, dir.path().join("main.tf")).unwrap();
    std::fs::write(
        dir.path().join("cli.tfrc"),
        format!("provider_installation {{\n  filesystem_mirror {{\n    path = \"{mirror}\"\n  }}\n}}\n"),
    )
    .unwrap();
    dir
}

#[tokio::test]
async fn terraform_applies_plans_clean_updates_in_place_and_destroys() {
    let berth = Berth::start().await;
    let dir = module("tests/terraform/main.tf");
    let endpoint = format!("endpoint={}", berth.url);
    let vars = |revision: &str, count: u32| {
        vec![
            "-var".to_owned(),
            endpoint.clone(),
            "-var".to_owned(),
            format!("revision={revision}"),
            "-var".to_owned(),
            format!("desired_count={count}"),
            "-var".to_owned(),
            format!("log_retention={}", if revision == "one" { 7 } else { 14 }),
        ]
    };
    let with = |base: &[&str], extra: &[String]| -> Vec<String> {
        base.iter().map(|s| (*s).to_owned()).chain(extra.iter().cloned()).collect()
    };
    terraform(dir.path(), &["init", "-input=false", "-no-color"], &[]).await;

    let apply = with(&["apply", "-auto-approve", "-input=false", "-no-color"], &vars("one", 2));
    terraform(dir.path(), &apply, &[]).await;
    let ecs = berth.client();
    let web = ecs.describe_services().cluster("full").services("web").services("worker").send().await.unwrap();
    assert_eq!(web.services().len(), 2);
    assert_eq!(web.services()[0].running_count(), 2, "wait_for_steady_state returned early: {web:?}");
    let tags =
        ecs.list_tags_for_resource().resource_arn(web.services()[0].cluster_arn().unwrap()).send().await.unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == Some("team") && t.value() == Some("platform")));

    // A second plan finds nothing to change: berth answers what the provider expects.
    let plan = with(&["plan", "-detailed-exitcode", "-input=false", "-no-color"], &vars("one", 2));
    let planned = terraform(dir.path(), &plan, &[2]).await;
    assert_eq!(
        planned.status.code(),
        Some(0),
        "the plan after apply shows changes:\n{}",
        String::from_utf8_lossy(&planned.stdout)
    );

    // A new revision and a new count: the service is updated in place and rolls.
    let first = ecs.describe_services().cluster("full").services("web").send().await.unwrap().services()[0]
        .task_definition()
        .unwrap()
        .to_owned();
    let update = with(&["apply", "-auto-approve", "-input=false", "-no-color"], &vars("two", 3));
    let updated = terraform(dir.path(), &update, &[]).await;
    let stdout = String::from_utf8_lossy(&updated.stdout);
    assert!(stdout.contains("aws_ecs_service.web: Modifying..."), "{stdout}");
    assert!(!stdout.contains("aws_ecs_service.web: Destroying"), "the service was replaced:\n{stdout}");
    until("the service to roll to the new revision", secs(60), || async {
        let s = ecs.describe_services().cluster("full").services("web").send().await.unwrap().services()[0].clone();
        let rolled =
            s.deployments().len() == 1 && s.running_count() == 3 && s.task_definition() != Some(first.as_str());
        if rolled { Ok(()) } else { Err(s) }
    })
    .await;

    // The log group's retention was updated in place, and the web tasks' output is in it.
    let headers = [("X-Amz-Target", "Logs_20140328.DescribeLogGroups"), ("Content-Type", "application/x-amz-json-1.1")];
    let groups = berth.raw("POST", "/", &headers, br#"{"logGroupNamePrefix": "web"}"#).await.json();
    assert_eq!(groups["logGroups"][0]["retentionInDays"], 14, "{groups}");
    assert!(stdout.contains("aws_cloudwatch_log_group.web: Modifying..."), "{stdout}");
    let headers =
        [("X-Amz-Target", "Logs_20140328.DescribeLogStreams"), ("Content-Type", "application/x-amz-json-1.1")];
    let streams =
        berth.raw("POST", "/", &headers, br#"{"logGroupName": "web", "logStreamNamePrefix": "web/web/"}"#).await;
    assert!(!streams.json()["logStreams"].as_array().unwrap().is_empty(), "{}", streams.body);

    // The secret got the new revision's value as its AWSCURRENT version, the old one AWSPREVIOUS.
    let headers = [("X-Amz-Target", "secretsmanager.GetSecretValue"), ("Content-Type", "application/x-amz-json-1.1")];
    let current = berth.raw("POST", "/", &headers, br#"{"SecretId": "full/db"}"#).await.json();
    assert_eq!(current["SecretString"], r#"{"password":"pw-two","user":"web"}"#, "{current}");

    // destroy leaves nothing: no cluster, no task, no container, no secret.
    let destroy = with(&["destroy", "-auto-approve", "-input=false", "-no-color"], &vars("two", 3));
    terraform(dir.path(), &destroy, &[]).await;
    assert_destroyed(&ecs, "full").await;
    let headers = [("X-Amz-Target", "secretsmanager.DescribeSecret"), ("Content-Type", "application/x-amz-json-1.1")];
    berth
        .raw("POST", "/", &headers, br#"{"SecretId": "full/db"}"#)
        .await
        .assert_error(400, "ResourceNotFoundException");

    check_recorded_calls(&provider_calls(dir.path()));
}

/// examples/terraform as its README runs it: apply, the page at the `url` output, a new message
/// rolled out, destroy.
#[tokio::test]
async fn terraform_example_serves_its_page() {
    let berth = Berth::start().await;
    let dir = module("examples/terraform/main.tf");
    // A free port for the page, so the test does not need 8080.
    let port = crate::common::free_port();
    let vars = |message: &str| {
        vec![
            "-var".to_owned(),
            format!("endpoint={}", berth.url),
            "-var".to_owned(),
            format!("host_port={port}"),
            "-var".to_owned(),
            format!("message={message}"),
        ]
    };
    let run = |verb: &'static str, message: &str| {
        let mut args: Vec<String> = [verb, "-auto-approve", "-input=false", "-no-color"].map(str::to_owned).to_vec();
        args.extend(vars(message));
        args
    };
    // The page's body, or "" while nothing answers.
    let page = || async {
        let response = crate::common::http_get(port).await.unwrap_or_default();
        response.split_once("\r\n\r\n").map(|(_, body)| body.trim().to_owned()).unwrap_or_default()
    };
    terraform(dir.path(), &["init", "-input=false", "-no-color"], &[]).await;
    let apply = run("apply", "hello from berth");
    terraform(dir.path(), &apply, &[]).await;
    let output = terraform(dir.path(), &["output", "-raw", "url"], &[]).await;
    assert_eq!(String::from_utf8_lossy(&output.stdout), format!("http://127.0.0.1:{port}/"));
    // RUNNING comes before httpd listens: ask again for a moment.
    until("the page to be served", secs(10), || async {
        let body = page().await;
        if body == "hello from berth" { Ok(()) } else { Err(body) }
    })
    .await;

    let change = run("apply", "changed");
    terraform(dir.path(), &change, &[]).await;
    until("the page to change after the new revision rolled out", secs(20), || async {
        let body = page().await;
        if body == "changed" { Ok(()) } else { Err(body) }
    })
    .await;

    let destroy = run("destroy", "changed");
    terraform(dir.path(), &destroy, &[]).await;
    assert_destroyed(&berth.client(), "tf-demo").await;
    provider_calls(dir.path());
}
