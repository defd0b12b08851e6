//! One scenario run in this (fresh) process: N real [`BidiAgent`]s with
//! [`BidiOpenAIRealtimeModel`]s, each between a scripted in-memory [`BenchInput`] and a
//! recording [`BenchOutput`], as `bench_python.py`'s child does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bidi_agent::BidiAgent;
use bidi_model::openai::{BidiOpenAIRealtimeModel, OpenAiRealtimeConfig};
use bidi_types::SampleRate;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::error::ChildError;
use crate::http;
use crate::metrics::{self, InputRecord, Measured, OutputRecord, ServerSide, param};
use crate::procfs;
use crate::session::{BenchInput, BenchOutput, SessionState, lock, script, tone_body_b64};
use crate::wire;

/// Benchmark tool: returns immediately (sync: runs on a blocking thread).
#[bidi_agent::tool(name = "bench_tool")]
fn bench_tool(x: i64) -> String {
    format!("ok {x}")
}

/// Benchmark tool (async): returns immediately.
#[bidi_agent::tool(name = "bench_tool")]
async fn bench_tool_async(x: i64) -> String {
    format!("ok {x}")
}

/// Where the run's server is.
#[derive(Debug, Clone)]
pub struct Target {
    /// The WebSocket endpoint.
    pub url: String,
    /// The fake server's `/stats` URL; `None` for the Rust simulator.
    pub stats_url: Option<String>,
}

async fn session_done(name: &str, p: &Value, state: &SessionState) {
    let iterations = param(p, "iterations", 20.0) as usize;
    let completes = |n: usize| async move {
        let _ = state.completes.subscribe().wait_for(|c| *c >= n).await;
    };
    let input_done = || async {
        let _ = state.input_done.subscribe().wait_for(|d| *d).await;
    };
    match name {
        "interrupt" => completes(iterations).await,
        "tool_sync" | "tool_async" => completes(2 * iterations).await,
        "tput_in" => input_done().await,
        _ => {
            input_done().await;
            completes(1).await;
        }
    }
}

async fn server_cpu(stats_url: &str) -> Result<f64, http::HttpError> {
    let s = http::get_json(&format!("{stats_url}?prefix=__none__")).await?;
    let srv = &s["server"];
    Ok(srv["cpu_user_s"].as_f64().unwrap_or(0.0) + srv["cpu_sys_s"].as_f64().unwrap_or(0.0))
}

