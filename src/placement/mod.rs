//! The placement engine: where a task runs among a cluster's container instances. Pure: no IO,
//! no clock, randomness passed in, so every rule is a unit test.
//!
//! [`place`] places tasks one at a time, as ECS does. For each task it keeps the instances that
//! can run it (status, agent, `requiresAttributes`, CPU, memory, host ports, then the
//! constraints: `distinctInstance` and `memberOf` with the [`query`] language), orders them by
//! the strategies (binpack, spread, random; the first strategy decides, later ones break its
//! ties) and takes the first. The chosen instance's resources and groups are updated before the
//! next task, so a request never over-commits an instance. When no instance fits, the reasons
//! are reported per instance as RunTask's `failures` report them (`RESOURCE:MEMORY`, ...).

pub mod query;

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A container instance as placement sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candidate {
    /// The container instance ARN.
    pub arn: String,
    /// Its EC2 instance id.
    pub ec2_instance_id: String,
    /// ACTIVE (others take no new tasks).
    pub active: bool,
    /// Whether its agent (its Docker engine) answers.
    pub agent_connected: bool,
    /// The agent version it reports.
    pub agent_version: String,
    /// When it registered, RFC 3339.
    pub registered_at: String,
    /// Its attributes, by name (an attribute may have no value).
    pub attributes: BTreeMap<String, Option<String>>,
    /// CPU units not reserved by its tasks.
    pub remaining_cpu: i64,
    /// MiB not reserved by its tasks.
    pub remaining_memory: i64,
    /// TCP host ports in use (reserved by the agent or by tasks).
    pub used_tcp_ports: BTreeSet<u16>,
    /// UDP host ports in use.
    pub used_udp_ports: BTreeSet<u16>,
    /// Network interfaces left for awsvpc tasks.
    pub remaining_enis: i64,
    /// The group of each task on it whose desired status is RUNNING.
    pub task_groups: Vec<String>,
}

impl query::Instance for Candidate {
    fn values(&self, subject: &query::Subject) -> Vec<String> {
        use query::Subject;
        match subject {
            Subject::AgentConnected => vec![self.agent_connected.to_string()],
            Subject::AgentVersion => vec![self.agent_version.clone()],
            Subject::Attribute(name) => {
                self.attributes.get(name).map(|v| v.clone().unwrap_or_default()).into_iter().collect()
            }
            Subject::Ec2InstanceId => vec![self.ec2_instance_id.clone()],
            Subject::RegisteredAt => vec![self.registered_at.clone()],
            Subject::RunningTasksCount => vec![self.task_groups.len().to_string()],
            Subject::TaskGroup => self.task_groups.clone(),
        }
    }
}

/// What one task needs from an instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Demand {
    /// CPU units.
    pub cpu: i64,
    /// MiB (each container's memory, else its memoryReservation, summed; or the task's).
    pub memory: i64,
    /// Static TCP host ports.
    pub tcp_ports: Vec<u16>,
    /// Static UDP host ports.
    pub udp_ports: Vec<u16>,
    /// Network interfaces (1 for an awsvpc task, which gets its own).
    pub eni: i64,
    /// `requiresAttributes`: name and, if it must have one, value.
    pub attributes: Vec<(String, Option<String>)>,
    /// The task's group (`family:NAME`, `service:NAME`, or the caller's).
    pub group: String,
}

/// A placement constraint.
#[derive(Debug, Clone)]
pub enum Constraint {
    /// Every task of the request on a different instance (and not beside a task of its group).
    DistinctInstance,
    /// Only instances the expression matches.
    MemberOf(query::Expr),
}

/// What binpack packs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// CPU units.
    Cpu,
    /// Memory.
    Memory,
}

/// A placement strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// Prefer the instance with the least of the resource left.
    Binpack(Resource),
    /// Prefer the value of the field (`instanceId`, `host`, `attribute:NAME`) with the fewest
    /// tasks of the group.
    Spread(String),
    /// Any instance.
    Random,
}

/// Why an instance cannot take a task, as RunTask's `failures[].reason` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// Not ACTIVE, or its agent does not answer.
    Agent,
    /// It lacks a required attribute.
    Attribute,
    /// Too little CPU left.
    Cpu,
    /// Too little memory left.
    Memory,
    /// A TCP host port is taken.
    Ports,
    /// A UDP host port is taken.
    PortsUdp,
    /// No network interface left for an awsvpc task.
    Eni,
    /// A memberOf constraint excludes it.
    MemberOf,
    /// It runs a task of the group already (distinctInstance).
    DistinctInstance,
}

impl Reason {
    /// The reason as ECS spells it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Agent => "AGENT",
            Reason::Attribute => "ATTRIBUTE",
            Reason::Cpu => "RESOURCE:CPU",
            Reason::Memory => "RESOURCE:MEMORY",
            // ECS reports a taken UDP port as a taken port.
            Reason::Ports | Reason::PortsUdp => "RESOURCE:PORTS",
            Reason::Eni => "RESOURCE:ENI",
            Reason::MemberOf => "MemberOf placement constraint unsatisfied.",
            Reason::DistinctInstance => "DistinctInstance placement constraint unsatisfied.",
        }
    }
}

