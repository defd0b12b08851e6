//! Building an agent: [`BidiAgent::builder`] and its siblings, and [`BidiAgentBuilder`], the
//! agent's options. Every configuration error (the default model's, an id, a tool, the
//! state, a hook) surfaces at [`BidiAgentBuilder::build`].

use std::sync::{Arc, Mutex};

use bidi_types::{BidiModel, Message, PlaybackTracker};
use serde_json::{Map, Value};

use super::BidiAgent;
use super::inner::Inner;
use super::shared::{Phase, validate_id};
use crate::error::AgentError;
use crate::hooks::{BidiAgentInitializedEvent, HookProvider, HookRegistry};
use crate::session::{SessionHooks, SessionManager};
use crate::state::AgentState;
use crate::tools::{
    AgentTool, AgentTools, ConcurrentToolExecutor, ToolExecutor, ToolProvider, ToolRegistry,
};

/// The default agent id.
///
/// ```
/// assert_eq!(bidi_agent::agent::DEFAULT_AGENT_ID, "default");
/// ```
pub const DEFAULT_AGENT_ID: &str = "default";
/// The default agent name.
///
/// ```
/// assert_eq!(bidi_agent::agent::DEFAULT_AGENT_NAME, "Strands Agents");
/// ```
pub const DEFAULT_AGENT_NAME: &str = "Strands Agents";

impl BidiAgent {
    /// A builder for an agent talking to `model`.
    pub fn builder(model: impl BidiModel + 'static) -> BidiAgentBuilder {
        BidiAgentBuilder::new(Ok(Box::new(model)))
    }

    /// A builder for an agent talking to an already boxed model.
    pub fn builder_boxed(model: Box<dyn BidiModel>) -> BidiAgentBuilder {
        BidiAgentBuilder::new(Ok(model))
    }

    /// A builder for an agent talking to the reference's default model: Nova Sonic
    /// (`amazon.nova-2-sonic-v1:0`), with credentials and region from the standard AWS chain.
    /// A failure to set the model up is returned by [`BidiAgentBuilder::build`].
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), bidi_agent::AgentError> {
    /// let agent = bidi_agent::BidiAgent::builder_default().system_prompt("Be brief.").build()?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "nova-sonic")]
    pub fn builder_default() -> BidiAgentBuilder {
        let model = bidi_model::nova_sonic::BidiNovaSonicModel::new(
            bidi_model::nova_sonic::NovaSonicConfig::default(),
        );
        BidiAgentBuilder::new(match model {
            Ok(model) => Ok(Box::new(model)),
            Err(e) => Err(e.into()),
        })
    }
}

/// Builds a [`BidiAgent`] with the reference's options.
///
/// The model is given to [`BidiAgent::builder`]; with the `nova-sonic` feature,
/// `BidiAgent::builder_default` uses the reference's default, Nova Sonic.
///
/// ```no_run
/// # fn demo(model: Box<dyn bidi_agent::types::BidiModel>) -> Result<(), bidi_agent::AgentError> {
/// use bidi_agent::BidiAgent;
/// use bidi_agent::tools::StopConversation;
///
/// let agent = BidiAgent::builder_boxed(model)
///     .system_prompt("You are terse.")
///     .tool(StopConversation)
///     .agent_id("support")
///     .build()?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct BidiAgentBuilder {
    /// The model, or why it could not be set up (returned by `build`).
    model: Result<Box<dyn BidiModel>, AgentError>,
    tools: Vec<Arc<dyn AgentTool>>,
    providers: Vec<Arc<dyn ToolProvider>>,
    system_prompt: Option<String>,
    messages: Vec<Message>,
    record_direct_tool_call: bool,
    agent_id: Option<String>,
    name: Option<String>,
    description: Option<String>,
    hooks: HookRegistry,
    state: StateInit,
    session_manager: Option<Arc<dyn SessionManager>>,
    executor: Arc<dyn ToolExecutor>,
}

enum StateInit {
    Given(AgentState),
    Map(Map<String, Value>),
}

impl std::fmt::Debug for BidiAgentBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BidiAgentBuilder")
            .field("agent_id", &self.agent_id)
            .field("tools", &self.tools.len())
            .field("tool_providers", &self.providers.len())
            .finish_non_exhaustive()
    }
}

impl BidiAgentBuilder {
    fn new(model: Result<Box<dyn BidiModel>, AgentError>) -> Self {
        Self {
            model,
            tools: Vec::new(),
            providers: Vec::new(),
            system_prompt: None,
            messages: Vec::new(),
            record_direct_tool_call: true,
            agent_id: None,
            name: None,
            description: None,
            hooks: HookRegistry::new(),
            state: StateInit::Given(AgentState::new()),
            session_manager: None,
            executor: Arc::new(ConcurrentToolExecutor),
        }
    }

