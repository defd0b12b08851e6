//! moto's S3 server (`moto[server]` from PyPI) as a process on a free port, and S3 clients
//! for it.
//!
//! The Python comes from `BIDI_MOTO_PYTHON` (a venv with `moto[server]` installed; `.ci/run`
//! makes one). Under `CI=true` the tests that need it fail when it is missing; elsewhere they
//! are skipped with a message.

use std::io::{BufRead, BufReader, Read as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bidi_agent::session::aws_sdk_s3::config::retry::RetryConfig;
use bidi_agent::session::aws_sdk_s3::config::timeout::TimeoutConfig;
use bidi_agent::session::aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use bidi_agent::session::aws_sdk_s3::{Client, Config};

/// The venv's python, or `None` (skip) outside CI.
pub fn python() -> Option<PathBuf> {
    match std::env::var_os("BIDI_MOTO_PYTHON") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("BIDI_MOTO_PYTHON is not set: .ci/run must install `moto[server]`")
        }
        _ => {
            eprintln!(
                "skipped: set BIDI_MOTO_PYTHON to a python with `moto[server]` installed to run the S3 session tests"
            );
            None
        }
    }
}

/// A running moto server, killed when dropped.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// Starts `python -m moto.server -p 0` and waits for the port it prints.
    pub fn start(python: &PathBuf) -> Self {
        Self::start_with_env(python, &[])
    }

    /// As [`Self::start`], with more environment variables (`INITIAL_NO_AUTH_ACTION_COUNT=0`
    /// makes moto check credentials).
    pub fn start_with_env(python: &PathBuf, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", "0"])
            .env("PYTHONUNBUFFERED", "1")
            .env("LD_LIBRARY_PATH", "/usr/lib/x86_64-linux-gnu")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("moto starts");
        let stderr = child.stderr.take().expect("stderr piped");
        let mut lines = BufReader::new(stderr);
        let mut seen = String::new();
        let url = loop {
            let mut line = String::new();
            if lines.read_line(&mut line).expect("moto's stderr") == 0 {
                panic!("moto exited before listening: {seen}");
            }
            seen.push_str(&line);
            if let Some(at) = line.find("Running on http://") {
                break line[at + "Running on ".len()..].trim().to_owned();
            }
        };
        // The request log goes to a drained pipe so the server never blocks on it.
        std::thread::spawn(move || {
            let mut sink = String::new();
            let _ = lines.read_to_string(&mut sink);
        });
        Self { child, url }
    }

    /// Kills the server (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client of `endpoint` with moto's usual test credentials, path-style addressing and
/// `attempts` attempts per request.
pub fn client(endpoint: &str, attempts: u32) -> Client {
    client_as(endpoint, attempts, "testing")
}

/// As [`client`], with the access key id `key_id`.
pub fn client_as(endpoint: &str, attempts: u32, key_id: &str) -> Client {
    let config = Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(key_id, "testing", None, None, "test"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .retry_config(RetryConfig::standard().with_max_attempts(attempts))
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_secs(20))
                .build(),
        )
        .build();
    Client::from_conf(config)
}

/// Creates `bucket`.
pub async fn create_bucket(client: &Client, bucket: &str) {
    client
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("bucket created");
}

/// Every key in `bucket` under `prefix`, sorted.
pub async fn keys(client: &Client, bucket: &str, prefix: &str) -> Vec<String> {
    let page = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .expect("listed");
    let mut keys: Vec<String> = page
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    keys.sort();
    keys
}

/// The object at `key` as JSON.
pub async fn object(client: &Client, bucket: &str, key: &str) -> serde_json::Value {
    let body = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{key}: {e:?}"))
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes();
    serde_json::from_slice(&body).expect("JSON")
}