/// Runs scenario `name` with `params` against `target` and returns its result object.
pub async fn run(name: &str, target: &Target, p: &Value) -> Result<Value, ChildError> {
    let rss_start = procfs::rss_kb();
    let tag = p
        .get("tag")
        .and_then(Value::as_str)
        .unwrap_or("bidi")
        .to_owned();
    let n_sessions = param(p, "sessions", 1.0).max(1.0) as usize;
    // `--client wire`: the floor (raw WebSocket traffic, no agent), see `wire`.
    let wire = p.get("client").and_then(Value::as_str) == Some("wire");
    let rate_hz = param(p, "input_rate", 24_000.0) as u32;
    let chunk_ms = param(p, "chunk_ms", 20.0) as u32;
    let rate = SampleRate::try_from(rate_hz).unwrap_or(SampleRate::Hz24000);
    let (body, _chunk_bytes) = tone_body_b64(rate_hz, chunk_ms);
    let body: Arc<str> = body.into();
    let chunk = Duration::from_millis(u64::from(chunk_ms));
    let steps = script(name, p)?;
    let (go_tx, go_rx) = watch::channel(false);

    let mut states = Vec::with_capacity(n_sessions);
    let mut tasks = Vec::with_capacity(n_sessions);
    let t_connect0 = Instant::now();
    for i in 0..n_sessions {
        let mut config = OpenAiRealtimeConfig::new()
            .api_key("fake-key")
            .endpoint(target.url.clone())
            .model_id(format!("{tag}-{i}"));
        config.audio = bidi_types::AudioConfig::new(rate, SampleRate::Hz24000);
        if let Some(c) = p.get("channel_capacity").and_then(Value::as_u64) {
            config.channel_capacity = usize::try_from(c).unwrap_or(usize::MAX);
        }
        let build = |e: &dyn std::fmt::Display| ChildError::Build {
            index: i,
            message: e.to_string(),
        };
        let wire_url = config.endpoint.clone();
        let model = BidiOpenAIRealtimeModel::new(config).map_err(|e| build(&e))?;
        let builder = BidiAgent::builder(model).system_prompt("benchmark");
        let builder = if name == "tool_async" {
            builder.tool(bench_tool_async)
        } else {
            builder.tool(bench_tool)
        };
        let agent = builder.build().map_err(|e| build(&e))?;
        let state = SessionState::new();
        let phase = if n_sessions > 1 {
            chunk.mul_f64(i as f64 / n_sessions as f64)
        } else {
            Duration::ZERO
        };
        let input = BenchInput::new(
            steps.clone(),
            go_rx.clone(),
            phase,
            chunk,
            rate,
            Arc::clone(&body),
            Arc::clone(&state),
        );
        let output = BenchOutput::new(Arc::clone(&state));
        let st = Arc::clone(&state);
        if wire {
            let model_id = format!("{tag}-{i}");
            tasks.push(tokio::spawn(async move {
                if let Err(e) = wire::session(&wire_url, &model_id, input, Arc::clone(&st)).await {
                    let mut msg = e.to_string();
                    msg.truncate(300);
                    lock(&st.output).error = Some(msg);
                    st.connected.send_replace(true);
                }
            }));
            states.push(state);
            continue;
        }
        tasks.push(tokio::spawn(async move {
            if let Err(e) = agent
                .run(vec![Box::new(input)], vec![Box::new(output)], None)
                .await
            {
                let mut msg = e.to_string();
                msg.truncate(300);
                lock(&st.output).error = Some(msg);
                // Unblock the driver.
                st.connected.send_replace(true);
            }
        }));
        states.push(state);
    }
    let connect_limit = Duration::from_secs(120);
    let all_connected = async {
        for s in &states {
            let _ = s.connected.subscribe().wait_for(|c| *c).await;
        }
    };
    tokio::time::timeout(connect_limit, all_connected)
        .await
        .map_err(|_| ChildError::Connect(connect_limit))?;
    let connect_s = t_connect0.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_connected = procfs::rss_kb();
    let srv0 = match &target.stats_url {
        Some(url) => Some(server_cpu(url).await?),
        None => None,
    };
    let c0 = procfs::cpu_times("self").unwrap_or_default();
    let p0 = procfs::process_cpu();
    let x0 = procfs::context_switches();
    let w0 = Instant::now();
    go_tx.send_replace(true);
    let timeout = Duration::from_secs_f64(param(p, "timeout", 300.0));
    let waiters: Vec<_> = states
        .iter()
        .map(|s| {
            let (s, name, p) = (Arc::clone(s), name.to_owned(), p.clone());
            tokio::spawn(async move { session_done(&name, &p, &s).await })
        })
        .collect();
    let mut timed_out = 0;
    let deadline = tokio::time::Instant::now() + timeout;
    for w in waiters {
        match tokio::time::timeout_at(deadline, w).await {
            Ok(_) => {}
            Err(_) => timed_out += 1,
        }
    }
    let wall_s = w0.elapsed().as_secs_f64();
    let p1 = procfs::process_cpu();
    let c1 = procfs::cpu_times("self").unwrap_or_default();
    let switches = procfs::context_switches().saturating_sub(x0);

    let server = match &target.stats_url {
        Some(url) => {
            if name == "tput_in" {
                let need = param(p, "chunks", 20_000.0) * n_sessions as f64;
                for _ in 0..600 {
                    let s = http::get_json(&format!("{url}?prefix={tag}-&raw=1")).await?;
                    let got: f64 = s["sessions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|x| x["input"]["chunks"].as_f64())
                        .sum();
                    if got >= need {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            let s = http::get_json(&format!("{url}?prefix={tag}-&raw=1")).await?;
            let srv = &s["server"];
            let cpu1 = srv["cpu_user_s"].as_f64().unwrap_or(0.0)
                + srv["cpu_sys_s"].as_f64().unwrap_or(0.0);
            ServerSide::Stats {
                sessions: s["sessions"].as_array().cloned().unwrap_or_default(),
                server_cpu_s: cpu1 - srv0.unwrap_or(cpu1),
            }
        }
        None => ServerSide::Sim {
            out_chunks_per_session: sim_out_chunks(name, p),
        },
    };
    let peak = procfs::peak_rss_kb();
    for t in &tasks {
        t.abort();
    }
    let m = Measured {
        wall_s,
        cpu_user_s: c1.user_s - c0.user_s,
        cpu_sys_s: c1.sys_s - c0.sys_s,
        cpu_s: (p1 - p0).as_secs_f64(),
        connect_s,
        timed_out,
        rss_start_kb: rss_start,
        rss_connected_kb: rss_connected,
        peak_rss_kb: peak,
    };
    let inputs: Vec<InputRecord> = states
        .iter()
        .map(|s| std::mem::take(&mut *lock(&s.input)))
        .collect();
    let outputs: Vec<OutputRecord> = states
        .iter()
        .map(|s| std::mem::take(&mut *lock(&s.output)))
        .collect();
    let mut res = metrics::summarize(name, p, &inputs, &outputs, &server, &m);
    res["client"] = json!(if wire { "wire" } else { "bidi" });
    let chunks = res["in_chunks_sent"].as_f64().unwrap_or(0.0)
        + res["out_chunks_recv"].as_f64().unwrap_or(0.0);
    res["context_switches"] = json!(switches);
    if chunks > 0.0 {
        res["context_switches_per_chunk"] = json!(switches as f64 / chunks);
    }
    Ok(res)
}

/// Output chunks the simulator sends per session for the scenario's `audio D` command.
fn sim_out_chunks(name: &str, p: &Value) -> u64 {
    let chunk_ms = param(p, "chunk_ms", 20.0);
    let secs = if name == "tput_out" {
        param(p, "chunks", 20_000.0) * chunk_ms / 1000.0
    } else {
        param(p, "duration", 20.0)
    };
    (secs * 1000.0 / chunk_ms).ceil() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simulator_sends_the_scripted_seconds_of_audio() {
        let p = json!({"duration": 3, "chunk_ms": 20});
        assert_eq!(sim_out_chunks("sessions_10", &p), 150);
        assert_eq!(
            sim_out_chunks("tput_out", &json!({"chunks": 500, "chunk_ms": 20})),
            500
        );
    }
}
