//! The Twilio side of a call, for the tests: a Media Streams peer that sends the caller's
//! audio as μ-law, plays what it receives on a simulated clock, and echoes each mark when
//! the audio before it has played, as Twilio does.

use std::collections::VecDeque;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bidi_agent::audio::dsp::StreamResampler;
use bidi_agent::audio::dsp::g711::{decode_mulaw, encode_mulaw};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::support::Server;

/// A Twilio Media Streams peer: sends the caller's audio, plays what it receives on a
/// simulated clock, echoes marks when their audio has played.
pub(super) struct Phone {
    pub(super) ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
    pub(super) stream_sid: String,
    /// When the audio received so far will have finished playing.
    pub(super) play_until: Instant,
    /// Marks waiting for their audio to play: (name, when due, response ms heard by then).
    pub(super) pending: VecDeque<(String, Instant, u64)>,
    /// Milliseconds of audio received since the last clear.
    pub(super) received_ms: u64,
    /// The heard position of the last mark echoed.
    pub(super) echoed_ms: Option<u64>,
    /// Whether marks are echoed at all.
    pub(super) echo: bool,
    pub(super) media: Vec<Vec<u8>>,
    pub(super) clears: usize,
    pub(super) messages_after_clear: Vec<Value>,
    pub(super) cleared_at: Option<Instant>,
}

impl Phone {
    pub(super) async fn call(server: &Server, call_sid: &str, echo: bool) -> Self {
        let (ws, _) =
            tokio_tungstenite::connect_async(format!("ws://{}/twilio/media", server.addr))
                .await
                .expect("the media socket opens");
        let mut phone = Self {
            ws,
            stream_sid: "MZ0123456789abcdef".into(),
            play_until: Instant::now(),
            pending: VecDeque::new(),
            received_ms: 0,
            echoed_ms: None,
            echo,
            media: Vec::new(),
            clears: 0,
            messages_after_clear: Vec::new(),
            cleared_at: None,
        };
        phone
            .send(json!({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            .await;
        phone
            .send(
                json!({"event": "start", "sequenceNumber": "1", "streamSid": phone.stream_sid,
            "start": {"accountSid": "AC1", "streamSid": phone.stream_sid, "callSid": call_sid,
                "tracks": ["inbound"], "customParameters": {"from": "+1555"},
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}}),
            )
            .await;
        phone
    }

    pub(super) async fn send(&mut self, message: Value) {
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .expect("sends");
    }

    /// Sends 16 kHz speech as 20 ms μ-law chunks at 8 kHz, as fast as the socket takes
    /// them (the server's VAD works on the audio's own timeline).
    pub(super) async fn speak(&mut self, samples_16k: &[i16]) {
        let mut resampler = StreamResampler::new(16_000, 8_000, 1).expect("resampler");
        let floats: Vec<f32> = samples_16k
            .iter()
            .map(|&s| f32::from(s) / 32_768.0)
            .collect();
        let mut out = Vec::new();
        resampler.process(&floats, &mut out).expect("resampled");
        let pcm: Vec<i16> = out
            .iter()
            .map(|&s| bidi_agent::audio::dsp::sample_to_i16(s))
            .collect();
        for (n, chunk) in pcm.chunks(160).enumerate() {
            let mut ulaw = Vec::new();
            encode_mulaw(chunk, &mut ulaw);
            self.send(json!({"event": "media", "sequenceNumber": (n + 2).to_string(), "streamSid": self.stream_sid,
                "media": {"track": "inbound", "chunk": (n + 1).to_string(), "timestamp": (n * 20).to_string(),
                    "payload": BASE64.encode(&ulaw)}})).await;
        }
    }

    /// Handles what arrives (and echoes due marks) for `period`.
    pub(super) async fn listen(&mut self, period: Duration) {
        let end = Instant::now() + period;
        loop {
            let due = self.pending.front().map(|(_, at, _)| *at);
            let wake = due.map_or(end, |d| d.min(end));
            tokio::select! {
                frame = self.ws.next() => match frame {
                    Some(Ok(Message::Text(text))) => self.on_message(serde_json::from_str(text.as_str()).expect("JSON")).await,
                    Some(Ok(Message::Close(_))) | None => return,
                    Some(Ok(_)) => {}
                    Some(Err(e)) => panic!("socket error: {e}"),
                },
                () = tokio::time::sleep_until(wake) => {
                    if Instant::now() >= end { return; }
                    if let Some((name, _, heard)) = self.pending.pop_front() {
                        self.echoed_ms = Some(heard);
                        self.send(json!({"event": "mark", "sequenceNumber": "99", "streamSid": self.stream_sid,
                            "mark": {"name": name}})).await;
                    }
                }
            }
        }
    }

    async fn on_message(&mut self, m: Value) {
        assert_eq!(m["streamSid"], self.stream_sid.as_str(), "{m}");
        if self.cleared_at.is_some() {
            self.messages_after_clear.push(m.clone());
        }
        match m["event"].as_str() {
            Some("media") => {
                let bytes = BASE64
                    .decode(m["media"]["payload"].as_str().expect("payload"))
                    .expect("base64");
                let ms = bytes.len() as u64 / 8;
                let now = Instant::now();
                self.play_until = self.play_until.max(now) + Duration::from_millis(ms);
                self.received_ms += ms;
                self.media.push(bytes);
            }
            Some("mark") => {
                let name = m["mark"]["name"].as_str().expect("name").to_owned();
                if self.echo {
                    self.pending
                        .push_back((name, self.play_until, self.received_ms));
                }
            }
            Some("clear") => {
                self.clears += 1;
                self.cleared_at = Some(Instant::now());
                // Twilio drops the unplayed audio and echoes every pending mark at once.
                self.play_until = Instant::now();
                self.received_ms = 0;
                for (name, _, _) in std::mem::take(&mut self.pending) {
                    self.send(json!({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": name}})).await;
                }
            }
            other => panic!("unexpected message {other:?}: {m}"),
        }
    }
}

/// The μ-law received decodes to sound, not silence: a quarter of its samples loud.
pub(super) fn assert_audible(media: &[Vec<u8>]) {
    let mut pcm = Vec::new();
    decode_mulaw(&media.concat(), &mut pcm);
    let loud = pcm.iter().filter(|s| s.unsigned_abs() > 1_000).count();
    assert!(
        loud > pcm.len() / 4,
        "the answer is audible: {loud} of {}",
        pcm.len()
    );
}
