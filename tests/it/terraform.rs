//! Terraform and the hashicorp/aws provider against berth, with real containers: apply, a plan
//! that shows no changes, an in-place update that rolls the service, destroy that leaves nothing.
//! The module is tests/terraform/main.tf; the provider comes from the local filesystem mirror
//! (`BERTH_TF_MIRROR`, found by scripts/test), since nothing can be downloaded.

use std::path::Path;
use std::process::Output;

use crate::common::{Berth, eventually};

/// Runs terraform in `dir`; panics with its output when it fails, unless `allowed` lists the
/// exit code.
async fn terraform(dir: &Path, args: &[&str], allowed: &[i32]) -> Output {
    let out = tokio::process::Command::new("terraform")
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", dir.join("cli.tfrc"))
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
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

#[tokio::test]
async fn terraform_applies_plans_clean_updates_in_place_and_destroys() {
    let mirror = std::env::var("BERTH_TF_MIRROR").unwrap_or_else(|_| "/opt/tf-plugins".to_owned());
    assert!(
        Path::new(&mirror).join("registry.terraform.io/hashicorp/aws").is_dir(),
        "no hashicorp/aws provider mirror at {mirror} (BERTH_TF_MIRROR; bash scripts/test finds it)"
    );
    let berth = Berth::start().await;
    let dir = tempfile::tempdir().unwrap();
    let module = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/terraform/main.tf");
    std::fs::copy(module, dir.path().join("main.tf")).unwrap();
    std::fs::write(
        dir.path().join("cli.tfrc"),
        format!("provider_installation {{\n  filesystem_mirror {{\n    path = \"{mirror}\"\n  }}\n}}\n"),
    )
    .unwrap();
    let endpoint = format!("endpoint={}", berth.url);
    let vars = |revision: &str, count: u32| {
        vec![
            "-var".to_owned(),
            endpoint.clone(),
            "-var".to_owned(),
            format!("revision={revision}"),
            "-var".to_owned(),
            format!("desired_count={count}"),
        ]
    };
    let with = |base: &[&str], extra: &[String]| -> Vec<String> {
        base.iter().map(|s| (*s).to_owned()).chain(extra.iter().cloned()).collect()
    };
    terraform(dir.path(), &["init", "-input=false", "-no-color"], &[]).await;

    let apply = with(&["apply", "-auto-approve", "-input=false", "-no-color"], &vars("one", 2));
    terraform(dir.path(), &apply.iter().map(String::as_str).collect::<Vec<_>>(), &[]).await;
    let ecs = berth.client();
    let web = ecs.describe_services().cluster("full").services("web").services("worker").send().await.unwrap();
    assert_eq!(web.services().len(), 2);
    assert_eq!(web.services()[0].running_count(), 2, "wait_for_steady_state returned early: {web:?}");
    let tags =
        ecs.list_tags_for_resource().resource_arn(web.services()[0].cluster_arn().unwrap()).send().await.unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == Some("team") && t.value() == Some("platform")));

    // A second plan finds nothing to change: berth answers what the provider expects.
    let plan = with(&["plan", "-detailed-exitcode", "-input=false", "-no-color"], &vars("one", 2));
    let planned = terraform(dir.path(), &plan.iter().map(String::as_str).collect::<Vec<_>>(), &[2]).await;
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
    let updated = terraform(dir.path(), &update.iter().map(String::as_str).collect::<Vec<_>>(), &[]).await;
    let stdout = String::from_utf8_lossy(&updated.stdout);
    assert!(stdout.contains("aws_ecs_service.web: Modifying..."), "{stdout}");
    assert!(!stdout.contains("aws_ecs_service.web: Destroying"), "the service was replaced:\n{stdout}");
    let rolled = crate::common::eventually(600, || async {
        let s = ecs.describe_services().cluster("full").services("web").send().await.unwrap().services()[0].clone();
        s.deployments().len() == 1 && s.running_count() == 3 && s.task_definition() != Some(first.as_str())
    })
    .await;
    assert!(rolled, "the service did not roll to the new revision");

    // destroy leaves nothing: no cluster, no task, no container.
    let destroy = with(&["destroy", "-auto-approve", "-input=false", "-no-color"], &vars("two", 3));
    terraform(dir.path(), &destroy.iter().map(String::as_str).collect::<Vec<_>>(), &[]).await;
    let clusters = ecs.describe_clusters().clusters("full").send().await.unwrap();
    assert_eq!(clusters.clusters()[0].status(), Some("INACTIVE"));
    let docker = crate::common::docker().await;
    let labels = std::collections::BTreeMap::from([("berth.cluster".to_owned(), "full".to_owned())]);
    let empty = eventually(100, || async { docker.list(&labels).await.unwrap().is_empty() }).await;
    assert!(empty, "berth containers of the module's cluster are left after destroy");
}
