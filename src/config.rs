//! Typed configuration of `berth serve`: flags, each also read from a `BERTH_*` variable.

use std::net::SocketAddr;
use std::path::PathBuf;

/// How berth serves.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to listen on (port 0 picks a free one; the bound address is printed on stdout).
    #[arg(long, env = "BERTH_LISTEN", default_value = "127.0.0.1:4566")]
    pub listen: SocketAddr,

    /// Directory for berth's state (the SQLite database); created if missing.
    #[arg(long, env = "BERTH_DATA_DIR", default_value = ".berth")]
    pub data_dir: PathBuf,

    /// Docker engine to run tasks on (repeatable, or comma-separated; unix://, tcp://); default:
    /// DOCKER_HOST or the local socket. Each engine backs `--instances` container instances per
    /// cluster; EC2 tasks run on their instance's engine, Fargate-like ones on the first.
    #[arg(long = "docker-host", env = "BERTH_DOCKER_HOST", value_delimiter = ',')]
    pub docker_hosts: Vec<String>,

    /// Region used when a request's SigV4 credential scope names none.
    #[arg(long, env = "BERTH_REGION", default_value = "us-east-1", value_parser = parse_region)]
    pub region: String,

    /// The 12-digit account id in every ARN berth mints.
    #[arg(long, env = "BERTH_ACCOUNT_ID", default_value = "000000000000", value_parser = parse_account)]
    pub account_id: String,

    /// Container instances berth gives each cluster on first use (listing or describing its
    /// instances) unless it uses Auto Scaling group capacity providers, and each such provider
    /// without managed scaling: COUNT or COUNT:INSTANCE_TYPE per engine, spread over the
    /// region's zones; 0 for none.
    #[arg(long, env = "BERTH_INSTANCES", default_value = "2:t3.medium", value_parser = parse_instances, value_name = "COUNT[:TYPE]")]
    pub instances: InstanceSpec,

    /// Seconds a stopped task stays describable before berth forgets it (AWS: at least an hour).
    #[arg(long, env = "BERTH_STOPPED_TASK_RETENTION", default_value_t = 3600, value_name = "SECONDS")]
    pub stopped_task_retention: u64,

    /// Seconds an instance of a managed-scaling capacity provider stays empty before cluster
    /// auto scaling terminates it (AWS takes about 15 minutes).
    #[arg(long, env = "BERTH_SCALE_IN_AFTER", default_value_t = 300, value_name = "SECONDS")]
    pub scale_in_after: u64,

    /// Seconds a service task without health checks must run before a deployment counts it
    /// healthy (ECS waits 40 s; a task that exits sooner never completes a deployment).
    #[arg(long, env = "BERTH_HEALTHY_AFTER", default_value_t = 5, value_name = "SECONDS")]
    pub healthy_after: u64,

    /// Started task network holders each cluster that runs Fargate-like tasks keeps waiting, so
    /// that its next tasks (those publishing no ports and setting no DNS options) start without
    /// waiting for a network namespace; 0 for none.
    #[arg(long, env = "BERTH_WARM_HOLDERS", default_value_t = 2, value_name = "COUNT")]
    pub warm_holders: usize,
}

/// How many container instances of which type each cluster gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSpec {
    /// How many.
    pub count: u32,
    /// Their EC2 instance type (one of [`crate::domain::instance::INSTANCE_TYPES`]).
    pub instance_type: String,
}

impl Default for InstanceSpec {
    fn default() -> Self {
        Self { count: 2, instance_type: "t3.medium".to_owned() }
    }
}

fn parse_instances(s: &str) -> Result<InstanceSpec, String> {
    let (count, instance_type) = s.split_once(':').unwrap_or((s, "t3.medium"));
    let count = count.parse::<u32>().map_err(|_| format!("'{s}' is not COUNT or COUNT:INSTANCE_TYPE"))?;
    if crate::domain::instance::resources(instance_type).is_none() {
        let known: Vec<&str> = crate::domain::instance::INSTANCE_TYPES.iter().map(|(n, ..)| *n).collect();
        return Err(format!("'{instance_type}' is not an instance type berth knows ({})", known.join(", ")));
    }
    Ok(InstanceSpec { count, instance_type: instance_type.to_owned() })
}

fn parse_region(s: &str) -> Result<String, String> {
    let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok { Ok(s.to_owned()) } else { Err(format!("'{s}' is not a region name such as us-east-1")) }
}

fn parse_account(s: &str) -> Result<String, String> {
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_owned())
    } else {
        Err(format!("'{s}' is not a 12-digit account id"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(parse_region("eu-central-1").is_ok());
        assert!(parse_region("EU").is_err());
        assert!(parse_account("123456789012").is_ok());
        assert!(parse_account("12345").is_err());
        assert_eq!(parse_instances("3:m5.large"), Ok(InstanceSpec { count: 3, instance_type: "m5.large".into() }));
        assert_eq!(parse_instances("0"), Ok(InstanceSpec { count: 0, instance_type: "t3.medium".into() }));
        assert!(parse_instances("two").is_err());
        assert!(parse_instances("2:x1.banana").is_err());
    }
}
