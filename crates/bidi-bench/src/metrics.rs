//! The numbers of one scenario run ([`summarize`]) and of several ([`median_of_runs`]), with
//! the same keys and definitions as `bench_python.py` (README section 4 of the peer folder).

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Map, Value, json};

/// The `q`-th percentile, nearest rank (as `bench_python.py`'s `pct`).
pub fn pct(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    let rank = (q / 100.0 * s.len() as f64).ceil() as usize;
    let k = rank.saturating_sub(1).min(s.len() - 1);
    Some(s[k])
}

/// The median (mean of the middle two for an even count), as Python's `statistics.median`.
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        f64::midpoint(s[n / 2 - 1], s[n / 2])
    })
}

/// What one `BidiInput` of a run recorded.
#[derive(Debug, Default)]
pub struct InputRecord {
    /// Lateness of each paced chunk against its absolute schedule, seconds.
    pub lag_s: Vec<f64>,
    /// Audio chunks returned to the agent.
    pub sent_chunks: u64,
    /// When the first audio chunk was due.
    pub first_send: Option<Instant>,
    /// When the script ended.
    pub done: Option<Instant>,
}

/// What one `BidiOutput` of a run recorded.
#[derive(Debug, Default)]
pub struct OutputRecord {
    /// Receive time minus the server's stamp, per audio chunk, ns.
    pub lat_ns: Vec<f64>,
    /// Audio chunks received.
    pub audio_chunks: u64,
    /// First audio chunk.
    pub audio_first: Option<Instant>,
    /// Last audio chunk.
    pub audio_last: Option<Instant>,
    /// Other events by type.
    pub counts: BTreeMap<String, u64>,
    /// When each `bidi_interruption` arrived, ns since the epoch.
    pub interrupt_recv_ns: Vec<f64>,
    /// Each `bidi_response_complete`: arrival (ns since the epoch) and stop reason.
    pub complete: Vec<(f64, String)>,
    /// The run's error, if it failed.
    pub error: Option<String>,
}

/// Process-level measurements of one run.
#[derive(Debug, Default)]
pub struct Measured {
    /// The measured window, seconds.
    pub wall_s: f64,
    /// User CPU over the window (clock ticks), seconds.
    pub cpu_user_s: f64,
    /// System CPU over the window (clock ticks), seconds.
    pub cpu_sys_s: f64,
    /// CPU over the window (ns clock), seconds.
    pub cpu_s: f64,
    /// From starting the agents until all were connected, seconds.
    pub connect_s: f64,
    /// Sessions that did not finish before the timeout.
    pub timed_out: usize,
    /// RSS before any agent was built, KiB.
    pub rss_start_kb: u64,
    /// RSS with every session connected, KiB.
    pub rss_connected_kb: u64,
    /// Peak RSS, KiB.
    pub peak_rss_kb: u64,
}

/// The parameters of a scenario run, as `bench_python.py` passes them.
pub fn param(p: &Value, key: &str, default: f64) -> f64 {
    match p.get(key) {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(default),
        Some(Value::String(s)) => s.parse().unwrap_or(default),
        _ => default,
    }
}

fn ms(ns: Option<f64>) -> Value {
    ns.map_or(Value::Null, |v| json!(v / 1e6))
}

fn num(v: Option<f64>) -> Value {
    v.map_or(Value::Null, |v| json!(v))
}

/// The server side of a run: the fake server's `/stats` (sessions of this run) or, against
/// the Rust simulator (no `/stats`), what the script makes it send.
#[derive(Debug)]
pub enum ServerSide {
    /// `/stats?prefix=<tag>-&raw=1` and the server CPU over the window.
    Stats {
        /// The `sessions` array.
        sessions: Vec<Value>,
        /// Server CPU seconds over the window.
        server_cpu_s: f64,
    },
    /// The simulator: output chunks it sends per session.
    Sim {
        /// Chunks per session.
        out_chunks_per_session: u64,
    },
}

fn sum_path(sessions: &[Value], a: &str, b: &str) -> f64 {
    sessions
        .iter()
        .filter_map(|s| s.get(a)?.get(b)?.as_f64())
        .sum()
}

