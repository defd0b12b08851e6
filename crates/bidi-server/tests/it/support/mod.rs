//! The `bidi-server` binary as a user runs it, and a WebSocket client for it.

use std::io::{BufRead, BufReader, Read as _};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any one wait may take before a test fails.
pub const HANG: Duration = Duration::from_secs(30);

/// The credentials variables a test server must not see (it would leave the simulator).
const CREDENTIALS: [&str; 6] = [
    "OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "BIDI_SERVER_TOKEN",
];

/// A running `bidi-server`, killed when dropped.
pub struct Server {
    pub child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the binary with `args` (and `--listen 127.0.0.1:0`), waits for its first line.
    pub fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    /// As [`Self::start`], with more environment variables.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_bidi-server"));
        command
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "bidi_server=debug,warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for key in CREDENTIALS {
            command.env_remove(key);
        }
        command.env_remove("TWILIO_AUTH_TOKEN");
        command.envs(env.iter().copied());
        let mut child = command.spawn().expect("bidi-server starts");
        let stdout = child.stdout.take().expect("stdout piped");
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("a first line");
        let Some(addr) = first.trim().strip_prefix("listening on http://") else {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("first line {first:?}; stderr: {err}");
        };
        // Logs go to a drained pipe so a chatty server never blocks.
        if let Some(mut stderr) = child.stderr.take() {
            std::thread::spawn(move || {
                let mut sink = String::new();
                let _ = stderr.read_to_string(&mut sink);
                if std::env::var_os("BIDI_SERVER_TEST_LOGS").is_some() {
                    eprintln!("{sink}");
                }
            });
        }
        Self {
            addr: addr.to_owned(),
            child,
        }
    }

    /// `ws://ADDR{path}`.
    pub fn ws(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// The server's resident memory in KiB (Linux `/proc`).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmRSS")
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// The value of the metric line `name` (with labels, as printed) in `/metrics`.
    pub async fn metric(&self, name: &str, token: Option<&str>) -> f64 {
        let text = http_get(&self.addr, "/metrics", token).await.1;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no metric {name} in {text}"))
    }

    /// The metric `name` (no token) once `settled` holds for it, polled every 50 ms for up
    /// to 5 s; the last value read when it never does.
    pub async fn metric_once(&self, name: &str, settled: impl Fn(f64) -> bool) -> f64 {
        let mut value = self.metric(name, None).await;
        for _ in 0..100 {
            if settled(value) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            value = self.metric(name, None).await;
        }
        value
    }
}

/// A plain HTTP/1.1 GET over a fresh connection: (status, body).
pub async fn http_get(addr: &str, target: &str, bearer: Option<&str>) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    let auth = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let request =
        format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut response = Vec::new();
    tokio::time::timeout(HANG, stream.read_to_end(&mut response))
        .await
        .expect("answered in time")
        .expect("reads");
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

/// A WebSocket client of the server.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How an upgrade attempt ended.
pub enum Upgrade {
    /// Connected.
    Open(Box<Client>),
    /// Refused with this HTTP status.
    Refused(u16),
}

