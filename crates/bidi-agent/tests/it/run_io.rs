//! `run` between inputs and outputs, with `BidiTextIO`. Ports the reference's
//! `tests/strands/experimental/bidi/io/test_text.py` (`test_bidi_text_io_input`,
//! `test_bidi_text_io_output` ×3) and the `_async` stop tests (`test_stop_exception`,
//! `test_stop_success`: every stop runs, errors combined), plus `run` end to end with text IO
//! reading from an in-memory reader and writing to a buffer.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bidi_agent::io::{AgentIo, TextInput, TextOutput};
use bidi_agent::tools::StopConversation;
use bidi_agent::types::*;
use bidi_agent::{AgentError, BidiAgent};
use serde_json::json;
use support::*;
use tokio::io::AsyncWrite;

/// A writer whose bytes the test can read while the output owns it.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl AsyncWrite for Shared {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn text_io_input() {
    let mut input = TextInput::from_reader(&b"  test text \n"[..]);
    let event = input.read().await.unwrap().unwrap();
    assert_eq!(
        event,
        BidiInputEvent::from(BidiTextInputEvent::with_role("test text", Role::User))
    );
    assert!(
        input.read().await.unwrap().is_none(),
        "end of input ends the source"
    );
}

#[tokio::test]
async fn text_io_output() {
    let out = Shared::default();
    let mut output = TextOutput::to_writer(out.clone());
    let events: Vec<BidiAgentEvent> = vec![
        // Cumulative partials carry the transcript so far (delta-only partials accumulate).
        BidiTranscriptStreamEvent::new("test", Role::Assistant, false, Some("test".into())).into(),
        BidiTranscriptStreamEvent::new(" text", Role::Assistant, false, Some("test text".into()))
            .into(),
        BidiInterruptionEvent::new(InterruptionReason::UserSpeech).into(),
        BidiTranscriptStreamEvent::new("test text", Role::User, true, None).into(),
        ToolUseStreamEvent::complete(ToolUse::new("t1", "calc", json!({"x": 1}))).into(),
        ToolResultEvent::new(ToolResult::text("t1", "2")).into(),
        BidiErrorEvent::new("went wrong", "ModelProtocolError").into(),
        BidiConnectionCloseEvent::new("c", CloseReason::UserRequest).into(),
        BidiUsageEvent::new(1, 2, 3).into(),
    ];
    for e in &events {
        output.write(e).await.unwrap();
    }
    assert_eq!(
        out.text(),
        "\rassistant: test\rassistant: test text\ninterrupted\n\ruser: test text\n\
         tool call: calc({\"x\":1})\ntool result: t1 success\nerror: ModelProtocolError | went wrong\n\
         user requested connection close using the stop tool.\n"
    );

    // Another role's partial line is kept.
    let out = Shared::default();
    let mut output = TextOutput::to_writer(out.clone());
    output
        .write(&BidiTranscriptStreamEvent::new("Hel", Role::Assistant, false, None).into())
        .await
        .unwrap();
    output
        .write(&BidiTranscriptStreamEvent::new("stop", Role::User, true, None).into())
        .await
        .unwrap();
    assert_eq!(out.text(), "\rassistant: Hel\n\ruser: stop\n");

    // A shorter partial blanks what the longer one left.
    let out = Shared::default();
    let mut output = TextOutput::to_writer(out.clone());
    output
        .write(&BidiTranscriptStreamEvent::new("abcdef", Role::Assistant, false, None).into())
        .await
        .unwrap();
    output
        .write(&BidiTranscriptStreamEvent::new("ab", Role::Assistant, true, None).into())
        .await
        .unwrap();
    assert_eq!(
        out.text(),
        "\rassistant: abcdef\rassistant: ab    \rassistant: ab\n"
    );
}

