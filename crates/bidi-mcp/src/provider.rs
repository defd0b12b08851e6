//! [`McpToolProvider`]: an MCP server (spawned over stdio, or reached over streamable HTTP)
//! as a [`ToolProvider`] of a bidi agent.

use std::collections::{BTreeSet, HashSet};
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bidi_agent::tools::{AgentTool, ConsumerId, ToolProvider};
use bidi_agent::types::BoxError;
#[cfg(any(feature = "stdio", feature = "http"))]
use rmcp::service::ServiceExt as _;
use rmcp::service::{RoleClient, RunningService};

use crate::McpError;
use crate::tool::McpTool;

/// The default per-call timeout: one minute.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// The default startup timeout (spawn or connect, handshake, tool listing): 30 s, as the
/// reference.
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `stop` waits for the connection to close (a stdio server gets its stdin closed,
/// then `SIGTERM`, then `SIGKILL`) before giving up on it.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// How the server is reached (a variant whose feature is off is refused at start).
#[derive(Debug, Clone)]
#[cfg_attr(not(all(feature = "stdio", feature = "http")), allow(dead_code))]
enum Transport {
    Stdio {
        program: OsString,
        args: Vec<OsString>,
        env: Vec<(OsString, OsString)>,
        cwd: Option<PathBuf>,
    },
    Http {
        url: String,
        bearer_token: Option<String>,
        ca_file: Option<PathBuf>,
    },
}

struct Connection {
    service: RunningService<RoleClient, ()>,
    pid: Option<u32>,
    tools: Vec<Arc<dyn AgentTool>>,
}

#[derive(Default)]
struct State {
    consumers: HashSet<ConsumerId>,
    connection: Option<Connection>,
}

/// An MCP server's tools, for a [`BidiAgent`](bidi_agent::BidiAgent): the reference's
/// `MCPClient` as a tool provider.
///
/// The server is started (spawned, or connected to) when the first agent using it starts,
/// its tools are listed (optionally prefixed and filtered) and registered beside the agent's
/// own, and it is stopped when the last agent using it stops. A server that died is started
/// again at the next agent start; meanwhile its tools answer with an error result.
///
/// ```no_run
/// # fn demo(model: impl bidi_agent::types::BidiModel + 'static) -> Result<(), bidi_agent::AgentError> {
/// use std::time::Duration;
/// use bidi_agent::BidiAgent;
/// use bidi_mcp::McpToolProvider;
///
/// let weather = McpToolProvider::stdio("python3", ["weather_server.py"])
///     .prefix("weather")
///     .deny(["delete_city"])
///     .call_timeout(Duration::from_secs(10));
/// let docs = McpToolProvider::http("http://127.0.0.1:8000/mcp").bearer_token("secret");
/// let agent = BidiAgent::builder(model)
///     .tool_provider(weather)
///     .tool_provider(docs)
///     .build()?;
/// # Ok(()) }
/// ```
pub struct McpToolProvider {
    name: String,
    transport: Transport,
    prefix: Option<String>,
    allowed: Option<BTreeSet<String>>,
    rejected: BTreeSet<String>,
    call_timeout: Duration,
    startup_timeout: Duration,
    state: tokio::sync::Mutex<State>,
}

impl std::fmt::Debug for McpToolProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpToolProvider")
            .field("name", &self.name)
            .field("prefix", &self.prefix)
            .field("allowed", &self.allowed)
            .field("rejected", &self.rejected)
            .field("call_timeout", &self.call_timeout)
            .finish_non_exhaustive()
    }
}

impl McpToolProvider {
    fn with_transport(name: String, transport: Transport) -> Self {
        Self {
            name,
            transport,
            prefix: None,
            allowed: None,
            rejected: BTreeSet::new(),
            call_timeout: DEFAULT_CALL_TIMEOUT,
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
            state: tokio::sync::Mutex::new(State::default()),
        }
    }

