//! The ECS measurements: the control plane, cost as the data grows, task start and stop
//! against raw Docker, and placement.

use super::*;

fn any(_: &Value) -> bool {
    true
}

fn non_empty(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_array).is_some_and(|a| !a.is_empty())
}

// ---------------------------------------------------------------------------------------------
// Requests both servers get

fn task_definition(family: &str, image: &str, containers: usize, compat: &str) -> Value {
    let containers: Vec<Value> = (0..containers)
        .map(|i| {
            json!({
                "name": format!("c{i}"),
                "image": image,
                "essential": i == 0,
                "cpu": 0,
                "memory": if compat == "EC2" { 16 } else { 64 },
                "command": ["sh", "-c", SLEEPER],
                "environment": [{"name": "ROLE", "value": "bench"}],
            })
        })
        .collect();
    if compat == "EC2" {
        json!({"family": family, "requiresCompatibilities": ["EC2"], "networkMode": "bridge", "containerDefinitions": containers})
    } else {
        json!({"family": family, "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc",
               "cpu": "256", "memory": "512", "containerDefinitions": containers})
    }
}

/// What every measured container runs: a shell that sleeps and exits on SIGTERM.
const SLEEPER: &str = "trap 'exit 0' TERM; sleep 1000 & wait";

/// The floor's container: what a task definition of `task_definition` runs, created directly
/// through the Docker API (labelled `berth.bench=raw`, so a failed run's leftovers are found).
fn raw_container(name: String, image: &str) -> ContainerSpec {
    ContainerSpec {
        name,
        image: image.to_owned(),
        command: Some(vec!["sh".into(), "-c".into(), SLEEPER.into()]),
        env: vec![("ROLE".into(), "bench".into())],
        labels: BTreeMap::from([("berth.bench".to_owned(), "raw".to_owned())]),
        init: true,
        ..Default::default()
    }
}

fn run_fargate(cluster: &str, family: &str, count: usize, subnet: &str) -> Value {
    json!({"cluster": cluster, "taskDefinition": family, "count": count, "launchType": "FARGATE",
           "networkConfiguration": {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": ["sg-bench"]}}})
}

/// RunTask `total` tasks of `family` (in tens) and returns their ARNs.
async fn seed_tasks(
    addr: SocketAddr,
    cluster: &str,
    family: &str,
    total: usize,
    subnet: &str,
    budget: Duration,
) -> Result<(Vec<String>, Duration)> {
    let arns = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let calls = total.div_ceil(10);
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (arns, next) = (arns.clone(), next.clone());
        let body = run_fargate(cluster, family, 10, subnet).to_string();
        let mut conn = Conn::open(addr).await?;
        workers.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < calls && started.elapsed() < budget {
                let answer = conn.call("RunTask", &body).await?;
                let tasks = answer.get("tasks").and_then(Value::as_array).cloned().unwrap_or_default();
                if tasks.len() != 10 {
                    return Err(format!("RunTask started {} of 10: {}", tasks.len(), short(&answer)));
                }
                let mut all = arns.lock().await;
                all.extend(tasks.iter().filter_map(|t| t.get("taskArn")?.as_str().map(str::to_owned)));
            }
            Ok::<(), String>(())
        }));
    }
    for worker in workers {
        worker.await??;
    }
    let arns = std::mem::take(&mut *arns.lock().await);
    Ok((arns, started.elapsed()))
}

