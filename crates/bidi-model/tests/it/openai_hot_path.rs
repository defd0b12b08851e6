//! The OpenAI codec's hot paths: `input_audio_buffer.append` written directly, and audio
//! deltas read without a `Value` tree, give the same results as the general paths.
#![cfg(feature = "openai")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use bidi_model::openai::decode::{AudioItem, DecodeError, Decoder, Step};
use bidi_model::openai::encode;
use bidi_types::{
    AudioFormat, BidiAudioInputEvent, BidiInputEvent, BidiOutputEvent, Channels, SampleRate,
};
use serde_json::{Value, json};

#[test]
fn audio_append_text_matches_the_general_encoder() {
    let audio = BidiAudioInputEvent::from_bytes(
        &[1, 2, 3, 250, 251, 252, 0, 9],
        AudioFormat::Pcm,
        SampleRate::Hz24000,
        Channels::Mono,
    );
    let general = encode::input(&BidiInputEvent::Audio(audio.clone())).unwrap();
    let direct: Value = serde_json::from_str(&encode::audio_append(audio.audio())).unwrap();
    assert_eq!(vec![direct], general);
    // Text that is not base64 is still valid JSON.
    let odd: Value = serde_json::from_str(&encode::audio_append("a\"b\\c\n")).unwrap();
    assert_eq!(odd["audio"], "a\"b\\c\n");
}

fn audio_frame(extra: Value) -> String {
    let mut frame = json!({"type": "response.output_audio.delta", "event_id": "e1",
        "response_id": "resp_1", "item_id": "item_1", "output_index": 0, "content_index": 0,
        "delta": "AAAAAAAA"});
    if let (Some(f), Value::Object(extra)) = (frame.as_object_mut(), extra) {
        f.extend(extra);
    }
    frame.to_string()
}

fn audio_of(steps: &[Step]) -> Option<String> {
    steps.iter().find_map(|s| match s {
        Step::Emit(BidiOutputEvent::AudioStream(a)) => Some(a.audio().to_owned()),
        _ => None,
    })
}

#[test]
fn audio_delta_fast_path_tracks_the_item_like_the_general_path() {
    let mut d = Decoder::new(Duration::ZERO);
    let steps = d.decode(&audio_frame(json!({}))).unwrap();
    assert_eq!(
        steps[0],
        Step::AudioItemStarted {
            item_id: "item_1".into()
        }
    );
    assert_eq!(audio_of(&steps).as_deref(), Some("AAAAAAAA"));
    // 6 bytes of 24 kHz PCM16 = 125 us.
    assert_eq!(d.emitted_total(), Duration::from_micros(125));
    // Escaped strings and odd field kinds still decode (general path), same item.
    let steps = d
        .decode(&audio_frame(
            json!({"item_id": "item_1", "content_index": "x", "extra": [1, {"a": null}]}),
        ))
        .unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(d.emitted_total(), Duration::from_micros(250));
    let steps = d.decode(r#"{"delta":"AAAA","type":"response.output_audio.delta","item_id":"it\u0065m_2","content_index":3}"#).unwrap();
    assert_eq!(
        steps[0],
        Step::AudioItemStarted {
            item_id: "item_2".into()
        }
    );
    // The barge-in sees what the fast path recorded.
    let steps = d
        .decode(r#"{"type":"input_audio_buffer.speech_started"}"#)
        .unwrap();
    let Step::BargeIn { item, .. } = &steps[1] else {
        panic!("{steps:?}")
    };
    assert_eq!(
        item.as_ref(),
        Some(&AudioItem {
            item_id: "item_2".into(),
            content_index: 3,
            // 3 bytes of 24 kHz PCM16.
            received: Duration::from_nanos(62_500),
            response_id: None,
        })
    );
}

#[test]
fn bad_audio_and_missing_delta_are_errors_not_panics() {
    let mut d = Decoder::new(Duration::ZERO);
    let err = d
        .decode(&audio_frame(json!({"delta": "not base64!"})))
        .unwrap_err();
    assert!(matches!(err, DecodeError::BadAudio { .. }), "{err:?}");
    let err = d
        .decode(r#"{"type":"response.output_audio.delta","item_id":"i"}"#)
        .unwrap_err();
    assert!(
        matches!(err, DecodeError::BadField { field: "delta", .. }),
        "{err:?}"
    );
    let err = d
        .decode(r#"{"type":"response.output_audio.delta","delta":5}"#)
        .unwrap_err();
    assert!(
        matches!(err, DecodeError::BadField { field: "delta", .. }),
        "{err:?}"
    );
    // The decoder is still usable.
    assert!(audio_of(&d.decode(&audio_frame(json!({}))).unwrap()).is_some());
}
