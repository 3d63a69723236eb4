//! The CloudWatch Logs measurements: PutLogEvents throughput against moto, the lag from a
//! container's write to GetLogEvents (berth only: moto runs no containers), and FilterLogEvents
//! over a million events for a term and for a JSON pattern, against moto.

use berth::domain::now_ms;

use super::*;

/// What a PutLogEvents answer must look like: no event of the batch turned away.
fn accepted(v: &Value) -> bool {
    v.get("rejectedLogEventsInfo").is_none()
}

/// One of the filter measurement's events: one in a thousand is an error, with the term and the
/// JSON field the filters look for.
fn message(i: usize) -> String {
    if i.is_multiple_of(1000) {
        format!(
            r#"{{"level":"error","user":"u{}","latency":{},"msg":"ERROR upstream timed out {i}"}}"#,
            i % 997,
            i % 1000
        )
    } else {
        format!(r#"{{"level":"info","user":"u{}","latency":{},"msg":"served request {i}"}}"#, i % 997, i % 1000)
    }
}

/// A PutLogEvents body of events `from..from + count`, timestamped from `base` (ms), one ms apart
/// per hundred events.
fn put_body(group: &str, stream: &str, from: usize, count: usize, base: i64) -> String {
    let events: Vec<Value> = (from..from + count)
        .map(|i| json!({"timestamp": base + i64::try_from(i / 100).unwrap_or(0), "message": message(i)}))
        .collect();
    json!({"logGroupName": group, "logStreamName": stream, "logEvents": events}).to_string()
}

async fn logs_call(conn: &mut Conn, op: &str, body: &Value) -> Result<Value> {
    conn.must(&format!("Logs_20140328.{op}"), body).await
}

/// A group with `streams` streams `s0`, `s1`, ...
async fn group_with_streams(addr: SocketAddr, group: &str, streams: usize) -> Result<()> {
    let mut conn = Conn::open(addr).await?;
    logs_call(&mut conn, "CreateLogGroup", &json!({"logGroupName": group})).await?;
    for s in 0..streams {
        logs_call(&mut conn, "CreateLogStream", &json!({"logGroupName": group, "logStreamName": format!("s{s}")}))
            .await?;
    }
    Ok(())
}

/// PutLogEvents of `batch` events per request from `clients` clients, each on a stream of its
/// own, for the window: events per second.
async fn put_rate(server: &Server, sizes: &Sizes, report: &mut Report) -> Result<f64> {
    const CLIENTS: usize = 4;
    group_with_streams(server.addr, "bench-put", CLIENTS).await?;
    let base = now_ms() - 60_000;
    let bodies: Arc<Vec<String>> =
        Arc::new((0..CLIENTS).map(|s| put_body("bench-put", &format!("s{s}"), 0, sizes.log_batch, base)).collect());
    let body: Body = Arc::new(move |i| bodies[i % CLIENTS].clone());
    let stats =
        load(server.addr, CLIENTS, "Logs_20140328.PutLogEvents", body, accepted, Until::Deadline(sizes.window)).await?;
    report.count(&stats, &format!("{} PutLogEvents", server.name));
    Ok((stats.ok * sizes.log_batch) as f64 / stats.elapsed.as_secs_f64().max(1e-9))
}

/// Puts `total` events into group `bench-filter` (ten streams), within `budget`: how many went in.
async fn seed_filter_group(server: &Server, sizes: &Sizes, total: usize, budget: Duration) -> Result<usize> {
    const STREAMS: usize = 10;
    group_with_streams(server.addr, "bench-filter", STREAMS).await?;
    let base = now_ms() - 3_600_000;
    let started = Instant::now();
    let mut conn = Conn::open(server.addr).await?;
    let mut done = 0;
    while done < total && started.elapsed() < budget {
        let count = sizes.log_batch.min(total - done);
        let stream = format!("s{}", (done / sizes.log_batch) % STREAMS);
        let answer =
            conn.call("Logs_20140328.PutLogEvents", &put_body("bench-filter", &stream, done, count, base)).await?;
        if !accepted(&answer) {
            return Err(format!("{}: PutLogEvents turned events away: {}", server.name, short(&answer)).into());
        }
        done += count;
    }
    Ok(done)
}

/// FilterLogEvents over the whole group for `pattern`, every page: how long, and how many matched.
async fn filter_all(server: &Server, pattern: &str) -> Result<(Duration, usize)> {
    let mut conn = Conn::open(server.addr).await?;
    let started = Instant::now();
    let mut matched = 0;
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"logGroupName": "bench-filter", "filterPattern": pattern});
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        let page = logs_call(&mut conn, "FilterLogEvents", &body).await?;
        matched += page.get("events").and_then(Value::as_array).map_or(0, Vec::len);
        match page.get("nextToken").and_then(Value::as_str) {
            Some(next) if token.as_deref() != Some(next) => token = Some(next.to_owned()),
            _ => return Ok((started.elapsed(), matched)),
        }
    }
}

