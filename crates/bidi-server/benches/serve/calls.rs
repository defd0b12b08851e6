//! Twilio calls on `/twilio/media` (`--calls`), each count measured against the library
//! path at as many sessions, in 24 kHz PCM and in a call's μ-law: the bench plays Twilio
//! (μ-law silence every 20 ms at real time, marks echoed at once), the provider answers
//! every 3 s of the caller's audio with 1 s of speech. The served model takes the call's
//! μ-law itself (OpenAI's `audio/pcmu`), so the call's audio passes through.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bidi_sim::Trigger;
use bidi_sim::openai::{OpenAiSim, OpenAiSimOptions};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::library::{self, Audio};
use super::{BoxError, Options, answering, percentile, start_bidi, usage, usage_per_session};

/// Runs every `--calls` count for `--rounds`, alternating with the library path (its
/// provider at `endpoint`), and prints both tables.
pub async fn compare(options: &Options, endpoint: &str) -> Result<(), BoxError> {
    // Calls: the provider answers every 3 s of the caller's audio with 1 s of speech (the
    // same provider traffic as a library session: 50 frames a second in at the model's
    // rate, 1 s of answer every 3 s).
    let script = answering(Trigger::Audio { min_ms: 3_000 });
    let call_sim = OpenAiSim::start_with(
        script,
        OpenAiSimOptions {
            realtime: true,
            skip_audio_recording: true,
            ..OpenAiSimOptions::default()
        },
    )
    .await?;
    println!();
    println!(
        "| calls | CPU per call (% of a core) | calls per core | RSS per call (MiB) | answer audio per call (s/s) | failed | call resampled (`--call-audio pcm`) | library CPU per session, PCM 24 kHz | library, μ-law 8 kHz |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    // (calls, CPU per call, per resampled call, per library session in PCM, in μ-law)
    let mut rows: Vec<[f64; 5]> = Vec::new();
    let rounds = (0..options.rounds).flat_map(|_| options.calls.iter().copied());
    let url = call_sim.url();
    for calls in rounds {
        let (seconds, pin) = (options.seconds, options.pin);
        let (cpu, rss, heard, failed) = measure_calls(&url, calls, seconds, pin, "mulaw").await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (resampled, ..) = measure_calls(&url, calls, seconds, pin, "pcm").await?;
        let pcm = library::measure_after_pause(endpoint, calls, seconds, pin, Audio::Pcm).await?;
        let mulaw =
            library::measure_after_pause(endpoint, calls, seconds, pin, Audio::Mulaw).await?;
        println!(
            "| {calls} | {cpu:.2} | {:.0} | {rss:.2} | {heard:.2} | {failed} | {resampled:.2} | {:.2} | {:.2} |",
            100.0 / cpu,
            pcm.cpu_per_session,
            mulaw.cpu_per_session,
        );
        rows.push([
            calls as f64,
            cpu,
            resampled,
            pcm.cpu_per_session,
            mulaw.cpu_per_session,
        ]);
    }
    println!();
    println!(
        "| calls | call / library session, PCM 24 kHz | call / library session, μ-law 8 kHz | resampled call / library session, PCM 24 kHz | (medians of {} rounds) |",
        options.rounds
    );
    println!("| --- | --- | --- | --- | --- |");
    for &calls in &options.calls {
        let median = |column: usize| {
            let mut v: Vec<f64> = rows
                .iter()
                .filter(|r| r[0] == calls as f64)
                .map(|r| r[column])
                .collect();
            percentile(&mut v, 50.0)
        };
        let (call, resampled, pcm, mulaw) = (median(1), median(2), median(3), median(4));
        println!(
            "| {calls} | {call:.3} / {pcm:.3} = {:.2} | {call:.3} / {mulaw:.3} = {:.2} | {resampled:.3} / {pcm:.3} = {:.2} | |",
            call / pcm,
            call / mulaw,
            resampled / pcm,
        );
    }
    call_sim.shutdown().await;
    Ok(())
}

/// One phone call until `stop`, as Twilio drives `/twilio/media`: μ-law silence every
/// 20 ms at real time (the provider answers every 3 s of it), marks echoed at once. Adds the
/// milliseconds of answer audio received in the window to `heard_ms`.
async fn call(
    url: String,
    measure_from: Instant,
    stop: Instant,
    heard_ms: Arc<Mutex<(u64, usize)>>,
) {
    let Ok((ws, _)) = tokio_tungstenite::connect_async(&url).await else {
        if let Ok(mut h) = heard_ms.lock() {
            h.1 += 1;
        }
        return;
    };
    let (mut tx, mut rx) = ws.split();
    let sid = "MZbench";
    let (marks_tx, mut marks_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let sender = async move {
        let start_msg = json!({"event": "start", "streamSid": sid, "start": {"streamSid": sid,
            "callSid": "CAbench", "accountSid": "AC", "customParameters": {},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}}});
        for m in [json!({"event": "connected"}), start_msg] {
            if tx.send(Message::text(m.to_string())).await.is_err() {
                return;
            }
        }
        let media = json!({"event": "media", "streamSid": sid,
            "media": {"track": "inbound", "payload": BASE64.encode([0xFFu8; 160])}})
        .to_string();
        let start = Instant::now();
        let mut n: u32 = 0;
        while Instant::now() < stop {
            while let Ok(name) = marks_rx.try_recv() {
                let echo = json!({"event": "mark", "streamSid": sid, "mark": {"name": name}});
                if tx.send(Message::text(echo.to_string())).await.is_err() {
                    return;
                }
            }
            if tx.send(Message::text(media.clone())).await.is_err() {
                return;
            }
            n += 1;
            tokio::time::sleep_until(start + Duration::from_millis(20) * n).await;
        }
        let stop_msg = json!({"event": "stop", "streamSid": sid});
        let _ = tx.send(Message::text(stop_msg.to_string())).await;
    };
    let receiver = async {
        while let Ok(Some(Ok(message))) = tokio::time::timeout_at(stop, rx.next()).await {
            let Message::Text(text) = message else {
                continue;
            };
            let Ok(event) = serde_json::from_str::<Value>(text.as_str()) else {
                continue;
            };
            match event["event"].as_str() {
                Some("media") if Instant::now() >= measure_from => {
                    let bytes = event["media"]["payload"]
                        .as_str()
                        .map_or(0, |p| p.len() * 3 / 4);
                    if let Ok(mut h) = heard_ms.lock() {
                        h.0 += bytes as u64 / 8;
                    }
                }
                Some("mark") => {
                    if let Some(name) = event["mark"]["name"].as_str() {
                        let _ = marks_tx.send(name.to_owned());
                    }
                }
                _ => {}
            }
        }
    };
    tokio::join!(sender, receiver);
}

/// `calls` calls at once on a fresh bidi-server: (CPU per call % of a core, RSS per call
/// MiB, answer audio received per call per second, failed).
async fn measure_calls(
    endpoint: &str,
    calls: usize,
    seconds: u64,
    pin: bool,
    call_audio: &str,
) -> Result<(f64, f64, f64, usize), BoxError> {
    let served = start_bidi(endpoint, pin, &["--call-audio", call_audio])?;
    let pid = served.child.id();
    let (_, idle_rss) = usage(pid)?;
    let url = format!("ws://{}/twilio/media", served.addr);
    let measure_from = Instant::now() + Duration::from_secs(2);
    let stop = measure_from + Duration::from_secs(seconds);
    let heard: Arc<Mutex<(u64, usize)>> = Arc::default();
    let tasks: Vec<_> = (0..calls)
        .map(|_| tokio::spawn(call(url.clone(), measure_from, stop, Arc::clone(&heard))))
        .collect();
    let (cpu, rss) = usage_per_session(pid, idle_rss, measure_from, stop, calls).await?;
    for t in tasks {
        let _ = t.await;
    }
    let (heard_ms, failed) = *heard.lock().map_err(|_| "poisoned")?;
    Ok((
        cpu,
        rss,
        heard_ms as f64 / 1e3 / seconds as f64 / calls as f64,
        failed,
    ))
}
