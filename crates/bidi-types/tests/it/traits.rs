//! The boundary traits are object safe, `Send`, and usable across tokio tasks.

use std::sync::{Arc, Mutex};

use bidi_types::*;
use futures_util::StreamExt;
use tokio::sync::mpsc;

fn assert_send<T: Send>() {}
fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn trait_objects_are_send() {
    assert_send_sync::<Box<dyn BidiModel>>();
    assert_send_sync::<Arc<dyn BidiModel>>();
    assert_send::<Box<dyn BidiInput>>();
    assert_send::<Box<dyn BidiOutput>>();
    assert_send_sync::<Arc<dyn AgentView>>();
    assert_send::<ModelEventStream>();
    assert_send_sync::<ModelError>();
    assert_send_sync::<TypesError>();
    assert_send_sync::<IoError>();
}

type Events = mpsc::UnboundedSender<Result<BidiOutputEvent, ModelError>>;

/// A model that records what it is sent and replays a script: enough to check that the trait
/// works through `Arc<dyn BidiModel>` from several tasks at once.
#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<ModelInput>>,
    tx: Mutex<Option<Events>>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<Result<BidiOutputEvent, ModelError>>>>,
    started_with: Mutex<Option<StartParams>>,
}

#[async_trait]
impl BidiModel for Recorder {
    fn config(&self) -> ModelConfig {
        ModelConfig::new(
            "recorder",
            AudioConfig::new(SampleRate::Hz16000, SampleRate::Hz24000),
        )
    }
    fn connection_id(&self) -> Option<String> {
        self.tx.lock().ok()?.as_ref().map(|_| "c-1".to_owned())
    }
    async fn start(&self, params: StartParams) -> Result<(), ModelError> {
        let mut tx_slot = self.tx.lock().expect("lock");
        if tx_slot.is_some() {
            return Err(ModelError::AlreadyStarted);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let _ = tx.send(Ok(BidiConnectionStartEvent::new("c-1", "recorder").into()));
        *tx_slot = Some(tx);
        *self.rx.lock().expect("lock") = Some(rx);
        *self.started_with.lock().expect("lock") = Some(params);
        Ok(())
    }
    async fn send(&self, input: ModelInput) -> Result<(), ModelError> {
        let guard = self.tx.lock().expect("lock");
        let tx = guard
            .as_ref()
            .ok_or(ModelError::NotStarted { action: "sending" })?;
        if let ModelInput::ToolResult(r) = &input {
            let _ = tx.send(Ok(BidiTranscriptStreamEvent::new(
                format!("result for {}", r.tool_use_id),
                Role::Assistant,
                true,
                None,
            )
            .into()));
        }
        self.sent.lock().expect("lock").push(input);
        Ok(())
    }
    fn receive(&self) -> Result<ModelEventStream, ModelError> {
        let rx = self
            .rx
            .lock()
            .expect("lock")
            .take()
            .ok_or(ModelError::NotStarted {
                action: "receiving",
            })?;
        Ok(Box::pin(
            tokio_stream::wrappers::UnboundedReceiverStream::new(rx),
        ))
    }
    async fn stop(&self) -> Result<(), ModelError> {
        self.tx.lock().expect("lock").take();
        Ok(())
    }
}

#[tokio::test]
async fn model_works_through_arc_dyn_across_tasks() {
    let model: Arc<dyn BidiModel> = Arc::new(Recorder::default());
    assert!(matches!(
        model.send("x".into()).await,
        Err(ModelError::NotStarted { .. })
    ));
    model
        .start(StartParams {
            system_prompt: Some("Be brief".into()),
            ..StartParams::default()
        })
        .await
        .expect("start");
    assert!(matches!(
        model.start(StartParams::default()).await,
        Err(ModelError::AlreadyStarted)
    ));
    assert_eq!(model.connection_id().as_deref(), Some("c-1"));

    let mut events = model.receive().expect("stream");
    let reader = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(Ok(e)) = events.next().await {
            seen.push(e.event_type());
        }
        seen
    });
    let sender = {
        let model = Arc::clone(&model);
        tokio::spawn(async move {
            model.send("hello".into()).await?;
            model.send(ToolResult::text("t-1", "42").into()).await
        })
    };
    sender.await.expect("join").expect("send");
    model.stop().await.expect("stop");
    model.stop().await.expect("stop is idempotent");
    assert_eq!(
        reader.await.expect("join"),
        ["bidi_connection_start", "bidi_transcript_stream"]
    );
    assert_eq!(model.connection_id(), None);
}

struct View;
impl AgentView for View {
    fn model_config(&self) -> ModelConfig {
        Recorder::default().config()
    }
    fn agent_id(&self) -> &str {
        "default"
    }
}

/// An output that keeps the audio rate it was started with and counts audio chunks.
#[derive(Default)]
struct Counter {
    rate: Option<SampleRate>,
    chunks: usize,
}

#[async_trait]
impl BidiOutput for Counter {
    async fn start(&mut self, agent: Arc<dyn AgentView>) -> Result<(), IoError> {
        self.rate = Some(agent.model_config().audio.output_rate);
        Ok(())
    }
    async fn write(&mut self, event: &BidiAgentEvent) -> Result<(), IoError> {
        if self.rate.is_none() {
            return Err(IoError::NotStarted { action: "writing" });
        }
        if let Some(BidiOutputEvent::AudioStream(_)) = event.as_output() {
            self.chunks += 1;
        }
        Ok(())
    }
}

#[tokio::test]
async fn outputs_see_the_agent_view_at_start() {
    let mut out: Box<dyn BidiOutput> = Box::new(Counter::default());
    let audio: BidiAgentEvent = BidiAudioStreamEvent::from_bytes(
        &[0, 0],
        AudioFormat::Pcm,
        SampleRate::Hz24000,
        Channels::Mono,
    )
    .into();
    assert!(matches!(
        out.write(&audio).await,
        Err(IoError::NotStarted { .. })
    ));
    out.start(Arc::new(View)).await.expect("start");
    let handle = tokio::spawn(async move {
        out.write(&audio).await?;
        out.write(&audio).await?;
        out.stop().await
    });
    handle.await.expect("join").expect("writes");
}