/// The best of three filter runs (the first warms the page cache as much as the others).
async fn best_filter(server: &Server, pattern: &str) -> Result<(Duration, usize)> {
    let mut best: Option<(Duration, usize)> = None;
    for _ in 0..3 {
        let run = filter_all(server, pattern).await?;
        if best.is_none_or(|b| run.0 < b.0) {
            best = Some(run);
        }
    }
    best.ok_or_else(|| "no filter run".into())
}

/// An awslogs task printing a numbered tick every 100 ms; GetLogEvents polled meanwhile, each
/// tick's lag being when it was first read less the time Docker recorded it.
async fn ingest_lag(server: &Server, sizes: &Sizes, image: &str) -> Result<Vec<Duration>> {
    let mut conn = Conn::open(server.addr).await?;
    conn.must("CreateCluster", &json!({"clusterName": "bench-logs"})).await?;
    let ticks = sizes.ticks;
    let command = format!("i=0; while [ $i -lt {ticks} ]; do echo tick $i; i=$((i+1)); sleep 0.1; done");
    let definition = json!({"family": "bench-lag", "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc",
        "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app", "image": image, "essential": true,
        "command": ["sh", "-c", command], "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": "bench-lag", "awslogs-stream-prefix": "lag", "awslogs-create-group": "true"}}}]});
    conn.must("RegisterTaskDefinition", &definition).await?;
    let run = json!({"cluster": "bench-logs", "taskDefinition": "bench-lag", "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-bench"]}}});
    let started = conn.must("RunTask", &run).await?;
    let arn = started["tasks"][0]["taskArn"].as_str().ok_or("RunTask started no task")?.to_owned();
    let stream = format!("lag/app/{}", arn.rsplit('/').next().unwrap_or_default());
    let mut lags = Vec::with_capacity(ticks);
    let mut token: Option<String> = None;
    let deadline = Instant::now() + Duration::from_secs(60) + Duration::from_millis(100 * ticks as u64);
    while lags.len() < ticks && Instant::now() < deadline {
        let mut body = json!({"logGroupName": "bench-lag", "logStreamName": stream, "startFromHead": true});
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        // Before the task's first line the group or stream may not be there yet.
        let Ok(page) = conn.call("Logs_20140328.GetLogEvents", &body.to_string()).await else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let seen = now_ms();
        for event in page.get("events").and_then(Value::as_array).into_iter().flatten() {
            let at = event.get("timestamp").and_then(Value::as_i64).unwrap_or(seen);
            lags.push(Duration::from_millis(u64::try_from(seen - at).unwrap_or(0)));
        }
        token = page.get("nextForwardToken").and_then(Value::as_str).map(str::to_owned);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    wait_all(&mut conn, "bench-logs", &[arn], "STOPPED", Duration::from_secs(60)).await?;
    if lags.len() < ticks {
        return Err(format!("only {} of {ticks} ticks reached GetLogEvents within the deadline", lags.len()).into());
    }
    lags.sort();
    Ok(lags)
}

