//! Per-task placement time of the placement engine alone: 1,000 tasks, one at a time, onto 10,
//! 100 and 1,000 container instances, with a memberOf constraint and spread (zone) + binpack
//! (memory) strategies. `cargo run --release --example placement_bench`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use berth::placement::{Candidate, Constraint, Demand, Resource, Strategy, place, query};

fn fleet(n: usize) -> Vec<Candidate> {
    (0..n)
        .map(|i| Candidate {
            arn: format!("arn:aws:ecs:us-east-1:000000000000:container-instance/bench/{i:032x}"),
            ec2_instance_id: format!("i-{i:017x}"),
            active: true,
            agent_connected: true,
            agent_version: "1.89.0".into(),
            registered_at: "2026-01-01T00:00:00Z".into(),
            attributes: BTreeMap::from([
                ("ecs.availability-zone".to_owned(), Some(format!("us-east-1{}", ['a', 'b', 'c'][i % 3]))),
                ("ecs.instance-type".to_owned(), Some(if i % 2 == 0 { "m5.xlarge" } else { "c5.xlarge" }.to_owned())),
            ]),
            remaining_cpu: 4096,
            remaining_memory: 16_000,
            used_tcp_ports: BTreeSet::from([22, 2375, 2376, 51678, 51679]),
            used_udp_ports: BTreeSet::new(),
            remaining_enis: 3,
            task_groups: Vec::new(),
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let constraints =
        [Constraint::MemberOf(query::parse("attribute:ecs.instance-type =~ m5\\..* or runningTasksCount < 100")?)];
    let strategies = [Strategy::Spread("attribute:ecs.availability-zone".into()), Strategy::Binpack(Resource::Memory)];
    let demand = Demand { cpu: 2, memory: 8, group: "family:bench".into(), ..Demand::default() };
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    println!("{:>10} {:>8} {:>14}", "instances", "tasks", "per task (µs)");
    for instances in [10, 100, 1_000] {
        let mut candidates = fleet(instances);
        let tasks = 1_000;
        let started = Instant::now();
        for _ in 0..tasks {
            let placed = place(&mut candidates, &demand, &constraints, &strategies, 1, &mut random);
            if placed.placed.len() != 1 {
                return Err(format!("a task was not placed on {instances} instances: {:?}", placed.failures).into());
            }
        }
        let per_task = started.elapsed().as_secs_f64() * 1e6 / f64::from(tasks);
        println!("{instances:>10} {tasks:>8} {per_task:>14.1}");
    }
    Ok(())
}
