//! Endpoint URL forms, per provider, against the simulators (which, like the real services,
//! refuse any other path with 404): the base URL and the full URL the provider's docs show
//! both reach the one service path, never doubled, with the query kept; a malformed URL is a
//! config error naming the accepted forms, before anything connects.
#![cfg(all(feature = "openai", feature = "gemini", feature = "nova-sonic"))]

use crate::common;

use aws_sdk_bedrockruntime::config::Credentials;
use bidi_model::gemini::{BidiGeminiLiveModel, GeminiLiveConfig};
use bidi_model::nova_sonic::{BidiNovaSonicModel, NovaSonicConfig};
use bidi_model::openai::{BidiOpenAIRealtimeModel, OpenAiRealtimeConfig};
use bidi_sim::bedrock::BedrockSim;
use bidi_sim::gemini::GeminiSim;
use bidi_sim::openai::OpenAiSim;
use bidi_sim::{Action, Script};
use bidi_types::{BidiModel, ModelError, Role, StartParams};
use common::{HANG, finals, is_complete, say, text, until};

fn script() -> Script {
    Script::new().on(text("hello"), vec![say("Welcome in."), Action::EndTurn])
}

/// Starts `model`, holds one text turn, stops.
async fn holds_a_turn(model: &dyn BidiModel) {
    tokio::time::timeout(HANG, model.start(StartParams::default()))
        .await
        .expect("start hung")
        .expect("start");
    let mut events = model.receive().expect("receive");
    model.send("hello".into()).await.expect("send");
    let seen = until(&mut events, is_complete).await;
    assert_eq!(finals(&seen, Role::Assistant), ["Welcome in."]);
    model.stop().await.expect("stop");
}

/// `ws://127.0.0.1:PORT` of a simulator URL.
fn origin(url: &str) -> String {
    let scheme_end = url.find("://").expect("scheme") + 3;
    let path_at = url[scheme_end..]
        .find('/')
        .map_or(url.len(), |i| scheme_end + i);
    url[..path_at].to_owned()
}