/// The outcome of [`place`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    /// For each task placed, the index of its instance in the candidates.
    pub placed: Vec<usize>,
    /// For tasks that could not be placed: each instance's ARN and why it was refused.
    pub failures: Vec<(String, Reason)>,
}

/// Why `candidate` cannot take the task, or None if it can.
#[must_use]
pub fn refusal(candidate: &Candidate, demand: &Demand, constraints: &[Constraint]) -> Option<Reason> {
    if !candidate.active || !candidate.agent_connected {
        return Some(Reason::Agent);
    }
    let has = |(name, value): &(String, Option<String>)| match (candidate.attributes.get(name), value) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(have), Some(want)) => have.as_deref() == Some(want.as_str()),
    };
    if !demand.attributes.iter().all(has) {
        return Some(Reason::Attribute);
    }
    if candidate.remaining_cpu < demand.cpu {
        return Some(Reason::Cpu);
    }
    if candidate.remaining_memory < demand.memory {
        return Some(Reason::Memory);
    }
    if demand.tcp_ports.iter().any(|p| candidate.used_tcp_ports.contains(p)) {
        return Some(Reason::Ports);
    }
    if demand.udp_ports.iter().any(|p| candidate.used_udp_ports.contains(p)) {
        return Some(Reason::PortsUdp);
    }
    if candidate.remaining_enis < demand.eni {
        return Some(Reason::Eni);
    }
    constraints.iter().find_map(|c| match c {
        Constraint::DistinctInstance => {
            candidate.task_groups.contains(&demand.group).then_some(Reason::DistinctInstance)
        }
        Constraint::MemberOf(expr) => (!expr.matches(candidate)).then_some(Reason::MemberOf),
    })
}

/// The value of a spread field on an instance (`instanceId`/`host`: the instance itself).
fn spread_value(candidate: &Candidate, field: &str) -> Option<String> {
    match field {
        "instanceId" | "host" => Some(candidate.arn.clone()),
        _ => candidate.attributes.get(field.strip_prefix("attribute:")?).map(|v| v.clone().unwrap_or_default()),
    }
}

