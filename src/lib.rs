//! berth: Amazon ECS on your machine.
//!
//! # Layout
//!
//! A request flows down through the layers; nothing below `api` sees HTTP or JSON DTOs.
//!
//! - [`protocol`]: the AWS JSON 1.1 front end (hyper). Parses `X-Amz-Target`, checks the body
//!   against the ECS model in `api-models/ecs.json`, answers AWS-shaped errors.
//! - [`api`]: one handler per ECS operation, one file per resource. Applies ECS's rules and
//!   writes through the store.
//! - [`domain`]: pure ECS types and rules (ARNs, names, task definition validation).
//! - [`scheduler`]: drives each task's containers to its desired status and records what it
//!   observes; woken by Docker (wait and event APIs) and by StopTask.
//! - [`placement`]: where a task runs among container instances (resources, ports, attributes,
//!   constraints with the cluster query language, strategies). Pure functions, no IO; the
//!   EC2-like mode (container instances) wires it in.
//! - [`driver`]: Docker through bollard; knows Docker, not ECS. Touches only berth-labelled
//!   objects.
//! - [`store`]: SQLite through sqlx; the only SQL. A write is acknowledged after it commits.
//! - [`app`]: wiring and shutdown; [`config`]: the command line.
//!
//! Container instances and placement, and services, arrive with later issues; their operations
//! answer a clear "not implemented by berth yet" error until then.

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
