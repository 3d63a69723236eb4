//! The harness: the real berth binary on 127.0.0.1:0 with a temporary data dir, driven by the
//! real aws-sdk-ecs client (and raw HTTP for protocol tests).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::config::{BehaviorVersion, Credentials, Region};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// A running berth. Dropping it stops the process as a user would (SIGTERM, so berth removes
/// its Docker network; SIGKILL after 15 s); the data dir lives as long as `dir`.
pub struct Berth {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    dir: Option<tempfile::TempDir>,
    /// Where its stderr goes, when a test reads berth's log.
    log: Option<std::path::PathBuf>,
}

impl Berth {
    /// Starts berth with a fresh temporary data dir.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts berth with a fresh temporary data dir and extra environment (`BERTH_*` settings).
    pub async fn start_with(env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().to_path_buf();
        let mut berth = Self::spawn(&data_dir, env, None).await;
        berth.dir = Some(dir);
        berth
    }

    /// Starts berth logging at `level` into a file of its own, which [`Berth::log`] reads.
    pub async fn start_logging(level: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("stderr.log");
        let mut berth = Self::spawn(dir.path(), &[("RUST_LOG", level)], Some(&log)).await;
        berth.dir = Some(dir);
        berth
    }

    /// What berth has logged so far (started with [`Berth::start_logging`]).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.as_ref().expect("berth logs to a file")).unwrap()
    }

    /// Starts berth on an existing data dir (the caller keeps it alive).
    pub async fn start_in(data_dir: &Path) -> Self {
        Self::spawn(data_dir, &[], None).await
    }

    async fn spawn(data_dir: &Path, env: &[(&str, &str)], log: Option<&Path>) -> Self {
        let stderr = match log {
            Some(path) => Stdio::from(std::fs::File::create(path).unwrap()),
            None => Stdio::inherit(),
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(30), BufReader::new(stdout).read_line(&mut line))
            .await
            .expect("berth printed its address within 30 s")
            .unwrap();
        let url = line.trim().strip_prefix("berth listening on ").expect("address line").to_owned();
        let addr = url.trim_start_matches("http://").to_owned();
        Self { child, url, addr, dir: None, log: log.map(Path::to_path_buf) }
    }

    /// The temporary data dir, while this berth owns it.
    pub fn data_dir(&self) -> &Path {
        self.dir.as_ref().expect("berth owns its data dir").path()
    }

    /// Takes ownership of the temporary data dir (to restart on it after this berth is gone).
    pub fn take_dir(&mut self) -> tempfile::TempDir {
        self.dir.take().unwrap()
    }

    /// The Docker network berth puts its tasks on, as its health endpoint reports it.
    pub async fn network(&self) -> String {
        let health = self.raw("GET", "/_berth/health", &[], b"").await.json();
        health["dockerNetwork"].as_str().unwrap().to_owned()
    }

    /// `kill -9`, and wait until the process is gone.
    pub async fn kill9(&mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }

    /// SIGTERM, and the exit status.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().unwrap().to_string();
        let sent = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        tokio::time::timeout(Duration::from_secs(15), self.child.wait()).await.expect("exit within 15 s").unwrap()
    }

    /// An ECS client for region us-east-1.
    pub fn client(&self) -> Client {
        self.client_in("us-east-1")
    }

    /// An ECS client signing for `region`.
    pub fn client_in(&self, region: &str) -> Client {
        let config = aws_sdk_ecs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .credentials_provider(Credentials::new("AKIDBERTHTEST", "secret", None, None, "berth-tests"))
            .endpoint_url(&self.url)
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .build();
        Client::from_conf(config)
    }

    /// Sends an ECS call as raw JSON with `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<op>`.
    pub async fn call(&self, op: &str, body: &str) -> Response {
        let target = format!("AmazonEC2ContainerServiceV20141113.{op}");
        self.raw(
            "POST",
            "/",
            &[("X-Amz-Target", &target), ("Content-Type", "application/x-amz-json-1.1")],
            body.as_bytes(),
        )
        .await
    }

    /// Sends one raw HTTP/1.1 request and reads the whole response.
    pub async fn raw(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        let mut stream = tokio::net::TcpStream::connect(&self.addr).await.unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        // The server may answer (and close) before reading a body it refuses: ignore write errors.
        let _ = stream.write_all(body).await;
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut raw))
            .await
            .expect("response within 30 s")
            .unwrap();
        Response::parse(&raw)
    }
}

impl Drop for Berth {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
            for _ in 0..750 {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.start_kill();
    }
}

/// A raw HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    fn parse(raw: &[u8]) -> Self {
        let text = String::from_utf8_lossy(raw);
        let (head, body) = text.split_once("\r\n\r\n").expect("HTTP response");
        let mut lines = head.lines();
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Self { status, headers, body: body.to_owned() }
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }

    /// Asserts an AWS JSON error with `code` and returns its message.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "{}", self.body);
        let body = self.json();
        assert_eq!(body["__type"], code, "{}", self.body);
        assert_eq!(self.header("x-amzn-errortype"), Some(code));
        body["message"].as_str().unwrap().to_owned()
    }
}

/// The test image: busybox FROM scratch, built by `scripts/test` (no image can be pulled here).
pub const BUSYBOX: &str = "berth-test/busybox:latest";

/// The local Docker engine, with the test image present.
pub async fn docker() -> berth::driver::Docker {
    let docker = berth::driver::Docker::connect(None)
        .await
        .unwrap_or_else(|e| panic!("no Docker engine: {e} (bash scripts/test starts one)"));
    assert!(docker.has_image(BUSYBOX).await.unwrap(), "{BUSYBOX} is missing: bash scripts/test builds it");
    docker
}

/// A unique name for a test's resources.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// The ECS error code of an SDK error.
#[track_caller]
pub fn code<E, R>(result: Result<impl std::fmt::Debug, aws_sdk_ecs::error::SdkError<E, R>>) -> String
where
    E: aws_sdk_ecs::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    let err = result.expect_err("the call fails");
    let service = err.as_service_error().unwrap_or_else(|| panic!("a service error, got {err:?}"));
    service.code().unwrap_or_default().to_owned()
}

/// Code and message of an SDK error.
#[track_caller]
pub fn error<E, R>(result: Result<impl std::fmt::Debug, aws_sdk_ecs::error::SdkError<E, R>>) -> (String, String)
where
    E: aws_sdk_ecs::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    let err = result.expect_err("the call fails");
    let service = err.as_service_error().unwrap_or_else(|| panic!("a service error, got {err:?}"));
    (service.code().unwrap_or_default().to_owned(), service.message().unwrap_or_default().to_owned())
}

/// A free TCP port on 127.0.0.1 (for a static host port nothing else uses).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `GET /` over HTTP/1.0 from 127.0.0.1:`port`: the whole response (status line, headers,
/// body), or None when nothing answers there.
pub async fn http_get(port: u16) -> Option<String> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    stream.write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").await.ok()?;
    let mut out = String::new();
    stream.read_to_string(&mut out).await.ok()?;
    Some(out)
}
