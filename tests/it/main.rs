//! Black-box tests: the real berth binary, driven by aws-sdk-ecs, raw HTTP, boto3 and aws-cli.
//! One test binary (one link of the AWS SDK) with a module per resource.

#![recursion_limit = "256"]
#![allow(missing_docs, clippy::unwrap_used)]

mod common;
mod fixtures;

mod account_settings;
mod attributes;
mod awslogs;
mod capacity;
mod capacity_providers;
mod clients;
mod clusters;
mod container_instances;
mod containers;
mod daemons;
mod driver;
mod durability;
mod external;
mod managed_instances;
mod placement;
mod protocol;
mod readme;
mod secrets;
mod services;
mod tags;
mod task_definitions;
mod task_protection;
mod tasks;
mod terraform;
mod warm;