/// Polls DescribeTasks until every task's lastStatus is `status`.
pub(super) async fn wait_all(
    conn: &mut Conn,
    cluster: &str,
    arns: &[String],
    status: &str,
    limit: Duration,
) -> Result<Duration> {
    let started = Instant::now();
    loop {
        let mut done = true;
        for chunk in arns.chunks(100) {
            let described = conn.must("DescribeTasks", &json!({"cluster": cluster, "tasks": chunk})).await?;
            let tasks = described.get("tasks").and_then(Value::as_array).cloned().unwrap_or_default();
            let reached = tasks.iter().filter(|t| t.get("lastStatus").and_then(Value::as_str) == Some(status)).count();
            if status != "STOPPED"
                && tasks.iter().any(|t| t.get("lastStatus").and_then(Value::as_str) == Some("STOPPED"))
            {
                let reason = tasks.iter().find_map(|t| t.get("stoppedReason")).cloned().unwrap_or_default();
                return Err(format!("a task stopped before {status}: {reason}").into());
            }
            done &= reached == chunk.len();
        }
        if done {
            return Ok(started.elapsed());
        }
        if started.elapsed() > limit {
            return Err(format!("tasks did not reach {status} within {limit:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

struct Control {
    op: &'static str,
    body: Body,
    check: Check,
}

/// Per server, the rows of the control-plane table: (op, concurrency) -> stats.
pub(super) type ControlRows = BTreeMap<(&'static str, usize), Stats>;

pub(super) async fn control_plane(
    server: &Server,
    sizes: &Sizes,
    subnet: &str,
    only: &[String],
    report: &mut Report,
) -> Result<ControlRows> {
    let mut conn = Conn::open(server.addr).await?;
    conn.must("CreateCluster", &json!({"clusterName": "bench"})).await?;
    conn.must("RegisterTaskDefinition", &task_definition("bench-web", MISSING_IMAGE, 1, "FARGATE")).await?;
    // 100 tasks, all STOPPED on both servers: berth's fail to pull, moto's are stopped.
    let (arns, _) = seed_tasks(server.addr, "bench", "bench-web", 100, subnet, Duration::from_secs(600)).await?;
    if server.name == "moto" {
        for arn in &arns {
            conn.must("StopTask", &json!({"cluster": "bench", "task": arn})).await?;
        }
    }
    wait_all(&mut conn, "bench", &arns, "STOPPED", Duration::from_secs(120)).await?;

    let arns = Arc::new(arns);
    let register = task_definition("bench-register", "busybox:latest", 1, "FARGATE").to_string();
    let controls = [
        Control {
            op: "DescribeClusters",
            body: Arc::new(|_| r#"{"clusters":["bench"]}"#.to_owned()),
            check: |v| non_empty(v, "clusters"),
        },
        Control {
            op: "RegisterTaskDefinition",
            body: Arc::new(move |_| register.clone()),
            check: |v| v.get("taskDefinition").is_some(),
        },
        Control {
            op: "DescribeTaskDefinition",
            body: Arc::new(|_| r#"{"taskDefinition":"bench-web"}"#.to_owned()),
            check: |v| v.get("taskDefinition").is_some(),
        },
        Control {
            op: "ListTaskDefinitions",
            body: Arc::new(|_| r#"{"familyPrefix":"bench-web"}"#.to_owned()),
            check: |v| non_empty(v, "taskDefinitionArns"),
        },
        Control {
            op: "DescribeTasks",
            body: Arc::new(move |_| json!({"cluster": "bench", "tasks": *arns}).to_string()),
            check: |v| v.get("tasks").and_then(Value::as_array).is_some_and(|t| t.len() == 100),
        },
        Control {
            op: "ListTasks",
            body: Arc::new(|_| r#"{"cluster":"bench","desiredStatus":"STOPPED"}"#.to_owned()),
            check: |v| non_empty(v, "taskArns"),
        },
    ];
    let mut rows = ControlRows::new();
    for control in controls.iter().filter(|c| only.is_empty() || only.iter().any(|o| o == c.op)) {
        for concurrency in [1, 16] {
            // A short warm-up, not counted.
            load(server.addr, concurrency, control.op, control.body.clone(), any, Until::Deadline(sizes.window / 10))
                .await?;
            let stats = load(
                server.addr,
                concurrency,
                control.op,
                control.body.clone(),
                control.check,
                Until::Deadline(sizes.window),
            )
            .await?;
            report.count(&stats, &format!("{} {} c={concurrency}", server.name, control.op));
            eprintln!(
                "  {:5} {:24} c={concurrency:<2} {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms",
                server.name,
                control.op,
                stats.rps(),
                stats.quantile_ms(0.5),
                stats.quantile_ms(0.99)
            );
            rows.insert((control.op, concurrency), stats);
        }
    }
    Ok(rows)
}

/// One row of the growth table.
pub(super) struct Growth {
    pub(super) size: usize,
    pub(super) seeded_in: Duration,
    pub(super) list: Stats,
    pub(super) describe: Stats,
}

pub(super) async fn growth(
    server: &Server,
    sizes: &Sizes,
    report: &mut Report,
) -> Result<(Vec<Growth>, Option<usize>)> {
    let mut rows = Vec::new();
    let mut have = 0;
    let mut unfinished = None;
    let definition = task_definition("bench-grow", "busybox:latest", 1, "FARGATE").to_string();
    for &size in &sizes.revisions {
        let body: Body = {
            let definition = definition.clone();
            Arc::new(move |_| definition.clone())
        };
        let budget = if server.name == "moto" { sizes.moto_budget } else { Duration::from_secs(3600) };
        let seeded =
            load(server.addr, 16, "RegisterTaskDefinition", body, any, Until::CountWithin(size - have, budget)).await?;
        report.count(&seeded, &format!("{} seeding {size} revisions", server.name));
        have += seeded.ok;
        if have < size {
            eprintln!("  {} reached {have} of {size} revisions within {budget:?}; stopping there", server.name);
            unfinished = Some(size);
            break;
        }
        // The seeding's writes go to disk first, so the kernel's writeback of them does not
        // land in the measured window.
        let _ = tokio::process::Command::new("sync").status().await;
        let window = Until::Deadline(sizes.window / 3);
        let list = load(
            server.addr,
            1,
            "ListTaskDefinitions",
            Arc::new(|_| r#"{"familyPrefix":"bench-grow","maxResults":100}"#.to_owned()),
            |v| non_empty(v, "taskDefinitionArns"),
            window,
        )
        .await?;
        let describe = load(
            server.addr,
            1,
            "DescribeTaskDefinition",
            Arc::new(|_| r#"{"taskDefinition":"bench-grow"}"#.to_owned()),
            |v| v.get("taskDefinition").is_some(),
            window,
        )
        .await?;
        report.count(&list, "growth list");
        report.count(&describe, "growth describe");
        eprintln!(
            "  {:5} {size:>7} revisions (seeded in {:.1} s): ListTaskDefinitions p50 {:.2} ms, DescribeTaskDefinition p50 {:.2} ms",
            server.name,
            seeded.elapsed.as_secs_f64(),
            list.quantile_ms(0.5),
            describe.quantile_ms(0.5)
        );
        rows.push(Growth { size, seeded_in: seeded.elapsed, list, describe });
    }
    Ok((rows, unfinished))
}

/// ListTasks with many task records, most STOPPED.
pub(super) async fn many_tasks(
    server: &Server,
    sizes: &Sizes,
    subnet: &str,
    report: &mut Report,
) -> Result<Option<(usize, Stats, Stats)>> {
    let mut conn = Conn::open(server.addr).await?;
    conn.must("CreateCluster", &json!({"clusterName": "bench-many"})).await?;
    conn.must("RegisterTaskDefinition", &task_definition("bench-many", MISSING_IMAGE, 1, "FARGATE")).await?;
    let budget = if server.name == "moto" { sizes.moto_budget } else { Duration::from_secs(3600) };
    let (arns, took) = seed_tasks(server.addr, "bench-many", "bench-many", sizes.tasks, subnet, budget).await?;
    eprintln!("  {:5} {} task records in {:.1} s", server.name, arns.len(), took.as_secs_f64());
    if arns.len() < sizes.tasks {
        return Ok(None);
    }
    // Most STOPPED: berth's stop by themselves (their image is missing); moto's are stopped,
    // all but one in ten.
    if server.name == "moto" {
        let stop: Vec<String> = arns.iter().enumerate().filter(|(i, _)| i % 10 != 0).map(|(_, a)| a.clone()).collect();
        let stop = Arc::new(stop);
        let count = stop.len();
        let stats = load(
            server.addr,
            16,
            "StopTask",
            Arc::new(move |i| json!({"cluster": "bench-many", "task": stop[i]}).to_string()),
            any,
            Until::Count(count),
        )
        .await?;
        report.count(&stats, "moto StopTask");
    } else {
        wait_all(&mut conn, "bench-many", &arns, "STOPPED", Duration::from_secs(600)).await?;
    }
    let window = Until::Deadline(sizes.window / 3);
    let stopped = load(
        server.addr,
        1,
        "ListTasks",
        Arc::new(|_| r#"{"cluster":"bench-many","desiredStatus":"STOPPED","maxResults":100}"#.to_owned()),
        |v| non_empty(v, "taskArns"),
        window,
    )
    .await?;
    let running =
        load(server.addr, 1, "ListTasks", Arc::new(|_| r#"{"cluster":"bench-many"}"#.to_owned()), any, window).await?;
    report.count(&stopped, "ListTasks STOPPED");
    report.count(&running, "ListTasks RUNNING");
    Ok(Some((arns.len(), stopped, running)))
}

fn median_ms(samples: &mut [Duration]) -> f64 {
    samples.sort();
    samples.get(samples.len() / 2).map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

/// Task start and stop through berth against raw Docker create + start / stop of the same
/// containers. Returns the section's markdown and (RunTask→RUNNING, raw create+start) medians
/// for the one-container task.
pub(super) async fn task_lifecycle(server: &Server, sizes: &Sizes, image: &str) -> Result<(String, f64, f64)> {
    let docker = Docker::connect(None).await?;
    if !docker.has_image(image).await? {
        return Err(format!("the image {image} is not on the Docker engine (--image names another)").into());
    }
    let mut conn = Conn::open(server.addr).await?;
    conn.must("CreateCluster", &json!({"clusterName": "bench-tasks"})).await?;
    let mut section = String::from(
        "| Task | RunTask → RUNNING | raw create + start | ratio | StopTask → STOPPED | raw stop | ratio |\n|---|---|---|---|---|---|---|\n",
    );
    let mut one = (f64::NAN, f64::NAN);
    for containers in [1, 3] {
        let family = format!("bench-start-{containers}");
        conn.must("RegisterTaskDefinition", &task_definition(&family, image, containers, "FARGATE")).await?;
        let (mut raw_start, mut raw_stop, mut run, mut stop) = (vec![], vec![], vec![], vec![]);
        for round in 0..sizes.rounds {
            // Raw Docker: the same containers, created and started together, stopped together.
            let specs: Vec<ContainerSpec> =
                (0..containers).map(|i| raw_container(format!("berth-bench-raw-{round}-{i}"), image)).collect();
            let t = Instant::now();
            let created = futures_util::future::try_join_all(specs.iter().map(|s| docker.create(s))).await?;
            futures_util::future::try_join_all(created.iter().map(|id| docker.start(id))).await?;
            raw_start.push(t.elapsed());
            let t = Instant::now();
            futures_util::future::try_join_all(created.iter().map(|id| docker.stop(id, 30))).await?;
            raw_stop.push(t.elapsed());
            for id in &created {
                docker.remove(id).await?;
            }

            let t = Instant::now();
            let started = conn.must("RunTask", &run_fargate("bench-tasks", &family, 1, "subnet-bench")).await?;
            let arn = started["tasks"][0]["taskArn"].as_str().ok_or("RunTask started no task")?.to_owned();
            wait_all(&mut conn, "bench-tasks", std::slice::from_ref(&arn), "RUNNING", Duration::from_secs(60)).await?;
            run.push(t.elapsed());
            let t = Instant::now();
            conn.must("StopTask", &json!({"cluster": "bench-tasks", "task": arn})).await?;
            wait_all(&mut conn, "bench-tasks", std::slice::from_ref(&arn), "STOPPED", Duration::from_secs(60)).await?;
            stop.push(t.elapsed());
        }
        let (rs, rr, ts, tr) =
            (median_ms(&mut raw_start), median_ms(&mut raw_stop), median_ms(&mut run), median_ms(&mut stop));
        eprintln!(
            "  {containers} container(s): RunTask→RUNNING {ts:.0} ms vs raw {rs:.0} ms; StopTask→STOPPED {tr:.0} ms vs raw {rr:.0} ms"
        );
        let _ = writeln!(
            section,
            "| {containers} container{} | {ts:.0} ms | {rs:.0} ms | {:.2}× | {tr:.0} ms | {rr:.0} ms | {:.2}× |",
            if containers == 1 { "" } else { "s" },
            ts / rs,
            tr / rr
        );
        if containers == 1 {
            one = (ts, rs);
        }
    }

    // A burst: `burst` tasks at once through RunTask (in tens), against as many raw containers
    // created and started at once.
    let t = Instant::now();
    let mut arns = Vec::new();
    let calls: Vec<_> = (0..sizes.burst.div_ceil(10))
        .map(|i| {
            let count = (sizes.burst - i * 10).min(10);
            let addr = server.addr;
            async move {
                let mut c = Conn::open(addr).await?;
                let answer =
                    c.must("RunTask", &run_fargate("bench-tasks", "bench-start-1", count, "subnet-bench")).await?;
                let tasks = answer.get("tasks").and_then(Value::as_array).cloned().unwrap_or_default();
                Ok::<Vec<String>, Error>(
                    tasks.iter().filter_map(|t| t.get("taskArn")?.as_str().map(str::to_owned)).collect(),
                )
            }
        })
        .collect();
    for batch in futures_util::future::try_join_all(calls).await? {
        arns.extend(batch);
    }
    if arns.len() != sizes.burst {
        return Err(format!("the burst started {} of {} tasks", arns.len(), sizes.burst).into());
    }
    wait_all(&mut conn, "bench-tasks", &arns, "RUNNING", Duration::from_secs(300)).await?;
    let burst = t.elapsed();
    for arn in &arns {
        conn.must("StopTask", &json!({"cluster": "bench-tasks", "task": arn})).await?;
    }
    wait_all(&mut conn, "bench-tasks", &arns, "STOPPED", Duration::from_secs(300)).await?;

    let specs: Vec<ContainerSpec> =
        (0..sizes.burst).map(|i| raw_container(format!("berth-bench-burst-{i}"), image)).collect();
    let t = Instant::now();
    let created = futures_util::future::try_join_all(specs.iter().map(|s| async {
        let id = docker.create(s).await?;
        docker.start(&id).await?;
        Ok::<String, berth::driver::Error>(id)
    }))
    .await?;
    let raw_burst = t.elapsed();
    futures_util::future::try_join_all(created.iter().map(|id| async {
        docker.stop(id, 30).await?;
        docker.remove(id).await
    }))
    .await?;
    eprintln!(
        "  {} tasks at once: {:.1} s through berth, {:.1} s raw",
        sizes.burst,
        burst.as_secs_f64(),
        raw_burst.as_secs_f64()
    );
    let _ = writeln!(
        section,
        "\n{} one-container tasks started at once (RunTask in tens, until all RUNNING): {:.1} s, {:.1} tasks/s; \
         the same number of raw containers created and started at once: {:.1} s, {:.1} containers/s ({:.2}×).",
        sizes.burst,
        burst.as_secs_f64(),
        sizes.burst as f64 / burst.as_secs_f64(),
        raw_burst.as_secs_f64(),
        sizes.burst as f64 / raw_burst.as_secs_f64(),
        burst.as_secs_f64() / raw_burst.as_secs_f64()
    );
    conn.must("DeleteCluster", &json!({"cluster": "bench-tasks"})).await.ok();
    Ok((section, one.0, one.1))
}

/// Placement through the API: RunTask on EC2 instances registered as agents would, with a
/// memberOf constraint and spread + binpack.
pub(super) async fn placement(server: &Server, sizes: &Sizes, report: &mut Report) -> Result<String> {
    let mut section =
        String::from("| Instances | Tasks placed | per task | RunTask (10 tasks) p50 | p99 |\n|---|---|---|---|---|\n");
    let mut conn = Conn::open(server.addr).await?;
    conn.must("RegisterTaskDefinition", &task_definition("bench-place", MISSING_IMAGE, 1, "EC2")).await?;
    for &instances in &sizes.instances {
        let cluster = format!("bench-place-{instances}");
        conn.must("CreateCluster", &json!({"clusterName": cluster})).await?;
        let register = {
            let cluster = cluster.clone();
            Arc::new(move |i: usize| {
                let zone = ["us-east-1a", "us-east-1b", "us-east-1c"][i % 3];
                let kind = if i % 5 == 4 { "m5.large" } else { "t3.medium" };
                let identity = json!({"instanceId": format!("i-{i:017x}"), "instanceType": kind, "availabilityZone": zone, "region": "us-east-1"});
                json!({"cluster": cluster, "instanceIdentityDocument": identity.to_string()}).to_string()
            })
        };
        let registered = load(
            server.addr,
            16,
            "RegisterContainerInstance",
            register,
            |v| v.get("containerInstance").is_some(),
            Until::Count(instances),
        )
        .await?;
        report.count(&registered, "RegisterContainerInstance");
        let run = {
            let cluster = cluster.clone();
            Arc::new(move |_| {
                json!({
                    "cluster": cluster, "taskDefinition": "bench-place", "count": 10, "launchType": "EC2",
                    "placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t3.*"}],
                    "placementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "binpack", "field": "memory"}],
                })
                .to_string()
            })
        };
        let placed = load(
            server.addr,
            1,
            "RunTask",
            run,
            |v| v.get("tasks").and_then(Value::as_array).is_some_and(|t| t.len() == 10) && !non_empty(v, "failures"),
            Until::Count(sizes.placed / 10),
        )
        .await?;
        report.count(&placed, &format!("placement on {instances}"));
        let per_task = placed.elapsed.as_secs_f64() * 1000.0 / (placed.ok * 10).max(1) as f64;
        eprintln!("  {instances:>5} instances: {} tasks placed, {per_task:.2} ms per task", placed.ok * 10);
        let _ = writeln!(
            section,
            "| {instances} | {} | {per_task:.2} ms | {:.2} ms | {:.2} ms |",
            placed.ok * 10,
            placed.quantile_ms(0.5),
            placed.quantile_ms(0.99)
        );
    }
    Ok(section)
}
