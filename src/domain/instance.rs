//! Container instances as the ECS agent registers them: instance types and their resources,
//! the agent's reserved ports, and the attributes a task definition's `requiresAttributes` can
//! ask for.

use serde_json::{Value, json};

/// An EC2 instance type berth can stand in for: name, vCPUs, memory in MiB, and how many
/// network interfaces it can have (EC2's limit; the first is the instance's own).
pub const INSTANCE_TYPES: &[(&str, i64, i64, i64)] = &[
    ("t3.micro", 2, 1024, 2),
    ("t3.small", 2, 2048, 3),
    ("t3.medium", 2, 4096, 3),
    ("t3.large", 2, 8192, 3),
    ("t3.xlarge", 4, 16384, 4),
    ("t3.2xlarge", 8, 32768, 4),
    ("m5.large", 2, 8192, 3),
    ("m5.xlarge", 4, 16384, 4),
    ("m5.2xlarge", 8, 32768, 4),
    ("m5.4xlarge", 16, 65536, 8),
    ("c5.large", 2, 4096, 3),
    ("c5.xlarge", 4, 8192, 4),
    ("c5.2xlarge", 8, 16384, 4),
    ("r5.large", 2, 16384, 3),
    ("r5.xlarge", 4, 32768, 4),
];

/// The ports the ECS agent reserves on every instance.
pub const RESERVED_PORTS: [&str; 5] = ["22", "2375", "2376", "51678", "51679"];

/// The agent version berth reports (a current one, so UpdateContainerAgent has nothing to do).
pub const AGENT_VERSION: &str = "1.89.0";

/// CPU units and registered MiB of an instance type, None for an unknown one. The agent
/// registers the memory the kernel reports, a little less than the type's: berth takes 4% off.
#[must_use]
pub fn resources(instance_type: &str) -> Option<(i64, i64)> {
    let (_, vcpus, memory, _) = INSTANCE_TYPES.iter().find(|(name, ..)| *name == instance_type)?;
    Some((vcpus * 1024, memory - memory / 25))
}

/// The instance type a Managed Instances provider launches for its `instanceRequirements`: the
/// smallest (fewest vCPUs, then least memory) of berth's types with at least `vcpus` vCPUs and
/// `memory_mib` MiB; None when none is that large.
#[must_use]
pub fn smallest_type(vcpus: i64, memory_mib: i64) -> Option<&'static str> {
    INSTANCE_TYPES
        .iter()
        .filter(|(_, v, m, _)| *v >= vcpus && *m >= memory_mib)
        .min_by_key(|(_, v, m, _)| (*v, *m))
        .map(|(name, ..)| *name)
}

/// How many awsvpc tasks an instance type can run: one per network interface beyond its own
/// (ECS without ENI trunking). None for an unknown type.
#[must_use]
pub fn task_enis(instance_type: &str) -> Option<i64> {
    let (.., enis) = INSTANCE_TYPES.iter().find(|(name, ..)| *name == instance_type)?;
    Some(enis - 1)
}

/// A resource as the agent reports it (every value field present, as AWS answers).
#[must_use]
pub fn integer_resource(name: &str, value: i64) -> Value {
    json!({"name": name, "type": "INTEGER", "doubleValue": 0.0, "longValue": 0, "integerValue": value})
}

/// A string-set resource (ports).
#[must_use]
pub fn ports_resource(name: &str, ports: &[String]) -> Value {
    json!({"name": name, "type": "STRINGSET", "doubleValue": 0.0, "longValue": 0, "integerValue": 0, "stringSetValue": ports})
}