    /// Adds a tool.
    pub fn tool(mut self, tool: impl AgentTool) -> Self {
        self.tools.push(Arc::new(tool));
        self
    }

    /// Adds shared tools.
    pub fn tools(mut self, tools: impl IntoIterator<Item = Arc<dyn AgentTool>>) -> Self {
        self.tools.extend(tools);
        self
    }

    /// Adds a tool provider (an MCP server, for example): its tools are loaded at every
    /// `start`, registered beside the agent's own and sent to the model; the provider is
    /// released at `stop`. Providers load in the order added.
    pub fn tool_provider(mut self, provider: impl ToolProvider) -> Self {
        self.providers.push(Arc::new(provider));
        self
    }

    /// Adds a shared tool provider (one provider may serve several agents).
    pub fn tool_provider_arc(mut self, provider: Arc<dyn ToolProvider>) -> Self {
        self.providers.push(provider);
        self
    }

    /// The system prompt, passed to every model start.
    pub fn system_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.system_prompt = Some(prompt.into());
        self
    }

    /// The initial history.
    pub fn messages(mut self, messages: Vec<Message>) -> Self {
        self.messages = messages;
        self
    }

    /// Whether direct tool calls are recorded in the history (default `true`).
    pub fn record_direct_tool_call(mut self, record: bool) -> Self {
        self.record_direct_tool_call = record;
        self
    }

    /// The agent's id (default `default`); must not hold a path separator.
    pub fn agent_id(mut self, id: impl Into<String>) -> Self {
        self.agent_id = Some(id.into());
        self
    }

    /// The agent's name (default `Strands Agents`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// What the agent does.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Adds a hook provider (providers are called in the order added).
    pub fn hook(mut self, provider: impl HookProvider) -> Self {
        self.hooks.add(provider);
        self
    }

    /// Adds a shared hook provider.
    pub fn hook_arc(mut self, provider: Arc<dyn HookProvider>) -> Self {
        self.hooks.add_arc(provider);
        self
    }

    /// The agent's state.
    pub fn state(mut self, state: AgentState) -> Self {
        self.state = StateInit::Given(state);
        self
    }

    /// The agent's state from a JSON object (checked at `build`).
    pub fn state_map(mut self, state: Map<String, Value>) -> Self {
        self.state = StateInit::Map(state);
        self
    }

    /// A session manager: registered as a hook provider after the others, it restores and
    /// saves the history and the state.
    pub fn session_manager(mut self, manager: impl SessionManager) -> Self {
        self.session_manager = Some(Arc::new(manager));
        self
    }

    /// How tool calls run (default [`ConcurrentToolExecutor`]).
    pub fn tool_executor(mut self, executor: impl ToolExecutor) -> Self {
        self.executor = Arc::new(executor);
        self
    }

    /// Builds the agent: registers the tools, then the hooks (the session manager last), then
    /// fires [`BidiAgentInitializedEvent`]. Fails with the first configuration error: the
    /// model's (from `builder_default`), the agent id, a tool, the state, a hook.
    pub fn build(self) -> Result<BidiAgent, AgentError> {
        let model = self.model?;
        let agent_id = self.agent_id.unwrap_or_else(|| DEFAULT_AGENT_ID.to_owned());
        validate_id(&agent_id)?;
        let name = self.name.unwrap_or_else(|| DEFAULT_AGENT_NAME.to_owned());
        let mut tools = ToolRegistry::new();
        for tool in self.tools {
            tools.register_arc(tool)?;
        }
        let state = match self.state {
            StateInit::Given(s) => s,
            StateInit::Map(m) => AgentState::from_map(m)?,
        };
        let mut hooks = self.hooks;
        if let Some(manager) = self.session_manager {
            hooks.add(SessionHooks::new(manager));
        }
        let mut init = BidiAgentInitializedEvent {
            agent_id: agent_id.clone(),
            name: name.clone(),
            messages: self.messages,
            state,
        };
        hooks.agent_initialized(&mut init)?;
        let inner = Inner {
            model,
            agent_id,
            name,
            description: self.description,
            system_prompt: self.system_prompt,
            record_direct_tool_call: self.record_direct_tool_call,
            tools: AgentTools::new(tools, self.providers),
            executor: self.executor,
            hooks,
            state: init.state,
            playback: PlaybackTracker::new(),
            heard: Mutex::new(super::heard::HeardTurn::default()),
            current_response: Mutex::new(None),
            messages: Mutex::new(init.messages),
            append_lock: tokio::sync::Mutex::new(()),
            send_gate: tokio::sync::RwLock::new(()),
            phase: Mutex::new(Phase::Stopped),
        };
        Ok(BidiAgent {
            inner: Arc::new(inner),
        })
    }
}
