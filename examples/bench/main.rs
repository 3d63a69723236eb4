//! The benchmark harness: berth against moto and against raw Docker, side by side in one run,
//! written to BENCHMARKS.md with the command that reproduces it and the machine it ran on.
//!
//! `bash scripts/bench` builds berth and this harness in release mode and runs everything;
//! `--smoke` runs every measurement tiny (the test command does that, so the harness cannot
//! rot); `--control-only` measures only the control plane and prints it, for iterating on the
//! request path. The harness starts both servers itself: berth from `--berth-bin` on 127.0.0.1:0 with a
//! fresh data dir and `--instances 0`, and moto as `python3 -m moto.server` on a free port. Both
//! get the same AWS JSON 1.1 requests over keep-alive HTTP/1.1 connections, one per client.
//! Every response is checked (HTTP 200, JSON, the expected shape); one that is not counts as
//! an error, never as a fast response.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use berth::driver::{ContainerSpec, Docker};
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::Mutex;

mod ecs;
mod logs;

use ecs::{Growth, control_plane, growth, many_tasks, placement, task_lifecycle, wait_all};

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T, E = Error> = std::result::Result<T, E>;

/// berth against moto and raw Docker; writes BENCHMARKS.md.
#[derive(Parser)]
struct Args {
    /// The berth binary to measure (a release build).
    #[arg(long, default_value = "target/release/berth")]
    berth_bin: PathBuf,
    /// Where the report goes.
    #[arg(long, default_value = "BENCHMARKS.md")]
    out: PathBuf,
    /// An image on the local Docker engine with `sh` and `sleep`, for the task measurements.
    #[arg(long, default_value = "busybox:latest")]
    image: String,
    /// Every measurement tiny: checks the harness works, measures nothing worth reading.
    #[arg(long)]
    smoke: bool,
    /// Only the control-plane measurement, printed, with no report written: for iterating on
    /// the request path.
    #[arg(long)]
    control_only: bool,
    /// Only the CloudWatch Logs measurements, printed, with no report written.
    #[arg(long)]
    logs_only: bool,
    /// With --control-only: measure only these operations (repeatable).
    #[arg(long)]
    only: Vec<String>,
    /// The command line to print in the report as the one that reproduces it.
    #[arg(long, default_value = "bash scripts/bench")]
    command: String,
}

/// How big each measurement is.
struct Sizes {
    /// How long each throughput measurement runs.
    window: Duration,
    /// Task definition revisions for the growth measurement.
    revisions: Vec<usize>,
    /// Task records for ListTasks.
    tasks: usize,
    /// Rounds of task start and stop.
    rounds: usize,
    /// Tasks started at once.
    burst: usize,
    /// Instances for placement, and tasks placed on each count.
    instances: Vec<usize>,
    placed: usize,
    /// How long moto may take to seed one size before it is left out.
    moto_budget: Duration,
    /// CloudWatch Logs: events in the filtered group, events per PutLogEvents, awslogs lines
    /// whose lag is measured.
    log_events: usize,
    log_batch: usize,
    ticks: usize,
}

impl Sizes {
    fn new(smoke: bool) -> Self {
        if smoke {
            Self {
                window: Duration::from_millis(200),
                revisions: vec![10, 30],
                tasks: 30,
                rounds: 1,
                burst: 2,
                instances: vec![3],
                placed: 10,
                moto_budget: Duration::from_secs(30),
                log_events: 20_000,
                log_batch: 1_000,
                ticks: 10,
            }
        } else {
            Self {
                window: Duration::from_secs(3),
                revisions: vec![1_000, 10_000, 100_000],
                tasks: 10_000,
                rounds: 15,
                burst: 50,
                instances: vec![10, 100, 1_000],
                placed: 1_000,
                moto_budget: Duration::from_secs(240),
                log_events: 1_000_000,
                log_batch: 10_000,
                ticks: 100,
            }
        }
    }
}

/// An image no engine has: tasks of it are placed and stored, then stop with
/// CannotPullContainerError without creating a container, which makes task records cheap.
const MISSING_IMAGE: &str = "berth-bench/missing:none";
const TARGET_PREFIX: &str = "AmazonEC2ContainerServiceV20141113.";
/// Neither server checks signatures; both read the region from the credential scope.
const AUTHORIZATION: &str =
    "AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=0";

