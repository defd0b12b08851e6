//! How fast MCP tools answer through the agent: one direct call to the rmcp stdio test server
//! (agent hooks, `tools/call` over stdin/stdout, result mapping), and a whole provider
//! lifecycle (spawn, `initialize`, `tools/list`, close and reap). Run with
//! `cargo bench -p bidi-mcp --features test-server --bench mcp_calls`.
#![allow(missing_docs, clippy::unwrap_used)]

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::sync::Arc;

use bidi_agent::DirectCallOptions;
use bidi_mcp::McpToolProvider;
use bidi_sim::Script;
use serde_json::json;

fn main() {
    divan::main();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn server() -> Arc<McpToolProvider> {
    Arc::new(McpToolProvider::stdio(
        env!("CARGO_BIN_EXE_bidi-mcp-test-server"),
        [] as [&str; 0],
    ))
}

/// 100 sequential `add` calls, each a full round trip to the server process.
#[divan::bench(sample_count = 10)]
fn tool_call_round_trips(bencher: divan::Bencher) {
    let rt = runtime();
    let (sim, agent) = rt.block_on(async {
        let (sim, agent) = support::agent_with(Script::new(), server()).await;
        agent.start(None).await.unwrap();
        (sim, agent)
    });
    bencher
        .counter(divan::counter::ItemsCount::new(100usize))
        .bench_local(|| {
            rt.block_on(async {
                for i in 0..100 {
                    let r = agent
                        .tool_with(
                            "add",
                            json!({"a": i, "b": 1}),
                            DirectCallOptions::default().record(false),
                        )
                        .await
                        .unwrap();
                    assert!(r.is_success());
                }
            })
        });
    rt.block_on(async {
        agent.stop().await.unwrap();
        sim.shutdown().await;
    });
}

/// Agent start + stop with one stdio MCP server: spawn, handshake, list, close, reap.
#[divan::bench(sample_count = 10)]
fn provider_start_stop(bencher: divan::Bencher) {
    let rt = runtime();
    let (sim, agent) = rt.block_on(support::agent_with(Script::new(), server()));
    bencher.bench_local(|| {
        rt.block_on(async {
            agent.start(None).await.unwrap();
            agent.stop().await.unwrap();
        })
    });
    rt.block_on(sim.shutdown());
}
