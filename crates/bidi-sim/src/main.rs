//! `bidi-sim`: the provider simulators as a server, for testing voice agents without a cloud.
//!
//! ```text
//! cargo run -p bidi-sim -- --scenario my-scenario.json
//! READY openai ws://127.0.0.1:40123/v1/realtime
//! READY gemini ws://127.0.0.1:40125/ws
//! READY nova-sonic http://127.0.0.1:40127
//! ```
//!
//! Serves OpenAI Realtime, Gemini Live and Bedrock (Nova Sonic) on loopback, each playing the
//! scenario (see `docs/testing.md`) to every connection, prints one `READY <protocol> <url>`
//! line per server once it listens, and runs until Ctrl-C, SIGTERM or, with `--until-eof`,
//! the end of stdin. Ports are chosen by the system unless given (`--openai-port`,
//! `--gemini-port`, `--nova-sonic-port`).

use std::path::PathBuf;
use std::process::ExitCode;

use bidi_sim::bedrock::BedrockSim;
use bidi_sim::faults::Faults;
use bidi_sim::gemini::{GeminiSim, GeminiSimOptions};
use bidi_sim::openai::{OpenAiSim, OpenAiSimOptions};
use bidi_sim::tls::{ServerCert, ThrowawayCa};
use bidi_sim::{Script, scenario};
use clap::{Parser, ValueEnum};

/// Simulators of OpenAI Realtime, Gemini Live and Nova Sonic (Bedrock) on loopback, driven by
/// a scenario file.
#[derive(Debug, Parser)]
#[command(name = "bidi-sim", version, about)]
struct Args {
    /// The scenario (JSON; see docs/testing.md). Without it the model never answers.
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// The protocols to serve (repeat the flag; default: all three).
    #[arg(long = "protocol", value_enum)]
    protocols: Vec<Protocol>,
    /// The OpenAI Realtime server's port (default: one the system chooses).
    #[arg(long, default_value_t = 0)]
    openai_port: u16,
    /// The Gemini Live server's port (default: one the system chooses).
    #[arg(long, default_value_t = 0)]
    gemini_port: u16,
    /// The Bedrock (Nova Sonic) server's port (default: one the system chooses).
    #[arg(long, default_value_t = 0)]
    nova_sonic_port: u16,
    /// Pace speech audio at real time instead of sending it at once (WebSocket servers).
    #[arg(long)]
    realtime: bool,
    /// Accept only this credential: the OpenAI API key (`Authorization: Bearer`), the Gemini
    /// API key (`key=` or `x-goog-api-key`) and the AWS access key id (SigV4 `Credential=`).
    /// Any other is rejected as the provider does (OpenAI: `invalid_api_key` error and close
    /// 3000; Gemini: close 1007 "API key not valid"; Bedrock: HTTP 403
    /// UnrecognizedClientException). Default: any credentials.
    #[arg(long, value_name = "KEY")]
    require_key: Option<String>,
    /// Stop at the end of stdin too (for a parent process that holds the pipe).
    #[arg(long)]
    until_eof: bool,
    /// Serve TLS (`wss://`, `https://`) with a certificate for `localhost` from a throwaway
    /// CA made at start; its PEM is written to a file announced on stdout as `CA <path>`
    /// before the READY lines (give it to the client: SSL_CERT_FILE, --ca-file, ...).
    #[arg(long)]
    tls: bool,
    /// Serve TLS with this certificate chain (PEM, the server's certificate first) instead
    /// of a throwaway CA's; no `CA` line is printed (the client trusts your CA). Needs
    /// `--tls-key`. The URLs name `localhost`: the certificate must be valid for it.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of `--tls-cert` (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Fault: refuse the first N WebSocket upgrades (each server counts its own) with HTTP
    /// 503, as a service does while overloaded or restarting.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        conflicts_with = "refuse_reconnects"
    )]
    refuse_connections: u32,
    /// Fault: serve each WebSocket server's first connection, then refuse the N upgrades
    /// after it with HTTP 503 (a client's reconnects after a restart or a drop).
    #[arg(long, value_name = "N", default_value_t = 0)]
    refuse_reconnects: u32,
    /// Fault: read each WebSocket connection's incoming bytes at most this fast, so the
    /// client's sends meet backpressure (0: no limit).
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    read_bytes_per_sec: u64,
}

impl Args {
    /// The faults of one WebSocket server (a fresh refusal count each).
    fn faults(&self) -> Faults {
        let faults = if self.refuse_reconnects > 0 {
            Faults::new().refuse_reconnects(self.refuse_reconnects)
        } else {
            Faults::new().refuse_connections(self.refuse_connections)
        };
        faults.read_bytes_per_sec(self.read_bytes_per_sec)
    }
}

