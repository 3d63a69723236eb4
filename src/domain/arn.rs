//! ECS ARNs in AWS's long format, and "name or ARN" references.
//!
//! `arn:aws:ecs:REGION:ACCOUNT:cluster/NAME`, `task-definition/FAMILY:REVISION`,
//! `capacity-provider/NAME`, `service/CLUSTER/NAME`, `task/CLUSTER/ID`,
//! `container-instance/CLUSTER/ID`.

/// Where an ARN points: the scope it was minted in.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The region.
    pub region: &'a str,
    /// The account.
    pub account: &'a str,
}

impl Scope<'_> {
    /// `arn:aws:ecs:REGION:ACCOUNT:RESOURCE`.
    #[must_use]
    pub fn arn(&self, resource: &str) -> String {
        format!("arn:aws:ecs:{}:{}:{}", self.region, self.account, resource)
    }

    /// The ARN of a cluster.
    #[must_use]
    pub fn cluster(&self, name: &str) -> String {
        self.arn(&format!("cluster/{name}"))
    }

    /// The ARN of a capacity provider.
    #[must_use]
    pub fn capacity_provider(&self, name: &str) -> String {
        self.arn(&format!("capacity-provider/{name}"))
    }

    /// The ARN of a task definition revision.
    #[must_use]
    pub fn task_definition(&self, family: &str, revision: i64) -> String {
        format!("{}{revision}", self.task_definition_prefix(family))
    }

    /// The ARN of a daemon task definition revision without the revision number (it ends in ':').
    #[must_use]
    pub fn daemon_task_definition_prefix(&self, family: &str) -> String {
        self.arn(&format!("daemon-task-definition/{family}:"))
    }

    /// The ARN of a task definition revision without the revision number (it ends in ':').
    #[must_use]
    pub fn task_definition_prefix(&self, family: &str) -> String {
        self.arn(&format!("task-definition/{family}:"))
    }

    /// The ARN of the principal berth acts as: the account root.
    #[must_use]
    pub fn root_principal(&self) -> String {
        format!("arn:aws:iam::{}:root", self.account)
    }
}

/// A parsed ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, ...
    pub partition: &'a str,
    /// `ecs`, `iam`, ...
    pub service: &'a str,
    /// The region (empty for global services).
    pub region: &'a str,
    /// The account id.
    pub account: &'a str,
    /// The resource type, e.g. `cluster` (the part before the first `/`).
    pub resource_type: &'a str,
    /// The rest, e.g. the cluster name.
    pub resource_id: &'a str,
}

impl<'a> Arn<'a> {
    /// Parses `arn:PARTITION:SERVICE:REGION:ACCOUNT:TYPE/ID`; None for anything else.
    #[must_use]
    pub fn parse(s: &'a str) -> Option<Self> {
        let mut parts = s.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let partition = parts.next()?;
        let service = parts.next()?;
        let region = parts.next()?;
        let account = parts.next()?;
        let resource = parts.next()?;
        let (resource_type, resource_id) = resource.split_once('/')?;
        if partition.is_empty() || service.is_empty() || resource_type.is_empty() || resource_id.is_empty() {
            return None;
        }
        Some(Arn { partition, service, region, account, resource_type, resource_id })
    }
}

/// Splits `FAMILY:REVISION` (the resource id of a task definition ARN, or a client's reference)
/// into its parts; None without a numeric revision.
#[must_use]
pub fn family_revision(s: &str) -> Option<(&str, i64)> {
    let (family, revision) = s.rsplit_once(':')?;
    Some((family, revision.parse().ok()?))
}

/// The family and revision of a task definition ARN.
#[must_use]
pub fn task_definition_parts(arn: &str) -> Option<(&str, i64)> {
    let arn = Arn::parse(arn).filter(|a| a.service == "ecs" && a.resource_type == "task-definition")?;
    family_revision(arn.resource_id)
}

/// The family and revision of a daemon task definition ARN.
#[must_use]
pub fn daemon_task_definition_parts(arn: &str) -> Option<(&str, i64)> {
    let arn = Arn::parse(arn).filter(|a| a.service == "ecs" && a.resource_type == "daemon-task-definition")?;
    family_revision(arn.resource_id)
}

/// A reference given by a client: a bare name, or an ARN of the expected resource type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameOrArn<'a> {
    /// A bare name.
    Name(&'a str),
    /// A full ARN, with the name it carries.
    Arn {
        /// The ARN as given.
        arn: &'a str,
        /// The resource id inside it.
        name: &'a str,
    },
    /// Starts like an ARN but is not an ECS ARN of the expected type.
    Invalid,
}

impl<'a> NameOrArn<'a> {
    /// Interprets `s` as a reference to a resource of `resource_type` (`cluster`, ...).
    #[must_use]
    pub fn parse(s: &'a str, resource_type: &str) -> Self {
        if !s.starts_with("arn:") {
            return NameOrArn::Name(s);
        }
        match Arn::parse(s) {
            Some(arn) if arn.service == "ecs" && arn.resource_type == resource_type => {
                NameOrArn::Arn { arn: s, name: arn.resource_id }
            }
            _ => NameOrArn::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_of_a_cluster_arn() {
        let scope = Scope { region: "eu-west-1", account: "123456789012" };
        let arn = scope.cluster("prod");
        assert_eq!(arn, "arn:aws:ecs:eu-west-1:123456789012:cluster/prod");
        assert_eq!(NameOrArn::parse(&arn, "cluster"), NameOrArn::Arn { arn: &arn, name: "prod" });
        assert_eq!(NameOrArn::parse("prod", "cluster"), NameOrArn::Name("prod"));
        assert_eq!(NameOrArn::parse(&arn, "service"), NameOrArn::Invalid);
        assert_eq!(NameOrArn::parse("arn:aws:ecs", "cluster"), NameOrArn::Invalid);
    }

    #[test]
    fn task_definition_arn_keeps_the_revision() {
        let scope = Scope { region: "us-east-1", account: "000000000000" };
        let arn = scope.task_definition("web", 3);
        let parsed = Arn::parse(&arn).unwrap();
        assert_eq!(parsed.resource_type, "task-definition");
        assert_eq!(parsed.resource_id, "web:3");
        assert_eq!(task_definition_parts(&arn), Some(("web", 3)));
        assert_eq!(task_definition_parts(&scope.cluster("web")), None);
        assert_eq!(family_revision("web:x"), None);
    }
}