impl Client {
    /// Connects to `url`, optionally with a bearer token header.
    pub async fn try_connect(url: &str, bearer: Option<&str>) -> Upgrade {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = url.into_client_request().expect("a request");
        if let Some(t) = bearer {
            request.headers_mut().insert(
                "authorization",
                format!("Bearer {t}").parse().expect("header"),
            );
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((ws, _)) => Upgrade::Open(Box::new(Self { ws })),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Upgrade::Refused(response.status().as_u16())
            }
            Err(e) => panic!("connecting to {url}: {e}"),
        }
    }

    /// Connects to `url`; panics when refused.
    pub async fn connect(url: &str) -> Self {
        match Self::try_connect(url, None).await {
            Upgrade::Open(c) => *c,
            Upgrade::Refused(s) => panic!("{url} refused with {s}"),
        }
    }

    /// Sends `event` as a JSON text frame.
    pub async fn send(&mut self, event: &Value) {
        self.ws
            .send(Message::text(event.to_string()))
            .await
            .expect("sends");
    }

    /// Sends a user text turn.
    pub async fn say(&mut self, text: &str) {
        self.send(&json!({"type": "bidi_text_input", "text": text, "role": "user"}))
            .await;
    }

    /// Sends 16 kHz mono PCM16 `samples` as 20 ms `bidi_audio_input` frames, as fast as the
    /// socket takes them.
    pub async fn send_audio(&mut self, samples: &[i16]) {
        use base64::Engine;
        for chunk in samples.chunks(320) {
            let bytes: Vec<u8> = chunk.iter().flat_map(|s| s.to_le_bytes()).collect();
            let audio = base64::engine::general_purpose::STANDARD.encode(bytes);
            self.send(
                &json!({"type": "bidi_audio_input", "audio": audio, "format": "pcm",
                "sample_rate": 16000, "channels": 1}),
            )
            .await;
        }
    }

    /// The next event, or `Err` with the close frame (or `None` at the stream's end).
    pub async fn next(&mut self) -> Result<Value, Option<CloseFrame>> {
        loop {
            let frame = tokio::time::timeout(HANG, self.ws.next())
                .await
                .expect("a frame in time");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    return Ok(serde_json::from_str(text.as_str()).expect("JSON from the server"));
                }
                Some(Ok(Message::Close(frame))) => return Err(frame),
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("socket error: {e}"),
                None => return Err(None),
            }
        }
    }

    /// Reads until the socket ends by any means (a close frame, a reset, the end): the close
    /// code, if a close frame came.
    pub async fn until_gone(&mut self) -> Option<u16> {
        loop {
            let frame = tokio::time::timeout(HANG, self.ws.next())
                .await
                .expect("the socket ends in time");
            match frame {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Events until one matches `pred` (returned last); panics on a close first.
    pub async fn until(&mut self, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            match self.next().await {
                Ok(event) => {
                    let done = pred(&event);
                    seen.push(event);
                    if done {
                        return seen;
                    }
                }
                Err(close) => panic!("closed ({close:?}) before a match; saw {seen:#?}"),
            }
        }
    }

    /// Reads events until the assistant's final transcript and the answer's audio have both
    /// arrived, in whichever order (a provider streams the words with the audio and
    /// finalises them after it).
    pub async fn until_answered(&mut self) -> Vec<Value> {
        let mut seen = self
            .until(|e| final_of(e, "assistant") || e["type"] == "bidi_audio_stream")
            .await;
        let last_is_final = seen.last().is_some_and(|e| final_of(e, "assistant"));
        let more = if last_is_final {
            self.until(|e| e["type"] == "bidi_audio_stream").await
        } else {
            self.until(|e| final_of(e, "assistant")).await
        };
        seen.extend(more);
        seen
    }

    /// Reads events until the server's close frame; returns its code.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            match self.next().await {
                Ok(_) => {}
                Err(frame) => return frame.map(|f| u16::from(f.code)),
            }
        }
    }
}

/// Whether `event` is a final transcript of `role`.
pub fn final_of(event: &Value, role: &str) -> bool {
    event["type"] == "bidi_transcript_stream" && event["role"] == role && event["is_final"] == true
}

/// The mono 16-bit samples of one of the server's embedded reference questions.
pub fn question_samples(name: &str) -> Vec<i16> {
    let path = format!("{}/assets/{name}.wav", env!("CARGO_MANIFEST_DIR"));
    let reader = hound::WavReader::open(&path).expect("the question WAV");
    assert_eq!(reader.spec().sample_rate, 16_000);
    reader
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .expect("samples")
}

/// `ms` of silence at 16 kHz.
pub fn silence(ms: usize) -> Vec<i16> {
    vec![0; ms * 16]
}

/// bidi-sim's OpenAI server playing the server's own scenario at real time, as a provider
/// outside the server process (so tests can read what the client sent it).
pub async fn realtime_sim() -> bidi_sim::openai::OpenAiSimHandle {
    bidi_sim::openai::OpenAiSim::start_with(
        bidi_server::assistant::served_script(),
        bidi_sim::openai::OpenAiSimOptions {
            realtime: true,
            skip_audio_recording: true,
            ..bidi_sim::openai::OpenAiSimOptions::default()
        },
    )
    .await
    .expect("the simulator starts")
}