/// The certificate the servers present, and the PEM a client trusts it by.
struct Tls {
    cert: ServerCert,
    trust_pem: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Protocol {
    Openai,
    Gemini,
    NovaSonic,
}

/// The running servers, kept alive until the end.
enum Server {
    OpenAi(bidi_sim::openai::OpenAiSimHandle),
    Gemini(bidi_sim::gemini::GeminiSimHandle),
    Bedrock(BedrockSim),
}

async fn start(
    protocol: Protocol,
    script: Script,
    args: &Args,
    tls: Option<&Tls>,
) -> Result<Server, String> {
    let realtime = args.realtime;
    match protocol {
        Protocol::Openai => {
            let options = OpenAiSimOptions {
                realtime,
                require_key: args.require_key.clone(),
                tls: tls.map(|t| t.cert.server_config()),
                faults: args.faults(),
                ..OpenAiSimOptions::default()
            };
            let sim = OpenAiSim::start_on(args.openai_port, script, options)
                .await
                .map_err(|e| format!("protocol=<openai> | could not listen: {e}"))?;
            println!("READY openai {}", sim.url());
            Ok(Server::OpenAi(sim))
        }
        Protocol::Gemini => {
            let options = GeminiSimOptions {
                realtime,
                require_key: args.require_key.clone(),
                tls: tls.map(|t| t.cert.server_config()),
                faults: args.faults(),
            };
            let sim = GeminiSim::start_on(args.gemini_port, script, options)
                .await
                .map_err(|e| format!("protocol=<gemini> | could not listen: {e}"))?;
            println!("READY gemini {}", sim.base_url());
            Ok(Server::Gemini(sim))
        }
        Protocol::NovaSonic => {
            let sim = match tls {
                Some(tls) => {
                    BedrockSim::start_tls_on(
                        args.nova_sonic_port,
                        script,
                        tls.cert.http_server_config(),
                        tls.trust_pem.clone(),
                    )
                    .await
                }
                None => BedrockSim::start_on(args.nova_sonic_port, script).await,
            }
            .map_err(|e| format!("protocol=<nova-sonic> | {e}"))?;
            sim.require_access_key_id(args.require_key.clone());
            println!("READY nova-sonic {}", sim.endpoint());
            Ok(Server::Bedrock(sim))
        }
    }
}

async fn serve(args: Args) -> Result<(), String> {
    // The handler is in place before the READY lines: a parent that signals as soon as it
    // reads them must not hit the default action (death by the signal, not a clean exit).
    #[cfg(unix)]
    let mut sigterm =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let script = match &args.scenario {
        Some(path) => scenario::load(path).map_err(|e| e.to_string())?,
        None => Script::new(),
    };
    let mut protocols = args.protocols.clone();
    if protocols.is_empty() {
        protocols = vec![Protocol::Openai, Protocol::Gemini, Protocol::NovaSonic];
    }
    protocols.dedup();
    // The throwaway CA's file, removed again at a clean exit.
    let mut ca_file = None;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let cert = ServerCert::from_pem_files(cert, key).map_err(|e| e.to_string())?;
            let trust_pem = cert.chain_pem().to_owned();
            Some(Tls { cert, trust_pem })
        }
        _ if args.tls => {
            let ca = ThrowawayCa::new().map_err(|e| e.to_string())?;
            let path = std::env::temp_dir().join(format!("bidi-sim-ca-{}.pem", std::process::id()));
            std::fs::write(&path, ca.ca_pem())
                .map_err(|e| format!("could not write the CA to {}: {e}", path.display()))?;
            println!("CA {}", path.display());
            ca_file = Some(path);
            Some(Tls {
                cert: ca.server_cert().clone(),
                trust_pem: ca.ca_pem().to_owned(),
            })
        }
        _ => None,
    };
    let mut servers = Vec::new();
    for protocol in protocols {
        servers.push(start(protocol, script.clone(), &args, tls.as_ref()).await?);
    }
    // stdin is read on a thread of its own, never joined: tokio's stdin would be a blocking
    // task the runtime waits for at exit, so a signal could not end the process while the
    // parent holds the pipe open.
    let eof = async {
        if args.until_eof {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
                let _ = tx.send(());
            });
            let _ = rx.await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminated = async {
        match sigterm.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminated = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminated => {}
        _ = eof => {}
    }
    for server in servers {
        match server {
            Server::OpenAi(s) => s.shutdown().await,
            Server::Gemini(s) => s.shutdown().await,
            Server::Bedrock(s) => s.shutdown().await,
        }
    }
    if let Some(path) = ca_file {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) {
                print!("{e}");
                return ExitCode::SUCCESS;
            }
            let text = e.to_string();
            eprintln!(
                "{} (see --help)",
                text.lines().next().unwrap_or("error: bad arguments")
            );
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
