//! Measures the OpenAI Realtime client against a server speaking the peer fake's text
//! commands (`shared/peer/fake_openai_realtime.py`): output and input throughput and the
//! client's CPU time per audio chunk.
//!
//! ```sh
//! python3 ../shared/peer/fake_openai_realtime.py --port 8765 --fast --no-stamp &
//! cargo run --release -p bidi-model --features openai --example openai_throughput -- ws://127.0.0.1:8765/v1/realtime
//! ```

use std::time::{Duration, Instant};

use bidi_model::openai::{BidiOpenAIRealtimeModel, OpenAiRealtimeConfig};
use bidi_types::{
    AudioFormat, BidiAudioInputEvent, BidiModel, BidiOutputEvent, Channels, ModelEventStream,
    SampleRate, StartParams,
};
use futures_util::StreamExt;

/// User + system CPU time of this process, from `/proc/self/stat` (Linux; clock ticks of
/// 10 ms).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

async fn until_complete(events: &mut ModelEventStream) -> Result<usize, String> {
    let mut audio = 0;
    while let Some(item) = events.next().await {
        match item.map_err(|e| e.to_string())? {
            BidiOutputEvent::AudioStream(_) => audio += 1,
            BidiOutputEvent::ResponseComplete(_) => return Ok(audio),
            _ => {}
        }
    }
    Err("stream ended".to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:8765/v1/realtime".to_owned());
    let model = BidiOpenAIRealtimeModel::new(
        OpenAiRealtimeConfig::new()
            .api_key("bench")
            .endpoint(url)
            .model_id("rust-bench"),
    )?;
    model.start(StartParams::default()).await?;
    let mut events = model.receive()?;

    // Output: 100 s of 20 ms chunks, sent as fast as the server can.
    let (t0, c0) = (Instant::now(), cpu_time());
    model.send("audio 100 fast".into()).await?;
    let chunks = until_complete(&mut events).await?;
    let (wall, cpu) = (t0.elapsed(), cpu_time().zip(c0).map(|(a, b)| a - b));
    println!(
        "output: {chunks} chunks in {wall:.2?} = {:.0} chunks/s, client CPU {:.0} ms ({:.1} us/chunk)",
        chunks as f64 / wall.as_secs_f64(),
        cpu.map_or(f64::NAN, |c| c.as_secs_f64() * 1e3),
        cpu.map_or(f64::NAN, |c| c.as_secs_f64() * 1e6 / chunks as f64)
    );

    // Input: 20 000 chunks of 20 ms, then a text turn to know they all arrived.
    let chunk = BidiAudioInputEvent::from_bytes(
        &[0; 960],
        AudioFormat::Pcm,
        SampleRate::Hz24000,
        Channels::Mono,
    );
    let n = 20_000;
    let (t0, c0) = (Instant::now(), cpu_time());
    for _ in 0..n {
        model.send(chunk.clone().into()).await?;
    }
    model.send("text done".into()).await?;
    until_complete(&mut events).await?;
    let (wall, cpu) = (t0.elapsed(), cpu_time().zip(c0).map(|(a, b)| a - b));
    println!(
        "input: {n} chunks in {wall:.2?} = {:.0} chunks/s, client CPU {:.0} ms ({:.1} us/chunk)",
        f64::from(n) / wall.as_secs_f64(),
        cpu.map_or(f64::NAN, |c| c.as_secs_f64() * 1e3),
        cpu.map_or(f64::NAN, |c| c.as_secs_f64() * 1e6 / f64::from(n))
    );
    model.stop().await?;
    Ok(())
}
