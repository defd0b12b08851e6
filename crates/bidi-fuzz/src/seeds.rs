//! Seed inputs: real frames of each protocol, one per line. The provider frames follow the
//! providers' documented events (the same shapes bidi-sim renders); the client events and
//! the output events are the Python original's own dicts.

/// OpenAI Realtime (GA) server events.
pub const OPENAI_SERVER: &str = include_str!("../seeds/openai.jsonl");
/// Gemini Live server messages.
pub const GEMINI_SERVER: &str = include_str!("../seeds/gemini.jsonl");
/// Gemini Live client messages, in both spellings google-genai and bidi send.
pub const GEMINI_CLIENT: &str = include_str!("../seeds/gemini_client.jsonl");
/// OpenAI Realtime client events, as the API reference documents them (and bad ones).
pub const OPENAI_CLIENT: &str = include_str!("../seeds/openai_client.jsonl");
/// Nova Sonic output events (the JSON inside each event-stream `chunk`).
pub const NOVA_SERVER: &str = include_str!("../seeds/nova.jsonl");
/// Nova Sonic input events (what a client sends inside its signed frames).
pub const NOVA_CLIENT: &str = include_str!("../seeds/nova_input.jsonl");
/// Twilio Media Streams messages (connected, start, media, mark, dtmf, stop), as Twilio's
/// documentation shows them.
pub const TWILIO: &str = include_str!("../seeds/twilio.jsonl");
/// bidi's client events (`bidi_text_input`, `bidi_audio_input`, `bidi_image_input`).
pub const CLIENT_EVENTS: &str = include_str!("../seeds/client_events.jsonl");
/// The Python original's event dicts (input and output), as captured from strands 1.40.
pub const REFERENCE_EVENTS: &str =
    include_str!("../../bidi-types/tests/fixtures/strands-1.40-events.json");

/// The non-empty lines of `text`, as byte strings.
pub fn lines(text: &str) -> Vec<Vec<u8>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.as_bytes().to_vec())
        .collect()
}

/// The `json` member of each captured reference event, one compact JSON text each.
pub fn reference_events() -> Vec<Vec<u8>> {
    let Ok(serde_json::Value::Array(items)) = serde_json::from_str(REFERENCE_EVENTS) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| item.get("json"))
        .map(|json| json.to_string().into_bytes())
        .collect()
}

/// A small valid WAV file: `samples` of 16-bit PCM at `rate_hz` with `channels`.
pub fn wav(rate_hz: u32, channels: u16, samples: &[i16]) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate_hz,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    // Writing to memory fails only on an invalid spec, and this one is valid.
    if let Ok(mut writer) = hound::WavWriter::new(&mut out, spec) {
        for &s in samples {
            let _ = writer.write_sample(s);
        }
        let _ = writer.finalize();
    }
    out.into_inner()
}

/// WAV seeds: mono and stereo 16-bit files at the rates bidi meets, and a float file.
pub fn wav_files() -> Vec<Vec<u8>> {
    let tone: Vec<i16> = (0..480)
        .map(|i| ((i * 997) % 20_000) as i16 - 10_000)
        .collect();
    let mut files = vec![
        wav(16_000, 1, &tone),
        wav(24_000, 1, &tone),
        wav(44_100, 2, &tone),
        wav(8_000, 1, &tone[..80]),
    ];
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    if let Ok(mut writer) = hound::WavWriter::new(&mut out, spec) {
        for i in 0..96 {
            let _ = writer.write_sample((i as f32 / 96.0).sin());
        }
        let _ = writer.finalize();
    }
    files.push(out.into_inner());
    files
}
