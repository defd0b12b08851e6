//! Two `bidi-server` replicas behind Debian's nginx, configured by the shipped
//! `deploy/nginx/bidi.conf` (only its upstream addresses, its port and its log paths
//! changed), sessions in moto's S3: a call through nginx, a rolling restart (SIGTERM) of the
//! replica serving it, which closes it with 1001 after the drain; the client reconnects
//! through nginx with the same `?session=`, lands on the other replica, which replays the
//! history, and the conversation goes on; neither of nginx's logs holds the token or the
//! session id. And a replica killed (SIGKILL) while it speaks an answer: the call goes on
//! through nginx on the other replica, without the answer cut off.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::s3_sessions::{BUCKET, moto, s3_replica, stored, summary, until_stored};
use bidi_agent::session::aws_sdk_s3;

use crate::support::{Client, HANG, Server, final_of, http_get, realtime_sim};

const TOKEN: &str = "lb-secret-4f1c";
const SESSION: &str = "lb-call-7";

/// Debian's nginx: `BIDI_NGINX`, else `/usr/sbin/nginx`; under `CI=true` it must be there.
fn nginx_binary() -> Option<PathBuf> {
    let path = std::env::var_os("BIDI_NGINX")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"));
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{} is missing: .ci/run must install nginx", path.display());
    }
    eprintln!(
        "skipped: no nginx at {} (apt-get install nginx)",
        path.display()
    );
    None
}

/// A running nginx, stopped when dropped.
struct Nginx {
    child: Child,
    addr: String,
    dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Nginx {
    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }
}

