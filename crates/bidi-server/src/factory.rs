//! [`AgentFactory`]: where each session's agent comes from. The server calls it once per
//! WebSocket, after the upgrade; a library user supplies their own.

use std::fmt;
use std::future::Future;

use bidi_agent::BidiAgent;
use bidi_agent::session::SessionManager;

/// Any error of a factory.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the server knows about a new session when it asks for its agent.
#[derive(Default)]
#[non_exhaustive]
pub struct SessionStart {
    /// The session to resume or create (`?session=ID`, or a call's SID, with a
    /// [`SessionStore`](crate::SessionStore) configured: a file or an S3 session manager),
    /// to give the agent with
    /// [`BidiAgentBuilder::session_manager`](bidi_agent::agent::BidiAgentBuilder::session_manager).
    pub session: Option<Box<dyn SessionManager>>,
    /// The session is a phone call (Twilio Media Streams): its audio is G.711 μ-law at
    /// 8 kHz. A model taking that itself (OpenAI Realtime with
    /// [`OpenAiRealtimeConfig::mulaw`](bidi_agent::models::openai::OpenAiRealtimeConfig::mulaw))
    /// gets the caller's audio as it came and its audio goes to the caller as it is; any
    /// other model's audio is resampled and transcoded on the way.
    pub phone_call: bool,
}

impl SessionStart {
    /// A phone call's start, with no session (see [`phone_call`](Self::phone_call)).
    pub fn call() -> Self {
        Self {
            session: None,
            phone_call: true,
        }
    }
}

impl fmt::Debug for SessionStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionStart")
            .field("session", &self.session.as_ref().map(|_| "SessionManager"))
            .field("phone_call", &self.phone_call)
            .finish()
    }
}

/// Makes the agent of each session. Implemented for async closures taking a
/// [`SessionStart`]:
///
/// ```
/// use bidi_agent::BidiAgent;
/// use bidi_server::{AgentFactory, BoxError, SessionStart};
///
/// fn factory(model_url: String) -> impl AgentFactory {
///     move |start: SessionStart| {
///         let url = model_url.clone();
///         async move {
///             use bidi_agent::models::openai::{BidiOpenAIRealtimeModel, OpenAiRealtimeConfig};
///             let model = BidiOpenAIRealtimeModel::new(OpenAiRealtimeConfig::new().endpoint(url))?;
///             let mut builder = BidiAgent::builder(model);
///             if let Some(session) = start.session {
///                 builder = builder.session_manager(session);
///             }
///             Ok::<_, BoxError>(builder.build()?)
///         }
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait AgentFactory: Send + Sync + 'static {
    /// The agent for a new session.
    async fn create(&self, start: SessionStart) -> Result<BidiAgent, BoxError>;
}

#[async_trait::async_trait]
impl<F, Fut> AgentFactory for F
where
    F: Fn(SessionStart) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<BidiAgent, BoxError>> + Send + 'static,
{
    async fn create(&self, start: SessionStart) -> Result<BidiAgent, BoxError> {
        self(start).await
    }
}