#[tokio::test]
async fn run_with_text_io() {
    let model = ScriptedModel::new(vec![vec![
        conn_start("c1"),
        Step::WaitSent(2),
        transcript("Hi the", Role::Assistant, false),
        transcript("Hi there", Role::Assistant, true),
        tool_use("t1", "stop_conversation", json!({})),
    ]]);
    let agent = BidiAgent::builder(model.clone())
        .tool(StopConversation)
        .build()
        .unwrap();
    let out = Shared::default();
    let input = TextInput::from_reader(&b"hello\n\nhow are you?\n"[..]);
    within(agent.run(
        vec![Box::new(input)],
        vec![Box::new(TextOutput::to_writer(out.clone()))],
        None,
    ))
    .await
    .unwrap();
    assert!(!agent.is_started(), "run stops the agent");
    assert_eq!(model.stops(), 1);
    assert_eq!(
        out.text(),
        "\rassistant: Hi the\rassistant: Hi there\ntool call: stop_conversation({})\n\
         tool result: t1 success\nuser requested connection close using the stop tool.\n"
    );
    let texts: Vec<String> = agent
        .messages()
        .iter()
        .filter_map(Message::joined_text)
        .collect();
    assert_eq!(texts, ["hello", "how are you?", "Hi there"]);
    assert_eq!(agent.messages().len(), 5, "plus the stop tool's pair");
}

/// The conversation of `run_with_text_io`, for `run_io`.
fn stop_after_hello() -> (ScriptedModel, BidiAgent) {
    let model = ScriptedModel::new(vec![vec![
        conn_start("c1"),
        Step::WaitSent(1),
        transcript("Hi there", Role::Assistant, true),
        tool_use("t1", "stop_conversation", json!({})),
    ]]);
    let agent = BidiAgent::builder(model.clone())
        .tool(StopConversation)
        .build()
        .unwrap();
    (model, agent)
}

/// What the text output shows of that conversation.
const STOPPED_AFTER_HELLO: &str = "\rassistant: Hi there\ntool call: stop_conversation({})\n\
     tool result: t1 success\nuser requested connection close using the stop tool.\n";

#[tokio::test]
async fn run_io_takes_an_input_output_pair() {
    let (model, agent) = stop_after_hello();
    let out = Shared::default();
    let input = TextInput::from_reader(&b"hello\n"[..]);
    within(agent.run_io((input, TextOutput::to_writer(out.clone()))))
        .await
        .unwrap();
    assert!(!agent.is_started(), "run_io stops the agent");
    assert_eq!(model.stops(), 1);
    assert_eq!(out.text(), STOPPED_AFTER_HELLO);
    assert_eq!(agent.messages()[0].joined_text().as_deref(), Some("hello"));
}

#[tokio::test]
async fn run_io_takes_an_agent_io_with_every_output() {
    let (_model, agent) = stop_after_hello();
    let (first, second) = (Shared::default(), Shared::default());
    let io = AgentIo::new()
        .input(TextInput::from_reader(&b"hello\n"[..]))
        .output(TextOutput::to_writer(first.clone()))
        .output(TextOutput::to_writer(second.clone()));
    within(agent.run_io(io)).await.unwrap();
    assert!(!agent.is_started());
    assert_eq!(first.text(), STOPPED_AFTER_HELLO);
    assert_eq!(
        second.text(),
        STOPPED_AFTER_HELLO,
        "every event reaches every output"
    );
    assert_eq!(agent.messages()[0].joined_text().as_deref(), Some("hello"));
}

/// An IO part that records its lifecycle and fails where told.
#[derive(Clone, Default)]
struct Part {
    log: Arc<Mutex<Vec<String>>>,
    name: &'static str,
    fail_read: bool,
    fail_stop: bool,
    lines: Arc<Mutex<Vec<&'static str>>>,
}

impl Part {
    fn log(&self, what: &str) {
        self.log
            .lock()
            .unwrap()
            .push(format!("{}.{what}", self.name));
    }
}

#[bidi_agent::async_trait]
impl BidiInput for Part {
    async fn start(&mut self, agent: Arc<dyn AgentView>) -> Result<(), IoError> {
        assert_eq!(agent.model_config().audio.output_rate, SampleRate::Hz16000);
        self.log("start");
        Ok(())
    }
    async fn read(&mut self) -> Result<Option<BidiInputEvent>, IoError> {
        if self.fail_read {
            return Err(IoError::Closed("device lost".into()));
        }
        Ok(self.lines.lock().unwrap().pop().map(BidiInputEvent::from))
    }
    async fn stop(&mut self) -> Result<(), IoError> {
        self.log("stop");
        if self.fail_stop {
            return Err(IoError::Closed(format!("stop {} failed", self.name)));
        }
        Ok(())
    }
}

