//! The fuzz targets: one per parser of outside bytes, each with the generator that shapes
//! random bytes like its wire.

use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::{Result, Unstructured};
use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder, write_message_to};
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bidi_types::{
    AudioConfig, BidiAgentEvent, BidiInputEvent, BidiOutputEvent, Channels, SampleRate,
};
use bytes::Bytes;

use crate::mutate::Corpus;
use crate::seeds;

/// One parser under fuzzing.
#[derive(Debug)]
pub struct Target {
    /// The name `cargo xtask fuzz --target` and the regression folder use.
    pub name: &'static str,
    /// What it reads, in a line.
    pub about: &'static str,
    corpus: fn() -> &'static Corpus,
    generate: fn(&Corpus, &mut Unstructured<'_>) -> Result<Vec<u8>>,
    check: fn(&[u8]),
}

impl Target {
    /// Runs the parser on `input`; returns when it is done, whatever it answered. A panic
    /// here is a bug found.
    pub fn check(&self, input: &[u8]) {
        (self.check)(input);
    }

    /// An input shaped like this target's wire, from random bytes.
    pub fn generate(&self, u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
        (self.generate)((self.corpus)(), u)
    }

    /// The seed inputs (valid frames of the protocol).
    pub fn seeds(&self) -> &'static [Vec<u8>] {
        (self.corpus)().seeds()
    }
}

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

macro_rules! corpus {
    ($seeds:expr) => {{
        fn get() -> &'static Corpus {
            static CORPUS: OnceLock<Corpus> = OnceLock::new();
            CORPUS.get_or_init(|| Corpus::new($seeds))
        }
        get
    }};
}

/// Every target.
pub static TARGETS: &[Target] = &[
    Target {
        name: "openai_server_events",
        about: "OpenAI Realtime server events, a conversation of frames, through the client's decoder",
        corpus: corpus!(seeds::lines(seeds::OPENAI_SERVER)),
        generate: |c, u| c.lines(u),
        check: openai_server_events,
    },
    Target {
        name: "gemini_server_messages",
        about: "Gemini Live server messages in binary (or text) frames, through frame classification and the client's decoder",
        corpus: corpus!(seeds::lines(seeds::GEMINI_SERVER)),
        generate: |c, u| c.lines(u),
        check: gemini_server_messages,
    },
    Target {
        name: "nova_server_events",
        about: "Nova Sonic output events (the JSON in each chunk) through the client's decoder",
        corpus: corpus!(seeds::lines(seeds::NOVA_SERVER)),
        generate: |c, u| c.lines(u),
        check: nova_server_events,
    },
    Target {
        name: "nova_event_stream",
        about: "AWS event-stream bytes: frames decoded as the SDK does, then read by the Bedrock simulator (signed input frames) and the Nova client (output chunks)",
        corpus: corpus!({
            let mut s = seeds::lines(seeds::NOVA_CLIENT);
            s.extend(seeds::lines(seeds::NOVA_SERVER));
            s
        }),
        generate: event_stream,
        check: nova_event_stream,
    },
    Target {
        name: "client_events",
        about: "JSON events from a client (what bidi-server's /ws reads) and the output and agent events a client parses back",
        corpus: corpus!({
            let mut s = seeds::lines(seeds::CLIENT_EVENTS);
            s.extend(seeds::reference_events());
            s
        }),
        generate: |c, u| c.lines(u),
        check: client_events,
    },
    Target {
        name: "wav",
        about: "WAV files given to WavInput (--input-wav), read and converted for the model",
        corpus: corpus!(seeds::wav_files()),
        generate: wav_file,
        check: wav,
    },
    Target {
        name: "sim_gemini_client",
        about: "client messages the Gemini simulator reads (protobuf JSON: either key spelling, either base64 alphabet, mediaChunks)",
        corpus: corpus!(seeds::lines(seeds::GEMINI_CLIENT)),
        generate: |c, u| c.lines(u),
        check: sim_gemini_client,
    },
    Target {
        name: "sim_openai_client",
        about: "client events the OpenAI simulator reads, a connection's worth, played against the weather scenario without a socket",
        corpus: corpus!(seeds::lines(seeds::OPENAI_CLIENT)),
        generate: |c, u| c.lines(u),
        check: sim_openai_client,
    },
    Target {
        name: "twilio_frames",
        about: "Twilio Media Streams messages bidi-server's /twilio/media reads: parsed, the caller's μ-law decoded and resampled, mark echoes matched",
        corpus: corpus!(seeds::lines(seeds::TWILIO)),
        generate: |c, u| c.lines(u),
        check: twilio_frames,
    },
    Target {
        name: "sim_scenario",
        about: "bidi-sim scenario files (the simulator's JSON script format)",
        corpus: corpus!(vec![
            include_bytes!("../../bidi-sim/tests/scenarios/weather.json").to_vec(),
            include_bytes!("../../bidi-sim/tests/scenarios/spoken.json").to_vec(),
        ]),
        generate: |c, u| c.frame(u),
        check: sim_scenario,
    },
];

