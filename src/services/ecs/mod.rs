//! Amazon ECS (awsJson 1.1, `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Op>`): one
//! handler per operation, one file per resource.
//!
//! A handler gets its input already checked against the model (types, required members, enums,
//! lengths), as a typed struct, applies ECS's rules, writes through the store and answers the
//! output shape as JSON. Handlers know nothing of HTTP, SQL or Docker.

mod account_settings;
mod agent;
mod attributes;
pub(crate) mod capacity_providers;
pub(crate) mod clusters;
pub(crate) mod container_instances;
pub(crate) mod daemon_task_definitions;
pub(crate) mod daemons;
mod execute_command;
pub(crate) mod launch;
pub(crate) mod placement;
mod service_deployment_ops;
pub(crate) mod service_deployments;
mod service_settings;
pub(crate) mod services;
mod tags;
pub(crate) mod task_definitions;
mod task_protection;
mod task_sets;
mod tasks;

use serde_json::Value;

use super::parse;
use crate::config::InstanceSpec;
use crate::domain::arn::{NameOrArn, Scope};
use crate::error::{ApiError, Code, Result};
use crate::protocol::model::{Model, Validation};
use crate::protocol::{BoxFuture, Call, Output, Service};
use crate::runtime::TaskRuntime;
use crate::services::paging;
use crate::store::{Named, NamedRow, Store};
use std::sync::Arc;

/// The ECS service: the store and the identity berth answers as.
#[derive(Debug)]
pub struct Api {
    store: Store,
    tasks: Arc<TaskRuntime>,
    account: String,
    default_region: String,
    fleet: InstanceSpec,
}

/// What one call runs with: the store, and the region and account its resources live in.
pub struct Ctx<'a> {
    /// The store.
    pub store: &'a Store,
    /// The scheduler that runs tasks.
    pub tasks: &'a Arc<TaskRuntime>,
    /// The region (from the request's SigV4 credential scope, else berth's default) and account.
    pub scope: Scope<'a>,
    /// The container instances each cluster gets.
    pub fleet: &'a InstanceSpec,
}

impl Ctx<'_> {
    /// The region of the call.
    #[must_use]
    pub fn region(&self) -> &str {
        self.scope.region
    }

    /// The cluster or capacity provider a client names by name or ARN, in any status. An ARN
    /// finds only the resource it names: of this region and account.
    ///
    /// # Errors
    /// `ServerException` if the store fails.
    pub async fn find_named(&self, kind: Named, reference: &str) -> Result<Option<NamedRow>> {
        let resource_type = match kind {
            Named::Cluster => "cluster",
            Named::CapacityProvider => "capacity-provider",
        };
        Ok(match NameOrArn::parse(reference, resource_type) {
            NameOrArn::Name(name) => self.store.get_named(kind, self.region(), name).await?,
            NameOrArn::Arn { arn, name } => {
                self.store.get_named(kind, self.region(), name).await?.filter(|row| row.arn == arn)
            }
            NameOrArn::Invalid => None,
        })
    }
}

macro_rules! operations {
    ($($op:ident => $handler:path,)*) => {
        /// The operations berth implements, as named in the model.
        pub const IMPLEMENTED: &[&str] = &[$(stringify!($op),)*];

        async fn dispatch(ctx: &Ctx<'_>, op: &str, input: Value) -> Result<Output> {
            match op {
                $(stringify!($op) => $handler(ctx, parse(input)?).await.map(Into::into),)*
                _ => Err(aws_error!(
                    UnsupportedFeatureException,
                    "{op} is not implemented by berth yet; the README lists what is"
                )),
            }
        }
    };
}

