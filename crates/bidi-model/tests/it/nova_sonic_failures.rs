//! Provider errors, malformed frames, closed streams and refused input: the real Bedrock SDK
//! client, through `BidiNovaSonicModel`, against the local Bedrock simulator
//! (`bidi_sim::bedrock`) speaking the real wire protocol.
#![cfg(feature = "nova-sonic")]

use crate::common;

use bidi_sim::bedrock::BedrockSim;
use bidi_sim::{Action, Script};
use bidi_types::{
    BidiImageInputEvent, BidiModel, BidiOutputEvent, ModelError, Role, StartParams, ToolResult,
};
use common::*;

#[tokio::test]
async fn silence_validation_error_531_is_restartable() {
    let script = Script::new().on(
        text("wait"),
        vec![Action::Error {
            code: "ValidationException".into(),
            message: "Timed out waiting for input events (InternalErrorCode=531)".into(),
        }],
    );
    let sim = BedrockSim::start(script).await.expect("sim");
    let model = model(&sim, |c| c);
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    model.send("wait".into()).await.expect("send");
    let err = loop {
        match next(&mut events).await {
            Some(Ok(_)) => {}
            Some(Err(e)) => break e,
            None => panic!("no error"),
        }
    };
    assert!(err.is_timeout(), "{err}");
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

/// As in the reference, a provider exception ends `receive` with the error, with no
/// `bidi_error` event of the model's own before it (the agent yields the error once as one).
#[tokio::test]
async fn provider_exception_ends_the_stream_with_the_error() {
    let script = Script::new().on(
        text("boom"),
        vec![Action::Error {
            code: "ModelStreamErrorException".into(),
            message: "the model broke".into(),
        }],
    );
    let sim = BedrockSim::start(script).await.expect("sim");
    let model = model(&sim, |c| c);
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    model.send("boom".into()).await.expect("send");
    let err = loop {
        match next(&mut events).await {
            Some(Ok(BidiOutputEvent::Error(e))) => panic!("a bidi_error before the error: {e:?}"),
            Some(Ok(_)) => {}
            Some(Err(e)) => break e,
            None => panic!("the stream ended without the error"),
        }
    };
    match &err {
        ModelError::Provider { message, .. } => assert_eq!(message, "the model broke"),
        other => panic!("{other:?}"),
    }
    assert_eq!(err.to_event().code(), "ModelProviderError");
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_frames_and_unknown_events_do_not_end_the_conversation() {
    let script = Script::new().on(
        text("go"),
        vec![
            Action::Garbage {
                text: "\u{0}{not json".into(),
            },
            Action::UnknownEvent,
            say("still here"),
            Action::EndTurn,
        ],
    );
    let sim = BedrockSim::start(script).await.expect("sim");
    let model = model(&sim, |c| c);
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    model.send("go".into()).await.expect("send");
    let seen = until(&mut events, is_complete).await;
    let errors: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            BidiOutputEvent::Error(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1, "only the garbage is an error: {seen:?}");
    assert_eq!(errors[0].code(), "ModelProtocolError");
    assert_eq!(finals(&seen, Role::Assistant), ["still here"]);
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test]
async fn server_closing_mid_stream_is_a_clear_error() {
    let script = Script::new().on(text("go"), vec![say("partial"), Action::Close]);
    let sim = BedrockSim::start(script).await.expect("sim");
    let model = model(&sim, |c| c);
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    model.send("go".into()).await.expect("send");
    let mut saw_error_event = false;
    let err = loop {
        match next(&mut events).await {
            Some(Ok(BidiOutputEvent::Error(_))) => saw_error_event = true,
            Some(Ok(_)) => {}
            Some(Err(e)) => break e,
            None => panic!("the stream ended without an error"),
        }
    };
    assert!(
        !saw_error_event,
        "the error is reported once, by ending the stream"
    );
    assert!(!err.is_timeout());
    assert!(
        matches!(
            err,
            ModelError::Connection { .. } | ModelError::Closed(_) | ModelError::Protocol(_)
        ),
        "{err:?}"
    );
    model.stop().await.expect("stop after a failure");
    sim.shutdown().await;
}

#[tokio::test]
async fn images_and_documents_are_refused_with_typed_errors() {
    let sim = BedrockSim::start(Script::new()).await.expect("sim");
    let model = model(&sim, |c| c);
    assert!(matches!(
        model.send("early".into()).await,
        Err(ModelError::NotStarted { .. })
    ));
    model.start(StartParams::default()).await.expect("start");
    assert!(matches!(
        model.start(StartParams::default()).await,
        Err(ModelError::AlreadyStarted)
    ));
    let image = BidiImageInputEvent::from_bytes(&[1, 2, 3], "image/png");
    let err = model.send(image.into()).await.expect_err("image refused");
    assert_eq!(err.code(), "ModelUnsupportedContentError");
    let doc = ToolResult {
        tool_use_id: "t-9".into(),
        status: bidi_types::ToolResultStatus::Success,
        content: vec![bidi_types::ToolResultContent::Document(
            bidi_types::DocumentBlock {
                format: "pdf".into(),
                name: "d".into(),
                source: bidi_types::BinarySource {
                    bytes: "AA==".into(),
                },
            },
        )],
    };
    let err = model.send(doc.into()).await.expect_err("document refused");
    assert!(err.to_string().contains("t-9"), "{err}");
    model.stop().await.expect("stop");
    sim.shutdown().await;
}

#[tokio::test]
async fn stop_closes_cleanly_even_when_nobody_reads_the_events() {
    // 500 audio frames: more than the event queue holds.
    let script = Script::new().on(
        text("talk"),
        vec![
            Action::Speak {
                ms: 20_000,
                frame_ms: 40,
            },
            Action::EndTurn,
        ],
    );
    let sim = BedrockSim::start(script).await.expect("sim");
    let model = model(&sim, |c| c);
    model.start(StartParams::default()).await.expect("start");
    let events = model.receive().expect("receive");
    model.send("talk".into()).await.expect("send");
    sim.wait_for(HANG, |r| {
        r.first().is_some_and(|c| {
            c.iter()
                .any(|e| e.pointer("/event/textInput/content") == Some(&serde_json::json!("talk")))
        })
    })
    .await
    .expect("text arrives");
    tokio::time::timeout(HANG, model.stop())
        .await
        .expect("stop does not hang")
        .expect("stop");
    let recorded = sim.recorded();
    let last = recorded[0].last().and_then(bidi_sim::bedrock::event_name);
    assert_eq!(last, Some("sessionEnd"), "the closing events were sent");
    drop(events);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_endpoint_ends_the_stream_with_a_connection_error() {
    // A port that was just free: nothing listens there.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let model = bidi_model::nova_sonic::BidiNovaSonicModel::new(
        bidi_model::nova_sonic::NovaSonicConfig::default().with_client(client(&endpoint)),
    )
    .expect("config");
    model.start(StartParams::default()).await.expect("start");
    let mut events = model.receive().expect("receive");
    assert!(matches!(
        next(&mut events).await,
        Some(Ok(BidiOutputEvent::ConnectionStart(_)))
    ));
    match next(&mut events).await {
        Some(Err(e @ ModelError::Connection { .. })) => {
            assert_eq!(e.to_event().code(), "ModelConnectionError");
            assert!(e.to_string().contains("could not open the stream"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert!(next(&mut events).await.is_none());
    model.stop().await.expect("stop");
}
