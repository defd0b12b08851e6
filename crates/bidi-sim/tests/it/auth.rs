//! The credential checks on the wire: what a raw client (no SDK) sees when a simulator that
//! requires a credential is given another, or none, or the right one.

use std::io::{Read, Write};
use std::time::Duration;

use bidi_sim::Script;
use bidi_sim::auth::{AWS_INVALID_TOKEN, GEMINI_INVALID_KEY};
use bidi_sim::bedrock::BedrockSim;
use bidi_sim::gemini::{GeminiSim, GeminiSimOptions};
use bidi_sim::openai::{OpenAiSim, OpenAiSimOptions};
use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const HANG: Duration = Duration::from_secs(20);
const KEY: &str = "sk-required-0123456789";

/// Connects to `url` with `headers` and returns every frame until the close (included).
async fn frames(url: &str, headers: &[(&'static str, &str)]) -> Vec<Message> {
    let mut request = url.into_client_request().expect("request");
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(*name, value.parse().expect("header value"));
    }
    let (mut ws, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the upgrade succeeds, as with the provider");
    assert_eq!(response.status().as_u16(), 101);
    let mut seen = Vec::new();
    tokio::time::timeout(HANG, async {
        while let Some(Ok(m)) = ws.next().await {
            let close = m.is_close();
            seen.push(m);
            if close {
                break;
            }
        }
    })
    .await
    .expect("frames in time");
    seen
}

fn close_of(frames: &[Message]) -> (u16, String) {
    match frames.last() {
        Some(Message::Close(Some(f))) => (u16::from(f.code), f.reason.as_str().to_owned()),
        other => panic!("no close frame: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_sends_invalid_api_key_then_closes_3000() {
    let options = OpenAiSimOptions {
        require_key: Some(KEY.into()),
        ..OpenAiSimOptions::default()
    };
    let sim = OpenAiSim::start_with(Script::new(), options)
        .await
        .expect("sim");

    let wrong = frames(
        &sim.url(),
        &[("authorization", "Bearer sk-wrong-9876543210")],
    )
    .await;
    assert_eq!(wrong.len(), 2, "{wrong:?}");
    let Message::Text(text) = &wrong[0] else {
        panic!("{wrong:?}")
    };
    let event: Value = serde_json::from_str(text.as_str()).expect("JSON");
    assert_eq!(event["type"], "error");
    assert_eq!(event["error"]["type"], "invalid_request_error");
    assert_eq!(event["error"]["code"], "invalid_api_key");
    let message = event["error"]["message"].as_str().expect("message");
    assert!(
        message.starts_with("Incorrect API key provided: sk-***3210."),
        "{message}"
    );
    assert!(!text.contains("sk-wrong-9876543210"), "{text}");
    assert_eq!(
        close_of(&wrong),
        (3000, "invalid_request_error.invalid_api_key".to_owned())
    );

    let missing = frames(&sim.url(), &[]).await;
    let Message::Text(text) = &missing[0] else {
        panic!("{missing:?}")
    };
    let event: Value = serde_json::from_str(text.as_str()).expect("JSON");
    assert_eq!(event["error"]["code"], Value::Null);
    assert_eq!(close_of(&missing).0, 3000);

    // The right key: the session is created and stays open.
    let url = sim.url();
    let mut request = url.as_str().into_client_request().expect("request");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {KEY}").parse().expect("value"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect");
    let first = tokio::time::timeout(HANG, ws.next())
        .await
        .expect("in time")
        .expect("a frame")
        .expect("not an error");
    let event: Value = serde_json::from_str(first.to_text().expect("text")).expect("JSON");
    assert_eq!(event["type"], "session.created");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gemini_closes_1007_unless_the_key_comes_by_query_or_header() {
    let options = GeminiSimOptions {
        require_key: Some(KEY.into()),
        ..GeminiSimOptions::default()
    };
    let sim = GeminiSim::start_with(Script::new(), options)
        .await
        .expect("sim");
    let base = sim.url();

    let expected = (1007, GEMINI_INVALID_KEY.to_owned());
    let by_query = frames(&format!("{base}?key=wrong"), &[]).await;
    assert_eq!(close_of(&by_query), expected);
    let by_header = frames(&base, &[("x-goog-api-key", "wrong")]).await;
    assert_eq!(close_of(&by_header), expected);
    let none = frames(&base, &[]).await;
    assert_eq!(close_of(&none), expected);
    assert_eq!(by_query.len(), 1, "nothing before the close: {by_query:?}");

    // The right key, either way: the setup is answered.
    for (url, headers) in [
        (format!("{base}?key={KEY}"), vec![]),
        (base.clone(), vec![("x-goog-api-key", KEY)]),
    ] {
        let mut request = url.as_str().into_client_request().expect("request");
        for (name, value) in headers {
            request
                .headers_mut()
                .insert(name, value.parse().expect("value"));
        }
        let (mut ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connect");
        futures_util::SinkExt::send(&mut ws, Message::text(r#"{"setup":{"model":"m"}}"#))
            .await
            .expect("setup sent");
        let reply = tokio::time::timeout(HANG, ws.next())
            .await
            .expect("in time")
            .expect("a frame")
            .expect("not an error");
        let reply: Value = serde_json::from_str(reply.to_text().expect("text")).expect("JSON");
        assert!(reply.get("setupComplete").is_some(), "{reply}");
    }
    sim.shutdown().await;
}

/// One HTTP/1.1 request to the Bedrock simulator, signed with `access_key_id`; the raw
/// response.
fn post(endpoint: &str, access_key_id: &str) -> String {
    let addr = endpoint.trim_start_matches("http://");
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(HANG)).expect("timeout");
    let request = format!(
        "POST /model/amazon.nova-2-sonic-v1:0/invoke-with-bidirectional-stream HTTP/1.1\r\n\
         host: {addr}\r\n\
         authorization: AWS4-HMAC-SHA256 Credential={access_key_id}/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=00\r\n\
         content-length: 0\r\n\
         connection: close\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).expect("write");
    let mut response = String::new();
    tcp.read_to_string(&mut response).expect("read");
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bedrock_answers_an_unknown_access_key_id_with_403_unrecognized_client() {
    let sim = BedrockSim::start(Script::new()).await.expect("sim");
    sim.require_access_key_id(Some("AKIDRIGHT".into()));
    let endpoint = sim.endpoint();
    let response = tokio::task::spawn_blocking(move || post(&endpoint, "AKIDWRONG"))
        .await
        .expect("request task");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    assert!(head.starts_with("HTTP/1.1 403"), "{head}");
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("x-amzn-errortype: unrecognizedclientexception"),
        "{head}"
    );
    assert!(head.contains("content-type: application/json"), "{head}");
    let body: Value = serde_json::from_str(body).expect("JSON body");
    assert_eq!(body, serde_json::json!({ "message": AWS_INVALID_TOKEN }));
    assert!(sim.recorded().is_empty(), "no stream was opened");
    sim.shutdown().await;
}