/// The Logs section of the report, and its targets.
pub(super) async fn logs(berth: &Server, moto: &Server, sizes: &Sizes, image: &str, report: &mut Report) -> Result<()> {
    eprintln!("logs: PutLogEvents");
    let berth_put = put_rate(berth, sizes, report).await?;
    let moto_put = put_rate(moto, sizes, report).await?;
    let put_ratio = berth_put / moto_put.max(1e-9);
    let mut section = format!(
        "## CloudWatch Logs\n\nPutLogEvents of {} events per request (JSON lines of about 80 bytes) from 4 clients, \
         each on its own stream, for {:.0} s:\n\n| Server | events/s |\n|---|---|\n| berth | {berth_put:.0} |\n\
         | moto | {moto_put:.0} |\n| berth/moto | {put_ratio:.1}× |\n\n",
        sizes.log_batch,
        sizes.window.as_secs_f64()
    );
    report.target(
        "PutLogEvents events ingested per second",
        "≥ 100,000, and ≥ 25× moto",
        format!("{berth_put:.0} events/s, {put_ratio:.1}× moto"),
        berth_put >= 100_000.0 && put_ratio >= 25.0,
    );

    eprintln!("logs: ingest lag");
    let lags = ingest_lag(berth, sizes, image).await?;
    let (p50, p99) = (quantile_ms(&lags, 0.5), quantile_ms(&lags, 0.99));
    let _ = write!(
        section,
        "An awslogs task printing a line every 100 ms ({} lines), GetLogEvents polled every 5 ms: the lag of each \
         line from the time Docker recorded it to the first answer that has it. p50 {p50:.0} ms, p99 {p99:.0} ms, \
         worst {:.0} ms. moto runs no containers, so it has no figure here.\n\n",
        lags.len(),
        quantile_ms(&lags, 1.0)
    );
    report.target(
        "awslogs lag, container write → GetLogEvents",
        "p99 < 1 s",
        format!("p50 {p50:.0} ms, p99 {p99:.0} ms"),
        p99 < 1000.0,
    );

    eprintln!("logs: FilterLogEvents");
    let total = sizes.log_events;
    let berth_seeded = seed_filter_group(berth, sizes, total, Duration::from_secs(600)).await?;
    let moto_seeded = seed_filter_group(moto, sizes, total, sizes.moto_budget).await?;
    let _ = writeln!(
        section,
        "FilterLogEvents over a group of {total} events in ten streams (one in a thousand an error), every page, \
         best of three. moto holds {moto_seeded} events (what it took in {:.0} s); the ratio compares events \
         searched per second.\n\n| Pattern | berth | matched | moto | matched | berth/moto |\n|---|---|---|---|---|---|",
        sizes.moto_budget.as_secs_f64()
    );
    let mut worst = (f64::INFINITY, 0.0_f64);
    for (label, pattern) in [("term `ERROR`", "ERROR"), ("JSON `{ $.level = \"error\" }`", "{ $.level = \"error\" }")] {
        let (b_time, b_matched) = best_filter(berth, pattern).await?;
        if b_matched != berth_seeded.div_ceil(1000) {
            report.errors += 1;
            eprintln!(
                "  berth FilterLogEvents {pattern}: {b_matched} matched, {} expected",
                berth_seeded.div_ceil(1000)
            );
        }
        let b_ms = b_time.as_secs_f64() * 1000.0;
        let moto_run = best_filter(moto, pattern).await;
        let (m_cell, ratio) = match &moto_run {
            Ok((m_time, m_matched)) if *m_matched == moto_seeded.div_ceil(1000) => {
                let rate = |events: usize, t: Duration| events as f64 / t.as_secs_f64().max(1e-9);
                let ratio = rate(berth_seeded, b_time) / rate(moto_seeded, *m_time);
                (format!("{:.0} ms | {m_matched}", m_time.as_secs_f64() * 1000.0), Some(ratio))
            }
            Ok((_, m_matched)) => (format!("wrong answer | {m_matched}"), None),
            Err(e) => (format!("fails: {} | ", short(&json!(e.to_string()))), None),
        };
        let _ = writeln!(
            section,
            "| {label} | {b_ms:.0} ms | {b_matched} | {m_cell} | {} |",
            ratio.map_or_else(|| "n/a".to_owned(), |r| format!("{r:.1}×"))
        );
        worst = (worst.0.min(ratio.unwrap_or(f64::INFINITY)), worst.1.max(b_ms));
    }
    section.push('\n');
    report.sections.push_str(&section);
    let ratio_text = if worst.0.is_finite() { format!(", {:.1}× moto at worst", worst.0) } else { String::new() };
    report.target(
        &format!("FilterLogEvents over {total} events, term and JSON pattern"),
        "< 300 ms, and ≥ 25× moto",
        format!("{:.0} ms at worst{ratio_text}", worst.1),
        worst.1 < 300.0 && worst.0 >= 25.0,
    );
    Ok(())
}
