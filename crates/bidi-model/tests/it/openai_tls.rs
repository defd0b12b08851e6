//! `wss://` with a custom rustls root store: the simulator serves TLS with a self-signed
//! `localhost` certificate; the client trusts it only when given the custom config.
#![cfg(feature = "openai")]

use crate::support;

use std::sync::Arc;

use bidi_model::openai::OpenAiRealtimeConfig;
use bidi_sim::openai::{OpenAiSim, OpenAiSimOptions};
use bidi_sim::{Action, Script, Trigger};
use bidi_types::{BidiModel, BidiOutputEvent, ModelError, StartParams};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use support::{is_complete, model_with, until};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A server config for `localhost` and the certificate a client must trust.
fn tls_pair() -> (Arc<rustls::ServerConfig>, CertificateDer<'static>) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let cert = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let server = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .expect("server config");
    (Arc::new(server), cert)
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_with_a_custom_root_store() {
    let (server, cert) = tls_pair();
    let sim = OpenAiSim::start_with(
        script(),
        OpenAiSimOptions {
            tls: Some(server),
            ..OpenAiSimOptions::default()
        },
    )
    .await
    .expect("sim");
    assert!(sim.url().starts_with("wss://localhost:"));

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("root");
    let client = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let model = model_with(
        OpenAiRealtimeConfig::new()
            .endpoint(sim.url())
            .tls(Arc::new(client)),
    );
    model
        .start(StartParams::default())
        .await
        .expect("start over wss");
    let mut events = model.receive().expect("receive");
    model.send("a secure hello".into()).await.expect("send");
    let seen = until(&mut events, is_complete).await;
    assert!(seen.iter().any(|e| matches!(e,
        BidiOutputEvent::TranscriptStream(t) if t.is_final() && t.text() == "Encrypted hello")));
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_roots_reject_an_unknown_certificate() {
    let (server, _cert) = tls_pair();
    let sim = OpenAiSim::start_with(
        script(),
        OpenAiSimOptions {
            tls: Some(server),
            ..OpenAiSimOptions::default()
        },
    )
    .await
    .expect("sim");
    let model = model_with(OpenAiRealtimeConfig::new().endpoint(sim.url()));
    let err = model
        .start(StartParams::default())
        .await
        .expect_err("self-signed certificate is not trusted by default");
    assert!(matches!(err, ModelError::Connection { .. }), "{err}");
    assert!(sim.recorded().is_empty(), "no upgrade happened");
    sim.shutdown().await;
}
