//! The quickstart's own input and output: text lines with a demo fallback, and JSON lines.

use std::collections::VecDeque;
use std::sync::Arc;

use bidi_agent::io::TextInput;
use bidi_agent::types::{
    AgentView, BidiAgentEvent, BidiInput, BidiInputEvent, BidiOutput, BidiTextInputEvent, IoError,
};
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Lines from stdin; when stdin ends before giving any line and a demo is set, the demo's
/// lines instead (announced with one line on stderr).
#[derive(Debug)]
pub struct LinesWithDemo {
    lines: TextInput,
    demo: Option<VecDeque<String>>,
    got_any: bool,
    announced: bool,
}

impl LinesWithDemo {
    /// Reads `lines`, falling back to `demo` (if any) when they are empty.
    pub fn new(lines: TextInput, demo: Option<Vec<String>>) -> Self {
        Self {
            lines,
            demo: demo.map(VecDeque::from),
            got_any: false,
            announced: false,
        }
    }
}

#[bidi_agent::async_trait]
impl BidiInput for LinesWithDemo {
    async fn start(&mut self, agent: Arc<dyn AgentView>) -> Result<(), IoError> {
        self.lines.start(agent).await
    }

    async fn read(&mut self) -> Result<Option<BidiInputEvent>, IoError> {
        if !self.got_any {
            if let Some(event) = self.lines.read().await? {
                self.got_any = true;
                return Ok(Some(event));
            }
            if let Some(demo) = self.demo.as_mut() {
                if !self.announced {
                    self.announced = true;
                    eprintln!("no input on stdin: playing the demo conversation");
                }
                return Ok(demo.pop_front().map(|t| {
                    let event: BidiInputEvent = BidiTextInputEvent::new(t).into();
                    event
                }));
            }
            return Ok(None);
        }
        self.lines.read().await
    }

    async fn stop(&mut self) -> Result<(), IoError> {
        self.lines.stop().await
    }
}

/// Writes every event as one JSON line, in the reference's dict format.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use bidi_agent::types::{BidiAgentEvent, BidiOutput, BidiUsageEvent};
/// use bidi_examples::assistant::io::JsonLines;
///
/// let mut out = JsonLines::to_writer(Vec::new());
/// out.write(&BidiAgentEvent::from(BidiUsageEvent::new(1, 2, 3))).await.unwrap();
/// let line = String::from_utf8(out.into_writer()).unwrap();
/// assert!(line.starts_with(r#"{"type":"bidi_usage""#) && line.ends_with("}\n"));
/// # }
/// ```
#[derive(Debug)]
pub struct JsonLines<W> {
    writer: W,
}

impl<W: AsyncWrite + Unpin + Send> JsonLines<W> {
    /// Writes to `writer`.
    pub fn to_writer(writer: W) -> Self {
        Self { writer }
    }

    /// The writer back.
    pub fn into_writer(self) -> W {
        self.writer
    }
}

#[bidi_agent::async_trait]
impl<W: AsyncWrite + Unpin + Send> BidiOutput for JsonLines<W> {
    async fn write(&mut self, event: &BidiAgentEvent) -> Result<(), IoError> {
        let mut line = event.to_json().to_string();
        line.push('\n');
        self.writer.write_all(line.as_bytes()).await?;
        self.writer.flush().await?;
        Ok(())
    }
}