fn list_path(sessions: &[Value], a: &str, b: &str) -> Vec<f64> {
    sessions
        .iter()
        .filter_map(|s| s.get(a)?.get(b)?.as_array())
        .flatten()
        .filter_map(Value::as_f64)
        .collect()
}

/// The result object of one run (the keys of `bench_python.py`'s `summarize`).
pub fn summarize(
    name: &str,
    p: &Value,
    inputs: &[InputRecord],
    outputs: &[OutputRecord],
    server: &ServerSide,
    m: &Measured,
) -> Value {
    let n = inputs.len().max(1);
    let mut res = Map::new();
    let mut put = |k: &str, v: Value| {
        res.insert(k.to_owned(), v);
    };
    put("scenario", json!(name));
    put("sessions", json!(inputs.len()));
    put("wall_s", json!(m.wall_s));
    put("cpu_user_s", json!(m.cpu_user_s));
    put("cpu_sys_s", json!(m.cpu_sys_s));
    put("cpu_s", json!(m.cpu_s));
    put(
        "cpu_util",
        num((m.wall_s > 0.0).then(|| m.cpu_s / m.wall_s)),
    );
    put("connect_s", json!(m.connect_s));
    put("timed_out_sessions", json!(m.timed_out));
    let errors: Vec<&String> = outputs
        .iter()
        .filter_map(|o| o.error.as_ref())
        .take(5)
        .collect();
    put("errors", json!(errors));
    put("rss_after_import_mb", json!(m.rss_start_kb as f64 / 1024.0));
    put(
        "rss_connected_mb",
        json!(m.rss_connected_kb as f64 / 1024.0),
    );
    put("peak_rss_mb", json!(m.peak_rss_kb as f64 / 1024.0));
    put(
        "rss_per_session_kb",
        json!((m.rss_connected_kb as f64 - m.rss_start_kb as f64) / n as f64),
    );
    let empty = Vec::new();
    let (sessions, server_cpu) = match server {
        ServerSide::Stats {
            sessions,
            server_cpu_s,
        } => (sessions, Some(*server_cpu_s)),
        ServerSide::Sim { .. } => (&empty, None),
    };
    put("server_cpu_s", num(server_cpu));

    let lat: Vec<f64> = outputs
        .iter()
        .flat_map(|o| o.lat_ns.iter().copied())
        .collect();
    let out_chunks: u64 = outputs.iter().map(|o| o.audio_chunks).sum();
    let in_chunks_sent: u64 = inputs.iter().map(|i| i.sent_chunks).sum();
    let (in_chunks_srv, out_chunks_srv) = match server {
        ServerSide::Stats { sessions, .. } => (
            Some(sum_path(sessions, "input", "chunks")),
            sum_path(sessions, "output", "chunks"),
        ),
        ServerSide::Sim {
            out_chunks_per_session,
        } => (None, (*out_chunks_per_session * inputs.len() as u64) as f64),
    };
    let in_lat = list_path(sessions, "input", "latency_ns");
    let pace_lag = list_path(sessions, "output", "pacing_lag_ns");
    let in_lag: Vec<f64> = inputs
        .iter()
        .flat_map(|i| i.lag_s.iter().copied())
        .collect();
    let chunk_s = param(p, "chunk_ms", 20.0) / 1000.0;
    put("out_chunks_recv", json!(out_chunks));
    put("out_chunks_sent_by_server", json!(out_chunks_srv));
    put("in_chunks_sent", json!(in_chunks_sent));
    put("in_chunks_recv_by_server", num(in_chunks_srv));
    let audio_out_s = out_chunks as f64 * chunk_s;
    let audio_in_s = in_chunks_sent as f64 * chunk_s;
    put("audio_out_s", json!(audio_out_s));
    put("audio_in_s", json!(audio_in_s));
    put("out_latency_p50_ms", ms(pct(&lat, 50.0)));
    put("out_latency_p99_ms", ms(pct(&lat, 99.0)));
    put(
        "out_latency_max_ms",
        ms(lat.iter().copied().reduce(f64::max)),
    );
    put("in_latency_p50_ms", ms(pct(&in_lat, 50.0)));
    put("in_latency_p99_ms", ms(pct(&in_lat, 99.0)));
    put(
        "in_sched_lag_p50_ms",
        num(pct(&in_lag, 50.0).map(|v| v * 1e3)),
    );
    put(
        "in_sched_lag_p99_ms",
        num(pct(&in_lag, 99.0).map(|v| v * 1e3)),
    );
    put("server_pacing_lag_p99_ms", ms(pct(&pace_lag, 99.0)));
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for o in outputs {
        for (k, v) in &o.counts {
            *counts.entry(k).or_default() += v;
        }
    }
    put("event_counts", json!(counts));
    let duplex_s = audio_in_s.max(audio_out_s);
    if duplex_s > 0.0 {
        put("cpu_s_per_duplex_audio_s", json!(m.cpu_s / duplex_s));
        put(
            "cpu_us_per_chunk",
            json!(m.cpu_s / (out_chunks + in_chunks_sent).max(1) as f64 * 1e6),
        );
    }
    if name == "interrupt" {
        let sent: Vec<f64> = sessions
            .iter()
            .filter_map(|s| s.get("speech_started_ns")?.as_array())
            .flatten()
            .filter_map(Value::as_f64)
            .collect();
        let recv = outputs
            .first()
            .map(|o| o.interrupt_recv_ns.as_slice())
            .unwrap_or_default();
        let lats: Vec<f64> = sent.iter().zip(recv).map(|(s, r)| (r - s) / 1e6).collect();
        put("interrupts_sent", json!(sent.len()));
        put("interrupts_recv", json!(recv.len()));
        put("interrupt_latency_p50_ms", num(pct(&lats, 50.0)));
        put("interrupt_latency_p99_ms", num(pct(&lats, 99.0)));
        put(
            "interrupt_latency_max_ms",
            num(lats.iter().copied().reduce(f64::max)),
        );
        put("interrupt_latencies_ms", json!(lats));
    }
    if name == "tool_sync" || name == "tool_async" {
        let rtts: Vec<f64> = sessions
            .iter()
            .filter_map(|s| s.get("tool_calls")?.as_array())
            .flatten()
            .filter_map(|tc| tc.get("rtt_ns")?.as_f64())
            .map(|ns| ns / 1e6)
            .collect();
        put("tool_calls", json!(rtts.len()));
        put("tool_rtt_p50_ms", num(pct(&rtts, 50.0)));
        put("tool_rtt_p99_ms", num(pct(&rtts, 99.0)));
        put(
            "tool_rtt_max_ms",
            num(rtts.iter().copied().reduce(f64::max)),
        );
        put("tool_rtts_ms", json!(rtts));
    }
    if name == "tput_in" {
        let first = sessions
            .first()
            .and_then(|s| s.get("input")?.get("first_ns")?.as_f64());
        let last = sessions
            .first()
            .and_then(|s| s.get("input")?.get("last_ns")?.as_f64());
        let client_s = inputs
            .first()
            .and_then(|i| Some(i.done?.duration_since(i.first_send?).as_secs_f64()));
        let client_rate = client_s.map(|s| in_chunks_sent as f64 / s);
        put("tput_in_chunks_per_s_client", num(client_rate));
        let server_rate = match (first, last, in_chunks_srv) {
            (Some(f), Some(l), Some(c)) if l > f => Some((c - 1.0) / ((l - f) / 1e9)),
            _ => None,
        };
        put("tput_in_chunks_per_s_server", num(server_rate));
        put(
            "tput_in_audio_x_realtime",
            num(client_rate.map(|r| r * chunk_s)),
        );
    }
    if name == "tput_out" {
        let o = outputs.first();
        let span = o.and_then(|o| Some(o.audio_last?.duration_since(o.audio_first?).as_secs_f64()));
        let rate = span
            .filter(|s| *s > 0.0)
            .zip(o)
            .map(|(s, o)| (o.audio_chunks.saturating_sub(1)) as f64 / s);
        put("tput_out_chunks_per_s", num(rate));
        put("tput_out_audio_x_realtime", num(rate.map(|r| r * chunk_s)));
    }
    if name.starts_with("sessions") || name == "duplex_rt" {
        let thr = param(p, "keepup_threshold_ms", 100.0);
        let delivered = (out_chunks_srv > 0.0).then(|| out_chunks as f64 / out_chunks_srv);
        let p99 = pct(&lat, 99.0).map_or(0.0, |v| v / 1e6);
        let lag99 = pct(&in_lag, 99.0).map_or(0.0, |v| v * 1e3);
        let keeps_up = m.timed_out == 0
            && delivered == Some(1.0)
            && p99 < thr
            && lag99 < thr
            && m.wall_s < param(p, "duration", 0.0) + 2.0;
        put("delivered_ratio", num(delivered));
        put("keeps_up", json!(keeps_up));
        put("keepup_threshold_ms", json!(thr));
    }
    Value::Object(res)
}