/// The attributes the agent registers, for an instance of `instance_type` in `zone` on an engine
/// of architecture `arch` (Docker's name: amd64, arm64).
#[must_use]
pub fn agent_attributes(instance_type: &str, zone: &str, arch: &str) -> Vec<Value> {
    let cpu_architecture = if arch == "arm64" || arch == "aarch64" { "arm64" } else { "x86_64" };
    let mut out = vec![
        json!({"name": "ecs.ami-id", "value": "ami-0berth00000000000"}),
        json!({"name": "ecs.availability-zone", "value": zone}),
        json!({"name": "ecs.instance-type", "value": instance_type}),
        json!({"name": "ecs.os-type", "value": "linux"}),
        json!({"name": "ecs.os-family", "value": "LINUX"}),
        json!({"name": "ecs.cpu-architecture", "value": cpu_architecture}),
        json!({"name": "ecs.vpc-id", "value": "vpc-0berth000000000000"}),
        json!({"name": "ecs.subnet-id", "value": format!("subnet-berth-{zone}")}),
    ];
    let capabilities = [
        "com.amazonaws.ecs.capability.privileged-container",
        "com.amazonaws.ecs.capability.ecr-auth",
        "com.amazonaws.ecs.capability.task-iam-role",
        "com.amazonaws.ecs.capability.task-iam-role-network-host",
        "com.amazonaws.ecs.capability.logging-driver.json-file",
        "com.amazonaws.ecs.capability.logging-driver.awslogs",
        "com.amazonaws.ecs.capability.logging-driver.syslog",
        "com.amazonaws.ecs.capability.logging-driver.none",
        "com.amazonaws.ecs.capability.logging-driver.fluentd",
        "com.amazonaws.ecs.capability.logging-driver.gelf",
        "com.amazonaws.ecs.capability.logging-driver.journald",
        "com.amazonaws.ecs.capability.logging-driver.awsfirelens",
        "ecs.capability.execution-role-awslogs",
        "ecs.capability.execution-role-ecr-pull",
        "ecs.capability.task-eni",
        "ecs.capability.container-health-check",
        "ecs.capability.container-ordering",
        "ecs.capability.secrets.asm.environment-variables",
        "ecs.capability.secrets.ssm.environment-variables",
        "ecs.capability.efs",
        "ecs.capability.efsAuth",
        "ecs.capability.docker-plugin.local",
        "ecs.capability.task-cpu-mem-limit",
        "ecs.capability.increased-task-cpu-limit",
        "ecs.capability.pid-ipc-namespace-sharing",
        "ecs.capability.private-registry-authentication.secretsmanager",
        "ecs.capability.env-files.s3",
        "ecs.capability.full-sync",
    ];
    out.extend(capabilities.iter().map(|c| json!({"name": c})));
    out.extend((17..=44).map(|v| json!({"name": format!("com.amazonaws.ecs.capability.docker-remote-api.1.{v}")})));
    out
}

/// The region's availability zones berth spreads instances over.
#[must_use]
pub fn zones(region: &str) -> [String; 3] {
    [format!("{region}a"), format!("{region}b"), format!("{region}c")]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smallest_type_is_the_least_that_meets_both_minimums() {
        assert_eq!(smallest_type(1, 512), Some("t3.micro"));
        assert_eq!(smallest_type(2, 3000), Some("t3.medium"));
        assert_eq!(smallest_type(4, 8192), Some("c5.xlarge"));
        assert_eq!(smallest_type(3, 0), Some("c5.xlarge"));
        assert_eq!(smallest_type(64, 1024), None);
        assert_eq!(smallest_type(2, 1_000_000), None);
    }

    #[test]
    fn resources_and_attributes() {
        assert_eq!(resources("t3.medium"), Some((2048, 3933)));
        assert_eq!(resources("x1.banana"), None);
        let attributes = agent_attributes("t3.medium", "us-east-1b", "amd64");
        let has = |n: &str| attributes.iter().any(|a| a["name"] == n);
        // Everything requiresAttributes can ask for is there.
        for name in [
            "com.amazonaws.ecs.capability.docker-remote-api.1.18",
            "com.amazonaws.ecs.capability.docker-remote-api.1.19",
            "com.amazonaws.ecs.capability.docker-remote-api.1.21",
            "com.amazonaws.ecs.capability.ecr-auth",
            "com.amazonaws.ecs.capability.task-iam-role",
            "com.amazonaws.ecs.capability.logging-driver.awslogs",
            "ecs.capability.container-health-check",
            "ecs.capability.container-ordering",
            "ecs.capability.efs",
            "ecs.capability.execution-role-awslogs",
            "ecs.capability.execution-role-ecr-pull",
            "ecs.capability.secrets.asm.environment-variables",
            "ecs.capability.secrets.ssm.environment-variables",
            "ecs.capability.task-eni",
        ] {
            assert!(has(name), "{name}");
        }
        assert!(attributes.iter().any(|a| a["name"] == "ecs.cpu-architecture" && a["value"] == "x86_64"));
    }
}
