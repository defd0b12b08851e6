//! Conversations through the server: bad frames answered with errors, a text turn with a
//! tool call, a spoken turn heard by the simulator's VAD, a barge-in whose playback report
//! sets the truncation, a reader that reads nothing, and the metrics after it all.

use std::time::Duration;

use bidi_sim::openai::{OpenAiSim, OpenAiSimOptions};
use bidi_sim::{Action, Script, Trigger};
use serde_json::{Value, json};

use crate::support::{Client, HANG, Server, final_of, question_samples, realtime_sim, silence};

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_get_errors_and_the_conversation_goes_on() {
    let server = Server::start(&[]);
    let mut client = Client::connect(&server.ws("/ws")).await;
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    client
        .ws
        .send(Message::text("{not json"))
        .await
        .expect("sends");
    client.send(&json!({"type": "bidi_video_input"})).await;
    client
        .send(&json!({"type": "bidi_text_input", "role": "user"}))
        .await;
    client
        .send(
            &json!({"type": "bidi_audio_input", "audio": "%%%", "format": "pcm",
        "sample_rate": 16000, "channels": 1}),
        )
        .await;
    client
        .ws
        .send(Message::binary(vec![1, 2, 3]))
        .await
        .expect("sends");
    let mut errors = Vec::new();
    while errors.len() < 5 {
        let event = client.next().await.expect("an event");
        if event["type"] == "bidi_error" {
            assert_eq!(event["code"], "InvalidInput", "{event}");
            errors.push(event["message"].as_str().unwrap_or_default().to_owned());
        }
    }
    assert!(errors[1].contains("bidi_video_input"), "{errors:?}");
    assert!(errors[2].contains("text"), "{errors:?}");
    assert!(errors[4].contains("binary"), "{errors:?}");
    client.say("What is 12 times 7?").await;
    let events = client.until(|e| final_of(e, "assistant")).await;
    assert_eq!(
        events.last().map(|e| e["text"].clone()),
        Some(json!("12 times 7 is 84."))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_turn_calls_the_tool_and_speaks_the_answer() {
    let server = Server::start(&[]);
    let mut client = Client::connect(&server.ws("/ws")).await;
    client.say("What time is it in Tokyo?").await;
    let events = client.until_answered().await;
    let tool = of_type(&events, "tool_use_stream");
    assert!(
        tool.iter()
            .any(|e| e["current_tool_use"]["name"] == "current_time"
                && e["current_tool_use"]["input"]["timezone"] == "Asia/Tokyo"),
        "{tool:?}"
    );
    let results = of_type(&events, "tool_result");
    assert_eq!(
        results[0]["tool_result"]["status"], "success",
        "{results:?}"
    );
    let answer = events
        .iter()
        .find(|e| final_of(e, "assistant"))
        .expect("an answer");
    assert!(
        answer["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("In Tokyo it is ")),
        "{answer}"
    );
    let audio = of_type(&events, "bidi_audio_stream");
    assert_eq!(audio[0]["sample_rate"], 24000);
    assert_eq!(audio[0]["format"], "pcm");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spoken_question_is_heard_answered_and_timed() {
    let server = Server::start(&[]);
    let mut client = Client::connect(&server.ws("/ws")).await;
    let mut speech = silence(300);
    speech.extend(question_samples("what-time"));
    speech.extend(silence(1_000));
    client.send_audio(&speech).await;
    let events = client.until_answered().await;
    let user = events
        .iter()
        .find(|e| final_of(e, "user"))
        .expect("the user's transcript");
    assert_eq!(user["text"], "What time is it in Tokyo?");
    assert!(
        of_type(&events, "tool_use_stream")
            .iter()
            .any(|e| e["current_tool_use"]["name"] == "current_time")
    );
    // The turn's first audio was timed from the end of the speech.
    let counted = server
        .metric_once("bidi_first_audio_seconds_count", |n| n >= 1.0)
        .await;
    assert!(counted >= 1.0);
    let sum = server.metric("bidi_first_audio_seconds_sum", None).await;
    // At least the VAD's 500 ms of silence, and not absurd.
    assert!(
        sum >= 0.4 * counted && sum < 20.0 * counted,
        "sum {sum} over {counted}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_barge_in_truncates_the_answer_where_the_page_said_it_was() {
    let sim = realtime_sim().await;
    let server = Server::start(&["--provider", "openai", "--endpoint", &sim.url()]);
    let mut client = Client::connect(&server.ws("/ws")).await;
    client.say("What time is it in Tokyo?").await;
    let mut response_id = Value::Null;
    let mut audio_bytes = 0;
    // A second of the answer's audio.
    while audio_bytes < 48_000 {
        let event = client.next().await.expect("an event");
        match event["type"].as_str() {
            Some("bidi_response_start") => response_id = event["response_id"].clone(),
            Some("bidi_audio_stream") => {
                audio_bytes += event["audio"].as_str().map_or(0, |a| a.len() * 3 / 4);
            }
            _ => {}
        }
    }
    client
        .send(&json!({"type": "bidi_playback", "played_ms": 800, "response_id": response_id}))
        .await;
    let mut speech = question_samples("twelve-times-seven");
    speech.extend(silence(700));
    client.send_audio(&speech).await;
    client.until(|e| e["type"] == "bidi_interruption").await;
    let truncate = sim
        .wait_for("conversation.item.truncate", |_| true, HANG)
        .await
        .expect("the client truncated the answer");
    assert_eq!(truncate["audio_end_ms"], 800, "{truncate}");
    // The interrupting question is answered in turn.
    let answer = client.until(|e| final_of(e, "assistant")).await;
    assert!(
        answer
            .iter()
            .any(|e| final_of(e, "user") && e["text"] == "What is twelve times seven?"),
        "{answer:#?}"
    );
    assert!(server.metric("bidi_interruptions_total", None).await >= 1.0);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_nothing_costs_bounded_memory() {
    // Each question is answered at once with two minutes of audio (5.8 MB of PCM, 7.7 MB
    // as base64): a server queueing it all for a client that does not read would grow by
    // tens of megabytes.
    let script = Script::new().always(
        Trigger::Text {
            contains: String::new(),
        },
        vec![
            Action::Say {
                text: "Here is a long answer.".into(),
                chunk: 0,
            },
            Action::Speak {
                ms: 120_000,
                frame_ms: 100,
            },
            Action::EndTurn,
        ],
    );
    let sim = OpenAiSim::start_with(
        script,
        OpenAiSimOptions {
            skip_audio_recording: true,
            ..OpenAiSimOptions::default()
        },
    )
    .await
    .expect("sim");
    let server = Server::start(&["--provider", "openai", "--endpoint", &sim.url()]);
    let mut client = Client::connect(&server.ws("/ws")).await;
    // Warm up: one answer read in full start to end, so allocator pools exist before the
    // baseline.
    client.say("warm up").await;
    client
        .until(|e| e["type"] == "bidi_response_complete")
        .await;
    let before = server.rss_kib();
    for _ in 0..5 {
        client.say("tell me everything").await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let after = server.rss_kib();
    let grown_mib = after.saturating_sub(before) / 1024;
    println!("server RSS {before} KiB → {after} KiB while a client read nothing");
    assert!(
        grown_mib < 20,
        "RSS grew {grown_mib} MiB ({before} → {after} KiB) for a client that reads nothing"
    );
    assert!(server.metric("bidi_ws_audio_dropped_total", None).await > 0.0);
    // Another client is served meanwhile.
    let mut other = Client::connect(&server.ws("/ws")).await;
    other.say("hello").await;
    other.until(|e| final_of(e, "assistant")).await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_count_a_known_conversation() {
    let server = Server::start(&[]);
    let mut client = Client::connect(&server.ws("/ws")).await;
    client.say("What is 12 times 7?").await;
    let mut received = client.until(|e| final_of(e, "assistant")).await.len();
    received += client
        .until(|e| e["type"] == "bidi_response_complete")
        .await
        .len();
    client.ws.close(None).await.expect("closes");
    let active = server
        .metric_once("bidi_sessions_active", |n| n == 0.0)
        .await;
    assert_eq!(active, 0.0);
    assert_eq!(server.metric("bidi_sessions_total", None).await, 1.0);
    assert_eq!(server.metric("bidi_ws_messages_in_total", None).await, 1.0);
    let out = server.metric("bidi_ws_messages_out_total", None).await;
    assert!(out >= received as f64, "{out} < {received}");
    assert_eq!(
        server.metric("bidi_first_audio_seconds_count", None).await,
        1.0
    );
    assert_eq!(server.metric("bidi_interruptions_total", None).await, 0.0);
    assert_eq!(
        server.metric("bidi_ws_audio_dropped_total", None).await,
        0.0
    );
}