const NUMERIC_SKIP: [&str; 2] = ["sessions", "keepup_threshold_ms"];
const NOT_MEDIANED: [&str; 5] = [
    "scenario",
    "errors",
    "event_counts",
    "interrupt_latencies_ms",
    "tool_rtts_ms",
];

/// Medians over repeats (booleans as "k/n", pooled latency lists), as `bench_python.py`'s
/// `median_of_runs`.
pub fn median_of_runs(runs: &[Value]) -> Value {
    let mut med = Map::new();
    let Some(Value::Object(first)) = runs.first() else {
        return Value::Object(med);
    };
    for key in first.keys().filter(|k| !NOT_MEDIANED.contains(&k.as_str())) {
        let vals: Vec<&Value> = runs
            .iter()
            .map(|r| r.get(key).unwrap_or(&Value::Null))
            .collect();
        let v = if vals.iter().any(|v| v.is_boolean()) {
            let yes = vals.iter().filter(|v| v.as_bool() == Some(true)).count();
            json!(format!("{yes}/{}", vals.len()))
        } else if NUMERIC_SKIP.contains(&key.as_str()) {
            vals[0].clone()
        } else {
            let nums: Vec<f64> = vals.iter().filter_map(|v| v.as_f64()).collect();
            num(median(&nums))
        };
        med.insert(key.clone(), v);
    }
    for (list, name) in [
        ("interrupt_latencies_ms", "interrupt_latency"),
        ("tool_rtts_ms", "tool_rtt"),
    ] {
        let pooled: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.get(list)?.as_array())
            .flatten()
            .filter_map(Value::as_f64)
            .collect();
        if !pooled.is_empty() {
            med.insert(format!("{name}_pooled_p50_ms"), num(pct(&pooled, 50.0)));
            med.insert(format!("{name}_pooled_p99_ms"), num(pct(&pooled, 99.0)));
            med.insert(format!("{name}_pooled_n"), json!(pooled.len()));
        }
    }
    Value::Object(med)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_medians_match_the_python_definitions() {
        let v = [5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!(pct(&v, 50.0), Some(3.0));
        assert_eq!(pct(&v, 99.0), Some(5.0));
        assert_eq!(pct(&v, 0.0), Some(1.0));
        assert_eq!(median(&[1.0, 2.0, 3.0, 10.0]), Some(2.5));
        assert_eq!(pct(&[], 50.0), None);
    }

    #[test]
    fn medians_of_runs_pool_lists_and_count_booleans() {
        let runs = [
            json!({"scenario": "x", "wall_s": 1.0, "keeps_up": true, "tool_rtts_ms": [1.0, 2.0]}),
            json!({"scenario": "x", "wall_s": 3.0, "keeps_up": false, "tool_rtts_ms": [3.0]}),
        ];
        let m = median_of_runs(&runs);
        assert_eq!(m["wall_s"], json!(2.0));
        assert_eq!(m["keeps_up"], json!("1/2"));
        assert_eq!(m["tool_rtt_pooled_n"], json!(3));
        assert_eq!(m["tool_rtt_pooled_p50_ms"], json!(2.0));
        assert!(m.get("scenario").is_none());
    }
}