operations! {
    CreateCluster => clusters::create_cluster,
    DescribeClusters => clusters::describe_clusters,
    ListClusters => clusters::list_clusters,
    UpdateCluster => clusters::update_cluster,
    UpdateClusterSettings => clusters::update_cluster_settings,
    PutClusterCapacityProviders => clusters::put_cluster_capacity_providers,
    DeleteCluster => clusters::delete_cluster,
    RegisterTaskDefinition => task_definitions::register_task_definition,
    DescribeTaskDefinition => task_definitions::describe_task_definition,
    ListTaskDefinitions => task_definitions::list_task_definitions,
    ListTaskDefinitionFamilies => task_definitions::list_task_definition_families,
    DeregisterTaskDefinition => task_definitions::deregister_task_definition,
    DeleteTaskDefinitions => task_definitions::delete_task_definitions,
    RegisterDaemonTaskDefinition => daemon_task_definitions::register_daemon_task_definition,
    DescribeDaemonTaskDefinition => daemon_task_definitions::describe_daemon_task_definition,
    ListDaemonTaskDefinitions => daemon_task_definitions::list_daemon_task_definitions,
    DeleteDaemonTaskDefinition => daemon_task_definitions::delete_daemon_task_definition,
    CreateDaemon => daemons::create_daemon,
    UpdateDaemon => daemons::update_daemon,
    DeleteDaemon => daemons::delete_daemon,
    DescribeDaemon => daemons::describe_daemon,
    ListDaemons => daemons::list_daemons,
    DescribeDaemonDeployments => daemons::describe_daemon_deployments,
    ListDaemonDeployments => daemons::list_daemon_deployments,
    DescribeDaemonRevisions => daemons::describe_daemon_revisions,
    CreateCapacityProvider => capacity_providers::create_capacity_provider,
    DescribeCapacityProviders => capacity_providers::describe_capacity_providers,
    UpdateCapacityProvider => capacity_providers::update_capacity_provider,
    DeleteCapacityProvider => capacity_providers::delete_capacity_provider,
    TagResource => tags::tag_resource,
    UntagResource => tags::untag_resource,
    ListTagsForResource => tags::list_tags_for_resource,
    PutAccountSetting => account_settings::put_account_setting,
    PutAccountSettingDefault => account_settings::put_account_setting_default,
    DeleteAccountSetting => account_settings::delete_account_setting,
    ListAccountSettings => account_settings::list_account_settings,
    PutAttributes => attributes::put_attributes,
    DeleteAttributes => attributes::delete_attributes,
    ListAttributes => attributes::list_attributes,
    DescribeContainerInstances => container_instances::describe_container_instances,
    ListContainerInstances => container_instances::list_container_instances,
    UpdateContainerInstancesState => container_instances::update_container_instances_state,
    DeregisterContainerInstance => container_instances::deregister_container_instance,
    RegisterContainerInstance => container_instances::register_container_instance,
    UpdateContainerAgent => container_instances::update_container_agent,
    CreateService => services::create_service,
    UpdateService => services::update_service,
    DeleteService => services::delete_service,
    DescribeServices => services::describe_services,
    ListServices => services::list_services,
    ListServicesByNamespace => services::list_services_by_namespace,
    CreateTaskSet => task_sets::create_task_set,
    UpdateTaskSet => task_sets::update_task_set,
    DeleteTaskSet => task_sets::delete_task_set,
    DescribeTaskSets => task_sets::describe_task_sets,
    UpdateTaskProtection => task_protection::update_task_protection,
    GetTaskProtection => task_protection::get_task_protection,
    UpdateServicePrimaryTaskSet => task_sets::update_service_primary_task_set,
    ListServiceDeployments => service_deployment_ops::list_service_deployments,
    DescribeServiceDeployments => service_deployment_ops::describe_service_deployments,
    DescribeServiceRevisions => service_deployment_ops::describe_service_revisions,
    StopServiceDeployment => service_deployment_ops::stop_service_deployment,
    RunTask => tasks::run_task,
    StartTask => tasks::start_task,
    StopTask => tasks::stop_task,
    DescribeTasks => tasks::describe_tasks,
    ListTasks => tasks::list_tasks,
    ExecuteCommand => execute_command::execute_command,
    DiscoverPollEndpoint => agent::discover_poll_endpoint,
    SubmitTaskStateChange => agent::submit_task_state_change,
    SubmitContainerStateChange => agent::submit_container_state_change,
    SubmitAttachmentStateChanges => agent::submit_attachment_state_changes,
}

/// Operations that answer but do not do all AWS does yet, with what they lack; the coverage
/// table does not count them as implemented.
const PARTLY: &[(&str, &str)] =
    &[("ExecuteCommand", "every error AWS answers before a session opens; no ECS Exec session yet")];

/// A Describe call's `failures` entry for a reference that names nothing: the reference itself
/// when it is an ARN, else the ARN the name would have.
fn missing(reference: &str, arn_of_name: impl FnOnce(&str) -> String) -> Value {
    let arn = if reference.starts_with("arn:") { reference.to_owned() } else { arn_of_name(reference) };
    serde_json::json!({"arn": arn, "reason": "MISSING"})
}