    /// A server spawned as `program args...`, spoken to over its stdin and stdout (its stderr
    /// is the agent process's). Its name is the program's file name.
    pub fn stdio(
        program: impl Into<OsString>,
        args: impl IntoIterator<Item = impl Into<OsString>>,
    ) -> Self {
        let program = program.into();
        let name = PathBuf::from(&program)
            .file_name()
            .map_or_else(|| "mcp".to_owned(), |n| n.to_string_lossy().into_owned());
        Self::with_transport(
            name,
            Transport::Stdio {
                program,
                args: args.into_iter().map(Into::into).collect(),
                env: Vec::new(),
                cwd: None,
            },
        )
    }

    /// A streamable-HTTP server at `url` (`http://`; `https://` with the `tls` feature). Its
    /// name is the URL.
    pub fn http(url: impl Into<String>) -> Self {
        let url = url.into();
        Self::with_transport(
            url.clone(),
            Transport::Http {
                url,
                bearer_token: None,
                ca_file: None,
            },
        )
    }

    /// The server's name in logs and error messages.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Prefixes every tool name: the model sees `<prefix>_<tool>` (the server is called with
    /// the tool's own name).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into()).filter(|p| !p.is_empty());
        self
    }

    /// Keeps only these tools (by their name on the server).
    pub fn allow(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.allowed
            .get_or_insert_with(BTreeSet::new)
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// Drops these tools (by their name on the server); applied after [`allow`](Self::allow).
    pub fn deny(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.rejected.extend(names.into_iter().map(Into::into));
        self
    }

    /// How long one tool call may take before it becomes an error result (default
    /// [`DEFAULT_CALL_TIMEOUT`]).
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// How long starting the server may take (default [`DEFAULT_STARTUP_TIMEOUT`]).
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// Sets an environment variable of a stdio server (no effect on HTTP servers).
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        if let Transport::Stdio { env, .. } = &mut self.transport {
            env.push((key.into(), value.into()));
        }
        self
    }

    /// The working directory of a stdio server (no effect on HTTP servers).
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        if let Transport::Stdio { cwd, .. } = &mut self.transport {
            *cwd = Some(dir.into());
        }
        self
    }

    /// A bearer token sent as `Authorization: Bearer <token>` to an HTTP server (no effect on
    /// stdio servers). Never logged.
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        if let Transport::Http { bearer_token, .. } = &mut self.transport {
            *bearer_token = Some(token.into());
        }
        self
    }

    /// Also trust the CA certificates of this PEM file for an `https://` server (a private
    /// CA, a corporate TLS proxy's), besides the system's store (which honours
    /// `SSL_CERT_FILE` / `SSL_CERT_DIR`); needs the `tls` feature. No effect on stdio
    /// servers. The file is read at each start; a bad one fails the start.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        if let Transport::Http { ca_file, .. } = &mut self.transport {
            *ca_file = Some(path.into());
        }
        self
    }

    /// The HTTP client for a server with a CA file: reqwest's default (the system's store,
    /// proxies from `HTTPS_PROXY` / `ALL_PROXY` / `NO_PROXY`) trusting the file's
    /// certificates too.
    #[cfg(feature = "tls")]
    fn client_trusting(&self, path: &std::path::Path) -> Result<reqwest::Client, McpError> {
        let fail = |reason: String| McpError::Config {
            server: self.name.clone(),
            reason,
        };
        let file = bidi_model::trust::CaFile::load(path).map_err(|e| fail(e.to_string()))?;
        let certs = file
            .certificates()
            .iter()
            .map(|der| reqwest::Certificate::from_der(der))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(format!("ca_file=<{}> | {e}", path.display())))?;
        reqwest::Client::builder()
            .tls_certs_merge(certs)
            .build()
            .map_err(|e| {
                fail(format!(
                    "ca_file=<{}> | the HTTP client refused the CA file: {e}",
                    path.display()
                ))
            })
    }

    /// The process id of the running stdio server, if any.
    pub async fn server_pid(&self) -> Option<u32> {
        let state = self.state.lock().await;
        state
            .connection
            .as_ref()
            .filter(|c| !c.service.is_transport_closed())
            .and_then(|c| c.pid)
    }

    /// Whether a connection is open and alive.
    pub async fn is_running(&self) -> bool {
        let state = self.state.lock().await;
        state
            .connection
            .as_ref()
            .is_some_and(|c| !c.service.is_transport_closed())
    }

    fn keeps(&self, mcp_name: &str) -> bool {
        self.allowed.as_ref().is_none_or(|a| a.contains(mcp_name))
            && !self.rejected.contains(mcp_name)
    }

    async fn serve(&self) -> Result<(RunningService<RoleClient, ()>, Option<u32>), McpError> {
        #[cfg(any(feature = "stdio", feature = "http"))]
        let init = |e: rmcp::service::ClientInitializeError| McpError::Initialize {
            server: self.name.clone(),
            reason: initialize_reason(&e),
        };
        match &self.transport {
            #[cfg(feature = "stdio")]
            Transport::Stdio {
                program,
                args,
                env,
                cwd,
            } => {
                let mut command = tokio::process::Command::new(program);
                command.args(args).envs(env.iter().map(|(k, v)| (k, v)));
                // Its own process group: at stop the whole group is signalled, so processes
                // the server started itself (`npx`/`uvx` wrappers, workers) end with it.
                #[cfg(unix)]
                command.process_group(0);
                if let Some(dir) = cwd {
                    command.current_dir(dir);
                }
                let spawn_error = |source| McpError::Spawn {
                    server: self.name.clone(),
                    command: program.to_string_lossy().into_owned(),
                    source,
                };
                let (child, _stderr) = rmcp::transport::TokioChildProcess::builder(command)
                    .stderr(std::process::Stdio::inherit())
                    .spawn()
                    .map_err(spawn_error)?;
                let pid = child.id();
                tracing::debug!(server = %self.name, "server=<{}>, pid=<{pid:?}> | MCP server spawned", self.name);
                let service = ().serve(child).await.map_err(init)?;
                Ok((service, pid))
            }
            #[cfg(feature = "http")]
            Transport::Http {
                url,
                bearer_token,
                ca_file,
            } => {
                use rmcp::transport::StreamableHttpClientTransport;
                use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
                let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str());
                if let Some(token) = bearer_token {
                    config = config.auth_header(token.clone());
                }
                let transport = match ca_file {
                    #[cfg(feature = "tls")]
                    Some(path) => StreamableHttpClientTransport::with_client(
                        self.client_trusting(path)?,
                        config,
                    ),
                    #[cfg(not(feature = "tls"))]
                    Some(_) => {
                        return Err(McpError::Config {
                            server: self.name.clone(),
                            reason: "ca_file needs the bidi-mcp feature `tls`".into(),
                        });
                    }
                    None => StreamableHttpClientTransport::from_config(config),
                };
                let service = ().serve(transport).await.map_err(init)?;
                Ok((service, None))
            }
            #[allow(unreachable_patterns)]
            _ => Err(McpError::Config {
                server: self.name.clone(),
                reason: "this transport needs a bidi-mcp feature that is off (`stdio` or `http`)"
                    .into(),
            }),
        }
    }

    /// Starts the server and lists its tools.
    async fn connect(&self) -> Result<Connection, McpError> {
        let (service, pid) = self.serve().await?;
        let listed = service
            .peer()
            .list_all_tools()
            .await
            .map_err(|e| McpError::ListTools {
                server: self.name.clone(),
                reason: e.to_string(),
            })?;
        let server: Arc<str> = Arc::from(self.name.as_str());
        let tools: Vec<Arc<dyn AgentTool>> = listed
            .iter()
            .filter(|t| self.keeps(&t.name))
            .map(|t| {
                let name = match &self.prefix {
                    Some(p) => format!("{p}_{}", t.name),
                    None => t.name.to_string(),
                };
                let spec = crate::convert::tool_spec(t, &name);
                Arc::new(McpTool::new(
                    spec,
                    &t.name,
                    Arc::clone(&server),
                    service.peer().clone(),
                    self.call_timeout,
                )) as Arc<dyn AgentTool>
            })
            .collect();
        tracing::debug!(
            server = %self.name,
            "server=<{}>, listed=<{}>, kept=<{}> | MCP tools loaded",
            self.name,
            listed.len(),
            tools.len()
        );
        Ok(Connection {
            service,
            pid,
            tools,
        })
    }

    async fn close(&self, mut connection: Connection) {
        let group = connection.pid;
        self.close_service(&mut connection).await;
        #[cfg(all(unix, feature = "stdio"))]
        if let Some(pid) = group {
            end_process_group(&self.name, pid).await;
        }
        #[cfg(not(all(unix, feature = "stdio")))]
        let _ = group;
    }

    async fn close_service(&self, connection: &mut Connection) {
        match connection.service.close_with_timeout(CLOSE_TIMEOUT).await {
            Ok(Some(reason)) => {
                tracing::debug!(server = %self.name, "server=<{}>, reason=<{reason:?}> | MCP connection closed", self.name);
            }
            Ok(None) => {
                tracing::warn!(server = %self.name, "server=<{}> | MCP connection did not close in time", self.name);
            }
            Err(e) => {
                tracing::warn!(server = %self.name, "server=<{}>, error=<{e}> | MCP connection task failed", self.name);
            }
        }
    }
}

