//! A WebSocket server: browsers or phones send the reference's dict events
//! (`bidi_text_input`, `bidi_audio_input`, `bidi_image_input`) as JSON text frames; each
//! client gets its own agent, and every event the agent yields is streamed back as one JSON
//! text frame. Built on axum 0.8 (`ws` feature).
//!
//! ```text
//! cargo run --example ws_server                                # demo: serve, connect a client, ask, exit
//! cargo run --example ws_server -- --serve 127.0.0.1:8080      # serve until Ctrl-C at ws://127.0.0.1:8080/ws
//! ```
//!
//! A client frame that is not a valid input event is answered with a `bidi_error` event
//! naming what was wrong, and the conversation goes on. Offline: each client's agent talks to
//! the OpenAI Realtime simulator (with the quickstart's demo scenario and calculator tool);
//! give the agent a real model to serve real conversations.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt;
use bidi_agent::BidiAgent;
use bidi_agent::types::{
    BidiAgentEvent, BidiErrorEvent, BidiInput, BidiInputEvent, BidiOutput, IoError,
};
use bidi_examples::assistant::{demo, tools};
use bidi_examples::offline::{BoxError, openai_model};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// Client frames as input events; invalid ones are answered with a `bidi_error` and skipped.
struct WsInput {
    frames: SplitStream<WebSocket>,
    replies: mpsc::Sender<String>,
}

#[bidi_agent::async_trait]
impl BidiInput for WsInput {
    async fn read(&mut self) -> Result<Option<BidiInputEvent>, IoError> {
        while let Some(frame) = self.frames.next().await {
            let text = match frame {
                Ok(Message::Text(text)) => text,
                Ok(Message::Close(_)) | Err(_) => return Ok(None),
                Ok(_) => continue,
            };
            match BidiInputEvent::from_json_str(text.as_str()) {
                Ok(event) => return Ok(Some(event)),
                Err(e) => {
                    let error = BidiErrorEvent::new(e.to_string(), "InvalidInput");
                    let reply = BidiAgentEvent::from(error).to_json().to_string();
                    if self.replies.send(reply).await.is_err() {
                        return Ok(None);
                    }
                }
            }
        }
        Ok(None)
    }
}

/// Agent events as JSON text frames, through the connection's writer task.
struct WsOutput {
    frames: mpsc::Sender<String>,
}

#[bidi_agent::async_trait]
impl BidiOutput for WsOutput {
    async fn write(&mut self, event: &BidiAgentEvent) -> Result<(), IoError> {
        self.frames
            .send(event.to_json().to_string())
            .await
            .map_err(|_| IoError::Closed("the client is gone".into()))
    }
}

/// Writes queued frames to the client until every sender is gone.
async fn write_frames(mut sink: SplitSink<WebSocket, Message>, mut frames: mpsc::Receiver<String>) {
    while let Some(frame) = frames.recv().await {
        if sink.send(Message::Text(frame.into())).await.is_err() {
            break;
        }
    }
    sink.close().await.ok();
}

/// One client's conversation: its own agent, until the client leaves.
async fn session(socket: WebSocket) {
    let (sink, stream) = socket.split();
    let (frames_tx, frames_rx) = mpsc::channel(64);
    let writer = tokio::spawn(write_frames(sink, frames_rx));
    let agent = match openai_model(demo::script()).await {
        Ok((sim, model)) => match BidiAgent::builder(model)
            .tool(tools::calculator)
            .tool(tools::current_time)
            .build()
        {
            Ok(agent) => Some((sim, agent)),
            Err(e) => {
                tracing::warn!("error=<{e}> | could not build the agent");
                None
            }
        },
        Err(e) => {
            tracing::warn!("error=<{e}> | could not start the model");
            None
        }
    };
    if let Some((sim, agent)) = agent {
        let input = WsInput {
            frames: stream,
            replies: frames_tx.clone(),
        };
        let output = WsOutput { frames: frames_tx };
        // The client leaving ends the input; the run then ends when the output fails or the
        // model closes, and `run` stops everything on the way out.
        if let Err(e) = agent
            .run(vec![Box::new(input)], vec![Box::new(output)], None)
            .await
        {
            tracing::debug!("error=<{e}> | session ended");
        }
        sim.shutdown().await;
    }
    writer.await.ok();
}

async fn upgrade(ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(session)
}

/// Serves `/ws` on `addr`; returns the bound address and the server task.
async fn serve(
    addr: SocketAddr,
) -> Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>), BoxError> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new().route("/ws", get(upgrade));
    // Audio frames are small and go both ways: without TCP_NODELAY each write waits for
    // the peer's delayed ACK.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let task = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((bound, task))
}

/// The demo client: sends a bad frame and a question, returns the events until the answer
/// after the tool's result.
async fn demo_client(url: &str) -> Result<Vec<Value>, BoxError> {
    use tokio_tungstenite::tungstenite::Message as Frame;
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    ws.send(Frame::text(json!({"type": "bidi_text_input"}).to_string()))
        .await?;
    let question =
        json!({"type": "bidi_text_input", "text": "What is 12 times 7?", "role": "user"});
    ws.send(Frame::text(question.to_string())).await?;
    let mut events = Vec::new();
    let mut answered = false;
    while let Some(frame) = ws.next().await {
        let Frame::Text(text) = frame? else { continue };
        let event: Value = serde_json::from_str(text.as_str())?;
        println!("{}", short(&event));
        answered |= event["type"] == "tool_result";
        let done =
            answered && event["type"] == "bidi_transcript_stream" && event["is_final"] == true;
        events.push(event);
        if done {
            break;
        }
    }
    ws.close(None).await.ok();
    Ok(events)
}

/// The event with long audio cut, for printing.
fn short(event: &Value) -> String {
    let mut event = event.clone();
    if let Some(audio) = event.get_mut("audio")
        && let Some(text) = audio.as_str()
    {
        *audio = Value::from(format!("<{} base64 chars>", text.len()));
    }
    event.to_string()
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, addr] if flag == "--serve" => {
            let addr: SocketAddr = addr.parse()?;
            let (bound, task) = serve(addr).await?;
            println!("serving ws://{bound}/ws (Ctrl-C ends)");
            tokio::select! {
                served = task => served??,
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        [] => {
            let (bound, task) = serve(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
            demo_client(&format!("ws://{bound}/ws")).await?;
            task.abort();
        }
        _ => return Err("usage: ws_server [--serve ADDR]".into()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_gets_an_error_for_a_bad_frame_then_its_answer() {
        let (bound, task) = serve(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("server");
        let url = format!("ws://{bound}/ws");
        let events = tokio::time::timeout(std::time::Duration::from_secs(30), demo_client(&url))
            .await
            .expect("answered in time")
            .expect("client");
        // The reply to the bad frame and the agent's `bidi_connection_start` race; the
        // error comes before any answer.
        let error_at = events
            .iter()
            .position(|e| e["type"] == "bidi_error")
            .expect("an error for the bad frame");
        let answer_at = events
            .iter()
            .position(|e| e["type"] == "bidi_response_start")
            .expect("an answer");
        assert!(error_at < answer_at, "{events:?}");
        assert!(
            events[error_at]["message"]
                .as_str()
                .is_some_and(|m| m.contains("text"))
        );
        let result = events
            .iter()
            .find(|e| e["type"] == "tool_result")
            .expect("the calculator ran");
        assert_eq!(result["tool_result"]["content"][0]["text"], "84");
        assert_eq!(
            events.last().map(|e| e["text"].clone()),
            Some(Value::from("12 times 7 is 84."))
        );
        task.abort();
    }
}