/// The id a reference to a resource of a cluster names: the id itself, or an ARN
/// `RESOURCE_TYPE/CLUSTER/ID` of that cluster.
fn cluster_scoped_id<'a>(cluster: &NamedRow, reference: &'a str, resource_type: &str) -> Option<&'a str> {
    if !reference.starts_with("arn:") {
        return Some(reference);
    }
    let arn = crate::domain::arn::Arn::parse(reference)?;
    let (in_cluster, id) = arn.resource_id.split_once('/')?;
    (arn.resource_type == resource_type && in_cluster == cluster.name).then_some(id)
}

/// Turns a checked request body into a handler's input type. The model check ran first, so a
/// failure here means a shape the model allows but the handler's type does not.
impl Api {
    /// The API over `store`, answering as `account` in `default_region` unless a request's
    /// credential scope names another region.
    #[must_use]
    pub fn new(
        store: Store,
        tasks: Arc<TaskRuntime>,
        account: String,
        default_region: String,
        fleet: InstanceSpec,
    ) -> Self {
        Self { store, tasks, account, default_region, fleet }
    }

    /// What a call in `region` runs with.
    pub(crate) fn ctx<'a>(&'a self, region: &'a str) -> Ctx<'a> {
        Ctx {
            store: &self.store,
            tasks: &self.tasks,
            scope: Scope { region, account: &self.account },
            fleet: &self.fleet,
        }
    }

    /// Deletes all state (`POST /_berth/reset`).
    ///
    /// # Errors
    /// `ServerException` if the store fails.
    pub async fn reset(&self) -> Result<()> {
        self.tasks.remove_all().await;
        self.store.reset().await.map_err(ApiError::from)
    }

    /// The store, for shutdown.
    #[must_use]
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The account berth answers as.
    #[must_use]
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The task runtime, for shutdown.
    #[must_use]
    pub fn tasks(&self) -> &TaskRuntime {
        &self.tasks
    }

    /// The task runtime, shared (for the controllers that drive it).
    #[must_use]
    pub fn tasks_handle(&self) -> Arc<TaskRuntime> {
        self.tasks.clone()
    }
}

/// The ECS model, `api-models/ecs.json`.
#[must_use]
pub fn model() -> &'static Model {
    crate::embedded_model!("ecs", Validation::one(Code::InvalidParameterException))
}

impl Service for Api {
    fn model(&self) -> &'static Model {
        model()
    }

    fn call(&self, call: Call) -> BoxFuture<'_, Result<Output>> {
        Box::pin(async move {
            let region = call.region.as_deref().unwrap_or(&self.default_region);
            dispatch(&self.ctx(region), &call.operation, call.input).await
        })
    }
}

/// The operation coverage table of the README, generated from the model and [`IMPLEMENTED`].
#[must_use]
pub fn coverage_table() -> String {
    let model = model();
    let names: Vec<&str> = model.operation_names().collect();
    let partly = |name: &str| PARTLY.iter().find(|(op, _)| *op == name).map(|(_, what)| *what);
    let done = names.iter().filter(|n| IMPLEMENTED.contains(n) && partly(n).is_none()).count();
    let mut out =
        format!("{done} of {} ECS operations are implemented.\n\n| Operation | berth |\n|---|---|\n", names.len());
    for name in names {
        let mark = match (IMPLEMENTED.contains(&name), partly(name)) {
            (true, Some(what)) => format!("partly: {what}"),
            (true, None) => "yes".to_owned(),
            (false, _) => "not yet".to_owned(),
        };
        out.push_str(&format!("| {name} | {mark} |\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_implemented_operation_is_in_the_model() {
        let model = model();
        for op in IMPLEMENTED {
            assert!(model.operation(op).is_some(), "{op} is not an ECS operation");
        }
    }

    /// The README's coverage table is generated: `BERTH_UPDATE_README=1 cargo test` rewrites it.
    #[test]
    fn readme_coverage_table_is_current() {
        const BEGIN: &str = "<!-- coverage:begin -->\n";
        const END: &str = "<!-- coverage:end -->";
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
        let readme = std::fs::read_to_string(path).unwrap();
        let start = readme.find(BEGIN).expect("README has a coverage:begin marker") + BEGIN.len();
        let end = readme.find(END).expect("README has a coverage:end marker");
        let table = coverage_table();
        if readme[start..end] != table {
            if std::env::var_os("BERTH_UPDATE_README").is_some() {
                let updated = format!("{}{}{}", &readme[..start], table, &readme[end..]);
                std::fs::write(path, updated).unwrap();
            } else {
                panic!("README coverage table is stale: run BERTH_UPDATE_README=1 cargo test --lib");
            }
        }
    }
}
