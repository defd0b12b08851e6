//! One `InvokeModelWithBidirectionalStream` request: reads the client's input frames,
//! records every event, fires the script's rules and streams the answers back.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::{Bytes, BytesMut};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Incoming as IncomingBody;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::Shared;
use super::frame::{Inbound, decode_input};
use super::nova::{BodyTx, Job, Responder};
use crate::auth;
use crate::hearing::{Heard, Listener};
use crate::script::ScriptState;

/// The response body type.
pub(crate) type Body = BoxBody<Bytes, std::io::Error>;

/// Frames queued for the client before the answering task waits.
const BODY_CAPACITY: usize = 64;

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut r = Response::new(
        Full::new(Bytes::from_static(text.as_bytes()))
            .map_err(|never| match never {})
            .boxed(),
    );
    *r.status_mut() = status;
    r
}

/// An AWS JSON error: `status`, `x-amzn-errortype: <kind>` and `body`.
fn aws_error(status: StatusCode, kind: &'static str, body: String) -> Response<Body> {
    let mut r = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed(),
    );
    *r.status_mut() = status;
    let headers = r.headers_mut();
    headers.insert(
        "x-amzn-errortype",
        hyper::header::HeaderValue::from_static(kind),
    );
    headers.insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        "x-amzn-requestid",
        hyper::header::HeaderValue::from_static("sim-request"),
    );
    r
}

/// How long a refused request's body is still read after the refusal.
const REFUSED_BODY_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// `response` to a stream request refused before it opened, with the request body still
/// read (and dropped) in the background for [`REFUSED_BODY_GRACE`]: the client keeps writing
/// its event stream until it reads the answer, and a server that stopped reading would have
/// the connection closed under that write, so the client would see a broken pipe instead of
/// the refusal (as it never does against Bedrock).
fn refuse(req: Request<IncomingBody>, response: Response<Body>) -> Response<Body> {
    let mut body = req.into_body();
    tokio::spawn(async move {
        let drain = async { while let Some(Ok(_)) = body.frame().await {} };
        let _ = tokio::time::timeout(REFUSED_BODY_GRACE, drain).await;
    });
    response
}

/// Whether `path` is Bedrock's `InvokeModelWithBidirectionalStream` path,
/// `/model/MODEL_ID/invoke-with-bidirectional-stream`, and nothing else (a doubled or
/// prefixed path is refused, as by the real service).
fn is_operation_path(path: &str) -> bool {
    path.strip_prefix("/model/")
        .and_then(|rest| rest.strip_suffix("/invoke-with-bidirectional-stream"))
        .is_some_and(|model| !model.is_empty() && !model.contains('/'))
}

/// Answers one HTTP request.
pub(crate) async fn handle(
    req: Request<IncomingBody>,
    shared: Arc<Shared>,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_owned();
    if req.method() != Method::POST || !is_operation_path(&path) {
        return Ok(plain(StatusCode::NOT_FOUND, "not found"));
    }
    if !req.headers().contains_key("authorization") {
        return Ok(refuse(
            req,
            plain(StatusCode::FORBIDDEN, "missing SigV4 authorization"),
        ));
    }
    if let Some(required) = shared.required_key() {
        let presented = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(auth::aws_access_key_id);
        if presented != Some(required.as_str()) {
            tracing::debug!("path=<{path}> | sim bedrock: unknown access key id rejected");
            let body = serde_json::json!({ "message": auth::AWS_INVALID_TOKEN }).to_string();
            return Ok(refuse(
                req,
                aws_error(StatusCode::FORBIDDEN, auth::AWS_UNRECOGNIZED_CLIENT, body),
            ));
        }
    }
    if shared.refuse.load(std::sync::atomic::Ordering::SeqCst) {
        let error = aws_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailableException",
            r#"{"message":"simulated: service unavailable"}"#.to_owned(),
        );
        return Ok(refuse(req, error));
    }
    let index = shared.open_connection(format!("{:?}", req.version()));
    tracing::debug!("connection=<{index}>, path=<{path}> | bidirectional stream opened");
    let (tx, mut rx) = mpsc::channel(BODY_CAPACITY);
    tokio::spawn(read_input(req.into_body(), tx, shared, index));
    // Like Bedrock, send the response headers only with the first output event: the SDK's
    // `send()` does not return before, so a client that waits for it before feeding input
    // hangs here as it would against the service.
    let first = rx.recv().await;
    let body = StreamBody::new(tokio_stream::iter(first).chain(ReceiverStream::new(rx))).boxed();
    let mut response = Response::new(body);
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/vnd.amazon.eventstream"),
    );
    response.headers_mut().insert(
        "x-amzn-requestid",
        hyper::header::HeaderValue::from_static("sim-request"),
    );
    Ok(response)
}

/// What the simulator knows of one input content.
#[derive(Debug, Clone, Default)]
struct ContentInfo {
    kind: String,
    role: String,
    interactive: bool,
    tool_use_id: Option<String>,
}

/// Per-stream input state.
struct Input {
    shared: Arc<Shared>,
    index: usize,
    script: ScriptState,
    jobs: mpsc::Sender<Job>,
    contents: HashMap<String, ContentInfo>,
    audio_rate: u32,
    audio_channels: u32,
    voiced_bytes: u64,
    /// Turn detection and recognition, when the script has utterances (made at the audio
    /// content's start, which gives the rate).
    listener: Option<Listener>,
}

impl Input {
    fn audio_ms(&self) -> u64 {
        let per_sec = u64::from(self.audio_rate.max(1)) * 2 * u64::from(self.audio_channels.max(1));
        self.voiced_bytes * 1000 / per_sec
    }