// ---------------------------------------------------------------------------------------------
// The servers

struct Server {
    name: &'static str,
    addr: SocketAddr,
    child: Child,
    _dir: Option<tempfile::TempDir>,
}

impl Server {
    async fn berth(bin: &std::path::Path) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("BERTH_INSTANCES", "0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e} (build it: cargo build --release)", bin.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(30), BufReader::new(stdout).read_line(&mut line)).await??;
        let addr =
            line.trim().strip_prefix("berth listening on http://").ok_or(format!("unexpected first line {line:?}"))?;
        Ok(Self { name: "berth", addr: addr.parse()?, child, _dir: Some(dir) })
    }

    async fn moto() -> Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start moto (pip install 'moto[server]'): {e}"))?;
        let server = Self { name: "moto", addr: SocketAddr::from(([127, 0, 0, 1], port)), child, _dir: None };
        for _ in 0..300 {
            if let Ok(mut conn) = Conn::open(server.addr).await
                && conn.call("ListClusters", "{}").await.is_ok()
            {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("moto did not answer within 30 s".into())
    }

    /// SIGTERM, and up to 20 s for the process to finish (then SIGKILL).
    async fn stop(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await;
        }
        if tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await.is_err() {
            let _ = self.child.kill().await;
        }
    }

    /// The server process's resident set, in MiB.
    fn rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        let kib: f64 = status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    }
}

// ---------------------------------------------------------------------------------------------
// The client: one keep-alive connection, raw AWS JSON 1.1

/// A client's connection. moto's server closes each connection after one answer, so a closed
/// connection is opened again before the next request (for berth it stays open).
struct Conn {
    addr: SocketAddr,
    send: http1::SendRequest<Full<Bytes>>,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (send, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Self { addr, send })
    }

    /// One call: an ECS operation, or `Logs_20140328.<Op>` for CloudWatch Logs; anything but a
    /// 200 with a JSON body is an error naming what came back.
    async fn call(&mut self, op: &str, body: &str) -> Result<Value, String> {
        let (target, authorization) = match op.strip_prefix("Logs_20140328.") {
            Some(_) => (op.to_owned(), AUTHORIZATION.replace("/ecs/", "/logs/")),
            None => (format!("{TARGET_PREFIX}{op}"), AUTHORIZATION.to_owned()),
        };
        let request = hyper::Request::post("/")
            .header("host", "127.0.0.1")
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", target)
            .header("authorization", authorization)
            .body(Full::new(Bytes::from(body.to_owned())))
            .map_err(|e| e.to_string())?;
        if self.send.ready().await.is_err() {
            *self = Self::open(self.addr).await.map_err(|e| format!("{op}: connect: {e}"))?;
            self.send.ready().await.map_err(|e| format!("{op}: connection: {e}"))?;
        }
        let response = self.send.send_request(request).await.map_err(|e| format!("{op}: {e}"))?;
        let status = response.status();
        let bytes = response.into_body().collect().await.map_err(|e| format!("{op}: {e}"))?.to_bytes();
        if status != hyper::StatusCode::OK {
            let text = String::from_utf8_lossy(&bytes);
            return Err(format!("{op}: HTTP {status}: {}", text.chars().take(300).collect::<String>()));
        }
        // Some operations (CloudWatch Logs' CreateLogGroup, ...) answer 200 with no body.
        if bytes.is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("{op}: not JSON: {e}"))
    }

    /// A call whose failure ends the run (setup, not measurement).
    async fn must(&mut self, op: &str, body: &Value) -> Result<Value> {
        Ok(self.call(op, &body.to_string()).await?)
    }
}

/// A form-encoded EC2 query call, for moto's default subnet (its RunTask wants a real one).
async fn moto_subnet(addr: SocketAddr) -> Result<String> {
    let stream = TcpStream::connect(addr).await?;
    let (mut send, connection) = http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = hyper::Request::post("/")
        .header("host", "127.0.0.1")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", AUTHORIZATION.replace("/ecs/", "/ec2/"))
        .body(Full::new(Bytes::from_static(b"Action=DescribeSubnets&Version=2016-11-15")))?;
    let body = send.send_request(request).await?.into_body().collect().await?.to_bytes();
    let text = String::from_utf8_lossy(&body);
    let start = text.find("<subnetId>").ok_or("moto answered no subnet")? + "<subnetId>".len();
    let end = text[start..].find('<').ok_or("unterminated subnetId")? + start;
    Ok(text[start..end].to_owned())
}