fn openai(endpoint: &str) -> Result<BidiOpenAIRealtimeModel, ModelError> {
    BidiOpenAIRealtimeModel::new(
        OpenAiRealtimeConfig::new()
            .endpoint(endpoint)
            .api_key("sk-test"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_takes_the_base_and_the_full_url() {
    let sim = OpenAiSim::start(script()).await.expect("sim");
    let base = origin(&sim.url());
    let forms = [
        (base.clone(), "model=gpt-realtime-2"),
        (format!("{base}/"), "model=gpt-realtime-2"),
        (format!("{base}/v1/realtime"), "model=gpt-realtime-2"),
        (
            format!("{base}/v1/realtime?model=gpt-realtime-mini&tag=a%20b"),
            "model=gpt-realtime-mini&tag=a%20b",
        ),
        (
            format!("{base}/v1/realtime/?tag=1"),
            "tag=1&model=gpt-realtime-2",
        ),
    ];
    for (i, (endpoint, query)) in forms.iter().enumerate() {
        let model = openai(endpoint).expect("config");
        holds_a_turn(&model).await;
        let request = &sim.recorded()[i].request;
        assert_eq!(request.path, "/v1/realtime", "{endpoint}");
        assert_eq!(request.query.as_deref(), Some(*query), "{endpoint}");
    }
    // The simulator refuses a doubled path, as the service does: the check has teeth.
    let doubled = openai(&format!("{base}/v1/realtime/v1/realtime")).expect("config");
    let err = doubled
        .start(StartParams::default())
        .await
        .expect_err("404");
    assert!(err.to_string().contains("404"), "{err}");
    sim.shutdown().await;
}

fn gemini(endpoint: &str) -> Result<BidiGeminiLiveModel, ModelError> {
    BidiGeminiLiveModel::new(
        GeminiLiveConfig::default()
            .with_api_key("test-key")
            .with_base_url(endpoint),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_takes_the_base_and_the_full_url_of_any_version() {
    let sim = GeminiSim::start(script()).await.expect("sim");
    let base = origin(&sim.base_url());
    let method = |v: &str| {
        format!("/ws/google.ai.generativelanguage.{v}.GenerativeService.BidiGenerateContent")
    };
    let forms = [
        (base.clone(), method("v1alpha"), None),
        (format!("{base}/ws"), method("v1alpha"), None),
        (format!("{base}/ws/"), method("v1alpha"), None),
        (
            format!("{base}{}", method("v1beta")),
            method("v1beta"),
            None,
        ),
        (
            format!("{base}{}?alt=1", method("v1alpha")),
            method("v1alpha"),
            Some("alt=1"),
        ),
    ];
    for (i, (endpoint, path, query)) in forms.iter().enumerate() {
        let model = gemini(endpoint).expect("config");
        holds_a_turn(&model).await;
        let request = &sim.recorded()[i].request;
        assert_eq!(&request.path, path, "{endpoint}");
        assert_eq!(request.query.as_deref(), *query, "{endpoint}");
    }
    let doubled = gemini(&format!("{base}/ws/ws")).expect("config");
    let err = doubled
        .start(StartParams::default())
        .await
        .expect_err("404");
    assert!(err.to_string().contains("404"), "{err}");
    sim.shutdown().await;
}

fn nova(endpoint: &str) -> Result<BidiNovaSonicModel, ModelError> {
    BidiNovaSonicModel::new(
        NovaSonicConfig::default()
            .with_endpoint_url(endpoint)
            .with_region("us-east-1")
            .with_credentials(Credentials::new("AKIDTEST", "secret", None, None, "test")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nova_takes_the_base_and_the_full_operation_url() {
    let sim = BedrockSim::start(script()).await.expect("sim");
    let base = sim.endpoint();
    let full = format!("{base}/model/amazon.nova-2-sonic-v1%3A0/invoke-with-bidirectional-stream");
    let with_query = format!("{base}?probe=1");
    for (endpoint, sdk_url) in [
        (base.clone(), base.as_str()),
        (format!("{base}/"), base.as_str()),
        (full, base.as_str()),
        (with_query.clone(), with_query.as_str()),
    ] {
        let model = nova(&endpoint).expect("config");
        assert_eq!(model.settings().endpoint_url.as_deref(), Some(sdk_url));
        assert_eq!(model.settings().model_id, "amazon.nova-2-sonic-v1:0");
        holds_a_turn(&model).await;
    }
    // The model a full URL names is the one used.
    let other = nova(&format!(
        "{base}/model/amazon.nova-sonic-v1:0/invoke-with-bidirectional-stream"
    ))
    .expect("config");
    assert_eq!(other.settings().model_id, "amazon.nova-sonic-v1:0");
    assert_eq!(sim.recorded().len(), 4);
    sim.shutdown().await;
}

#[test]
fn malformed_urls_are_config_errors_naming_the_accepted_forms() {
    let config_error = |r: Result<(), ModelError>| match r {
        Err(ModelError::Config(message)) => message,
        other => panic!("expected a config error, got {other:?}"),
    };
    for bad in [
        "not a url",
        "https://api.openai.com/v1/realtime",
        "wss://api.openai.com/v1/realtime#frag",
    ] {
        let message = config_error(openai(bad).map(drop));
        assert!(
            message.contains("wss://HOST[:PORT]/v1/realtime"),
            "{message}"
        );
    }
    for bad in [
        "generativelanguage.googleapis.com",
        "wss://h/ws/google.ai.generativelanguage.v1beta.GenerativeService.Typo",
    ] {
        let message = config_error(gemini(bad).map(drop));
        assert!(
            message.contains("GenerativeService.BidiGenerateContent as Google's docs show"),
            "{message}"
        );
    }
    for bad in [
        "wss://bedrock-runtime.us-east-1.amazonaws.com",
        "https://h/model/x/converse",
    ] {
        let message = config_error(nova(bad).map(drop));
        assert!(
            message.contains("/model/MODEL_ID/invoke-with-bidirectional-stream"),
            "{message}"
        );
    }
}
