//! [`BidiTextIO`]: the conversation as text in a terminal.

use bidi_types::{
    BidiAgentEvent, BidiInput, BidiInputEvent, BidiOutput, BidiOutputEvent, BidiTextInputEvent,
    CloseReason, IoError, Role,
};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// Text input and output for a terminal: [`input`](Self::input) reads lines from stdin,
/// [`output`](Self::output) prints transcripts and events to stdout. Both also work on any
/// reader or writer ([`TextInput::from_reader`], [`TextOutput::to_writer`]).
///
/// ```
/// use bidi_agent::io::BidiTextIO;
/// let io = BidiTextIO::new().input_prompt("> ");
/// let (input, output) = (io.input(), io.output());
/// ```
#[derive(Debug, Clone, Default)]
pub struct BidiTextIO {
    input_prompt: String,
}

impl BidiTextIO {
    /// Text IO with no prompt.
    pub fn new() -> Self {
        Self::default()
    }

    /// The prompt printed before each input line (written to stdout).
    pub fn input_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.input_prompt = prompt.into();
        self
    }

    /// An input reading stdin, from a thread of its own: unlike `tokio::io::stdin`, a pending
    /// read never holds up the runtime's shutdown.
    pub fn input(&self) -> TextInput {
        TextInput::stdin().prompt(self.input_prompt.clone())
    }

    /// An output printing to stdout; partial transcripts are shown only when stdout is a
    /// terminal (elsewhere `\r` updates would pile up).
    pub fn output(&self) -> TextOutput<tokio::io::Stdout> {
        use std::io::IsTerminal as _;
        TextOutput::to_writer(tokio::io::stdout()).partials(std::io::stdout().is_terminal())
    }
}

/// Turns lines into `bidi_text_input` events (role `user`, text trimmed), ending at end of
/// input. Empty lines are skipped (the reference sends them as empty text).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use bidi_agent::io::TextInput;
/// use bidi_agent::types::BidiInput;
///
/// let mut input = TextInput::from_reader(&b"hello\n\nbye\n"[..]);
/// let first = input.read().await.unwrap().unwrap();
/// assert_eq!(first.to_json()["text"], "hello");
/// assert_eq!(input.read().await.unwrap().unwrap().to_json()["text"], "bye");
/// assert!(input.read().await.unwrap().is_none());
/// # }
/// ```
pub struct TextInput {
    source: Source,
    prompt: String,
}

enum Source {
    Reader {
        reader: Box<dyn AsyncBufRead + Unpin + Send>,
        line: String,
    },
    /// A blocking reader (stdin), read by a thread started at the first read.
    Blocking {
        reader: Option<Box<dyn std::io::BufRead + Send>>,
        lines: Option<mpsc::Receiver<std::io::Result<String>>>,
    },
}

impl std::fmt::Debug for TextInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match self.source {
            Source::Reader { .. } => "reader",
            Source::Blocking { .. } => "blocking reader",
        };
        f.debug_struct("TextInput")
            .field("source", &source)
            .field("prompt", &self.prompt)
            .finish()
    }
}

impl TextInput {
    /// Reads lines from `reader`.
    pub fn from_reader(reader: impl AsyncBufRead + Unpin + Send + 'static) -> Self {
        Self {
            source: Source::Reader {
                reader: Box::new(reader),
                line: String::new(),
            },
            prompt: String::new(),
        }
    }

    /// Reads lines from stdin (see [`BidiTextIO::input`]).
    pub fn stdin() -> Self {
        Self::from_blocking_reader(std::io::BufReader::new(std::io::stdin()))
    }

    /// Reads lines from a blocking reader, on a detached thread started at the first read
    /// (at most one line ahead). A pending read never holds up the runtime's shutdown.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use bidi_agent::io::TextInput;
    /// use bidi_agent::types::BidiInput;
    ///
    /// let mut input = TextInput::from_blocking_reader(std::io::Cursor::new("hi\n"));
    /// assert_eq!(input.read().await.unwrap().unwrap().to_json()["text"], "hi");
    /// assert!(input.read().await.unwrap().is_none());
    /// # }
    /// ```
    pub fn from_blocking_reader(reader: impl std::io::BufRead + Send + 'static) -> Self {
        Self {
            source: Source::Blocking {
                reader: Some(Box::new(reader)),
                lines: None,
            },
            prompt: String::new(),
        }
    }

    /// Prints `prompt` to stdout before each line.
    pub fn prompt(mut self, prompt: impl Into<String>) -> Self {
        self.prompt = prompt.into();
        self
    }