#[bidi_agent::async_trait]
impl BidiOutput for Part {
    async fn start(&mut self, _agent: Arc<dyn AgentView>) -> Result<(), IoError> {
        self.log("start");
        Ok(())
    }
    async fn write(&mut self, event: &BidiAgentEvent) -> Result<(), IoError> {
        self.log(event.event_type());
        Ok(())
    }
    async fn stop(&mut self) -> Result<(), IoError> {
        self.log("stop");
        if self.fail_stop {
            return Err(IoError::Closed(format!("stop {} failed", self.name)));
        }
        Ok(())
    }
}

#[tokio::test]
async fn an_input_error_stops_everything_and_surfaces_first() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let model = ScriptedModel::new(vec![vec![]]);
    let agent = BidiAgent::builder(model.clone()).build().unwrap();
    let bad = Part {
        log: log.clone(),
        name: "in0",
        fail_read: true,
        fail_stop: true,
        ..Part::default()
    };
    let out = Part {
        log: log.clone(),
        name: "out0",
        ..Part::default()
    };
    let err = within(agent.run(vec![Box::new(bad)], vec![Box::new(out)], None))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AgentError::Io { name, .. } if name == "input[0]"),
        "{err}"
    );
    assert!(err.to_string().contains("device lost"));
    let log = log.lock().unwrap().clone();
    assert_eq!(log, ["in0.start", "out0.start", "in0.stop", "out0.stop"]);
    assert!(!agent.is_started());
    assert_eq!(model.stops(), 1);
}

/// A send that finds the connection ended is not what `run` reports: the event stream says
/// why it ended (here a refusal), and that reaches the outputs and the caller.
#[tokio::test]
async fn a_send_on_an_ended_connection_reports_the_cause_from_the_stream() {
    let model = ScriptedModel::new(vec![vec![
        conn_start("c1"),
        Step::WaitSent(1),
        Step::Fail(ModelError::Unauthorized {
            provider: "scripted",
            reason: "invalid_api_key: wrong key".into(),
            hint: "check SCRIPTED_KEY".into(),
        }),
    ]]);
    model.close_sends();
    let agent = BidiAgent::builder(model.clone()).build().unwrap();
    let out = Shared::default();
    let input = TextInput::from_reader(&b"hello\n"[..]);
    let err = within(agent.run(
        vec![Box::new(input)],
        vec![Box::new(TextOutput::to_writer(out.clone()))],
        None,
    ))
    .await
    .unwrap_err();
    assert!(
        matches!(&err, AgentError::Model(ModelError::Unauthorized { .. })),
        "{err}"
    );
    assert_eq!(model.sent().len(), 1);
    assert!(!agent.is_started());
}

#[tokio::test]
async fn stop_errors_are_combined_after_every_stop_ran() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let model = ScriptedModel::new(vec![vec![tool_use("t1", "stop_conversation", json!({}))]]);
    model.fail_next_stop(ModelError::connection("model stop failed"));
    let agent = BidiAgent::builder(model.clone())
        .tool(StopConversation)
        .build()
        .unwrap();
    let parts = |name, fail_stop| Part {
        log: log.clone(),
        name,
        fail_stop,
        ..Part::default()
    };
    let err = within(agent.run(
        vec![Box::new(parts("in0", true)), Box::new(parts("in1", false))],
        vec![
            Box::new(parts("out0", false)),
            Box::new(parts("out1", true)),
        ],
        None,
    ))
    .await
    .unwrap_err();
    let AgentError::Stop(failures) = &err else {
        panic!("{err}")
    };
    let names: Vec<&str> = failures.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["input[0].stop", "output[1].stop", "agent.stop"]);
    let text = err.to_string();
    assert!(text.ends_with("| failed stop sequence"), "{text}");
    assert!(
        text.contains("stop in0 failed")
            && text.contains("stop out1 failed")
            && text.contains("model stop failed"),
        "{text}"
    );
    let log = log.lock().unwrap().clone();
    for stop in ["in0.stop", "in1.stop", "out0.stop", "out1.stop"] {
        assert!(log.contains(&stop.to_owned()), "{stop} ran: {log:?}");
    }
    // Both outputs saw every event, tool events included.
    for out in ["out0", "out1"] {
        let seen: Vec<&str> = log
            .iter()
            .filter_map(|l| l.strip_prefix(out).and_then(|s| s.strip_prefix('.')))
            .collect();
        assert_eq!(
            seen,
            [
                "start",
                "tool_use_stream",
                "tool_result",
                "message",
                "bidi_connection_close",
                "stop"
            ]
        );
    }
}

