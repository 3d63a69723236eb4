//! berth: Amazon ECS on your machine.
//!
//! # Layout
//!
//! A request flows down through the layers; nothing below `services` sees HTTP or a wire format.
//!
//! - [`protocol`]: the one endpoint (hyper). Tells the AWS services apart (awsJson by
//!   `X-Amz-Target` prefix, query by `Action=` and the SigV4 scope's service name, Smithy RPCv2
//!   CBOR by path), turns each wire format into the model-checked JSON a service takes, and
//!   renders a service's answer and its [`error::ApiError`] in that protocol's shape.
//! - [`services`]: a folder per AWS service, each a [`protocol::Service`] with its model
//!   (`api-models/<service>.json`). [`services::ecs`] holds one handler per ECS operation, one
//!   file per resource. [`services::logs`], [`services::cloudwatch`] and [`services::sts`] are the
//!   first services beside it.
//! - [`controllers`]: background work on one runtime (keyed queue, dedupe, back-off, resync,
//!   graceful shutdown): the service scheduler, cluster auto scaling, stopped-task expiry. Woken
//!   by the store's after-commit notifications; they apply ECS's rules to stored state through
//!   the same launch path as RunTask.
//! - [`domain`]: pure ECS types and rules (ARNs, names, task definition validation).
//! - [`runtime`]: drives each task's containers to its desired status and records what it
//!   observes; woken by Docker (wait and event APIs) and by StopTask.
//! - [`placement`]: where a task runs among container instances (resources, ports, network
//!   interfaces, attributes, constraints with the cluster query language, strategies). Pure
//!   functions, no IO.
//! - [`driver`]: Docker through bollard; knows Docker, not ECS. Touches only berth-labelled
//!   objects.
//! - [`store`]: SQLite through sqlx; the only SQL. A write is acknowledged after it commits.
//! - [`app`]: wiring and shutdown; [`config`]: the command line.
//!
//! Operations not built yet answer their protocol's clear "not implemented by berth yet" error.

#[macro_use]
pub mod error;

pub mod app;
pub mod config;
pub mod controllers;
pub mod domain;
pub mod driver;
pub mod placement;
pub mod protocol;
pub mod runtime;
pub mod services;
pub mod store;
pub mod tail;