// ---------------------------------------------------------------------------------------------
// Load

/// What a run of requests measured.
#[derive(Default)]
struct Stats {
    ok: usize,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Stats {
    fn rps(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn quantile_ms(&self, q: f64) -> f64 {
        quantile_ms(&self.latencies, q)
    }
}

/// The `q` quantile of sorted durations, in ms (NaN for none).
fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

type Body = Arc<dyn Fn(usize) -> String + Send + Sync>;
type Check = fn(&Value) -> bool;

/// `concurrency` clients, each on its own connection, send `op` until `until` says stop
/// (a deadline or a request count); request `i` has body `body(i)`.
async fn load(
    addr: SocketAddr,
    concurrency: usize,
    op: &'static str,
    body: Body,
    check: Check,
    until: Until,
) -> Result<Stats> {
    let next = Arc::new(AtomicUsize::new(0));
    let merged = Arc::new(Mutex::new(Stats::default()));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (next, merged, body) = (next.clone(), merged.clone(), body.clone());
        let mut conn = Conn::open(addr).await?;
        workers.push(tokio::spawn(async move {
            let mut own = Stats::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if !until.more(i, started) {
                    break;
                }
                let payload = body(i);
                let t = Instant::now();
                let result = conn.call(op, &payload).await;
                let took = t.elapsed();
                match result {
                    Ok(v) if check(&v) => {
                        own.ok += 1;
                        own.latencies.push(took);
                    }
                    Ok(v) => {
                        own.errors += 1;
                        own.first_error.get_or_insert_with(|| format!("{op}: unexpected answer {}", short(&v)));
                    }
                    Err(e) => {
                        own.errors += 1;
                        own.first_error.get_or_insert(e);
                        if matches!(until, Until::Count(_)) {
                            break;
                        }
                    }
                }
            }
            let mut all = merged.lock().await;
            all.ok += own.ok;
            all.errors += own.errors;
            if all.first_error.is_none() {
                all.first_error = own.first_error;
            }
            all.latencies.extend(own.latencies);
        }));
    }
    for worker in workers {
        worker.await?;
    }
    let mut stats = std::mem::take(&mut *merged.lock().await);
    stats.elapsed = started.elapsed();
    stats.latencies.sort();
    Ok(stats)
}

fn short(v: &Value) -> String {
    v.to_string().chars().take(200).collect()
}

#[derive(Clone, Copy)]
enum Until {
    Deadline(Duration),
    Count(usize),
    /// A count, or the budget, whichever comes first.
    CountWithin(usize, Duration),
}

