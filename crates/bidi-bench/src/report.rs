//! Writing and printing results: the JSON file and the summary table.

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{BenchError, io};

/// Writes `value` as indented JSON.
pub fn write_json(path: &Path, value: &Value) -> Result<(), BenchError> {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    std::fs::write(path, text).map_err(io(format!("writing {}", path.display())))
}

pub(crate) fn date_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A number for a table: `-` when absent.
pub fn fmt(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::Number(n)) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if x.abs() >= 1000.0 {
                format!("{x:.0}")
            } else if x.abs() < 1.0 {
                format!("{x:.3}")
            } else {
                format!("{x:.2}")
            }
        }
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Prints the medians as `bench_python.py` does (single-session rows, then sessions_N).
pub fn print_summary(results: &Value) {
    let empty = Map::new();
    let m = results["median"].as_object().unwrap_or(&empty);
    let g = |s: &str, k: &str| fmt(m.get(s).and_then(|x| x.get(k)));
    println!(
        "\nbidi-bench | server {} | medians of repeats",
        fmt(results["meta"].get("server"))
    );
    let rows = [
        (
            "(a) CPU per duplex audio-second, real-time",
            "duplex_rt",
            "cpu_s_per_duplex_audio_s",
            "cpu-s/s",
        ),
        (
            "    CPU per chunk, real-time",
            "duplex_rt",
            "cpu_us_per_chunk",
            "us",
        ),
        (
            "(a) CPU per duplex audio-second, max pace",
            "duplex_fast",
            "cpu_s_per_duplex_audio_s",
            "cpu-s/s",
        ),
        (
            "    CPU per chunk, max pace",
            "duplex_fast",
            "cpu_us_per_chunk",
            "us",
        ),
        (
            "(b) audio delta latency p50",
            "duplex_rt",
            "out_latency_p50_ms",
            "ms",
        ),
        (
            "(b) audio delta latency p99",
            "duplex_rt",
            "out_latency_p99_ms",
            "ms",
        ),
        (
            "    input latency p50",
            "duplex_rt",
            "in_latency_p50_ms",
            "ms",
        ),
        (
            "    input latency p99",
            "duplex_rt",
            "in_latency_p99_ms",
            "ms",
        ),
        (
            "(c) interruption latency p50",
            "interrupt",
            "interrupt_latency_pooled_p50_ms",
            "ms",
        ),
        (
            "(c) interruption latency p99",
            "interrupt",
            "interrupt_latency_pooled_p99_ms",
            "ms",
        ),
        (
            "(d) tool round trip p50 (sync)",
            "tool_sync",
            "tool_rtt_pooled_p50_ms",
            "ms",
        ),
        (
            "(d) tool round trip p99 (sync)",
            "tool_sync",
            "tool_rtt_pooled_p99_ms",
            "ms",
        ),
        (
            "(d) tool round trip p50 (async)",
            "tool_async",
            "tool_rtt_pooled_p50_ms",
            "ms",
        ),
        (
            "(d) tool round trip p99 (async)",
            "tool_async",
            "tool_rtt_pooled_p99_ms",
            "ms",
        ),
        (
            "(e) max input throughput",
            "tput_in",
            "tput_in_chunks_per_s_client",
            "chunks/s",
        ),
        (
            "    input, server-side",
            "tput_in",
            "tput_in_chunks_per_s_server",
            "chunks/s",
        ),
        (
            "    CPU per input chunk, max pace",
            "tput_in",
            "cpu_us_per_chunk",
            "us",
        ),
        (
            "(e) max output throughput",
            "tput_out",
            "tput_out_chunks_per_s",
            "chunks/s",
        ),
        (
            "    CPU per output chunk, max pace",
            "tput_out",
            "cpu_us_per_chunk",
            "us",
        ),
        ("(f) peak RSS, 1 session", "duplex_rt", "peak_rss_mb", "MiB"),
        (
            "    RSS at start",
            "duplex_rt",
            "rss_after_import_mb",
            "MiB",
        ),
    ];
    for (label, s, k, unit) in rows {
        if m.contains_key(s) {
            println!("{label:<46} {:>10} {unit}", g(s, k));
        }
    }
    let mut sess: Vec<(usize, &Value)> = m
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("sessions_")?.parse().ok()?, v)))
        .collect();
    sess.sort_by_key(|(n, _)| *n);
    if !sess.is_empty() {
        println!("\n(g) concurrent sessions, each duplex real-time (medians):");
        let cols = [
            "keeps_up",
            "cpu_util",
            "out_latency_p50_ms",
            "out_latency_p99_ms",
            "in_sched_lag_p99_ms",
            "delivered_ratio",
            "peak_rss_mb",
            "rss_per_session_kb",
            "server_cpu_s",
        ];
        println!(
            "{:>6} {}",
            "N",
            cols.map(|c| format!("{:>12}", &c[..c.len().min(12)]))
                .join(" ")
        );
        for (n, d) in sess {
            let vals: Vec<String> = cols
                .iter()
                .map(|c| format!("{:>12}", fmt(d.get(*c))))
                .collect();
            println!("{n:>6} {}", vals.join(" "));
        }
    }
}