/// `deploy/nginx/bidi.conf` with the test's replicas, port and log folder.
fn shipped_config(replicas: &[&str], port: u16, logs: &Path) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/nginx/bidi.conf");
    let shipped = std::fs::read_to_string(path).expect("deploy/nginx/bidi.conf");
    let mut out = String::new();
    let mut servers_written = false;
    for line in shipped.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("server 10.0.0.") {
            if !servers_written {
                for r in replicas {
                    out.push_str(&format!("    server {r} max_fails=1 fail_timeout=10s;\n"));
                }
                servers_written = true;
            }
            continue;
        }
        let line = line
            .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
            .replace("/var/log/nginx/", &format!("{}/", logs.display()));
        out.push_str(&line);
        out.push('\n');
    }
    assert!(servers_written, "the shipped upstream block was not found");
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn start_nginx(binary: &Path, replicas: &[&str]) -> Nginx {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let site = dir.path().join("bidi.conf");
    std::fs::write(&site, shipped_config(replicas, port, dir.path())).expect("writes");
    // nginx's workers drop to `nobody` when it runs as root; the temp folder is root's.
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let main = format!(
        "{user}pid {dir}/nginx.pid;\nerror_log {dir}/main-error.log warn;\nevents {{}}\nhttp {{\n  \
         client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n  \
         fastcgi_temp_path {dir}/fastcgi;\n  uwsgi_temp_path {dir}/uwsgi;\n  \
         scgi_temp_path {dir}/scgi;\n  access_log off;\n  include {site};\n}}\n",
        user = if root { "user root;\n" } else { "" },
        dir = dir.path().display(),
        site = site.display(),
    );
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, main).expect("writes");
    let check = Command::new(binary)
        .args(["-t", "-p"])
        .arg(dir.path())
        .arg("-c")
        .arg(&conf)
        .output()
        .expect("nginx -t runs");
    assert!(
        check.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let child = Command::new(binary)
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&conf)
        .args(["-g", "daemon off;"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("nginx starts");
    let addr = format!("127.0.0.1:{port}");
    let nginx = Nginx { child, addr, dir };
    let deadline = tokio::time::Instant::now() + HANG;
    while tokio::net::TcpStream::connect(&nginx.addr).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nginx did not listen"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    nginx
}

/// Which of `candidates` (indexes into `replicas`) has a session open, waiting for one.
async fn serving(replicas: &[Server], candidates: &[usize]) -> usize {
    let deadline = tokio::time::Instant::now() + HANG;
    loop {
        for &i in candidates {
            if replicas[i]
                .metric("bidi_sessions_active", Some(TOKEN))
                .await
                >= 1.0
            {
                return i;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no replica has the call"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Two replicas sharing a bucket behind nginx, and what they talk to.
struct Cluster {
    // Dropped in this order: nginx, then the replicas, then the store.
    nginx: Nginx,
    replicas: [Server; 2],
    sim: bidi_sim::openai::OpenAiSimHandle,
    s3: aws_sdk_s3::Client,
    _store: moto::Moto,
    /// The call's URL through nginx.
    url: String,
}

/// The cluster, or `None` (skipped) without nginx or moto outside CI.
async fn cluster(drain_timeout: &str) -> Option<Cluster> {
    let nginx_bin = nginx_binary()?;
    let python = moto::python()?;
    let store = moto::Moto::start(&python);
    let s3 = moto::client(&store.url, 2);
    moto::create_bucket(&s3, BUCKET).await;
    let sim = realtime_sim().await;
    let replica = || {
        s3_replica(
            &sim.url(),
            &store.url,
            &["--token", TOKEN, "--drain-timeout", drain_timeout],
        )
    };
    let replicas = [replica(), replica()];
    let nginx = start_nginx(&nginx_bin, &[&replicas[0].addr, &replicas[1].addr]).await;
    let url = format!("ws://{}/ws?session={SESSION}&token={TOKEN}", nginx.addr);
    assert_eq!(http_get(&nginx.addr, "/healthz", None).await.0, 200);
    Some(Cluster {
        nginx,
        replicas,
        sim,
        s3,
        _store: store,
        url,
    })
}

/// The provider connection opened last began with the session and `n` replayed items,
/// then the client's question (one item) and its `response.create`.
fn replayed_first(sim: &bidi_sim::openai::OpenAiSimHandle, n: usize) {
    let connections = sim.recorded();
    let resumed = connections.last().expect("a provider connection");
    let kinds: Vec<&str> = resumed
        .events
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    let mut expected = vec!["session.update"];
    expected.extend(["conversation.item.create"; 1].repeat(n + 1));
    expected.push("response.create");
    assert_eq!(
        kinds.get(..n + 3),
        Some(&expected[..]),
        "the history before any input: {kinds:?}"
    );
}

/// The questions and answers of one turn, as stored.
const TURN: [&str; 4] = [
    "user: What is 12 times 7?",
    "assistant: toolUse calculator",
    "user: toolResult \"84\"",
    "assistant: 12 times 7 is 84.",
];

/// The call's first turn through nginx, stored: the client, the replica serving it and the
/// other one.
async fn first_turn(c: &Cluster) -> (Client, usize, usize) {
    let mut client = Client::connect(&c.url).await;
    client.say("What is 12 times 7?").await;
    client.until(|e| final_of(e, "assistant")).await;
    let first = serving(&c.replicas, &[0, 1]).await;
    assert_eq!(summary(&until_stored(&c.s3, SESSION, 4).await), TURN);
    (client, first, 1 - first)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_survives_a_rolling_restart_behind_nginx() {
    let Some(mut c) = cluster("1").await else {
        return;
    };
    let (mut client, first, other) = first_turn(&c).await;

    // The rolling restart reaches that replica: SIGTERM, the drain, 1001.
    c.replicas[first].terminate();
    assert_eq!(client.close_code().await, Some(1001));
    drop(client);

    // The client reconnects through nginx with the same session and lands on the other
    // replica (the first is draining or gone: nginx passes the upgrade on), which replays
    // the history before any input.
    let mut client = Client::connect(&c.url).await;
    serving(&c.replicas, &[other]).await;
    client.say("What is 12 times 7?").await;
    client.until(|e| final_of(e, "assistant")).await;
    replayed_first(&c.sim, 4);
    let after = until_stored(&c.s3, SESSION, 8).await;
    assert_eq!(
        summary(&after),
        [TURN, TURN].concat(),
        "no turn lost, none twice"
    );
    for (n, message) in after.iter().enumerate() {
        assert_eq!(message["message_id"], n);
    }
    drop(client);
    let exit = tokio::time::timeout(HANG, async {
        loop {
            if let Some(status) = c.replicas[first].child.try_wait().expect("waits") {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the drained replica exits");
    assert!(exit.success(), "{exit:?}");
    assert_eq!(stored(&c.s3, SESSION).await.len(), 8);

    // nginx logged the calls by path, never the token or the session id.
    let (access, error) = (
        c.nginx.log("bidi.access.log"),
        c.nginx.log("bidi.error.log"),
    );
    assert!(access.contains("\"GET /ws HTTP/1.1\" 101"), "{access}");
    for (name, text) in [("access", &access), ("error", &error)] {
        assert!(
            !text.contains(TOKEN),
            "the token in nginx's {name} log: {text}"
        );
        assert!(
            !text.contains(SESSION),
            "the session in nginx's {name} log: {text}"
        );
    }
    c.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_survives_losing_its_replica_mid_answer_behind_nginx() {
    let Some(mut c) = cluster("30").await else {
        return;
    };
    let (mut client, first, other) = first_turn(&c).await;

    // The next answer starts speaking, and its machine dies (SIGKILL).
    client.say("What is 12 times 7?").await;
    client.until(|e| e["type"] == "bidi_audio_stream").await;
    c.replicas[first].child.kill().expect("killed");
    let _ = c.replicas[first].child.wait();
    let code = client.until_gone().await;
    assert!(
        !matches!(code, Some(1000 | 1001)),
        "no clean close: {code:?}"
    );
    drop(client);
    // The question and its tool call were stored as they happened; the answer cut off
    // is not.
    let kept = stored(&c.s3, SESSION).await;
    assert_eq!(summary(&kept), [&TURN[..], &TURN[..3]].concat());

    // Through nginx again: the dead replica refuses, the other takes the call with the
    // seven messages, and the conversation goes on.
    let mut client = Client::connect(&c.url).await;
    serving(&c.replicas, &[other]).await;
    client.say("What is 12 times 7?").await;
    client.until(|e| final_of(e, "assistant")).await;
    replayed_first(&c.sim, 7);
    let after = until_stored(&c.s3, SESSION, 11).await;
    assert_eq!(summary(&after), [&TURN[..], &TURN[..3], &TURN[..]].concat());
    for (n, message) in after.iter().enumerate() {
        assert_eq!(message["message_id"], n);
    }
    c.sim.shutdown().await;
}