fn frames(input: &[u8]) -> impl Iterator<Item = &[u8]> {
    input.split(|&b| b == b'\n')
}

fn openai_server_events(input: &[u8]) {
    let mut decoder = bidi_model::openai::decode::Decoder::new(Duration::ZERO);
    for frame in frames(input) {
        let _ = decoder.decode(&String::from_utf8_lossy(frame));
    }
}

fn gemini_server_messages(input: &[u8]) {
    use bidi_model::ws::{Inbound, WsIncoming};
    let audio = AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz24000);
    let mut decoder = bidi_model::gemini::Decoder::new("fuzz", audio);
    for frame in frames(input) {
        let incoming = WsIncoming::Binary(frame.to_vec());
        if let Inbound::Text(text) = Inbound::classify(Some(Ok(incoming)), false, "fuzz") {
            let _ = decoder.decode(&text);
        }
    }
}

fn nova_server_events(input: &[u8]) {
    let audio = AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz24000);
    let mut decoder = bidi_model::nova_sonic::Decoder::new(audio);
    for frame in frames(input) {
        let _ = decoder.decode_bytes(frame);
    }
}

fn header(name: &'static str, value: &'static str) -> Header {
    Header::new(name, HeaderValue::String(value.into()))
}

fn encode(message: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = write_message_to(message, &mut out);
    out
}

/// Event-stream bytes: 1 to 4 frames, each a Nova event (seeded, maybe edited) in an output
/// `chunk` or in a client's signed input frame (an inner chunk message inside an outer
/// message with `:chunk-signature`), or an exception; then maybe byte edits of the whole.
fn event_stream(c: &Corpus, u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for _ in 0..u.int_in_range(1..=4u8)? {
        let event = c.frame(u)?;
        let payload = serde_json::json!({ "bytes": B64.encode(&event) }).to_string();
        let chunk = Message::new(Bytes::from(payload))
            .add_header(header(":message-type", "event"))
            .add_header(header(":event-type", "chunk"))
            .add_header(header(":content-type", "application/json"));
        let frame = match u.int_in_range(0..=3u8)? {
            0 | 1 => encode(&chunk),
            2 => {
                let signature: [u8; 32] = u.arbitrary()?;
                let outer = Message::new(Bytes::from(encode(&chunk)))
                    .add_header(Header::new(
                        ":chunk-signature",
                        HeaderValue::ByteArray(Bytes::copy_from_slice(&signature)),
                    ))
                    .add_header(Header::new(
                        ":date",
                        HeaderValue::Timestamp(aws_smithy_types::DateTime::from_secs(
                            u.arbitrary::<u32>()?.into(),
                        )),
                    ));
                encode(&outer)
            }
            _ => encode(
                &Message::new(Bytes::from(r#"{"message":"boom"}"#))
                    .add_header(header(":message-type", "exception"))
                    .add_header(header(":exception-type", "validationException")),
            ),
        };
        out.extend(frame);
    }
    if u.ratio(1, 3)? {
        out = c.bytes(u, &out)?;
    }
    Ok(out)
}

fn nova_event_stream(input: &[u8]) {
    let audio = AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz24000);
    let mut client = bidi_model::nova_sonic::Decoder::new(audio);
    let mut frames = MessageFrameDecoder::new();
    let mut buffer = Bytes::copy_from_slice(input);
    // Each round consumes a whole frame or ends: a frame decoder that kept returning
    // frames without consuming bytes would be a bug (the bound makes it a failure).
    for _ in 0..=input.len() {
        match frames.decode_frame(&mut buffer) {
            Ok(DecodedFrame::Complete(message)) => {
                let _ = bidi_sim::bedrock::decode_input(&message);
                let payload: serde_json::Value = match serde_json::from_slice(message.payload()) {
                    Ok(v) => v,
                    Err(_) => continue,
                };
                if let Some(bytes) = payload.get("bytes").and_then(|b| b.as_str())
                    && let Ok(json) = B64.decode(bytes)
                {
                    let _ = client.decode_bytes(&json);
                }
            }
            Ok(DecodedFrame::Incomplete) | Err(_) => return,
        }
    }
}

fn client_events(input: &[u8]) {
    for frame in frames(input) {
        let text = String::from_utf8_lossy(frame);
        if let Ok(event) = BidiInputEvent::from_json_str(&text) {
            // What the server does next with an accepted event: re-encode it (the model
            // encoders read these fields) and take its audio bytes.
            let _ = event.to_json();
            if let BidiInputEvent::Audio(audio) = &event {
                let _ = audio.audio_bytes();
            }
        }
        let _ = BidiOutputEvent::from_json_str(&text);
        let _ = BidiAgentEvent::from_json_str(&text);
    }
}

/// A WAV file: a seed with its header fields (channels, rate, bits, data length) set to
/// random values, or byte edits.
fn wav_file(c: &Corpus, u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let seeds = c.seeds();
    let mut data = seeds[u.choose_index(seeds.len())?].clone();
    if u.ratio(1, 2)? && data.len() >= 44 {
        for _ in 0..u.int_in_range(1..=3u8)? {
            match u.int_in_range(0..=4u8)? {
                0 => data[22..24].copy_from_slice(&u.arbitrary::<u16>()?.to_le_bytes()),
                1 => data[24..28].copy_from_slice(&u.arbitrary::<u32>()?.to_le_bytes()),
                2 => data[34..36].copy_from_slice(&u.arbitrary::<u16>()?.to_le_bytes()),
                3 => data[40..44].copy_from_slice(&u.arbitrary::<u32>()?.to_le_bytes()),
                _ => data[32..34].copy_from_slice(&u.arbitrary::<u16>()?.to_le_bytes()),
            }
        }
        Ok(data)
    } else {
        c.bytes(u, &data)
    }
}

fn wav(input: &[u8]) {
    for audio in [
        AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz24000),
        AudioConfig::new(SampleRate::Hz24000, SampleRate::Hz24000).with_channels(Channels::Stereo),
    ] {
        let mut wav = bidi_audio::WavInput::from_bytes(input).realtime(false);
        let _ = wav.load(&audio);
    }
}

