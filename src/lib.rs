//! berth: Amazon ECS on your machine.
//!
//! # Layout
//!
//! A request flows down through the layers; nothing below `api` sees HTTP or JSON DTOs.
//!
//! - [`protocol`]: the AWS JSON 1.1 front end (hyper). Parses `X-Amz-Target`, checks the body
//!   against the ECS model in `api-models/ecs.json`, answers AWS-shaped errors.
//! - [`api`]: one handler per ECS operation, one file per resource. Applies ECS's rules and
//!   writes through the store. Its controllers ([`api::control`]: cluster auto scaling and
//!   the service scheduler) apply the same rules to stored state in the background, through
//!   the same launch path as RunTask, woken by the task runtime.
//! - [`domain`]: pure ECS types and rules (ARNs, names, task definition validation).
//! - [`scheduler`]: drives each task's containers to its desired status and records what it
//!   observes; woken by Docker (wait and event APIs) and by StopTask.
//! - [`placement`]: where a task runs among container instances (resources, ports, network
//!   interfaces, attributes, constraints with the cluster query language, strategies). Pure
//!   functions, no IO.
//! - [`driver`]: Docker through bollard; knows Docker, not ECS. Touches only berth-labelled
//!   objects.
//! - [`store`]: SQLite through sqlx; the only SQL. A write is acknowledged after it commits.
//! - [`app`]: wiring and shutdown; [`config`]: the command line.
//!
//! Operations not built yet answer a clear "not implemented by berth yet" error.

#[macro_use]
pub mod error;
pub mod api;
pub mod app;
pub mod config;
pub mod domain;
pub mod driver;
pub mod placement;
pub mod protocol;
pub mod scheduler;
pub mod store;
