//! The `bidi-sim` binary as a user runs it: started with a scenario file, its READY lines
//! read, and each provider's real client (through a real agent with a real tool) talking to
//! the server it printed.

use crate::support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_sdk_bedrockruntime::config::Credentials;
use bidi_agent::models::gemini::{BidiGeminiLiveModel, GeminiLiveConfig};
use bidi_agent::models::nova_sonic::{BidiNovaSonicModel, NovaSonicConfig};
use bidi_agent::models::openai::{BidiOpenAIRealtimeModel, OpenAiRealtimeConfig};
use bidi_agent::types::BidiModel;
use bidi_agent::{BidiAgent, tool};
use futures_util::StreamExt;
use serde_json::Value;

const HANG: Duration = Duration::from_secs(30);

/// Get the weather for a city.
#[tool]
fn get_weather(city: String) -> String {
    format!("sunny in {city}")
}

/// The server, killed when dropped.
struct Server {
    child: Child,
    urls: Vec<(String, String)>,
    /// The CA file it announced (`--tls`).
    ca: Option<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Killed, the server could not remove its CA file.
        if let Some(ca) = &self.ca {
            let _ = std::fs::remove_file(ca);
        }
    }
}

fn start(args: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bidi-sim"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bidi-sim starts");
    let stdout = child.stdout.take().expect("stdout piped");
    let mut urls = Vec::new();
    let mut ca = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line");
        if let Some(path) = line.strip_prefix("CA ") {
            ca = Some(path.to_owned());
            continue;
        }
        let mut parts = line.split_whitespace();
        assert_eq!(parts.next(), Some("READY"), "{line}");
        let protocol = parts.next().expect("protocol").to_owned();
        let url = parts.next().expect("url").to_owned();
        urls.push((protocol, url));
        if urls.len() == 3 {
            break;
        }
    }
    Server { child, urls, ca }
}

fn url_of<'a>(server: &'a Server, protocol: &str) -> &'a str {
    server
        .urls
        .iter()
        .find(|(p, _)| p == protocol)
        .map(|(_, u)| u.as_str())
        .unwrap_or_else(|| panic!("no READY line for {protocol}: {:?}", server.urls))
}

/// Asks for the weather and returns the agent's events up to the final answer.
async fn converse(model: Box<dyn BidiModel>) -> Vec<Value> {
    let agent = BidiAgent::builder_boxed(model)
        .tool(get_weather)
        .build()
        .expect("agent");
    agent.start(None).await.expect("start");
    agent.send("What is the weather?").await.expect("send");
    let seen = support::until_answer(&mut agent.receive()).await;
    agent.stop().await.expect("stop");
    seen
}

fn assert_tool_then_answer(events: &[Value]) {
    let result = events
        .iter()
        .find(|e| e["type"] == "tool_result")
        .unwrap_or_else(|| panic!("no tool result: {events:#?}"));
    assert_eq!(
        result["tool_result"]["content"][0]["text"],
        "sunny in Paris"
    );
    assert_eq!(
        events.last().map(|e| e["text"].clone()),
        Some(Value::from("It is sunny in Paris."))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_every_protocol_from_one_scenario_file() {
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios/weather.json");
    let server = start(&["--scenario", scenario]);
    let protocols: Vec<&str> = server.urls.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(protocols, ["openai", "gemini", "nova-sonic"]);
    assert!(server.urls.iter().all(|(_, u)| u.contains("://127.0.0.1:")));

    every_client_answers(&server, None).await;
}

/// Each provider's real client, pointed at `server` (trusting `ca` when given), calls the
/// tool and speaks its result.
async fn every_client_answers(server: &Server, ca: Option<&str>) {
    let mut openai = OpenAiRealtimeConfig::new()
        .endpoint(url_of(server, "openai"))
        .api_key("test");
    let mut gemini = GeminiLiveConfig::default()
        .with_base_url(url_of(server, "gemini"))
        .with_api_key("test");
    let mut nova = NovaSonicConfig::default()
        .with_region("us-east-1")
        .with_endpoint_url(url_of(server, "nova-sonic"))
        .with_credentials(Credentials::new("AKIDTEST", "secret", None, None, "test"));
    if let Some(ca) = ca {
        openai = openai.ca_file(ca);
        gemini = gemini.with_ca_file(ca);
        nova = nova.with_ca_file(ca);
    }
    let openai = BidiOpenAIRealtimeModel::new(openai).expect("openai model");
    assert_tool_then_answer(&converse(Box::new(openai)).await);
    let gemini = BidiGeminiLiveModel::new(gemini).expect("gemini model");
    assert_tool_then_answer(&converse(Box::new(gemini)).await);
    let nova = BidiNovaSonicModel::new(nova).expect("nova model");
    assert_tool_then_answer(&converse(Box::new(nova)).await);
}

#[test]
fn a_bad_scenario_is_one_line_and_a_failure() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.json");
    std::fs::write(
        &path,
        r#"{"rules": [{"when": {"on": "mood"}, "then": []}]}"#,
    )
    .expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_bidi-sim"))
        .args(["--scenario", path.to_str().expect("utf-8")])
        .stdin(Stdio::null())
        .output()
        .expect("bidi-sim ran");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("bad.json") && stderr.contains("mood"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "no READY line for a bad scenario");
}

#[test]
fn until_eof_stops_at_the_end_of_stdin() {
    let output = Command::new(env!("CARGO_BIN_EXE_bidi-sim"))
        .args(["--protocol", "openai", "--until-eof"])
        .stdin(Stdio::null())
        .output()
        .expect("bidi-sim ran");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("READY openai ws://127.0.0.1:"),
        "{stdout}"
    );
}

