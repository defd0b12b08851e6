//! Rejected credentials, per provider: the real clients against the simulators with a
//! required credential, each refusing the others the way its provider does. A wrong key is
//! `ModelError::Unauthorized` naming the provider and what to fix, never the key; the right
//! key still holds a conversation.
#![cfg(all(feature = "openai", feature = "gemini", feature = "nova-sonic"))]

use crate::common;

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};
use bidi_model::gemini::{BidiGeminiLiveModel, GeminiLiveConfig};
use bidi_model::nova_sonic::{BidiNovaSonicModel, NovaSonicConfig};
use bidi_model::openai::{BidiOpenAIRealtimeModel, OpenAiRealtimeConfig};
use bidi_sim::bedrock::BedrockSim;
use bidi_sim::gemini::{GeminiSim, GeminiSimOptions};
use bidi_sim::openai::{OpenAiSim, OpenAiSimOptions};
use bidi_sim::{Action, Script};
use bidi_types::{BidiModel, BidiOutputEvent, ModelError, Role, StartParams};
use common::{HANG, finals, is_complete, next, say, text, until};

const RIGHT: &str = "sk-right-key-0123456789";
const WRONG: &str = "sk-wrong-secret-9876543210";

fn script() -> Script {
    Script::new().on(text("hello"), vec![say("Welcome in."), Action::EndTurn])
}

async fn start(model: &dyn BidiModel) -> Result<(), ModelError> {
    tokio::time::timeout(HANG, model.start(StartParams::default()))
        .await
        .expect("start hung")
}

/// A turn with `model`: "hello" answered with "Welcome in.".
async fn holds_a_turn(model: &dyn BidiModel) {
    let mut events = model.receive().expect("receive");
    model.send("hello".into()).await.expect("send");
    let seen = until(&mut events, is_complete).await;
    assert_eq!(finals(&seen, Role::Assistant), ["Welcome in."]);
    model.stop().await.expect("stop");
}

