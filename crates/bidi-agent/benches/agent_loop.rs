//! How fast events cross the agent loop: model events to `receive()`, and tool calls from
//! tool use to the result sent back. Run with `cargo bench -p bidi-agent --bench agent_loop`.
#![allow(missing_docs, clippy::unwrap_used)]

#[path = "../tests/it/support/mod.rs"]
mod support;

use bidi_agent::BidiAgent;
use bidi_agent::types::*;
use futures_util::StreamExt;
use serde_json::json;
use support::*;

fn main() {
    divan::main();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Tells the time.
#[bidi_agent::tool]
async fn time_tool() -> String {
    "12:00".into()
}

/// 1000 audio chunks (20 ms of 16 kHz mono each) from the model through `receive()`.
#[divan::bench(sample_count = 20)]
fn audio_events_through_receive(bencher: divan::Bencher) {
    let rt = runtime();
    bencher
        .counter(divan::counter::ItemsCount::new(1000usize))
        .with_inputs(|| {
            let chunk = vec![0u8; 640];
            let script = (0..1000)
                .map(|_| {
                    Step::Event(
                        BidiAudioStreamEvent::from_bytes(
                            &chunk,
                            AudioFormat::Pcm,
                            SampleRate::Hz16000,
                            Channels::Mono,
                        )
                        .into(),
                    )
                })
                .chain([Step::End])
                .collect();
            BidiAgent::builder(ScriptedModel::new(vec![script]))
                .build()
                .unwrap()
        })
        .bench_local_values(|agent| {
            rt.block_on(async {
                agent.start(None).await.unwrap();
                let n = agent.receive().count().await;
                assert_eq!(n, 1000);
                agent.stop().await.unwrap();
            });
        });
}

/// 100 tool calls, one after the other: tool use, run, history, result sent to the model.
#[divan::bench(sample_count = 20)]
fn tool_round_trips(bencher: divan::Bencher) {
    let rt = runtime();
    bencher
        .counter(divan::counter::ItemsCount::new(100usize))
        .with_inputs(|| {
            let script = (0..100)
                .flat_map(|i| {
                    [
                        tool_use(&format!("t{i}"), "time_tool", json!({})),
                        Step::WaitSent(i + 1),
                    ]
                })
                .chain([Step::End])
                .collect();
            BidiAgent::builder(ScriptedModel::new(vec![script]))
                .tool(time_tool)
                .build()
                .unwrap()
        })
        .bench_local_values(|agent| {
            rt.block_on(async {
                agent.start(None).await.unwrap();
                let n = agent.receive().count().await;
                assert_eq!(n, 300);
                assert_eq!(agent.messages().len(), 200);
                agent.stop().await.unwrap();
            });
        });
}
