//! A local Bedrock `InvokeModelWithBidirectionalStream` server that answers like Amazon Nova
//! Sonic: [`BedrockSim`].
//!
//! It speaks the real protocol, so the real `aws-sdk-bedrockruntime` client reaches it
//! through `endpoint_url` with any static credentials:
//!
//! - HTTP/1.1 and HTTP/2 (prior knowledge) on plain TCP ([`BedrockSim::start`]), or TLS with
//!   ALPN `h2`/`http/1.1` and a fresh self-signed certificate for `localhost`
//!   ([`BedrockSim::start_tls`], the production stack);
//! - `POST /model/<model id>/invoke-with-bidirectional-stream` with a SigV4 `authorization`
//!   header (its signature is not verified; its access key id is checked when one is
//!   required: [`BedrockSim::require_access_key_id`]);
//! - response headers sent only with the first output event, as Bedrock does (the SDK's
//!   `send()` returns only then, so input must flow before it returns);
//! - AWS event-stream framing both ways: input frames are unwrapped from their signed
//!   envelope, chunk payloads are `{"bytes": <base64 JSON>}`;
//! - answers rendered from a [`Script`] as Nova Sonic events, exceptions as `exception`
//!   frames (`modelTimeoutException`, `validationException`, ...).
//!
//! `audioInput` that is not digital silence fires [`Trigger::Audio`](crate::Trigger::Audio);
//! when the script has [utterances](crate::hearing), all the audio goes to turn detection
//! instead (at the audio content's rate), and each utterance, ended by silence or the audio
//! content's `contentEnd`, is answered with
//! [`ScriptState::on_utterance`](crate::script::ScriptState::on_utterance).
//!
//! Every event a client sent is recorded as JSON, per connection ([`BedrockSim::recorded`]).
//! Each connection runs its own copy of the script from the start.
//!
//! ```
//! use bidi_sim::bedrock::BedrockSim;
//! use bidi_sim::Script;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), bidi_sim::bedrock::SimError> {
//! let sim = BedrockSim::start(Script::new()).await?;
//! assert!(sim.endpoint().starts_with("http://127.0.0.1:"));
//! assert!(sim.recorded().is_empty());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod frame;
mod nova;
mod stream;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::Script;

pub use frame::{Inbound, chunk, decode_input, exception, exception_type};

/// Why the simulator could not start or what it could not read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The listener could not bind.
    #[error("addr=<127.0.0.1> | could not listen: {0}")]
    Bind(#[source] std::io::Error),
    /// The test certificate could not be made or loaded.
    #[error("could not set up TLS | {0}")]
    Tls(String),
    /// A client frame was not what the protocol says.
    #[error("malformed client frame | {0}")]
    Frame(String),
    /// `wait_for` ran out of time.
    #[error("timeout_ms=<{0}> | the recorded events never matched")]
    Timeout(u128),
}

/// State shared by the server's tasks.
pub(crate) struct Shared {
    pub(crate) script: Script,
    recorded: Mutex<Vec<Vec<Value>>>,
    versions: Mutex<Vec<String>>,
    pub(crate) refuse: std::sync::atomic::AtomicBool,
    /// The only access key id accepted, when set.
    required_key: Mutex<Option<String>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Vec<Vec<Value>>> {
        self.recorded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The only access key id accepted, if one is required.
    pub(crate) fn required_key(&self) -> Option<String> {
        self.required_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// A new connection's index; `version` is its HTTP version (`HTTP/2.0`, ...).
    pub(crate) fn open_connection(&self, version: String) -> usize {
        self.versions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(version);
        let mut rec = self.lock();
        rec.push(Vec::new());
        rec.len() - 1
    }

    /// Records an event of connection `index`.
    pub(crate) fn record(&self, index: usize, event: Value) {
        if let Some(events) = self.lock().get_mut(index) {
            events.push(event);
        }
    }
}

/// A running simulator; see the [module docs](self).
pub struct BedrockSim {
    addr: SocketAddr,
    ca_pem: Option<String>,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for BedrockSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BedrockSim")
            .field("endpoint", &self.endpoint())
            .finish()
    }
}

impl BedrockSim {
    /// Starts a plain-TCP server (HTTP/1.1 and HTTP/2 prior knowledge) on 127.0.0.1.
    pub async fn start(script: Script) -> Result<Self, SimError> {
        Self::launch(script, None, 0).await
    }

    /// Like [`start`](Self::start), on 127.0.0.1:`port` (0: a free port).
    pub async fn start_on(port: u16, script: Script) -> Result<Self, SimError> {
        Self::launch(script, None, port).await
    }

    /// Starts a TLS server (ALPN `h2` and `http/1.1`) with a new self-signed certificate for
    /// `localhost`; trust [`ca_pem`](Self::ca_pem) in the client.
    pub async fn start_tls(script: Script) -> Result<Self, SimError> {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .map_err(|e| SimError::Tls(e.to_string()))?;
        let pem = certified.cert.pem();
        let cert = CertificateDer::from(certified.cert.der().to_vec());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| SimError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .map_err(|e| SimError::Tls(e.to_string()))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Self::launch(script, Some((TlsAcceptor::from(Arc::new(config)), pem)), 0).await
    }