impl Until {
    fn more(self, i: usize, started: Instant) -> bool {
        match self {
            Until::Deadline(d) => started.elapsed() < d,
            Until::Count(n) => i < n,
            Until::CountWithin(n, d) => i < n && started.elapsed() < d,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The measurements

/// The report, built as the run goes.
struct Report {
    sections: String,
    targets: Vec<(String, String, String, bool)>,
    errors: usize,
}

impl Report {
    fn target(&mut self, what: &str, wanted: &str, measured: String, met: bool) {
        self.targets.push((what.to_owned(), wanted.to_owned(), measured, met));
    }

    fn count(&mut self, stats: &Stats, label: &str) {
        if stats.errors > 0 {
            self.errors += stats.errors;
            eprintln!("  {label}: {} errors, first: {}", stats.errors, stats.first_error.as_deref().unwrap_or("?"));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The run

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|k| k.parse::<f64>().ok()))
        .map_or_else(|| "?".to_owned(), |kib| format!("{:.0} GiB", kib / 1024.0 / 1024.0));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cores} cores ({cpu}), {memory} RAM, Linux {}", kernel.trim())
}

fn mib(v: Option<f64>) -> String {
    v.map_or_else(|| "?".to_owned(), |m| format!("{m:.1} MiB"))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(0) => std::process::ExitCode::SUCCESS,
        Ok(errors) => {
            eprintln!("bench: {errors} requests failed their check (see above)");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<usize> {
    let args = Args::parse();
    let mut berth = Server::berth(&args.berth_bin).await?;
    let moto = Server::moto().await;
    remove_raw_containers().await;
    let result = match &moto {
        Ok(moto) => measure(&args, &berth, moto).await,
        Err(_) => Ok(0),
    };
    // After a failed measurement, tasks may still run: stop them through berth, and remove the
    // raw containers. Then berth stops as a user stops it, so it removes its Docker network;
    // moto just goes.
    if result.is_err() {
        stop_bench_tasks(&berth).await;
    }
    remove_raw_containers().await;
    berth.stop().await;
    drop(moto?);
    result
}

/// Removes the containers the harness created itself (label `berth.bench=raw`), left by a run
/// that failed half-way.
async fn remove_raw_containers() {
    let Ok(docker) = Docker::connect(None).await else { return };
    let labels = BTreeMap::from([("berth.bench".to_owned(), "raw".to_owned())]);
    for container in docker.list(&labels).await.unwrap_or_default() {
        let _ = docker.remove(&container.id).await;
    }
}

/// Stops the tasks of the task measurements that still run, and waits for them (a minute at
/// most).
async fn stop_bench_tasks(berth: &Server) {
    let Ok(mut conn) = Conn::open(berth.addr).await else { return };
    let Ok(listed) = conn.must("ListTasks", &json!({"cluster": "bench-tasks"})).await else { return };
    let arns: Vec<String> =
        listed["taskArns"].as_array().into_iter().flatten().filter_map(|a| a.as_str().map(str::to_owned)).collect();
    for arn in &arns {
        let _ = conn.must("StopTask", &json!({"cluster": "bench-tasks", "task": arn})).await;
    }
    let _ = wait_all(&mut conn, "bench-tasks", &arns, "STOPPED", Duration::from_secs(60)).await;
}

async fn measure(args: &Args, berth: &Server, moto: &Server) -> Result<usize> {
    let sizes = Sizes::new(args.smoke);
    let mut report = Report { sections: String::new(), targets: Vec::new(), errors: 0 };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let berth_rest = berth.rss_mib();
    let moto_rest = moto.rss_mib();
    let subnet = moto_subnet(moto.addr).await?;

    if args.logs_only {
        logs::logs(berth, moto, &sizes, &args.image, &mut report).await?;
        for (what, wanted, measured, met) in &report.targets {
            println!("{what}: {measured} (target {wanted}, {})", if *met { "met" } else { "missed" });
        }
        println!("\n{}", report.sections);
        return Ok(report.errors);
    }

    eprintln!("control plane");
    let berth_rows = control_plane(berth, &sizes, &subnet, &args.only, &mut report).await?;
    let moto_rows = control_plane(moto, &sizes, &subnet, &args.only, &mut report).await?;
    let mut table = String::from(
        "| Operation | Clients | berth req/s | berth p50 | berth p99 | moto req/s | moto p50 | moto p99 | berth/moto |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut worst_ratio = f64::INFINITY;
    let mut worst_describe_p99: f64 = 0.0;
    let mut describe_p99s = Vec::new();
    for ((op, concurrency), b) in &berth_rows {
        let Some(m) = moto_rows.get(&(*op, *concurrency)) else { continue };
        let ratio = b.rps() / m.rps().max(1e-9);
        if *concurrency == 16 {
            worst_ratio = worst_ratio.min(ratio);
            if op.starts_with("Describe") {
                worst_describe_p99 = worst_describe_p99.max(b.quantile_ms(0.99));
                let name = if *op == "DescribeTasks" { "DescribeTasks of 100" } else { op };
                describe_p99s.push(format!("{name} {:.2} ms", b.quantile_ms(0.99)));
            }
        }
        let _ = writeln!(
            table,
            "| {op} | {concurrency} | {:.0} | {:.2} ms | {:.2} ms | {:.0} | {:.2} ms | {:.2} ms | {ratio:.1}× |",
            b.rps(),
            b.quantile_ms(0.5),
            b.quantile_ms(0.99),
            m.rps(),
            m.quantile_ms(0.5),
            m.quantile_ms(0.99)
        );
    }
    let _ = write!(
        report.sections,
        "## Control plane\n\nEach operation for {:.0} s per client count, every client on its own keep-alive connection, \
         the same request bodies to both servers. DescribeTasks names 100 tasks; ListTasks lists STOPPED tasks of a \
         cluster with 100. RegisterTaskDefinition adds a revision per request.\n\n{table}\n",
        sizes.window.as_secs_f64()
    );
    report.target(
        "Control-plane throughput against moto at 16 clients",
        "≥ 25× on every operation",
        format!("{worst_ratio:.1}× on the slowest operation"),
        worst_ratio >= 25.0,
    );
    report.target(
        "p99 of the Describe calls at 16 clients",
        "< 2 ms",
        describe_p99s.join(", "),
        worst_describe_p99 < 2.0,
    );

    if args.control_only {
        println!("{table}");
        return Ok(report.errors);
    }

    eprintln!("growth");
    let (berth_growth, _) = growth(berth, &sizes, &mut report).await?;
    let berth_revisions_rss = berth.rss_mib();
    let (moto_growth, moto_unfinished) = growth(moto, &sizes, &mut report).await?;
    let moto_revisions_rss = moto.rss_mib();
    let mut table = String::from(
        "| Revisions | Server | seeded in | ListTaskDefinitions p50 | DescribeTaskDefinition p50 |\n|---|---|---|---|---|\n",
    );
    for (name, rows) in [("berth", &berth_growth), ("moto", &moto_growth)] {
        for row in rows {
            let _ = writeln!(
                table,
                "| {} | {name} | {:.1} s | {:.2} ms | {:.2} ms |",
                row.size,
                row.seeded_in.as_secs_f64(),
                row.list.quantile_ms(0.5),
                row.describe.quantile_ms(0.5)
            );
        }
    }
    if let Some(size) = moto_unfinished {
        let _ = writeln!(
            table,
            "| {size} | moto | did not finish seeding within {:.0} s | | |",
            sizes.moto_budget.as_secs_f64()
        );
    }
    let flat = |rows: &[Growth], f: fn(&Growth) -> f64| -> f64 {
        match (rows.first(), rows.last()) {
            (Some(a), Some(b)) => f(b) / f(a),
            _ => f64::NAN,
        }
    };
    let list_growth = flat(&berth_growth, |g| g.list.quantile_ms(0.5));
    let describe_growth = flat(&berth_growth, |g| g.describe.quantile_ms(0.5));
    let first = sizes.revisions.first().copied().unwrap_or(0);
    let last = sizes.revisions.last().copied().unwrap_or(0);

    eprintln!("many tasks");
    let berth_many = many_tasks(berth, &sizes, &subnet, &mut report).await?;
    let berth_tasks_rss = berth.rss_mib();
    let moto_many = many_tasks(moto, &sizes, &subnet, &mut report).await?;
    let moto_tasks_rss = moto.rss_mib();
    let _ = writeln!(
        table,
        "\nListTasks in a cluster with {} task records (berth: all STOPPED; moto: nine in ten STOPPED), one client:\n\n\
         | Server | ListTasks STOPPED (page of 100) p50 | ListTasks RUNNING p50 |\n|---|---|---|",
        sizes.tasks
    );
    for (name, many) in [("berth", &berth_many), ("moto", &moto_many)] {
        match many {
            Some((_, stopped, running)) => {
                let _ = writeln!(
                    table,
                    "| {name} | {:.2} ms | {:.2} ms |",
                    stopped.quantile_ms(0.5),
                    running.quantile_ms(0.5)
                );
            }
            None => {
                let _ = writeln!(
                    table,
                    "| {name} | did not finish seeding within {:.0} s | |",
                    sizes.moto_budget.as_secs_f64()
                );
            }
        }
    }
    let _ =
        write!(report.sections, "## Cost as the data grows\n\nOne client; a page of 100 for the lists.\n\n{table}\n");
    report.target(
        &format!("List/Describe cost from {first} to {last} revisions"),
        "flat (p50 grows < 1.5×)",
        format!("ListTaskDefinitions {list_growth:.2}×, DescribeTaskDefinition {describe_growth:.2}×"),
        list_growth < 1.5 && describe_growth < 1.5,
    );

    eprintln!("tasks");
    let (section, run_ms, raw_ms) = task_lifecycle(berth, &sizes, &args.image).await?;
    let _ = write!(
        report.sections,
        "## Task start and stop against the floor\n\nFargate-like tasks of `{}` (a shell that sleeps), median of {} rounds. \
         The floor is the same containers created and started (stopped) together through the Docker API. moto runs no \
         containers, so it has no row here.\n\n{section}\n",
        args.image, sizes.rounds
    );
    report.target(
        "RunTask → RUNNING, one container, against raw Docker create + start",
        "within 1.2×",
        format!("{:.2}× ({run_ms:.0} ms against {raw_ms:.0} ms)", run_ms / raw_ms),
        run_ms / raw_ms <= 1.2,
    );

    eprintln!("placement");
    let section = placement(berth, &sizes, &mut report).await?;
    let _ = write!(
        report.sections,
        "## Placement\n\n{} tasks per row, RunTask of 10 on the EC2 launch type with `memberOf(attribute:ecs.instance-type =~ t3.*)` \
         and spread on the zone, then binpack on memory, over instances registered with RegisterContainerInstance (four in \
         five t3.medium). The time is the whole RunTask: request, placement under the placement lock, and the stored tasks. \
         moto has no placement engine, so it has no row here.\n\n{section}\n",
        sizes.placed
    );

    logs::logs(berth, moto, &sizes, &args.image, &mut report).await?;

    let mut table = String::from("| | berth | moto |\n|---|---|---|\n");
    let _ = writeln!(table, "| at rest | {} | {} |", mib(berth_rest), mib(moto_rest));
    let _ = writeln!(
        table,
        "| after the revisions above ({last} for berth{}) | {} | {} |",
        moto_unfinished.map_or_else(String::new, |s| format!(", fewer than {s} for moto")),
        mib(berth_revisions_rss),
        mib(moto_revisions_rss)
    );
    let _ =
        writeln!(table, "| and {} task records | {} | {} |", sizes.tasks, mib(berth_tasks_rss), mib(moto_tasks_rss));
    let _ = write!(report.sections, "## Memory (resident set)\n\n{table}\n");
    report.target("berth's RSS at rest", "< 30 MiB", mib(berth_rest), berth_rest.is_some_and(|m| m < 30.0));
    report.target(
        &format!("berth's RSS with {} task records", sizes.tasks),
        "< 60 MiB",
        mib(berth_tasks_rss),
        berth_tasks_rss.is_some_and(|m| m < 60.0),
    );

    let mut out = String::from("# Benchmarks\n\n");
    if args.smoke {
        out.push_str("**Smoke run: tiny sizes, to check the harness works. These numbers mean nothing.**\n\n");
    }
    let _ = write!(
        out,
        "berth against [moto](https://github.com/getmoto/moto) (the Python AWS emulator) and against raw Docker, \
         side by side in one run, so the figures are ratios that survive a noisy machine.\n\n\
         - Reproduce: `{}` (builds berth and the harness, `examples/bench/`, in release mode, and rewrites this file)\n\
         - Machine: {}\n- berth {}, moto {}, Docker {}\n- Requests checked: every response must be HTTP 200 with the \
         expected shape; {} failed that check in this run.\n\n## Targets\n\n| What | Target | Measured | |\n|---|---|---|---|\n",
        args.command,
        machine(),
        env!("CARGO_PKG_VERSION"),
        moto_version().await,
        Docker::connect(None).await?.version().await.map(|v| v.0).unwrap_or_default(),
        report.errors
    );
    for (what, wanted, measured, met) in &report.targets {
        let _ = writeln!(out, "| {what} | {wanted} | {measured} | {} |", if *met { "met" } else { "**missed**" });
    }
    out.push('\n');
    out.push_str(&report.sections);
    if let Ok(notes) = std::fs::read_to_string("benches/NOTES.md")
        && !args.smoke
    {
        out.push_str(&notes);
    }
    std::fs::write(&args.out, out)?;
    eprintln!("wrote {}", args.out.display());
    Ok(report.errors)
}

async fn moto_version() -> String {
    let out = Command::new("python3").args(["-c", "import moto; print(moto.__version__)"]).output().await;
    out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()).unwrap_or_default()
}
