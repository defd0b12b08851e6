//! Phone calls: the TwiML, Twilio's signatures, and calls over the Media Streams socket
//! driven by a Twilio-protocol client written for the tests ([`phone`]: it plays what it
//! receives on a simulated clock and echoes each mark when the audio before it has played,
//! as Twilio does), the provider being bidi-sim's OpenAI server (Gemini's for a PCM one).

use std::time::Duration;

use bidi_server::twilio::signature::TwilioSigner;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::{HANG, Server, question_samples, realtime_sim, silence};

mod phone;

use phone::{Phone, assert_audible};

const AUTH_TOKEN: &str = "twilio-auth-token";
const PUBLIC: &str = "https://voice.example.com";

/// A raw HTTP/1.1 POST of a form: (status, content type, body).
async fn post_form(
    addr: &str,
    target: &str,
    form: &[(&str, &str)],
    signature: Option<&str>,
) -> (u16, String, String) {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let sig = signature.map_or(String::new(), |s| format!("X-Twilio-Signature: {s}\r\n"));
    let request = format!(
        "POST {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n{sig}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut response = Vec::new();
    tokio::time::timeout(HANG, stream.read_to_end(&mut response))
        .await
        .expect("in time")
        .expect("reads");
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type:")
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

fn params(form: &[(&str, &str)]) -> Vec<(String, String)> {
    form.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_voice_webhook_answers_with_twiml_connecting_the_stream() {
    let server = Server::start(&["--token", "browser-only"]);
    let form = [
        ("CallSid", "CA123"),
        ("From", "+15551234567"),
        ("To", "+15557654321"),
    ];
    let (status, content_type, xml) = post_form(&server.addr, "/twilio/voice", &form, None).await;
    assert_eq!(status, 200, "{xml}");
    assert!(content_type.starts_with("text/xml"), "{content_type}");
    let stream = format!(r#"<Stream url="wss://{}/twilio/media">"#, server.addr);
    assert!(
        xml.contains("<Response><Connect>") && xml.contains(&stream),
        "{xml}"
    );
    assert!(
        !xml.contains("/twilio/media?"),
        "a query string in the Stream URL: {xml}"
    );
    assert!(
        xml.contains(r#"<Parameter name="from" value="+15551234567"/>"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<Parameter name="call_sid" value="CA123"/>"#),
        "{xml}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_are_checked_when_the_auth_token_is_set() {
    let mut server = Server::start_with_env(
        &["--public-url", PUBLIC],
        &[("TWILIO_AUTH_TOKEN", AUTH_TOKEN)],
    );
    let signer = TwilioSigner::new(AUTH_TOKEN).expect("signer");
    let form = [("CallSid", "CA9"), ("From", "+1555"), ("To", "+1666")];
    let good = signer.sign(&format!("{PUBLIC}/twilio/voice?x=1"), &params(&form));
    let (status, _, xml) = post_form(&server.addr, "/twilio/voice?x=1", &form, Some(&good)).await;
    assert_eq!(status, 200, "{xml}");
    assert!(
        xml.contains(r#"url="wss://voice.example.com/twilio/media""#),
        "{xml}"
    );
    let wrong = TwilioSigner::new("other")
        .expect("signer")
        .sign(&format!("{PUBLIC}/twilio/voice?x=1"), &params(&form));
    for signature in [Some(wrong.as_str()), None, Some("")] {
        let (status, _, _) = post_form(&server.addr, "/twilio/voice?x=1", &form, signature).await;
        assert_eq!(status, 403, "{signature:?}");
    }
    // A changed parameter breaks the signature.
    let tampered = [("CallSid", "CA9"), ("From", "+1999"), ("To", "+1666")];
    assert_eq!(
        post_form(&server.addr, "/twilio/voice?x=1", &tampered, Some(&good))
            .await
            .0,
        403
    );

    // The socket: signed over the wss:// Stream URL alone.
    let url = format!("ws://{}/twilio/media", server.addr);
    let stream_sig = signer.sign("wss://voice.example.com/twilio/media", &[]);
    for (signature, expected) in [
        (Some(stream_sig.as_str()), 101),
        (Some(good.as_str()), 403),
        (None, 403),
    ] {
        let mut request = url.as_str().into_client_request().expect("request");
        if let Some(s) = signature {
            request
                .headers_mut()
                .insert("x-twilio-signature", s.parse().expect("header"));
        }
        let status = match tokio_tungstenite::connect_async(request).await {
            Ok(_) => 101,
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => r.status().as_u16(),
            Err(e) => panic!("{e}"),
        };
        assert_eq!(status, expected, "{signature:?}");
    }
    let _ = server.child.kill();
}

fn spoken(name: &str) -> Vec<i16> {
    let mut speech = silence(200);
    speech.extend(question_samples(name));
    speech.extend(silence(700));
    speech
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_heard_answered_in_mulaw_and_marked() {
    let sim = realtime_sim().await;
    let dir = tempfile::tempdir().expect("dir");
    let mut server = Server::start(&[
        "--provider",
        "openai",
        "--endpoint",
        &sim.url(),
        "--session-dir",
        dir.path().to_str().expect("utf-8"),
    ]);
    let mut phone = Phone::call(&server, "CA0000000000000000000000000000beef", true).await;
    // Garbage before and during the call is skipped.
    phone
        .ws
        .send(Message::text("{not json"))
        .await
        .expect("sends");
    phone.send(json!({"event": "surprise"})).await;
    phone
        .send(json!({"event": "media", "streamSid": phone.stream_sid, "media": {"payload": "%%%"}}))
        .await;
    phone.speak(&spoken("what-time")).await;
    // The call's model takes and speaks μ-law itself: the audio passes through.
    let update = sim
        .wait_for("session.update", |_| true, HANG)
        .await
        .expect("the session was configured");
    for way in ["input", "output"] {
        assert_eq!(
            update["session"]["audio"][way]["format"],
            json!({"type": "audio/pcmu"}),
            "{update}"
        );
    }
    // The 3 s answer plays out (plus the tool call and the VAD's wait).
    phone.listen(Duration::from_secs(6)).await;
    let total: usize = phone.media.iter().map(Vec::len).sum();
    assert!(
        (2_700 * 8..=3_100 * 8).contains(&total),
        "{total} bytes of μ-law for a 3 s answer"
    );
    // μ-law of a tone: not silence.
    assert_audible(&phone.media);
    assert!(
        phone.echoed_ms.is_some_and(|ms| ms > 2_500),
        "marks echoed: {:?}",
        phone.echoed_ms
    );
    assert_eq!(phone.clears, 0);
    // stop → the server closes the socket, and the call's session is saved.
    phone
        .send(
            json!({"event": "stop", "sequenceNumber": "500", "streamSid": phone.stream_sid,
        "stop": {"accountSid": "AC1", "callSid": "CA0000000000000000000000000000beef"}}),
        )
        .await;
    let stopped = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(3), async {
        while let Some(Ok(m)) = phone.ws.next().await {
            if matches!(m, Message::Close(_)) {
                return true;
            }
        }
        true
    })
    .await;
    assert!(
        closed.is_ok(),
        "not closed within 3 s of stop ({:?})",
        stopped.elapsed()
    );
    let session = dir
        .path()
        .join("session_CA0000000000000000000000000000beef");
    let mut saved = false;
    for _ in 0..100 {
        saved = walk_has_message(&session, "What time is it in Tokyo?");
        if saved {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        saved,
        "the call's session holds the conversation: {}",
        dump(dir.path())
    );
    let _ = server.child.kill();
    sim.shutdown().await;
}

/// Every file under `dir` with its text, for a failure message.
fn dump(dir: &std::path::Path) -> String {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return String::new();
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                dump(&path)
            } else {
                format!(
                    "{}: {}\n",
                    path.display(),
                    std::fs::read_to_string(&path).unwrap_or_default()
                )
            }
        })
        .collect()
}

/// Whether a JSON file under `dir` mentions `text`.
fn walk_has_message(dir: &std::path::Path, text: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let path = e.path();
        if path.is_dir() {
            walk_has_message(&path, text)
        } else {
            std::fs::read_to_string(&path).is_ok_and(|s| s.contains(text))
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_barge_in_clears_the_call_and_truncates_at_the_echoed_marks() {
    let sim = realtime_sim().await;
    let server = Server::start(&["--provider", "openai", "--endpoint", &sim.url()]);
    let mut phone = Phone::call(&server, "CA1", true).await;
    phone.speak(&spoken("what-time")).await;
    // Listen until about a second of the answer has played.
    let deadline = Instant::now() + HANG;
    while phone.echoed_ms.unwrap_or(0) < 1_000 {
        assert!(Instant::now() < deadline, "no answer played");
        phone.listen(Duration::from_millis(50)).await;
    }
    let mut speech = question_samples("twelve-times-seven");
    speech.extend(silence(100));
    phone.speak(&speech).await;
    let heard_before_barge_in = phone.echoed_ms;
    let deadline = Instant::now() + HANG;
    while phone.clears == 0 {
        assert!(Instant::now() < deadline, "no clear");
        phone.listen(Duration::from_millis(20)).await;
    }
    let heard = phone.echoed_ms.expect("marks echoed");
    assert!(heard >= heard_before_barge_in.unwrap_or(0));
    // Nothing of the interrupted answer after the clear: the next audio is the new answer,
    // which the simulator only starts once the interrupting utterance has ended (500 ms of
    // quiet after it, and more audio sent).
    phone.listen(Duration::from_millis(300)).await;
    assert!(
        phone
            .messages_after_clear
            .iter()
            .all(|m| m["event"] != "media"),
        "media after the clear: {:?}",
        phone.messages_after_clear.len()
    );
    let truncate = sim
        .wait_for("conversation.item.truncate", |_| true, HANG)
        .await
        .expect("the answer was truncated");
    let at = truncate["audio_end_ms"].as_u64().expect("audio_end_ms");
    // The server truncates at the marks it has when the barge-in comes; marks the phone
    // echoed just before the clear reached it may still be on their way (on a loaded
    // machine, a chunk or two). So: no later than what the caller heard by the clear (not
    // what was sent), and no earlier than what it had heard when it began to speak.
    let before = heard_before_barge_in.unwrap_or(0);
    assert!(
        at <= heard + 25 && at + 25 >= before,
        "truncated at {at} ms; the caller had heard {before} ms when it spoke, {heard} ms by the clear"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_echoed_marks_a_barge_in_truncates_nothing() {
    let sim = realtime_sim().await;
    // With PCM for the model: the call's audio resampled both ways (and heard so).
    let server = Server::start(&[
        "--provider",
        "openai",
        "--endpoint",
        &sim.url(),
        "--call-audio",
        "pcm",
    ]);
    let mut phone = Phone::call(&server, "CA2", false).await;
    phone.speak(&spoken("what-time")).await;
    let update = sim
        .wait_for("session.update", |_| true, HANG)
        .await
        .expect("the session was configured");
    assert_eq!(
        update["session"]["audio"]["input"]["format"],
        json!({"type": "audio/pcm", "rate": 24000}),
        "{update}"
    );
    let deadline = Instant::now() + HANG;
    while phone.media.len() < 10 {
        assert!(Instant::now() < deadline, "no answer");
        phone.listen(Duration::from_millis(50)).await;
    }
    phone.speak(&question_samples("twelve-times-seven")).await;
    let deadline = Instant::now() + HANG;
    while phone.clears == 0 {
        assert!(Instant::now() < deadline, "no clear");
        phone.listen(Duration::from_millis(20)).await;
    }
    phone.listen(Duration::from_millis(500)).await;
    let truncate = sim
        .wait_for(
            "conversation.item.truncate",
            |_| true,
            Duration::from_millis(500),
        )
        .await;
    assert!(
        truncate.is_none(),
        "truncated though nothing was heard: {truncate:?}"
    );
    sim.shutdown().await;
}

/// A call that says `stop` before its `start` leaves nothing behind: the server closes the
/// socket (1000) and the session is counted as gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_stops_before_its_start_is_closed_and_forgotten() {
    let sim = realtime_sim().await;
    let server = Server::start(&["--provider", "openai", "--endpoint", &sim.url()]);
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/twilio/media", server.addr))
            .await
            .expect("the media socket opens");
    for message in [
        json!({"event": "connected", "protocol": "Call", "version": "1.0.0"}),
        json!({"event": "stop", "sequenceNumber": "2", "streamSid": "MZ1",
            "stop": {"accountSid": "AC1", "callSid": "CA1"}}),
    ] {
        ws.send(Message::text(message.to_string()))
            .await
            .expect("sends");
    }
    let close = tokio::time::timeout(HANG, async {
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Close(frame) = message {
                return frame.map(|f| u16::from(f.code));
            }
        }
        None
    })
    .await
    .expect("the server closes the socket");
    assert_eq!(close, Some(1000));
    let active = server
        .metric_once("bidi_sessions_active", |n| n == 0.0)
        .await;
    assert_eq!(active, 0.0, "the session is still counted");
}

/// A provider that takes PCM (Gemini Live: 16 kHz in, 24 kHz out): the caller's μ-law is
/// resampled up for it and its answer down to μ-law at 8 kHz, marked as it goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pcm_provider_hears_the_call_resampled_and_answers_in_mulaw() {
    use bidi_sim::gemini::{GeminiSim, GeminiSimOptions};
    use bidi_sim::{Action, Script, Trigger};

    let script = Script::new().on(
        Trigger::Audio { min_ms: 400 },
        vec![
            Action::Speak {
                ms: 1_000,
                frame_ms: 0,
            },
            Action::EndTurn,
        ],
    );
    let options = GeminiSimOptions {
        realtime: true,
        ..GeminiSimOptions::default()
    };
    let sim = GeminiSim::start_with(script, options)
        .await
        .expect("the simulator starts");
    let server = Server::start(&["--provider", "gemini", "--endpoint", &sim.url()]);
    let mut phone = Phone::call(&server, "CA3", true).await;
    phone.speak(&silence(600)).await;
    let input = sim
        .wait_for("realtimeInput", |m| m["audio"].is_object(), HANG)
        .await
        .expect("the caller's audio reached the provider");
    assert_eq!(
        input["audio"]["mimeType"], "audio/pcm;rate=16000",
        "resampled to the provider's rate: {input}"
    );
    phone.listen(Duration::from_secs(2)).await;
    let total: usize = phone.media.iter().map(Vec::len).sum();
    assert!(
        (900 * 8..=1_000 * 8).contains(&total),
        "{total} bytes of μ-law at 8 kHz for a 1 s answer"
    );
    assert_audible(&phone.media);
    assert!(
        phone.echoed_ms.is_some_and(|ms| ms >= 900),
        "marks echoed: {:?}",
        phone.echoed_ms
    );
    sim.shutdown().await;
}
