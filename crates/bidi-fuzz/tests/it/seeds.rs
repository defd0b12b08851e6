//! The seeds are real frames: each parser accepts its own seeds without an error, so the
//! fuzzer starts from inputs that reach deep into the decoders.

use std::time::Duration;

use bidi_fuzz::seeds;
use bidi_types::{AudioConfig, BidiInputEvent, SampleRate};

fn audio() -> AudioConfig {
    AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz24000)
}

#[test]
fn openai_seeds_decode() {
    let mut d = bidi_model::openai::decode::Decoder::new(Duration::ZERO);
    for line in seeds::lines(seeds::OPENAI_SERVER) {
        let text = String::from_utf8(line).expect("utf-8");
        d.decode(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    }
}

#[test]
fn gemini_seeds_decode_into_signals() {
    let mut d = bidi_model::gemini::Decoder::new("seed", audio());
    let mut signals = 0;
    for line in seeds::lines(seeds::GEMINI_SERVER) {
        let text = String::from_utf8(line).expect("utf-8");
        signals += d
            .decode(&text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .len();
    }
    assert!(
        signals >= 10,
        "only {signals} signals from the Gemini seeds"
    );
}

#[test]
fn nova_seeds_decode() {
    let mut d = bidi_model::nova_sonic::Decoder::new(audio());
    for line in seeds::lines(seeds::NOVA_SERVER) {
        d.decode_bytes(&line)
            .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(&line)));
    }
}

#[test]
fn client_event_seeds_parse() {
    for line in seeds::lines(seeds::CLIENT_EVENTS) {
        let text = String::from_utf8(line).expect("utf-8");
        BidiInputEvent::from_json_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    }
    assert!(seeds::reference_events().len() >= 10);
}

#[test]
fn every_target_has_seeds_that_pass() {
    for target in bidi_fuzz::TARGETS {
        assert!(!target.seeds().is_empty(), "{} has no seeds", target.name);
        for seed in target.seeds() {
            target.check(seed);
        }
    }
}

#[test]
fn twilio_seeds_parse_into_every_event_and_their_audio_decodes() {
    use bidi_server::twilio::call::CallerAudio;
    use bidi_server::twilio::protocol::{TwilioEvent, parse};
    let mut caller = CallerAudio::new(&audio()).expect("caller audio");
    let mut kinds = Vec::new();
    for line in seeds::lines(seeds::TWILIO) {
        let text = String::from_utf8(line).expect("utf-8");
        let event = parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        if let TwilioEvent::Media { payload, .. } = &event {
            caller.decode(payload).expect("the seed's audio decodes");
        }
        kinds.push(match event {
            TwilioEvent::Connected => "connected",
            TwilioEvent::Start(s) => {
                assert_eq!(s.stream_sid, "MZ0123");
                "start"
            }
            TwilioEvent::Media { .. } => "media",
            TwilioEvent::Mark { .. } => "mark",
            TwilioEvent::Dtmf { .. } => "dtmf",
            TwilioEvent::Stop => "stop",
            TwilioEvent::Other(_) => "other",
        });
    }
    kinds.dedup();
    assert_eq!(
        kinds,
        ["connected", "start", "media", "mark", "dtmf", "stop"]
    );
}
