//! The Rust simulator ([`bidi_sim::openai::OpenAiSim`]) as a benchmark server process: it
//! answers `audio <SECONDS> ...` with that much stamped 24 kHz audio in 20 ms chunks, paced
//! at real time on an absolute schedule.

use std::time::Duration;

use bidi_sim::openai::{OpenAiSim, OpenAiSimOptions};
use bidi_sim::{Action, Script, Trigger};

/// The script: one repeating rule per audio length the plan uses.
pub fn script(speak_seconds: &[f64], chunk_ms: u64) -> Script {
    let mut script = Script::new();
    for secs in speak_seconds {
        script = script.always(
            Trigger::Text {
                contains: format!("audio {secs} "),
            },
            vec![
                Action::Speak {
                    ms: (secs * 1000.0).round() as u64,
                    frame_ms: chunk_ms,
                },
                Action::EndTurn,
            ],
        );
    }
    script
}

/// Serves until stdin closes (the orchestrator's end) or the process is killed; prints
/// `READY <url>` once listening.
pub async fn serve(speak_seconds: &[f64], realtime: bool) -> std::io::Result<()> {
    let options = OpenAiSimOptions {
        realtime,
        stamp: true,
        skip_audio_recording: true,
        ..OpenAiSimOptions::default()
    };
    let sim = OpenAiSim::start_with(script(speak_seconds, 20), options).await?;
    println!("READY {}", sim.url());
    let mut line = String::new();
    let stdin = tokio::task::spawn_blocking(move || {
        while std::io::stdin()
            .read_line(&mut line)
            .map(|n| n > 0)
            .unwrap_or(false)
        {
            line.clear();
        }
    });
    let _ = stdin.await;
    tokio::time::timeout(Duration::from_secs(5), sim.shutdown())
        .await
        .ok();
    Ok(())
}