/// Ends what is left of the process group `pgid` (the server's own children): `SIGTERM`,
/// a short grace, then `SIGKILL`. A group that is already gone is not an error.
#[cfg(all(unix, feature = "stdio"))]
async fn end_process_group(server: &str, pgid: u32) {
    use rustix::process::{Pid, Signal, kill_process_group};
    let Some(pid) = i32::try_from(pgid).ok().and_then(Pid::from_raw) else {
        return;
    };
    if kill_process_group(pid, Signal::TERM).is_err() {
        return; // no process left in the group
    }
    tracing::debug!(
        server,
        "server=<{server}>, pgid=<{pgid}> | ending the server's process group"
    );
    let deadline = tokio::time::Instant::now() + GROUP_GRACE;
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        // Signal 0 probes: an error means the group is empty.
        if rustix::process::test_kill_process_group(pid).is_err() {
            return;
        }
    }
    let _ = kill_process_group(pid, Signal::KILL);
}

/// How long the server's leftover processes get after `SIGTERM` before `SIGKILL`.
#[cfg(all(unix, feature = "stdio"))]
const GROUP_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

#[async_trait::async_trait]
impl ToolProvider for McpToolProvider {
    fn name(&self) -> &str {
        &self.name
    }

    async fn load_tools(&self, consumer: ConsumerId) -> Result<Vec<Arc<dyn AgentTool>>, BoxError> {
        let mut state = self.state.lock().await;
        state.consumers.insert(consumer);
        if let Some(c) = &state.connection
            && !c.service.is_transport_closed()
        {
            return Ok(c.tools.clone());
        }
        if let Some(dead) = state.connection.take() {
            tracing::info!(server = %self.name, "server=<{}> | MCP server connection was lost, restarting it", self.name);
            self.close(dead).await;
        }
        let connection = match tokio::time::timeout(self.startup_timeout, self.connect()).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Err(Box::new(e)),
            Err(_) => {
                return Err(Box::new(McpError::StartupTimeout {
                    server: self.name.clone(),
                    timeout: self.startup_timeout,
                }));
            }
        };
        let tools = connection.tools.clone();
        state.connection = Some(connection);
        Ok(tools)
    }

    async fn remove_consumer(&self, consumer: ConsumerId) -> Result<(), BoxError> {
        let mut state = self.state.lock().await;
        state.consumers.remove(&consumer);
        if state.consumers.is_empty()
            && let Some(connection) = state.connection.take()
        {
            tracing::debug!(server = %self.name, "server=<{}> | no consumer left, stopping MCP server", self.name);
            self.close(connection).await;
        }
        Ok(())
    }
}

/// What an `initialize` failure says, with the fix when the server's certificate is not
/// trusted.
#[cfg(any(feature = "stdio", feature = "http"))]
fn initialize_reason(error: &rmcp::service::ClientInitializeError) -> String {
    // rmcp keeps the transport's error inside without exposing it as `source()`; its Debug
    // form still shows rustls's refusal.
    #[cfg(feature = "tls")]
    if bidi_model::trust::is_untrusted(error)
        || format!("{error:?}").contains("InvalidCertificate(UnknownIssuer)")
    {
        return format!("{error}: {}", bidi_model::trust::UNTRUSTED_HINT);
    }
    error.to_string()
}
