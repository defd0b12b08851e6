//! Trust and proxies as a user meets them: the quickstart as a process against simulators
//! serving `wss://` with a certificate from a throwaway CA. Refused with the error that
//! names the fix when nothing trusts the CA; accepted through `SSL_CERT_FILE`,
//! `SSL_CERT_DIR` and `--ca-file`; and through an HTTP `CONNECT` proxy (`HTTPS_PROXY`),
//! for the WebSocket providers and for Nova Sonic (the AWS SDK's client).
//! Each case is its own process, so the environment variables stay in it.

use crate::support;

use std::path::{Path, PathBuf};

use bidi_sim::bedrock::BedrockSim;
use bidi_sim::gemini::{GeminiSim, GeminiSimOptions};
use bidi_sim::openai::{OpenAiSim, OpenAiSimHandle, OpenAiSimOptions};
use bidi_sim::proxy::ConnectProxy;
use bidi_sim::tls::ThrowawayCa;
use bidi_sim::{Action, Script, Trigger};
use support::{assert_ok, events, finals, run_with_env, text};

const HINT: &str =
    "certificate not trusted by the system or bundled roots: set SSL_CERT_FILE or --ca-file";

fn script() -> Script {
    Script::new().on(
        Trigger::Text {
            contains: "secure".into(),
        },
        vec![
            Action::Say {
                text: "Encrypted hello".into(),
                chunk: 0,
            },
            Action::EndTurn,
        ],
    )
}

async fn openai_sim(ca: &ThrowawayCa) -> OpenAiSimHandle {
    let options = OpenAiSimOptions {
        tls: Some(ca.server_config()),
        ..OpenAiSimOptions::default()
    };
    OpenAiSim::start_with(script(), options).await.expect("sim")
}

/// The CA's certificate as `name` in `dir`.
fn write_ca(dir: &Path, name: &str, ca: &ThrowawayCa) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, ca.ca_pem()).expect("CA file written");
    path
}

/// Runs a text turn with the quickstart against `endpoint` (`--provider provider`).
async fn turn(
    provider: &str,
    endpoint: &str,
    extra: &[&str],
    env: Vec<(&'static str, String)>,
) -> std::process::Output {
    let mut args: Vec<String> = [
        "--provider",
        provider,
        "--endpoint",
        endpoint,
        "--json",
        "--text",
    ]
    .map(String::from)
    .to_vec();
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    run_with_env(args, "a secure hello\n", env).await
}

fn assert_answered(output: &std::process::Output) {
    assert_ok(output);
    let events = events(output);
    assert_eq!(
        finals(&events, "assistant"),
        ["Encrypted hello"],
        "{events:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_one_line_naming_the_fix() {
    let ca = ThrowawayCa::new().expect("CA");
    let sim = openai_sim(&ca).await;
    let output = turn("openai", &sim.url(), &[], Vec::new()).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains(HINT), "{stderr}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_file_flag_is_trusted_by_openai_and_gemini() {
    let ca = ThrowawayCa::new().expect("CA");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_ca(dir.path(), "ca.pem", &ca);
    let path = path.to_str().expect("UTF-8 temp path");

    let sim = openai_sim(&ca).await;
    assert_answered(&turn("openai", &sim.url(), &["--ca-file", path], Vec::new()).await);
    sim.shutdown().await;

    let options = GeminiSimOptions {
        tls: Some(ca.server_config()),
        ..GeminiSimOptions::default()
    };
    let sim = GeminiSim::start_with(script(), options).await.expect("sim");
    assert_answered(&turn("gemini", &sim.base_url(), &["--ca-file", path], Vec::new()).await);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_cert_file_is_trusted() {
    let ca = ThrowawayCa::new().expect("CA");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_ca(dir.path(), "bundle.pem", &ca);
    let sim = openai_sim(&ca).await;
    let env = vec![("SSL_CERT_FILE", path.display().to_string())];
    assert_answered(&turn("openai", &sim.url(), &[], env).await);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_cert_dir_is_trusted() {
    let ca = ThrowawayCa::new().expect("CA");
    let dir = tempfile::tempdir().expect("temp dir");
    // Any file name: no OpenSSL hash links needed.
    write_ca(dir.path(), "corporate-root.crt", &ca);
    let sim = openai_sim(&ca).await;
    let env = vec![("SSL_CERT_DIR", dir.path().display().to_string())];
    assert_answered(&turn("openai", &sim.url(), &[], env).await);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_proxy_carries_the_connection() {
    let ca = ThrowawayCa::new().expect("CA");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write_ca(dir.path(), "ca.pem", &ca);
    let path = path.to_str().expect("UTF-8 temp path");
    let sim = openai_sim(&ca).await;
    let proxy = ConnectProxy::start().await.expect("proxy");
    let env = vec![("HTTPS_PROXY", proxy.url())];
    assert_answered(&turn("openai", &sim.url(), &["--ca-file", path], env).await);
    let requests = proxy.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(requests[0].target.starts_with("localhost:"), "{requests:?}");

    // NO_PROXY naming the host: straight to the server.
    let env = vec![
        ("HTTPS_PROXY", proxy.url()),
        ("NO_PROXY", "localhost".to_owned()),
    ];
    assert_answered(&turn("openai", &sim.url(), &["--ca-file", path], env).await);
    assert_eq!(proxy.requests().len(), 1, "the proxy was bypassed");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_ca_file_flag_names_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nowhere.pem");
    let missing = missing.to_str().expect("UTF-8 temp path");
    let output = turn(
        "openai",
        "wss://localhost:1/v1/realtime",
        &["--ca-file", missing],
        Vec::new(),
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("nowhere.pem"), "{stderr}");
    assert!(stderr.contains("cannot read the CA file"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nova_sonic_trusts_ca_file_and_ssl_cert_file_and_uses_https_proxy() {
    let sim = BedrockSim::start_tls(script()).await.expect("sim");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bedrock-sim.pem");
    std::fs::write(&path, sim.ca_pem().expect("a TLS simulator's certificate")).expect("written");
    let path = path.to_str().expect("UTF-8 temp path");
    let endpoint = sim.endpoint();

    // Untrusted: the one error line names the fix.
    let output = turn("nova-sonic", &endpoint, &[], Vec::new()).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains(HINT),
        "{}",
        text(&output.stderr)
    );

    // Trusted with --ca-file, through the proxy (the AWS SDK reads HTTPS_PROXY itself).
    let proxy = ConnectProxy::start().await.expect("proxy");
    let env = vec![("HTTPS_PROXY", proxy.url())];
    assert_answered(&turn("nova-sonic", &endpoint, &["--ca-file", path], env).await);
    let requests = proxy.requests();
    assert!(!requests.is_empty(), "the SDK went through the proxy");
    assert!(requests[0].target.starts_with("localhost:"), "{requests:?}");

    // Trusted through SSL_CERT_FILE (the SDK's system store honours it).
    let env = vec![("SSL_CERT_FILE", path.to_owned())];
    assert_answered(&turn("nova-sonic", &endpoint, &[], env).await);
    sim.shutdown().await;
}
