//! Trust and proxies, end to end against the simulators served over TLS with a certificate
//! from a throwaway CA: refused with the error that names the fix when the CA is not
//! trusted, accepted with the CA in `ca_file`, through an HTTP `CONNECT` proxy, and past
//! the proxy for `NO_PROXY` hosts. The environment-variable paths (`SSL_CERT_FILE`,
//! `SSL_CERT_DIR`, `HTTPS_PROXY`) run the quickstart as a process: see
//! `examples/tests/it/quickstart_tls.rs`.
#![cfg(all(feature = "openai", feature = "gemini", feature = "nova-sonic"))]

use crate::support;

use std::path::PathBuf;

use bidi_model::gemini::{BidiGeminiLiveModel, GeminiLiveConfig};
use bidi_model::nova_sonic::{BidiNovaSonicModel, NovaSonicConfig};
use bidi_model::openai::OpenAiRealtimeConfig;
use bidi_model::trust::{CaFile, TrustError, UNTRUSTED_HINT};
use bidi_model::ws::{ProxySettings, WsConfig, WsError, WsIncoming, connect};
use bidi_sim::bedrock::BedrockSim;
use bidi_sim::gemini::{GeminiSim, GeminiSimHandle, GeminiSimOptions};
use bidi_sim::openai::{OpenAiSim, OpenAiSimHandle, OpenAiSimOptions};
use bidi_sim::proxy::ConnectProxy;
use bidi_sim::tls::ThrowawayCa;
use bidi_sim::{Action, Script, Trigger};
use bidi_types::{BidiModel, BidiOutputEvent, ModelError, StartParams};
use support::{HANG, is_complete, model_with, until};

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

async fn gemini_sim(ca: &ThrowawayCa) -> GeminiSimHandle {
    let options = GeminiSimOptions {
        tls: Some(ca.server_config()),
        ..GeminiSimOptions::default()
    };
    GeminiSim::start_with(script(), options).await.expect("sim")
}

/// The CA's certificate in a PEM file.
fn ca_file(dir: &tempfile::TempDir, ca: &ThrowawayCa) -> PathBuf {
    let path = dir.path().join("throwaway-ca.pem");
    std::fs::write(&path, ca.ca_pem()).expect("CA file written");
    path
}

/// A text turn: "Encrypted hello" comes back.
async fn assert_text_turn(model: &dyn BidiModel) {
    model
        .start(StartParams::default())
        .await
        .expect("start over wss");
    let mut events = model.receive().expect("receive");
    model.send("a secure hello".into()).await.expect("send");
    let seen = until(&mut events, is_complete).await;
    assert!(
        seen.iter().any(|e| matches!(e,
            BidiOutputEvent::TranscriptStream(t) if t.is_final() && t.text() == "Encrypted hello")),
        "{seen:?}"
    );
    model.stop().await.expect("stop");
}

fn gemini(sim: &GeminiSimHandle, config: GeminiLiveConfig) -> BidiGeminiLiveModel {
    BidiGeminiLiveModel::new(
        config
            .with_base_url(sim.base_url())
            .with_api_key("test-key"),
    )
    .expect("config")
}

fn assert_untrusted(err: &ModelError) {
    assert!(matches!(err, ModelError::Connection { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(UNTRUSTED_HINT), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_names_the_fix() {
    let ca = ThrowawayCa::new().expect("CA");
    let sim = openai_sim(&ca).await;
    let model = model_with(OpenAiRealtimeConfig::new().endpoint(sim.url()));
    let err = model
        .start(StartParams::default())
        .await
        .expect_err("untrusted");
    assert_untrusted(&err);
    assert!(sim.recorded().is_empty(), "no upgrade happened");
    sim.shutdown().await;

    let sim = gemini_sim(&ca).await;
    let err = gemini(&sim, GeminiLiveConfig::default())
        .start(StartParams::default())
        .await
        .expect_err("untrusted");
    assert_untrusted(&err);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ca_file_in_config_is_trusted() {
    let ca = ThrowawayCa::new().expect("CA");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = ca_file(&dir, &ca);

    let sim = openai_sim(&ca).await;
    let model = model_with(
        OpenAiRealtimeConfig::new()
            .endpoint(sim.url())
            .ca_file(&path),
    );
    assert_text_turn(&model).await;
    sim.shutdown().await;

    let sim = gemini_sim(&ca).await;
    let model = gemini(&sim, GeminiLiveConfig::default().with_ca_file(&path));
    assert_text_turn(&model).await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_ca_in_the_file_does_not_make_the_server_trusted() {
    let ca = ThrowawayCa::new().expect("CA");
    let other = ThrowawayCa::new().expect("CA");
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = openai_sim(&ca).await;
    let model = model_with(
        OpenAiRealtimeConfig::new()
            .endpoint(sim.url())
            .ca_file(ca_file(&dir, &other)),
    );
    let err = model
        .start(StartParams::default())
        .await
        .expect_err("untrusted");
    assert_untrusted(&err);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_bad_ca_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.pem");
    let err = CaFile::load(&missing).expect_err("missing");
    assert!(matches!(err, TrustError::Read { .. }), "{err}");
    assert!(err.to_string().contains("missing.pem"), "{err}");

    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").expect("written");
    let err = CaFile::load(&empty).expect_err("no certificates");
    assert!(matches!(err, TrustError::NoCertificates { .. }), "{err}");
    assert!(err.to_string().contains("BEGIN CERTIFICATE"), "{err}");

    let broken = dir.path().join("broken.pem");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----\n",
    )
    .expect("written");
    let err = CaFile::load(&broken).expect_err("malformed");
    assert!(matches!(err, TrustError::Malformed { .. }), "{err}");

    // Through a provider: the connect fails with the file's problem, before any TLS.
    let model = model_with(
        OpenAiRealtimeConfig::new()
            .endpoint("wss://localhost:1/v1/realtime")
            .ca_file(&empty),
    );
    let err = model
        .start(StartParams::default())
        .await
        .expect_err("bad file");
    assert!(
        err.to_string().contains("no certificate in the CA file"),
        "{err}"
    );
}

/// Proxy settings as the environment would give them.
fn proxies(vars: &'static [(&'static str, &str)], proxy: &ConnectProxy) -> ProxySettings {
    let url = proxy.url();
    ProxySettings::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.replace("{proxy}", &url))
    })
    .expect("valid proxy settings")
}