#[tokio::test]
async fn exhausted_inputs_let_the_others_go_on() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let model = ScriptedModel::new(vec![vec![
        Step::WaitSent(2),
        tool_use("t1", "stop_conversation", json!({})),
    ]]);
    let agent = BidiAgent::builder(model.clone())
        .tool(StopConversation)
        .build()
        .unwrap();
    let empty = Part {
        log: log.clone(),
        name: "in0",
        ..Part::default()
    };
    let two = Part {
        log: log.clone(),
        name: "in1",
        lines: Arc::new(Mutex::new(vec!["b", "a"])),
        ..Part::default()
    };
    within(agent.run(vec![Box::new(empty), Box::new(two)], vec![], None))
        .await
        .unwrap();
    let sent: Vec<ModelInput> = model.sent();
    assert_eq!(sent, [ModelInput::from("a"), ModelInput::from("b")]);
}

#[tokio::test]
async fn a_dropped_run_still_stops_the_agent() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let model = ScriptedModel::new(vec![vec![]]);
    let agent = Arc::new(BidiAgent::builder(model.clone()).build().unwrap());
    let out = Part {
        log: log.clone(),
        name: "out0",
        ..Part::default()
    };
    let runner = Arc::clone(&agent);
    let task = tokio::spawn(async move { runner.run(vec![], vec![Box::new(out)], None).await });
    within(async {
        while !log.lock().unwrap().contains(&"out0.start".to_owned()) {
            tokio::task::yield_now().await;
        }
    })
    .await;
    task.abort();
    let _ = task.await;
    within(async {
        while agent.is_started() || !log.lock().unwrap().contains(&"out0.stop".to_owned()) {
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert_eq!(model.stops(), 1);
}

/// An input that hands out the given events, then ends.
struct Events(Vec<BidiInputEvent>);

#[bidi_agent::async_trait]
impl BidiInput for Events {
    async fn read(&mut self) -> Result<Option<BidiInputEvent>, IoError> {
        Ok(if self.0.is_empty() {
            None
        } else {
            Some(self.0.remove(0))
        })
    }
}

#[tokio::test]
async fn a_refused_input_event_is_a_bidi_error_on_the_outputs_and_the_conversation_goes_on() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let model = ScriptedModel::new(vec![vec![
        conn_start("c1"),
        Step::WaitSent(1),
        tool_use("t1", "stop_conversation", json!({})),
    ]]);
    let agent = BidiAgent::builder(model.clone())
        .tool(StopConversation)
        .build()
        .unwrap();
    // A player's report of an hour of playback when no audio was sent, then the user's words.
    let input = Events(vec![
        BidiPlaybackEvent::new(3_600_000).into(),
        BidiInputEvent::from("hello"),
    ]);
    let out = Part {
        log: log.clone(),
        name: "out0",
        ..Part::default()
    };
    within(agent.run(vec![Box::new(input)], vec![Box::new(out)], None))
        .await
        .unwrap();
    let log = log.lock().unwrap().clone();
    assert!(log.contains(&"out0.bidi_error".to_owned()), "{log:?}");
    assert_eq!(
        model.sent(),
        [ModelInput::from("hello")],
        "the report never reaches the model"
    );
}