    /// The next raw line, `None` at end of input.
    async fn next_line(&mut self) -> std::io::Result<Option<String>> {
        match &mut self.source {
            Source::Reader { reader, line } => {
                line.clear();
                let n = reader.read_line(line).await?;
                Ok((n > 0).then(|| line.clone()))
            }
            Source::Blocking { reader, lines } => {
                if lines.is_none()
                    && let Some(reader) = reader.take()
                {
                    *lines = Some(spawn_line_reader(reader));
                }
                match lines {
                    Some(rx) => rx.recv().await.transpose(),
                    None => Ok(None),
                }
            }
        }
    }
}

/// A detached thread reading `reader` line by line (at most one line ahead).
fn spawn_line_reader(
    mut reader: Box<dyn std::io::BufRead + Send>,
) -> mpsc::Receiver<std::io::Result<String>> {
    let (tx, rx) = mpsc::channel(1);
    let spawned = std::thread::Builder::new()
        .name("bidi-text-input".into())
        .spawn(move || {
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) => return,
                    Ok(_) => {
                        if tx.blocking_send(Ok(line)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!("error=<{e}> | could not start the text input thread");
    }
    rx
}

#[async_trait::async_trait]
impl BidiInput for TextInput {
    async fn read(&mut self) -> Result<Option<BidiInputEvent>, IoError> {
        loop {
            if !self.prompt.is_empty() {
                let mut out = tokio::io::stdout();
                out.write_all(self.prompt.as_bytes()).await?;
                out.flush().await?;
            }
            let Some(line) = self.next_line().await? else {
                return Ok(None);
            };
            let text = line.trim();
            if !text.is_empty() {
                return Ok(Some(BidiTextInputEvent::new(text).into()));
            }
        }
    }
}

/// Prints the conversation: transcripts labelled by role (`assistant: ...`), partial ones
/// updated in place with `\r` and final ones on their own line; interruptions; tool calls and
/// results; errors; and the stop tool's close.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use bidi_agent::io::TextOutput;
/// use bidi_agent::types::{BidiAgentEvent, BidiOutput, BidiTranscriptStreamEvent, Role};
///
/// let mut out = TextOutput::to_writer(Vec::new());
/// let partial = BidiTranscriptStreamEvent::new("Hel", Role::Assistant, false, None);
/// let done = BidiTranscriptStreamEvent::new("Hello", Role::Assistant, true, None);
/// out.write(&BidiAgentEvent::from(partial)).await.unwrap();
/// out.write(&BidiAgentEvent::from(done)).await.unwrap();
/// assert_eq!(String::from_utf8(out.into_writer()).unwrap(), "\rassistant: Hel\rassistant: Hello\n");
/// # }
/// ```
#[derive(Debug)]
pub struct TextOutput<W> {
    writer: W,
    /// The role and width of the partial line on screen (to blank what a shorter update
    /// leaves, and to keep another role's partial line).
    partial: Option<(Role, usize)>,
    /// Whether partial transcripts are shown (updated in place).
    partials: bool,
    /// The partial transcript so far, for providers that send only deltas.
    pending: Option<(Role, String)>,
}

impl<W: AsyncWrite + Unpin + Send> TextOutput<W> {
    /// Prints to `writer`.
    pub fn to_writer(writer: W) -> Self {
        Self {
            writer,
            partial: None,
            partials: true,
            pending: None,
        }
    }

    /// Whether partial transcripts are shown, updated in place with `\r` (the default).
    /// Turn it off when the writer is not a terminal: only final transcripts are printed.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use bidi_agent::io::TextOutput;
    /// use bidi_agent::types::{BidiAgentEvent, BidiOutput, BidiTranscriptStreamEvent, Role};
    ///
    /// let mut out = TextOutput::to_writer(Vec::new()).partials(false);
    /// for (text, done) in [("Hel", false), ("lo", false), ("Hello", true)] {
    ///     let e = BidiTranscriptStreamEvent::new(text, Role::Assistant, done, None);
    ///     out.write(&BidiAgentEvent::from(e)).await.unwrap();
    /// }
    /// assert_eq!(String::from_utf8(out.into_writer()).unwrap(), "assistant: Hello\n");
    /// # }
    /// ```
    pub fn partials(mut self, show: bool) -> Self {
        self.partials = show;
        self
    }

    /// The text a partial transcript shows: the provider's transcript so far when it gives
    /// one, else the deltas of this role accumulated.
    fn partial_text(&mut self, role: Role, delta: &str, current: Option<&str>) -> String {
        let acc = match self.pending.take() {
            Some((r, mut acc)) if r == role => {
                acc.push_str(delta);
                acc
            }
            _ => delta.to_owned(),
        };
        let shown = current.map_or_else(|| acc.clone(), str::to_owned);
        self.pending = Some((role, current.map_or(acc, str::to_owned)));
        shown
    }

    /// The writer back.
    pub fn into_writer(self) -> W {
        self.writer
    }

    fn label(role: Role) -> &'static str {
        role.as_str()
    }

    /// Text for a line of its own (ending a partial line first).
    fn line(&mut self, text: &str) -> String {
        let mut s = String::new();
        if self.partial.take().is_some() {
            s.push('\n');
        }
        s.push_str(text);
        s.push('\n');
        s
    }

    fn render(&mut self, event: &BidiAgentEvent) -> Option<String> {
        match event {
            BidiAgentEvent::Output(BidiOutputEvent::TranscriptStream(t)) => {
                let body = if t.is_final() {
                    self.pending = None;
                    t.text().to_owned()
                } else {
                    self.partial_text(t.role(), t.text(), t.current_transcript())
                };
                if !self.partials && !t.is_final() {
                    return None;
                }
                let text = format!("{}: {}", Self::label(t.role()), body);
                let width = text.chars().count();
                let mut s = String::new();
                let previous = match self.partial.take() {
                    Some((role, width)) if role == t.role() => Some(width),
                    Some(_) => {
                        s.push('\n');
                        None
                    }
                    None => None,
                };
                if self.partials {
                    s.push('\r');
                }
                s.push_str(&text);
                if let Some(previous) = previous {
                    s.extend(std::iter::repeat_n(' ', previous.saturating_sub(width)));
                    if previous > width {
                        s.push('\r');
                        s.push_str(&text);
                    }
                }
                if t.is_final() {
                    self.partial = None;
                    s.push('\n');
                } else {
                    self.partial = Some((t.role(), width));
                }
                Some(s)
            }
            BidiAgentEvent::Output(BidiOutputEvent::Interruption(_)) => {
                Some(self.line("interrupted"))
            }
            BidiAgentEvent::Output(BidiOutputEvent::ConnectionClose(c))
                if c.reason() == CloseReason::UserRequest =>
            {
                Some(self.line("user requested connection close using the stop tool."))
            }
            BidiAgentEvent::Output(BidiOutputEvent::ToolUseStream(u)) => {
                let tool_use = u.current_tool_use();
                Some(self.line(&format!("tool call: {}({})", tool_use.name, tool_use.input)))
            }
            BidiAgentEvent::ToolResult(r) => {
                let r = r.tool_result();
                let status = if r.is_success() { "success" } else { "error" };
                Some(self.line(&format!("tool result: {} {status}", r.tool_use_id)))
            }
            BidiAgentEvent::Output(BidiOutputEvent::Error(e)) => {
                Some(self.line(&format!("error: {} | {}", e.code(), e.message())))
            }
            _ => None,
        }
    }
}

#[async_trait::async_trait]
impl<W: AsyncWrite + Unpin + Send> BidiOutput for TextOutput<W> {
    async fn write(&mut self, event: &BidiAgentEvent) -> Result<(), IoError> {
        if let Some(text) = self.render(event) {
            self.writer.write_all(text.as_bytes()).await?;
            self.writer.flush().await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod output_tests {
    use super::TextOutput;
    use bidi_types::{BidiAgentEvent, BidiOutput, BidiTranscriptStreamEvent, Role};

    async fn render(out: TextOutput<Vec<u8>>, parts: &[(&str, bool, Option<&str>)]) -> String {
        let mut out = out;
        for (text, done, current) in parts {
            let e = BidiTranscriptStreamEvent::new(
                *text,
                Role::Assistant,
                *done,
                current.map(str::to_owned),
            );
            out.write(&BidiAgentEvent::from(e)).await.expect("write");
        }
        String::from_utf8(out.into_writer()).expect("utf-8")
    }

    #[tokio::test]
    async fn delta_partials_accumulate() {
        // OpenAI-style: deltas without a transcript so far.
        let shown = render(
            TextOutput::to_writer(Vec::new()),
            &[
                ("Hel", false, None),
                ("lo", false, None),
                ("Hello", true, None),
            ],
        )
        .await;
        assert_eq!(
            shown,
            "\rassistant: Hel\rassistant: Hello\rassistant: Hello\n"
        );
    }

    #[tokio::test]
    async fn a_provider_transcript_so_far_wins() {
        let shown = render(
            TextOutput::to_writer(Vec::new()),
            &[
                ("Hel", false, Some("Hel")),
                ("lo", false, Some("Hello")),
                ("Hello", true, None),
            ],
        )
        .await;
        assert_eq!(
            shown,
            "\rassistant: Hel\rassistant: Hello\rassistant: Hello\n"
        );
    }

    #[tokio::test]
    async fn without_partials_only_finals_print() {
        let shown = render(
            TextOutput::to_writer(Vec::new()).partials(false),
            &[
                ("a", false, None),
                ("b", false, None),
                ("ab", true, None),
                ("c", true, None),
            ],
        )
        .await;
        assert_eq!(shown, "assistant: ab\nassistant: c\n");
    }
}
