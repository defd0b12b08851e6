//! Nova Sonic costs: the codec on the hot path (one audio frame each way) and a whole text
//! turn through the real SDK client against the local Bedrock simulator (loopback,
//! HTTP/1.1). Run with `cargo bench -p bidi-model --features nova-sonic --bench nova_sonic`.

use std::hint::black_box;

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};
use base64::Engine;
use bidi_model::nova_sonic::{BidiNovaSonicModel, NovaSonicConfig};
use bidi_model::nova_sonic::{Decoder, encode};
use bidi_sim::bedrock::BedrockSim;
use bidi_sim::{Action, Script, Trigger};
use bidi_types::{AudioConfig, BidiModel, BidiOutputEvent, SampleRate, StartParams};
use divan::Bencher;
use futures_util::StreamExt;

fn main() {
    divan::main();
}

/// 40 ms of 16 kHz mono PCM, base64.
fn frame_b64() -> String {
    let pcm = bidi_sim::tone::pcm16(16_000, 40, 440.0, 0);
    base64::engine::general_purpose::STANDARD.encode(pcm)
}

#[divan::bench]
fn decode_audio_output(bencher: Bencher) {
    let event = serde_json::json!({"event": {"audioOutput": {"content": frame_b64()}}}).to_string();
    let mut decoder = Decoder::new(AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz16000));
    bencher.bench_local(|| decoder.decode_bytes(black_box(event.as_bytes())));
}

#[divan::bench]
fn encode_audio_input(bencher: Bencher) {
    let b64 = frame_b64();
    bencher.bench_local(|| encode::audio_input("prompt-name", "content-name", black_box(&b64)));
}

#[divan::bench(sample_count = 30, sample_size = 1)]
fn text_turn_round_trip(bencher: Bencher) {
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    else {
        return;
    };
    let setup = rt.block_on(async {
        let script = Script::new().always(
            Trigger::Text {
                contains: String::new(),
            },
            vec![
                Action::Say {
                    text: "Hi!".into(),
                    chunk: 0,
                },
                Action::EndTurn,
            ],
        );
        let sim = BedrockSim::start(script).await.ok()?;
        let config = aws_sdk_bedrockruntime::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKID", "secret", None, None, "bench"))
            .endpoint_url(sim.endpoint())
            .build();
        let model = BidiNovaSonicModel::new(
            NovaSonicConfig::default().with_client(Client::from_conf(config)),
        )
        .ok()?;
        model.start(StartParams::default()).await.ok()?;
        let events = model.receive().ok()?;
        Some((sim, model, events))
    });
    let Some((sim, model, mut events)) = setup else {
        return;
    };
    bencher.bench_local(|| {
        rt.block_on(async {
            model.send("hello".into()).await.ok();
            while let Some(Ok(e)) = events.next().await {
                if matches!(e, BidiOutputEvent::ResponseComplete(_)) {
                    break;
                }
            }
        })
    });
    rt.block_on(async {
        model.stop().await.ok();
        sim.shutdown().await;
    });
}
