//! A task's volumes: creates the Docker volumes its definition asks for (task-scoped and shared
//! Docker volumes, EFS file systems) and says what each mount point mounts, before the task's
//! containers are made.
//!
//! It may call the Docker driver and [`super::spec`] (labels, `Volumes`); it fails the way
//! [`super::lifecycle`] records (`Failure`), which is its only caller.

use std::collections::BTreeMap;

use serde_json::Value;

use super::spec::{LABEL_CLUSTER, LABEL_TASK, Volumes, str_of};
use super::task::{Failure, failed};
use crate::domain::list_of;
use crate::driver::{Docker, MountKind, VolumeSpec};
use crate::store::{Doc, TaskKey};

/// Creates the Docker volumes the task's `volumes` need, as the ECS agent does: a host path is
/// bind-mounted; a volume with no configuration is task-scoped storage shared by the task's
/// containers (Fargate's bind mounts); `dockerVolumeConfiguration` makes a task-scoped volume
/// (removed with the task) or a shared one (named after the volume, kept, created only with
/// `autoprovision`); an EFS file system becomes a shared volume named after it, so tasks that
/// mount the same file system share its files.
pub(super) async fn prepare_volumes(
    docker: &Docker,
    key: &TaskKey,
    labels: &BTreeMap<String, String>,
    definition: &Doc,
) -> Result<Volumes, Failure> {
    let mut out = Volumes::new();
    let cannot = |name: &str, e: crate::driver::Error| failed(format!("CannotCreateVolumeError: volume {name}: {e}"));
    for v in list_of(definition, "volumes") {
        let Some(name) = str_of(v, "name") else { continue };
        if let Some(path) = v.get("host").and_then(|h| str_of(h, "sourcePath")) {
            out.insert(name.to_owned(), (MountKind::Bind, path.to_owned()));
            continue;
        }
        let task_scoped =
            VolumeSpec { name: format!("berth-{}-{name}", key.id), labels: labels.clone(), ..Default::default() };
        let spec = if let Some(config) = v.get("dockerVolumeConfiguration") {
            let driver_opts: BTreeMap<String, String> = config
                .get("driverOpts")
                .and_then(Value::as_object)
                .map(|o| o.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
                .unwrap_or_default();
            let mut own_labels: BTreeMap<String, String> = config
                .get("labels")
                .and_then(Value::as_object)
                .map(|o| o.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
                .unwrap_or_default();
            let driver = str_of(config, "driver").map(str::to_owned);
            if str_of(config, "scope") == Some("shared") {
                let autoprovision = config.get("autoprovision").and_then(Value::as_bool).unwrap_or(false);
                if !autoprovision {
                    match docker.volume_exists(name).await {
                        Ok(true) => {}
                        Ok(false) => {
                            // The ECS agent's words.
                            let arn = labels.get(LABEL_TASK).map_or("", String::as_str);
                            return Err(failed(format!(
                                "ResourceInitializationError: resource cannot be initialized for task {arn}: initialize volume: volume detection failed, volume '{name}' does not exist and autoprovision is set to false"
                            )));
                        }
                        Err(e) => return Err(cannot(name, e)),
                    }
                }
                own_labels.insert(LABEL_CLUSTER.to_owned(), key.cluster.clone());
                VolumeSpec { name: name.to_owned(), driver, driver_opts, labels: own_labels }
            } else {
                own_labels.extend(task_scoped.labels);
                VolumeSpec { driver, driver_opts, labels: own_labels, ..task_scoped }
            }
        } else if let Some(efs) = v.get("efsVolumeConfiguration") {
            let fs = str_of(efs, "fileSystemId").unwrap_or("efs");
            VolumeSpec { name: format!("berth-efs-{fs}"), ..Default::default() }
        } else if v.get("fsxWindowsFileServerVolumeConfiguration").is_some() {
            return Err(failed(format!(
                "CannotCreateVolumeError: volume {name}: berth cannot mount FSx for Windows File Server volumes"
            )));
        } else {
            task_scoped
        };
        docker.ensure_volume(&spec).await.map_err(|e| cannot(name, e))?;
        out.insert(name.to_owned(), (MountKind::Volume, spec.name));
    }
    Ok(out)
}