#[test]
fn ports_can_be_given_and_a_busy_one_is_an_error() {
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let output = Command::new(env!("CARGO_BIN_EXE_bidi-sim"))
        .args(["--protocol", "nova-sonic", "--until-eof"])
        .args(["--nova-sonic-port", &free.to_string()])
        .stdin(Stdio::null())
        .output()
        .expect("bidi-sim ran");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.trim(),
        format!("READY nova-sonic http://127.0.0.1:{free}")
    );

    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("a listener");
    let port = busy.local_addr().expect("addr").port().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_bidi-sim"))
        .args([
            "--protocol",
            "openai",
            "--openai-port",
            &port,
            "--until-eof",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("bidi-sim ran");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("openai"), "{stderr}");
}

/// With `--require-key`, each protocol refuses another key as its provider does (the real
/// clients' `Unauthorized`) and still serves the right one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_key_refuses_other_credentials_on_every_protocol() {
    use bidi_agent::types::{ModelError, StartParams};

    const KEY: &str = "AKIDREQUIREDKEY";
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios/weather.json");
    let server = start(&["--scenario", scenario, "--require-key", KEY]);
    let openai = |key: &str| {
        BidiOpenAIRealtimeModel::new(
            OpenAiRealtimeConfig::new()
                .endpoint(url_of(&server, "openai"))
                .api_key(key),
        )
        .expect("openai model")
    };
    let gemini = |key: &str| {
        BidiGeminiLiveModel::new(
            GeminiLiveConfig::default()
                .with_base_url(url_of(&server, "gemini"))
                .with_api_key(key),
        )
        .expect("gemini model")
    };
    let nova = |key: &str| {
        BidiNovaSonicModel::new(
            NovaSonicConfig::default()
                .with_region("us-east-1")
                .with_endpoint_url(url_of(&server, "nova-sonic"))
                .with_credentials(Credentials::new(key, "secret", None, None, "test")),
        )
        .expect("nova model")
    };
    let refused = |e: ModelError, provider: &str| match e {
        ModelError::Unauthorized { provider: p, .. } => assert_eq!(p, provider),
        other => panic!("{provider}: expected Unauthorized, got {other:?}"),
    };

    async fn start_model(m: &dyn BidiModel) -> Result<(), ModelError> {
        tokio::time::timeout(HANG, m.start(StartParams::default()))
            .await
            .expect("start hung")
    }
    refused(
        start_model(&openai("wrong")).await.expect_err("openai"),
        "OpenAI",
    );
    refused(
        start_model(&gemini("wrong")).await.expect_err("gemini"),
        "Gemini",
    );
    let wrong_nova = nova("AKIDWRONG");
    start_model(&wrong_nova)
        .await
        .expect("nova starts, Bedrock answers later");
    let mut events = wrong_nova.receive().expect("receive");
    let err = tokio::time::timeout(HANG, async {
        while let Some(item) = events.next().await {
            if let Err(e) = item {
                return e;
            }
        }
        panic!("the stream ended without the refusal")
    })
    .await
    .expect("the refusal in time");
    refused(err, "Bedrock");
    wrong_nova.stop().await.expect("stop");

    assert_tool_then_answer(&converse(Box::new(openai(KEY))).await);
    assert_tool_then_answer(&converse(Box::new(gemini(KEY))).await);
    assert_tool_then_answer(&converse(Box::new(nova(KEY))).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_it_while_stdin_is_held_open_with_until_eof() {
    let mut server = start(&["--until-eof", "--tls"]);
    let ca = server.ca.clone().expect("a CA line");
    assert!(std::path::Path::new(&ca).exists());
    // stdin stays open (the handle is held by `server.child`): only the signal can end it.
    let pid = server.child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let waited = tokio::time::timeout(HANG, async {
        loop {
            if let Some(status) = server.child.try_wait().expect("try_wait") {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let status = waited.expect("bidi-sim exits on SIGTERM with stdin open");
    assert!(status.success(), "{status}");
    assert!(
        !std::path::Path::new(&ca).exists(),
        "the throwaway CA's file is removed at a clean exit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_wss_and_https_with_the_ca_it_announces() {
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios/weather.json");
    let server = start(&["--scenario", scenario, "--tls"]);
    let ca = server.ca.clone().expect("a CA line before the READY lines");
    assert!(
        std::fs::read_to_string(&ca)
            .expect("the CA file")
            .contains("BEGIN CERTIFICATE")
    );
    assert!(url_of(&server, "openai").starts_with("wss://localhost:"));
    assert!(url_of(&server, "gemini").starts_with("wss://localhost:"));
    assert!(url_of(&server, "nova-sonic").starts_with("https://localhost:"));

    every_client_answers(&server, Some(&ca)).await;
}

/// A CA of the test's own and a `localhost` certificate it signed, written as PEM files in
/// `dir` (`ca.pem`, `chain.pem` with the leaf first, `key.pem`), as an operator brings them.
fn certificate_files(dir: &std::path::Path) -> [std::path::PathBuf; 3] {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca =
        CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("key")).expect("the CA");
    let key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("params")
        .signed_by(&key, &ca)
        .expect("the leaf");
    let paths = ["ca.pem", "chain.pem", "key.pem"].map(|name| dir.join(name));
    std::fs::write(&paths[0], ca.pem()).expect("written");
    std::fs::write(&paths[1], format!("{}{}", leaf.pem(), ca.pem())).expect("written");
    std::fs::write(&paths[2], key.serialize_pem()).expect("written");
    paths
}

#[tokio::test]
async fn tls_serves_the_certificate_it_is_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    let [ca, chain, key] = certificate_files(dir.path());
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios/weather.json");
    let (chain, key) = (chain.to_string_lossy(), key.to_string_lossy());
    let server = start(&[
        "--scenario",
        scenario,
        "--tls-cert",
        &chain,
        "--tls-key",
        &key,
    ]);
    assert_eq!(server.ca, None, "no throwaway CA announced");
    assert!(url_of(&server, "openai").starts_with("wss://localhost:"));
    assert!(url_of(&server, "nova-sonic").starts_with("https://localhost:"));
    // Clients that trust the operator's CA reach all three.
    every_client_answers(&server, Some(&ca.to_string_lossy())).await;
}

/// What `bidi-sim --tls-cert cert --tls-key key` says on stderr, once it has exited with 1.
fn tls_refusal(cert: &std::path::Path, key: &std::path::Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_bidi-sim"))
        .arg("--tls-cert")
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .stdin(Stdio::null())
        .output()
        .expect("bidi-sim runs");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn tls_with_a_key_that_is_not_the_certificates_is_refused_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let [ca, _chain, key] = certificate_files(dir.path());
    // The CA's certificate with the leaf's key: they do not match.
    let stderr = tls_refusal(&ca, &key);
    assert!(
        stderr.contains("ca.pem") && stderr.contains("key.pem") && stderr.contains("Mismatch"),
        "{stderr}"
    );
    // A certificate file with no certificate in it names the file.
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").expect("written");
    let stderr = tls_refusal(&empty, &key);
    assert!(stderr.contains("empty.pem"), "{stderr}");
}

/// The status of an upgrade to `url`: 101, or the HTTP status it was refused with.
async fn upgrade_status(url: &str) -> u16 {
    use tokio_tungstenite::tungstenite::Error;
    match tokio_tungstenite::connect_async(url).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("{url}: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refusal_flags_refuse_upgrades_with_503() {
    let server = start(&["--refuse-connections", "1"]);
    let url = format!("{}?model=gpt-realtime", url_of(&server, "openai"));
    assert_eq!(upgrade_status(&url).await, 503);
    assert_eq!(upgrade_status(&url).await, 101);
    drop(server);

    let server = start(&["--refuse-reconnects", "2"]);
    let url = format!(
        "{}/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent",
        url_of(&server, "gemini")
    );
    let statuses = [
        upgrade_status(&url).await,
        upgrade_status(&url).await,
        upgrade_status(&url).await,
        upgrade_status(&url).await,
    ];
    assert_eq!(statuses, [101, 503, 503, 101]);
}