/// Places `count` tasks with the same demand. `random` gives a random number for each
/// candidate the `random` strategy orders. Candidates are updated with what was placed.
pub fn place(
    candidates: &mut [Candidate],
    demand: &Demand,
    constraints: &[Constraint],
    strategies: &[Strategy],
    count: usize,
    random: &mut dyn FnMut() -> u64,
) -> Placement {
    let mut out = Placement::default();
    for _ in 0..count {
        let fits: Vec<usize> =
            (0..candidates.len()).filter(|&i| refusal(&candidates[i], demand, constraints).is_none()).collect();
        if fits.is_empty() {
            out.failures =
                candidates.iter().filter_map(|c| refusal(c, demand, constraints).map(|r| (c.arn.clone(), r))).collect();
            break;
        }
        // For each spread strategy: the group's tasks per value of its field, counted once.
        let spread_counts: Vec<HashMap<Option<String>, usize>> = strategies
            .iter()
            .map(|s| {
                let mut counts = HashMap::new();
                if let Strategy::Spread(field) = s {
                    for c in candidates.iter() {
                        let n = c.task_groups.iter().filter(|g| **g == demand.group).count();
                        *counts.entry(spread_value(c, field)).or_default() += n;
                    }
                }
                counts
            })
            .collect();
        // One sort key per strategy: smaller is better.
        let keys: Vec<(usize, Vec<i128>)> = fits
            .iter()
            .map(|&i| {
                let c = &candidates[i];
                let key = strategies
                    .iter()
                    .zip(&spread_counts)
                    .map(|(s, counts)| match s {
                        Strategy::Binpack(Resource::Cpu) => i128::from(c.remaining_cpu),
                        Strategy::Binpack(Resource::Memory) => i128::from(c.remaining_memory),
                        Strategy::Spread(field) => {
                            let tasks = counts.get(&spread_value(c, field)).copied().unwrap_or(0);
                            i128::try_from(tasks).unwrap_or(i128::MAX)
                        }
                        Strategy::Random => i128::from(random()),
                    })
                    .collect();
                (i, key)
            })
            .collect();
        let Some((chosen, _)) = keys.into_iter().min_by(|(_, a), (_, b)| a.cmp(b)) else { break };
        let c = &mut candidates[chosen];
        c.remaining_cpu -= demand.cpu;
        c.remaining_memory -= demand.memory;
        c.used_tcp_ports.extend(&demand.tcp_ports);
        c.used_udp_ports.extend(&demand.udp_ports);
        c.remaining_enis -= demand.eni;
        c.task_groups.push(demand.group.clone());
        out.placed.push(chosen);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(n: usize, zone: &str, cpu: i64, memory: i64) -> Candidate {
        Candidate {
            arn: format!("arn:aws:ecs:us-east-1:000000000000:container-instance/c/{n}"),
            ec2_instance_id: format!("i-{n:017}"),
            active: true,
            agent_connected: true,
            agent_version: "1.89.0".into(),
            registered_at: "2026-01-01T00:00:00Z".into(),
            attributes: BTreeMap::from([("ecs.availability-zone".to_owned(), Some(zone.to_owned()))]),
            remaining_cpu: cpu,
            remaining_memory: memory,
            used_tcp_ports: BTreeSet::from([22, 2375, 2376, 51678, 51679]),
            used_udp_ports: BTreeSet::new(),
            remaining_enis: 2,
            task_groups: Vec::new(),
        }
    }

    fn demand(cpu: i64, memory: i64) -> Demand {
        Demand { cpu, memory, group: "family:web".into(), ..Demand::default() }
    }

    fn no_random() -> impl FnMut() -> u64 {
        || 0
    }

    #[test]
    fn never_over_commits() {
        let mut fleet = vec![instance(0, "a", 1024, 1000), instance(1, "b", 1024, 1000)];
        let out = place(&mut fleet, &demand(256, 400), &[], &[], 10, &mut no_random());
        // Two fit on each instance (800 of 1000 MiB); the fifth does not fit anywhere.
        assert_eq!(out.placed.len(), 4);
        assert!(fleet.iter().all(|c| c.remaining_memory >= 0 && c.remaining_cpu >= 0));
        assert_eq!(out.failures.len(), 2);
        assert!(out.failures.iter().all(|(_, r)| *r == Reason::Memory));
    }

    #[test]
    fn binpack_fills_the_fullest_first_and_spread_balances() {
        let mut fleet = vec![instance(0, "a", 4096, 4000), instance(1, "b", 4096, 2000)];
        let binpack = [Strategy::Binpack(Resource::Memory)];
        let out = place(&mut fleet, &demand(0, 500), &[], &binpack, 3, &mut no_random());
        assert_eq!(out.placed, vec![1, 1, 1]);

        let mut fleet = vec![instance(0, "a", 4096, 4000), instance(1, "a", 4096, 4000), instance(2, "b", 4096, 4000)];
        let spread =
            [Strategy::Spread("attribute:ecs.availability-zone".into()), Strategy::Spread("instanceId".into())];
        let out = place(&mut fleet, &demand(0, 100), &[], &spread, 4, &mut no_random());
        let zones: Vec<&str> = out.placed.iter().map(|&i| if i == 2 { "b" } else { "a" }).collect();
        assert_eq!(zones.iter().filter(|z| **z == "a").count(), 2);
        assert_eq!(zones.iter().filter(|z| **z == "b").count(), 2);
        // Within zone a, instanceId spread put one task on each instance.
        assert!(out.placed.contains(&0) && out.placed.contains(&1));
    }

    #[test]
    fn ports_attributes_agents_and_constraints() {
        let mut fleet = vec![instance(0, "a", 4096, 4000), instance(1, "b", 4096, 4000)];
        fleet[1].agent_connected = false;
        let mut web = demand(0, 100);
        web.tcp_ports = vec![80];
        let out = place(&mut fleet, &web, &[], &[], 2, &mut no_random());
        assert_eq!(out.placed, vec![0]);
        assert_eq!(out.failures, vec![(fleet[0].arn.clone(), Reason::Ports), (fleet[1].arn.clone(), Reason::Agent)]);

        let mut fleet = vec![instance(0, "a", 4096, 4000)];
        let mut needs = demand(0, 1);
        needs.attributes = vec![("com.amazonaws.ecs.capability.docker-remote-api.1.19".into(), None)];
        assert_eq!(place(&mut fleet, &needs, &[], &[], 1, &mut no_random()).failures[0].1, Reason::Attribute);

        let mut fleet = vec![instance(0, "a", 4096, 4000), instance(1, "b", 4096, 4000)];
        let only_b = Constraint::MemberOf(query::parse("attribute:ecs.availability-zone == b").unwrap());
        let out = place(&mut fleet, &demand(0, 1), &[only_b, Constraint::DistinctInstance], &[], 2, &mut no_random());
        assert_eq!(out.placed, vec![1]);
        assert_eq!(out.failures[0].1.as_str(), "MemberOf placement constraint unsatisfied.");
        assert_eq!(out.failures[1].1.as_str(), "DistinctInstance placement constraint unsatisfied.");
    }

    #[test]
    fn random_follows_the_numbers_it_is_given() {
        let mut fleet = vec![instance(0, "a", 4096, 4000), instance(1, "b", 4096, 4000), instance(2, "c", 4096, 4000)];
        let mut numbers = [5_u64, 1, 9].into_iter().cycle();
        let out = place(&mut fleet, &demand(0, 1), &[], &[Strategy::Random], 1, &mut || numbers.next().unwrap_or(0));
        assert_eq!(out.placed, vec![1]);
    }
}