fn sim_scenario(input: &[u8]) {
    let _ = bidi_sim::scenario::from_json_str(&String::from_utf8_lossy(input));
}

fn sim_gemini_client(input: &[u8]) {
    use bidi_sim::gemini::client_message::{audio_chunks, decode_base64, normalize};
    for frame in frames(input) {
        let Ok(message) = serde_json::from_slice::<serde_json::Value>(frame) else {
            continue;
        };
        let message = normalize(message);
        if let Some(rt) = message.get("realtimeInput") {
            for data in audio_chunks(rt) {
                let _ = decode_base64(data);
            }
        }
    }
}

/// The weather scenario, which calls a tool and answers its result.
fn weather() -> &'static bidi_sim::Script {
    static SCRIPT: std::sync::OnceLock<bidi_sim::Script> = std::sync::OnceLock::new();
    SCRIPT.get_or_init(|| {
        bidi_sim::scenario::from_json_str(include_str!(
            "../../bidi-sim/tests/scenarios/weather.json"
        ))
        .unwrap_or_default()
    })
}

fn sim_openai_client(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    let frames: Vec<&str> = text.split('\n').collect();
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    else {
        return;
    };
    runtime.block_on(bidi_sim::openai::replay(weather().clone(), &frames));
}

/// A call's frames in order, through what the server does with each: the parser, the
/// caller's audio (base64 μ-law → model PCM), and the playout's mark bookkeeping (with a
/// chunk of model audio sent before each frame, so echoes meet pending marks).
fn twilio_frames(input: &[u8]) {
    use bidi_server::twilio::call::{CallerAudio, Playout};
    use bidi_server::twilio::protocol::{TwilioEvent, parse};
    use bidi_types::{AudioFormat, BidiAudioStreamEvent};
    let Ok(mut caller) =
        CallerAudio::new(&AudioConfig::new(SampleRate::Hz24000, SampleRate::Hz24000))
    else {
        return;
    };
    let mut playout = Playout::new();
    let answer = BidiAudioStreamEvent::from_bytes(
        &[0x10; 960],
        AudioFormat::Pcm,
        SampleRate::Hz24000,
        Channels::Mono,
    );
    for frame in frames(input) {
        let _ = playout.audio(&answer);
        match parse(&String::from_utf8_lossy(frame)) {
            Ok(TwilioEvent::Media { payload, .. }) => {
                let _ = caller.decode(&payload);
            }
            Ok(TwilioEvent::Mark { name }) => {
                let _ = playout.echoed(&name);
            }
            Ok(TwilioEvent::Dtmf { .. }) => {
                let _ = playout.interrupted();
            }
            Ok(TwilioEvent::Start(_)) => playout.response_started(None),
            _ => {}
        }
    }
}
