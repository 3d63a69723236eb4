//! `berth logs TASK [--follow] [--container NAME]`: a task's awslogs output, read back from a
//! running berth over its CloudWatch Logs API (GetLogEvents on each container's stream) and
//! printed interleaved by time, like `aws logs tail`; with `--follow`, new lines as they come
//! until the task stopped.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

/// The arguments of `berth logs`.
#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// The task: its ARN, or its id with --cluster.
    pub task: String,
    /// The task's cluster, when TASK is an id.
    #[arg(long, default_value = "default")]
    pub cluster: String,
    /// Keep printing the lines the task writes, until it stopped.
    #[arg(long, short)]
    pub follow: bool,
    /// Only this container's lines.
    #[arg(long)]
    pub container: Option<String>,
    /// The berth to ask.
    #[arg(long, env = "BERTH_ENDPOINT", default_value = "http://127.0.0.1:4566")]
    pub endpoint: String,
}

/// One container's stream and how far it was read.
struct Stream {
    container: String,
    region: String,
    group: String,
    name: String,
    token: Option<String>,
}

/// Prints the task's lines; the error says why it cannot.
///
/// # Errors
/// When berth does not answer, the task is unknown, or a call fails.
pub async fn run(args: &LogsArgs) -> Result<(), String> {
    let authority = args
        .endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("--endpoint {}: berth serves plain http://", args.endpoint))?
        .trim_end_matches('/')
        .to_owned();
    let cluster =
        args.task.split_once(":task/").and_then(|(_, r)| r.split_once('/')).map_or(args.cluster.as_str(), |(c, _)| c);
    let ecs = |op: &'static str, body: Value| call(&authority, "AmazonEC2ContainerServiceV20141113", op, None, body);
    let described = ecs("DescribeTasks", json!({"cluster": cluster, "tasks": [args.task]})).await?;
    let task =
        described["tasks"].get(0).cloned().ok_or_else(|| format!("no task {} in cluster {cluster}", args.task))?;
    let arn = task["taskArn"].as_str().unwrap_or_default().to_owned();
    let region = arn.split(':').nth(3).unwrap_or("us-east-1").to_owned();
    let id = arn.rsplit('/').next().unwrap_or_default().to_owned();
    let definition = ecs("DescribeTaskDefinition", json!({"taskDefinition": task["taskDefinitionArn"]})).await?;
    let mut streams = Vec::new();
    for c in definition["taskDefinition"]["containerDefinitions"].as_array().into_iter().flatten() {
        let name = c["name"].as_str().unwrap_or_default();
        let log = &c["logConfiguration"];
        if log["logDriver"] != "awslogs" || args.container.as_deref().is_some_and(|only| only != name) {
            continue;
        }
        let option = |key: &str| log["options"][key].as_str().map(str::to_owned);
        let stream = match option("awslogs-stream-prefix").filter(|p| !p.is_empty()) {
            Some(prefix) => format!("{prefix}/{name}/{id}"),
            None => task["containers"]
                .as_array()
                .and_then(|cs| cs.iter().find(|tc| tc["name"] == name))
                .and_then(|tc| tc["runtimeId"].as_str())
                .map(str::to_owned)
                .unwrap_or_default(),
        };
        streams.push(Stream {
            container: name.to_owned(),
            region: option("awslogs-region").unwrap_or_else(|| region.clone()),
            group: option("awslogs-group").unwrap_or_default(),
            name: stream,
            token: None,
        });
    }
    if streams.is_empty() {
        return Err(format!("no container of {arn} logs with awslogs"));
    }
    loop {
        let stopped = args.follow && {
            let now = ecs("DescribeTasks", json!({"cluster": cluster, "tasks": [arn]})).await?;
            now["tasks"][0]["lastStatus"] == "STOPPED"
        };
        let mut lines = Vec::new();
        for stream in &mut streams {
            read_new(&authority, stream, &mut lines).await?;
        }
        lines.sort_by_key(|(at, _)| *at);
        for (_, line) in &lines {
            println!("{line}");
        }
        if !args.follow || stopped {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Appends the stream's events after its token to `lines` (timestamp, printed line).
async fn read_new(authority: &str, stream: &mut Stream, lines: &mut Vec<(i64, String)>) -> Result<(), String> {
    loop {
        let mut body = json!({"logGroupName": stream.group, "logStreamName": stream.name, "startFromHead": true});
        if let Some(token) = &stream.token {
            body["nextToken"] = json!(token);
        }
        let page = match call(authority, "Logs_20140328", "GetLogEvents", Some(&stream.region), body).await {
            Ok(page) => page,
            // The stream is made when the container is: nothing to print yet.
            Err(e) if e.contains("ResourceNotFoundException") => return Ok(()),
            Err(e) => return Err(e),
        };
        for event in page["events"].as_array().into_iter().flatten() {
            let at = event["timestamp"].as_i64().unwrap_or_default();
            let when = aws_smithy_types::DateTime::from_millis(at)
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .unwrap_or_default();
            let message = event["message"].as_str().unwrap_or_default();
            lines.push((at, format!("{when} {} {message}", stream.container)));
        }
        let next = page["nextForwardToken"].as_str().map(str::to_owned);
        if next.is_none() || next == stream.token {
            return Ok(());
        }
        stream.token = next;
    }
}

/// One awsJson call to berth: `target.op` with `body`, in `region` when given.
async fn call(authority: &str, target: &str, op: &str, region: Option<&str>, body: Value) -> Result<Value, String> {
    let unreachable = |e: &dyn std::fmt::Display| format!("berth at http://{authority} does not answer: {e}");
    let tcp = tokio::net::TcpStream::connect(authority).await.map_err(|e| unreachable(&e))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await.map_err(|e| unreachable(&e))?;
    tokio::spawn(connection);
    let mut request = hyper::Request::post("/")
        .header("host", authority)
        .header("x-amz-target", format!("{target}.{op}"))
        .header("content-type", "application/x-amz-json-1.1");
    if let Some(region) = region {
        let scope = format!(
            "AWS4-HMAC-SHA256 Credential=berth/20260101/{region}/logs/aws4_request, SignedHeaders=host, Signature=0"
        );
        request = request.header("authorization", scope);
    }
    let request = request.body(Full::new(Bytes::from(body.to_string()))).map_err(|e| e.to_string())?;
    let response = sender.send_request(request).await.map_err(|e| unreachable(&e))?;
    let status = response.status();
    let bytes = response.into_body().collect().await.map_err(|e| unreachable(&e))?.to_bytes();
    let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(format!(
            "{op}: {} {}",
            value["__type"].as_str().unwrap_or("error"),
            value["message"].as_str().unwrap_or_default()
        ));
    }
    Ok(value)
}