/// Connects to the OpenAI simulator over `wss://` with `settings`; returns its first frame.
async fn first_frame(sim: &OpenAiSimHandle, ca: &ThrowawayCa, settings: ProxySettings) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = WsConfig::new(format!("{}?model=gpt-realtime", sim.url()))
        .header("Authorization", "Bearer sk-test")
        .ca_file(ca_file(&dir, ca))
        .proxy(settings);
    let (sender, mut receiver) = connect(config).await.expect("connect");
    sender
        .send_text(r#"{"type":"session.update","session":{"type":"realtime"}}"#)
        .await
        .expect("send");
    let frame = tokio::time::timeout(HANG, receiver.recv())
        .await
        .expect("a frame before the hang guard");
    match frame {
        Some(Ok(WsIncoming::Text(text))) => text,
        other => panic!("expected a text frame, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_through_an_http_connect_proxy() {
    let ca = ThrowawayCa::new().expect("CA");
    let sim = openai_sim(&ca).await;
    let proxy = ConnectProxy::start().await.expect("proxy");
    let port = sim
        .url()
        .split(':')
        .nth(2)
        .and_then(|p| p.split('/').next())
        .map(str::to_owned);
    let frame = first_frame(&sim, &ca, proxies(&[("HTTPS_PROXY", "{proxy}")], &proxy)).await;
    assert!(frame.contains("session."), "{frame}");
    let requests = proxy.requests();
    assert_eq!(requests.len(), 1, "one tunnel: {requests:?}");
    assert_eq!(
        requests[0].target,
        format!("localhost:{}", port.expect("port in the sim URL"))
    );
    assert_eq!(requests[0].authorization, None);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_credentials_go_in_proxy_authorization() {
    let ca = ThrowawayCa::new().expect("CA");
    let sim = openai_sim(&ca).await;
    let proxy = ConnectProxy::start().await.expect("proxy");
    let with_user = proxy.url().replace("http://", "http://alice:wonder@");
    let settings =
        ProxySettings::from_lookup(|name| (name == "ALL_PROXY").then(|| with_user.clone()))
            .expect("settings");
    first_frame(&sim, &ca, settings).await;
    let requests = proxy.requests();
    // base64("alice:wonder")
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some("Basic YWxpY2U6d29uZGVy")
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_hosts_connect_directly() {
    let ca = ThrowawayCa::new().expect("CA");
    let sim = openai_sim(&ca).await;
    let proxy = ConnectProxy::start().await.expect("proxy");
    let vars = &[
        ("HTTPS_PROXY", "{proxy}"),
        ("NO_PROXY", "example.com,localhost"),
    ];
    let frame = first_frame(&sim, &ca, proxies(vars, &proxy)).await;
    assert!(frame.contains("session."), "{frame}");
    assert!(proxy.requests().is_empty(), "the proxy was bypassed");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_refusing_the_tunnel_is_a_clear_error() {
    let ca = ThrowawayCa::new().expect("CA");
    let sim = openai_sim(&ca).await;
    let proxy = ConnectProxy::refusing(403).await.expect("proxy");
    let config = WsConfig::new(sim.url()).proxy(proxies(&[("https_proxy", "{proxy}")], &proxy));
    let err = connect(config).await.expect_err("refused");
    assert!(matches!(err, WsError::Proxy { .. }), "{err}");
    assert!(err.to_string().contains("HTTP 403"), "{err}");

    let proxy = ConnectProxy::refusing(407).await.expect("proxy");
    let config = WsConfig::new(sim.url()).proxy(proxies(&[("https_proxy", "{proxy}")], &proxy));
    let err = connect(config).await.expect_err("refused");
    assert!(err.to_string().contains("requires authentication"), "{err}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nova_sonic_trusts_the_ca_file_and_names_the_fix_without_it() {
    let sim = BedrockSim::start_tls(script()).await.expect("sim");
    let pem = sim.ca_pem().expect("a TLS simulator has a certificate");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bedrock-sim.pem");
    std::fs::write(&path, pem).expect("written");
    let base = || {
        NovaSonicConfig::default()
            .with_endpoint_url(sim.endpoint())
            .with_region("us-east-1")
            .with_credentials(aws_sdk_bedrockruntime::config::Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            ))
    };

    let model = BidiNovaSonicModel::new(base()).expect("config");
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    let err = loop {
        match support::next(&mut events).await {
            Some(Err(e)) => break e,
            Some(Ok(_)) => continue,
            None => panic!("the stream ended without the TLS error"),
        }
    };
    assert_untrusted(&err);
    model.stop().await.ok();

    let model = BidiNovaSonicModel::new(base().with_ca_file(&path)).expect("config");
    assert_text_turn(&model).await;
    sim.shutdown().await;
}