    /// Like [`start_tls`](Self::start_tls), on 127.0.0.1:`port` (0: a free port), presenting
    /// `config`'s certificate (offer `h2` and `http/1.1` by ALPN, as
    /// [`ThrowawayCa::http_server_config`](crate::tls::ThrowawayCa::http_server_config)
    /// does); `ca_pem` is what [`ca_pem`](Self::ca_pem) reports.
    pub async fn start_tls_on(
        port: u16,
        script: Script,
        config: Arc<rustls::ServerConfig>,
        ca_pem: String,
    ) -> Result<Self, SimError> {
        Self::launch(script, Some((TlsAcceptor::from(config), ca_pem)), port).await
    }

    async fn launch(
        script: Script,
        tls: Option<(TlsAcceptor, String)>,
        port: u16,
    ) -> Result<Self, SimError> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(SimError::Bind)?;
        let addr = listener.local_addr().map_err(SimError::Bind)?;
        let shared = Arc::new(Shared {
            script,
            recorded: Mutex::new(Vec::new()),
            versions: Mutex::new(Vec::new()),
            refuse: std::sync::atomic::AtomicBool::new(false),
            required_key: Mutex::new(None),
        });
        let (stop, mut stopped) = oneshot::channel();
        let (acceptor, ca_pem) = match tls {
            Some((a, pem)) => (Some(a), Some(pem)),
            None => (None, None),
        };
        let serving = shared.clone();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                let accepted = tokio::select! {
                    _ = &mut stopped => break,
                    a = listener.accept() => a,
                };
                let Ok((tcp, peer)) = accepted else { continue };
                let shared = serving.clone();
                let acceptor = acceptor.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req| stream::handle(req, shared.clone()));
                    let builder = auto::Builder::new(TokioExecutor::new());
                    let served = match acceptor {
                        Some(acceptor) => match acceptor.accept(tcp).await {
                            Ok(tls) => builder.serve_connection(TokioIo::new(tls), service).await,
                            Err(e) => {
                                tracing::debug!(
                                    "peer=<{peer}>, error=<{e}> | TLS handshake failed"
                                );
                                return;
                            }
                        },
                        None => builder.serve_connection(TokioIo::new(tcp), service).await,
                    };
                    if let Err(e) = served {
                        tracing::debug!(
                            "peer=<{peer}>, error=<{e}> | connection ended with an error"
                        );
                    }
                });
            }
            connections.shutdown().await;
        });
        Ok(Self {
            addr,
            ca_pem,
            shared,
            stop: Some(stop),
            task,
        })
    }

    /// The URL to give the client as `endpoint_url`: `http://127.0.0.1:<port>` or, with TLS,
    /// `https://localhost:<port>`.
    pub fn endpoint(&self) -> String {
        match self.ca_pem {
            Some(_) => format!("https://localhost:{}", self.addr.port()),
            None => format!("http://{}", self.addr),
        }
    }

    /// The PEM of the TLS server's self-signed certificate (`None` without TLS).
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// Every event received, as JSON, per connection in the order they were opened.
    pub fn recorded(&self) -> Vec<Vec<Value>> {
        self.shared.lock().clone()
    }

    /// From now on, answer new streams with `503 ServiceUnavailableException` (or accept them
    /// again with `false`); open streams go on.
    pub fn refuse_new_streams(&self, refuse: bool) {
        self.shared
            .refuse
            .store(refuse, std::sync::atomic::Ordering::SeqCst);
    }

    /// From now on, accept only requests signed with the access key id `id` (the SigV4
    /// `Credential=<id>/...`): any other is answered as Bedrock answers an unknown key, HTTP
    /// 403 `UnrecognizedClientException` (see [`crate::auth`]). `None`, the default, accepts
    /// any credentials. The signature itself is not verified.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), bidi_sim::bedrock::SimError> {
    /// let sim = bidi_sim::bedrock::BedrockSim::start(bidi_sim::Script::new()).await?;
    /// sim.require_access_key_id(Some("AKIDSIMULATOR".into()));
    /// sim.shutdown().await;
    /// # Ok(()) }
    /// ```
    pub fn require_access_key_id(&self, id: Option<String>) {
        *self
            .shared
            .required_key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = id;
    }

    /// The HTTP version of each stream, in the order of [`recorded`](Self::recorded):
    /// `HTTP/1.1` or `HTTP/2.0`.
    pub fn http_versions(&self) -> Vec<String> {
        self.shared
            .versions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Waits until `until` holds for the recorded events (checked every 10 ms), at most
    /// `timeout`, and returns them.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        until: impl Fn(&[Vec<Value>]) -> bool,
    ) -> Result<Vec<Vec<Value>>, SimError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let recorded = self.recorded();
            if until(&recorded) {
                return Ok(recorded);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(SimError::Timeout(timeout.as_millis()));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops accepting and closes every connection.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        (&mut self.task).await.ok();
    }
}

impl Drop for BedrockSim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The name of a recorded event (`sessionStart`, `audioInput`, ...), if it has one.
///
/// ```
/// let e = serde_json::json!({"event": {"promptEnd": {"promptName": "p"}}});
/// assert_eq!(bidi_sim::bedrock::event_name(&e), Some("promptEnd"));
/// ```
pub fn event_name(event: &Value) -> Option<&str> {
    event
        .get("event")?
        .as_object()?
        .keys()
        .next()
        .map(String::as_str)
}