    /// Answers the end of each utterance as Nova Sonic does: the USER transcript (when
    /// recognized), then the script's answer.
    async fn on_heard(&mut self, heard: Vec<Heard>) {
        for h in heard {
            let actions = self.script.on_heard(&h);
            self.run(actions).await;
        }
    }

    async fn run(&mut self, actions: Option<Vec<crate::Action>>) {
        if let Some(actions) = actions {
            self.jobs.send(Job::Actions(actions)).await.ok();
        }
    }

    /// Handles one client event; returns whether the session goes on.
    async fn event(&mut self, event: Value) -> bool {
        self.shared.record(self.index, event.clone());
        let Some((name, body)) = event
            .get("event")
            .and_then(Value::as_object)
            .and_then(|o| o.iter().next())
            .map(|(k, v)| (k.clone(), v.clone()))
        else {
            tracing::warn!("connection=<{}> | event without `event` object", self.index);
            return true;
        };
        let s = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        match name.as_str() {
            "promptStart" => {
                let output_rate = body
                    .pointer("/audioOutputConfiguration/sampleRateHertz")
                    .and_then(Value::as_u64)
                    .and_then(|r| u32::try_from(r).ok())
                    .unwrap_or(16_000);
                self.jobs
                    .send(Job::Prompt {
                        name: s("promptName"),
                        output_rate,
                    })
                    .await
                    .ok();
            }
            "contentStart" => {
                let info = ContentInfo {
                    kind: s("type"),
                    role: s("role"),
                    interactive: body.get("interactive").and_then(Value::as_bool) == Some(true),
                    tool_use_id: body
                        .pointer("/toolResultInputConfiguration/toolUseId")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                };
                if info.kind == "AUDIO" {
                    let cfg = |k: &str, d: u32| {
                        body.pointer(&format!("/audioInputConfiguration/{k}"))
                            .and_then(Value::as_u64)
                            .and_then(|v| u32::try_from(v).ok())
                            .unwrap_or(d)
                    };
                    self.audio_rate = cfg("sampleRateHertz", 16_000);
                    self.audio_channels = cfg("channelCount", 1);
                    self.listener = self.script.script().listener(self.audio_rate);
                    let actions = self.script.on_connect();
                    self.run(actions).await;
                }
                self.contents.insert(s("contentName"), info);
            }
            "textInput" => {
                let info = self
                    .contents
                    .get(&s("contentName"))
                    .cloned()
                    .unwrap_or_default();
                if info.interactive && info.role == "USER" {
                    let actions = self.script.on_text(&s("content"));
                    self.run(actions).await;
                }
            }
            "audioInput" => {
                let pcm = B64.decode(s("content")).unwrap_or_default();
                if let Some(listener) = self.listener.as_mut() {
                    let heard = listener.push_pcm16(&pcm);
                    self.on_heard(heard).await;
                    return true;
                }
                // Silence keeps the stream alive; only sound counts as the user speaking.
                if pcm.iter().any(|b| *b != 0) {
                    self.voiced_bytes += pcm.len() as u64;
                    let actions = self.script.on_audio(self.audio_ms());
                    if actions.is_some() {
                        self.voiced_bytes = 0;
                    }
                    self.run(actions).await;
                }
            }
            "toolResult" => {
                let info = self
                    .contents
                    .get(&s("contentName"))
                    .cloned()
                    .unwrap_or_default();
                let id = info.tool_use_id.unwrap_or_default();
                let output = Value::from(s("content"));
                let actions = self.script.on_tool_output(&id, &output);
                self.run(actions).await;
            }
            "contentEnd" => {
                let audio = self
                    .contents
                    .get(&s("contentName"))
                    .is_some_and(|c| c.kind == "AUDIO");
                if audio && let Some(listener) = self.listener.as_mut() {
                    let heard = listener.finish();
                    self.on_heard(heard).await;
                }
            }
            "sessionEnd" => return false,
            _ => {}
        }
        true
    }
}

/// Reads input frames until the client ends its stream or sends `sessionEnd`.
async fn read_input(mut body: IncomingBody, tx: BodyTx, shared: Arc<Shared>, index: usize) {
    let (jobs, jobs_rx) = mpsc::channel(32);
    let responder = tokio::spawn(Responder::new(tx).run(jobs_rx));
    let mut input = Input {
        script: ScriptState::new(shared.script.clone()),
        shared,
        index,
        jobs,
        contents: HashMap::new(),
        audio_rate: 16_000,
        audio_channels: 1,
        voiced_bytes: 0,
        listener: None,
    };
    let mut buf = BytesMut::new();
    let mut decoder = MessageFrameDecoder::new();
    'read: while let Some(frame) = body.frame().await {
        let data = match frame {
            Ok(f) => match f.into_data() {
                Ok(d) => d,
                Err(_) => continue,
            },
            Err(e) => {
                tracing::debug!("connection=<{index}>, error=<{e}> | input stream broke");
                break;
            }
        };
        buf.extend_from_slice(&data);
        loop {
            match decoder.decode_frame(&mut buf) {
                Ok(DecodedFrame::Complete(message)) => match decode_input(&message) {
                    Ok(Inbound::Event(event)) => {
                        if !input.event(event).await {
                            break 'read;
                        }
                    }
                    Ok(Inbound::End) => break 'read,
                    Err(e) => tracing::warn!("connection=<{index}>, error=<{e}> | bad input frame"),
                },
                Ok(DecodedFrame::Incomplete) => break,
                Err(e) => {
                    tracing::warn!("connection=<{index}>, error=<{e}> | undecodable input");
                    break 'read;
                }
            }
        }
    }
    tracing::debug!("connection=<{index}> | input ended");
    // Let the answers already asked for go out, then end the response.
    drop(input);
    responder.await.ok();
}
