//! The MCP provider over streamable HTTP against an rmcp server on loopback behind a bearer
//! check: the token is sent, a wrong one fails `start` with the server's name; over
//! `https://` with a certificate from a throwaway CA, trusted only with `ca_file`.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use bidi_mcp::McpToolProvider;
use bidi_sim::Script;
use bidi_sim::tls::ThrowawayCa;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use serde_json::json;
use support::*;

const TOKEN: &str = "s3cret-token";

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Sum {
    a: i64,
    b: i64,
}

#[derive(Clone)]
struct SumServer {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl SumServer {
    #[tool(description = "Sums two integers.")]
    async fn sum(&self, Parameters(Sum { a, b }): Parameters<Sum>) -> String {
        (a + b).to_string()
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for SumServer {}

/// Serves the sum server at `http://127.0.0.1:<port>/mcp`, refusing requests without the
/// bearer token; counts the authorised requests.
async fn serve() -> (String, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("address");
    let (authorised, task) = serve_on(listener);
    (format!("http://{addr}/mcp"), authorised, task)
}

/// TLS over a TCP listener, for axum: connections whose handshake fails are dropped.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Like [`serve`], over TLS with the throwaway CA's `localhost` certificate:
/// `https://localhost:<port>/mcp`.
async fn serve_tls(ca: &ThrowawayCa) -> (String, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let port = tcp.local_addr().expect("address").port();
    let acceptor = tokio_rustls::TlsAcceptor::from(ca.server_config());
    let (authorised, task) = serve_on(TlsListener { tcp, acceptor });
    (format!("https://localhost:{port}/mcp"), authorised, task)
}

fn serve_on(
    listener: impl axum::serve::Listener<Addr = std::net::SocketAddr>,
) -> (Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let service: StreamableHttpService<SumServer, LocalSessionManager> = StreamableHttpService::new(
        || {
            Ok(SumServer {
                tool_router: SumServer::tool_router(),
            })
        },
        Default::default(),
        StreamableHttpServerConfig::default().with_sse_keep_alive(None),
    );
    let authorised = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&authorised);
    let check = move |request: Request, next: Next| {
        let seen = Arc::clone(&seen);
        async move {
            let ok = request
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                == Some(&format!("Bearer {TOKEN}"));
            if !ok {
                return Err(StatusCode::UNAUTHORIZED);
            }
            seen.fetch_add(1, Ordering::SeqCst);
            Ok::<Response, StatusCode>(next.run(request).await)
        }
    };
    let router = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn(check));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (authorised, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_token_is_sent_and_tools_are_called_over_http() {
    let (url, authorised, server) = serve().await;
    let provider = Arc::new(McpToolProvider::http(url).name("sums").bearer_token(TOKEN));
    let (sim, agent) = agent_with(Script::new(), provider.clone()).await;
    agent.start(None).await.expect("start");
    assert_eq!(agent.tool_names(), ["sum"]);
    assert!(provider.is_running().await);
    let sum = agent
        .tool("sum", json!({"a": 40, "b": 2}))
        .await
        .expect("call");
    assert_eq!(result_text(&sum), "42");
    assert!(
        authorised.load(Ordering::SeqCst) >= 3,
        "initialize, list, call"
    );
    agent.stop().await.expect("stop");
    assert!(!provider.is_running().await);
    server.abort();
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_fails_start_with_the_server_name() {
    let (url, authorised, server) = serve().await;
    let provider = Arc::new(
        McpToolProvider::http(url)
            .name("sums")
            .bearer_token("wrong"),
    );
    let (sim, agent) = agent_with(Script::new(), provider).await;
    let error = agent.start(None).await.expect_err("start fails");
    let text = error.to_string();
    assert!(
        text.starts_with(
            "tool_provider=<sums> | failed to load tools: server=<sums> | MCP initialization failed"
        ),
        "{text}"
    );
    assert!(!text.contains("wrong"), "the token is never shown: {text}");
    assert_eq!(authorised.load(Ordering::SeqCst), 0);
    assert!(!agent.is_started());
    server.abort();
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_private_ca_needs_the_ca_file() {
    let ca = ThrowawayCa::new().expect("CA");
    let (url, authorised, server) = serve_tls(&ca).await;

    // Not trusted: start fails, nothing reached the server's handler.
    let provider = Arc::new(
        McpToolProvider::http(url.clone())
            .name("sums")
            .bearer_token(TOKEN),
    );
    let (sim, agent) = agent_with(Script::new(), provider).await;
    let error = agent.start(None).await.expect_err("untrusted certificate");
    let text = error.to_string();
    assert!(text.contains("server=<sums>"), "{text}");
    assert!(
        text.contains("certificate not trusted by the system or bundled roots"),
        "{text}"
    );
    assert_eq!(authorised.load(Ordering::SeqCst), 0);
    sim.shutdown().await;

    // Trusted through the CA file.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, ca.ca_pem()).expect("CA file written");
    let provider = Arc::new(
        McpToolProvider::http(url.clone())
            .name("sums")
            .bearer_token(TOKEN)
            .ca_file(&path),
    );
    let (sim, agent) = agent_with(Script::new(), provider).await;
    agent.start(None).await.expect("start over https");
    let sum = agent
        .tool("sum", json!({"a": 40, "b": 2}))
        .await
        .expect("call");
    assert_eq!(result_text(&sum), "42");
    agent.stop().await.expect("stop");
    sim.shutdown().await;

    // A file without certificates: start fails naming it.
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "nothing here\n").expect("written");
    let provider = Arc::new(McpToolProvider::http(url).name("sums").ca_file(&empty));
    let (sim, agent) = agent_with(Script::new(), provider).await;
    let error = agent.start(None).await.expect_err("bad CA file");
    let text = error.to_string();
    assert!(
        text.contains("empty.pem") && text.contains("no certificate"),
        "{text}"
    );
    server.abort();
    sim.shutdown().await;
}
