//! `bidi-server`: the quickstart's voice agent served over WebSocket (see docs/server.md).
//!
//! ```text
//! cargo run --release -p bidi-server                              # offline: the simulator
//! cargo run --release -p bidi-server -- --provider openai --token s3cret --listen 0.0.0.0:8080
//! ```

mod cli;

use std::process::ExitCode;
use std::time::Duration;

use bidi_agent::session::S3ClientOptions;
use bidi_server::assistant::{ProviderChoice, QuickstartAgents};
use bidi_server::{BidiServer, ServerConfig};
use clap::Parser;

fn main() -> ExitCode {
    let args = match cli::Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let code = e.exit_code();
            let _ = e.print();
            return ExitCode::from(u8::try_from(code).unwrap_or(2));
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("bidi_server=info,warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(args));
    runtime.shutdown_timeout(Duration::from_secs(1));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", bidi_examples::assistant::one_line(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

async fn run(args: cli::Args) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut config = ServerConfig::default()
        .with_max_sessions(args.max_sessions)
        .with_max_frame_bytes(args.max_frame_bytes)
        .with_drain_timeout(Duration::from_secs(args.drain_timeout));
    if let Some(token) = args.token.filter(|t| !t.is_empty()) {
        config = config.with_token(token);
    }
    if let Some(url) = &args.public_url {
        config = config.with_public_url(url);
    }
    if let Some(token) = args.twilio_auth_token.filter(|t| !t.is_empty()) {
        config = config.with_twilio_auth_token(token);
    }
    if let Some(dir) = &args.session_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("--session-dir {}: {e}", dir.display()))?;
        config = config.with_session_dir(dir);
    }
    if let Some(location) = args.session_s3 {
        let mut options = S3ClientOptions::new();
        if let Some(url) = &args.s3_endpoint {
            options = options.endpoint_url(url).force_path_style(true);
        }
        tracing::info!(%location, endpoint = ?args.s3_endpoint, "sessions in S3");
        config = config.with_session_s3(location, options.client().await);
    }
    let choice = ProviderChoice {
        provider: args.provider.map(Into::into),
        endpoint: args.endpoint,
        ca_file: args.ca_file,
        model: args.model,
        voice: args.voice,
        system_prompt: args.system_prompt,
        call_audio: args.call_audio.into(),
    };
    let agents = QuickstartAgents::start(choice, |k| std::env::var(k).ok()).await?;
    tracing::info!("serving the quickstart's agent on {}", agents.describe());
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("--listen {}: {e}", args.listen))?;
    let bound = listener.local_addr()?;
    let server = BidiServer::new(agents, config);
    let shutdown = shutdown_signal();
    // The first line on stdout, once connections are accepted (a contract for scripts).
    println!("listening on http://{bound}");
    server.serve(listener, shutdown).await?;
    tracing::info!("drained; exiting");
    Ok(())
}

/// SIGTERM or Ctrl-C. The handlers are installed when this is called, not when the future
/// is first polled: a parent that signals as soon as it reads the `listening on` line must
/// get a drain, not death by the default action.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                (Ok(mut one), Err(_)) | (Err(_), Ok(mut one)) => {
                    one.recv().await;
                }
                (Err(_), Err(_)) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