fn assert_unauthorized(e: &ModelError, provider: &str, reason: &str, hint: &str) {
    match e {
        ModelError::Unauthorized {
            provider: p,
            reason: r,
            hint: h,
        } => {
            assert_eq!(*p, provider);
            assert!(r.contains(reason), "{r}");
            assert!(h.contains(hint), "{h}");
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    let text = e.to_string();
    assert!(!text.contains(WRONG) && !text.contains(RIGHT), "{text}");
    assert!(!format!("{e:?}").contains(WRONG), "{e:?}");
    assert_eq!(e.code(), "ModelUnauthorizedError");
}

fn openai(url: &str, key: &str) -> BidiOpenAIRealtimeModel {
    BidiOpenAIRealtimeModel::new(OpenAiRealtimeConfig::new().endpoint(url).api_key(key))
        .expect("config")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_refuses_a_wrong_key_at_start_and_takes_the_right_one() {
    let options = OpenAiSimOptions {
        require_key: Some(RIGHT.into()),
        ..OpenAiSimOptions::default()
    };
    let sim = OpenAiSim::start_with(script(), options).await.expect("sim");

    let wrong = openai(&sim.url(), WRONG);
    let err = start(&wrong)
        .await
        .expect_err("a wrong key must fail start");
    assert_unauthorized(&err, "OpenAI", "invalid_api_key", "OPENAI_API_KEY");
    assert!(
        err.to_string().contains("sk-***3210"),
        "OpenAI's masked key: {err}"
    );
    // Nothing was sent before the verdict, and the model is not started.
    let recorded = sim.recorded();
    assert_eq!(recorded.len(), 1);
    assert!(recorded[0].events.is_empty(), "{:?}", recorded[0].events);
    assert!(matches!(
        wrong.receive(),
        Err(ModelError::NotStarted { .. })
    ));

    let right = openai(&sim.url(), RIGHT);
    start(&right).await.expect("the right key starts");
    holds_a_turn(&right).await;
    sim.shutdown().await;
}

fn gemini(url: &str, key: &str) -> BidiGeminiLiveModel {
    BidiGeminiLiveModel::new(
        GeminiLiveConfig::default()
            .with_api_key(key)
            .with_base_url(url),
    )
    .expect("config")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_refuses_a_wrong_key_at_start_and_takes_the_right_one() {
    let options = GeminiSimOptions {
        require_key: Some(RIGHT.into()),
        ..GeminiSimOptions::default()
    };
    let sim = GeminiSim::start_with(script(), options).await.expect("sim");

    let wrong = gemini(&sim.base_url(), WRONG);
    let err = start(&wrong)
        .await
        .expect_err("a wrong key must fail start");
    assert_unauthorized(
        &err,
        "Gemini",
        "close 1007: API key not valid. Please pass a valid API key.",
        "GEMINI_API_KEY",
    );
    assert!(matches!(
        wrong.receive(),
        Err(ModelError::NotStarted { .. })
    ));

    let right = gemini(&sim.base_url(), RIGHT);
    start(&right).await.expect("the right key starts");
    holds_a_turn(&right).await;
    sim.shutdown().await;
}

fn nova(endpoint: &str, access_key_id: &str) -> BidiNovaSonicModel {
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            access_key_id,
            "secret-access-key",
            None,
            None,
            "test",
        ))
        .endpoint_url(endpoint)
        .build();
    BidiNovaSonicModel::new(NovaSonicConfig::default().with_client(Client::from_conf(config)))
        .expect("config")
}

/// Bedrock answers only once the stream is open, after `start` returned: the refusal is the
/// stream's error (reported once: no `bidi_error` event of the model's own before it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bedrock_refuses_an_unknown_access_key_id_and_takes_the_right_one() {
    let sim = BedrockSim::start(script()).await.expect("sim");
    sim.require_access_key_id(Some("AKIDRIGHT".into()));

    let wrong = nova(&sim.endpoint(), "AKIDWRONG");
    start(&wrong)
        .await
        .expect("start opens the stream in the background");
    let mut events = wrong.receive().expect("receive");
    let mut reported = None;
    let err = loop {
        match next(&mut events).await {
            Some(Ok(BidiOutputEvent::Error(e))) => reported = Some(e),
            Some(Ok(_)) => {}
            Some(Err(e)) => break e,
            None => panic!("the stream ended without the refusal"),
        }
    };
    assert_unauthorized(
        &err,
        "Bedrock",
        "UnrecognizedClientException: The security token included in the request is invalid.",
        "AWS_ACCESS_KEY_ID",
    );
    assert!(
        reported.is_none(),
        "no bidi_error before the error: {reported:?}"
    );
    assert_eq!(err.to_event().code(), "ModelUnauthorizedError");
    wrong.stop().await.expect("stop");
    assert!(
        sim.recorded().is_empty(),
        "a refused stream is never opened"
    );

    let right = nova(&sim.endpoint(), "AKIDRIGHT");
    start(&right).await.expect("the right key starts");
    holds_a_turn(&right).await;
    sim.shutdown().await;
}

/// A server on loopback that answers every WebSocket upgrade with HTTP 401 and OpenAI's
/// JSON error (as gateways and proxies in front of a provider do); its `ws://` address.
async fn refusing_upgrades() -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let body = r#"{"error":{"message":"Incorrect API key provided: sk-***3210.","type":"invalid_request_error","code":"invalid_api_key","param":null}}"#;
            let response = format!(
                "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tcp.write_all(response.as_bytes()).await;
        }
    });
    (format!("ws://{addr}"), task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_refused_with_401_is_unauthorized_for_both_websocket_providers() {
    let (base, server) = refusing_upgrades().await;
    let err = start(&openai(&format!("{base}/v1/realtime"), WRONG))
        .await
        .expect_err("401");
    assert_unauthorized(&err, "OpenAI", "HTTP 401", "OPENAI_API_KEY");
    let err = start(&gemini(&format!("{base}/ws"), WRONG))
        .await
        .expect_err("401");
    assert_unauthorized(&err, "Gemini", "HTTP 401", "GEMINI_API_KEY");
    server.abort();
}
