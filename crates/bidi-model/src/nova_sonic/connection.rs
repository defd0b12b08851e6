//! One Bedrock `InvokeModelWithBidirectionalStream` call: a task that opens the stream and
//! reads its output, fed by a bounded channel of input events.
//!
//! The SDK's `send()` returns only once the first output event arrives, and Bedrock sends
//! that only after input: the stream is opened in its own task while input is fed
//! concurrently through the channel.

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::invoke_model_with_bidirectional_stream::InvokeModelWithBidirectionalStreamError;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::error::{
    InvokeModelWithBidirectionalStreamInputError, InvokeModelWithBidirectionalStreamOutputError,
};
use aws_sdk_bedrockruntime::types::{
    BidirectionalInputPayloadPart, InvokeModelWithBidirectionalStreamInput,
    InvokeModelWithBidirectionalStreamOutput,
};
use bidi_types::{ModelError, ModelTimeout};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;

/// Input events queued per connection (each a JSON event; audio chunks are the bulk).
pub(crate) const INPUT_CAPACITY: usize = 64;
/// Output events queued per connection before the reader waits.
const OUTPUT_CAPACITY: usize = 64;

/// What a connection's reader reports.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// The JSON of one output chunk.
    Chunk(Vec<u8>),
    /// The stream failed; nothing follows.
    Failed(ModelError),
    /// The server ended the stream; nothing follows.
    Ended,
}

/// An open (or opening) stream.
#[derive(Debug)]
pub(crate) struct Connection {
    /// Input events, as JSON text.
    pub input: mpsc::Sender<String>,
    /// What the server sends.
    pub output: mpsc::Receiver<Incoming>,
    task: JoinHandle<()>,
}

fn to_chunk(
    json: String,
) -> Result<InvokeModelWithBidirectionalStreamInput, InvokeModelWithBidirectionalStreamInputError> {
    Ok(InvokeModelWithBidirectionalStreamInput::Chunk(
        BidirectionalInputPayloadPart::builder()
            .bytes(Blob::new(json.into_bytes()))
            .build(),
    ))
}

impl Connection {
    /// Opens a stream to `model_id` in a new task; input sent to [`Self::input`] flows as soon
    /// as the request does, before the SDK's `send()` returns.
    pub(crate) fn open(client: Client, model_id: String) -> Self {
        let (input, in_rx) = mpsc::channel::<String>(INPUT_CAPACITY);
        let (out_tx, output) = mpsc::channel(OUTPUT_CAPACITY);
        let task = tokio::spawn(async move {
            let body = ReceiverStream::new(in_rx).map(to_chunk as fn(_) -> _);
            let sent = client
                .invoke_model_with_bidirectional_stream()
                .model_id(model_id.clone())
                .body(body.into())
                .send()
                .await;
            let mut stream = match sent {
                Ok(s) => s,
                Err(e) => {
                    let e = open_error(e);
                    tracing::warn!("model_id=<{model_id}>, error=<{e}> | stream could not open");
                    out_tx.send(Incoming::Failed(e)).await.ok();
                    return;
                }
            };
            tracing::debug!("model_id=<{model_id}> | stream open");
            loop {
                let next = stream.body.recv().await;
                let item = match next {
                    Ok(Some(InvokeModelWithBidirectionalStreamOutput::Chunk(part))) => {
                        match part.bytes {
                            Some(b) => Incoming::Chunk(b.into_inner()),
                            None => continue,
                        }
                    }
                    Ok(Some(other)) => {
                        tracing::debug!("event=<{other:?}> | ignoring unknown output variant");
                        continue;
                    }
                    Ok(None) => Incoming::Ended,
                    Err(e) => Incoming::Failed(stream_error(e)),
                };
                let last = !matches!(item, Incoming::Chunk(_));
                if out_tx.send(item).await.is_err() || last {
                    return;
                }
            }
        });
        Self {
            input,
            output,
            task,
        }
    }

    /// Stops reading (the stream is dropped with the task).
    pub(crate) fn abort(&self) {
        self.task.abort();
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What to fix when AWS refuses the credentials.
const AUTH_HINT: &str = "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)";

/// Whether an AWS error code means the credentials were refused (an unknown access key, a
/// bad signature, an expired session token), not a missing permission.
fn is_credentials_error(code: &str) -> bool {
    matches!(
        code,
        "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "IncompleteSignatureException"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "MissingAuthenticationTokenException"
    )
}

/// Whether a provider error is the ~175 s silence limit (`InternalErrorCode=531`).
fn is_silence_timeout(message: &str) -> bool {
    message.contains("InternalErrorCode=531")
}

fn provider(code: Option<&str>, fallback: &str, message: Option<&str>) -> ModelError {
    ModelError::Provider {
        code: code.unwrap_or(fallback).to_owned(),
        message: message.unwrap_or("").to_owned(),
    }
}

/// Maps an error from the output stream.
fn stream_error<R: std::fmt::Debug + Send + Sync + 'static>(
    e: SdkError<InvokeModelWithBidirectionalStreamOutputError, R>,
) -> ModelError {
    use InvokeModelWithBidirectionalStreamOutputError as E;
    match e {
        SdkError::ServiceError(ctx) => {
            let err = ctx.into_err();
            let message = err.message().unwrap_or("").to_owned();
            match &err {
                E::ModelTimeoutException(_) => ModelTimeout::new(message).into(),
                E::ValidationException(_) if is_silence_timeout(&message) => {
                    ModelTimeout::new(message).into()
                }
                E::ValidationException(_) => {
                    provider(err.code(), "ValidationException", Some(&message))
                }
                E::ModelStreamErrorException(_) => {
                    provider(err.code(), "ModelStreamErrorException", Some(&message))
                }
                E::InternalServerException(_) => {
                    provider(err.code(), "InternalServerException", Some(&message))
                }
                E::ThrottlingException(_) => {
                    provider(err.code(), "ThrottlingException", Some(&message))
                }
                E::ServiceUnavailableException(_) => {
                    provider(err.code(), "ServiceUnavailableException", Some(&message))
                }
                _ => provider(err.code(), "UnknownException", Some(&message)),
            }
        }
        SdkError::ResponseError(r) => ModelError::Protocol(format!("{:?}", r.raw())),
        other => ModelError::Connection {
            message: format!("stream broke | {}", other),
            source: Some(Box::new(other)),
        },
    }
}

/// Maps an error from opening the stream.
fn open_error<R: std::fmt::Debug + Send + Sync + 'static>(
    e: SdkError<InvokeModelWithBidirectionalStreamError, R>,
) -> ModelError {
    use InvokeModelWithBidirectionalStreamError as E;
    match e {
        SdkError::ServiceError(ctx) => {
            let err = ctx.into_err();
            let message = err.message().unwrap_or("").to_owned();
            match &err {
                E::ModelTimeoutException(_) => ModelTimeout::new(message).into(),
                E::ValidationException(_) if is_silence_timeout(&message) => {
                    ModelTimeout::new(message).into()
                }
                _ if err.code().is_some_and(is_credentials_error) => ModelError::Unauthorized {
                    provider: "Bedrock",
                    reason: format!("{}: {message}", err.code().unwrap_or_default()),
                    hint: AUTH_HINT.to_owned(),
                },
                _ => provider(err.code(), "ServiceError", Some(&message)),
            }
        }
        other if crate::trust::is_untrusted(&other) => ModelError::Connection {
            message: format!(
                "could not open the stream | {}",
                crate::trust::UNTRUSTED_HINT
            ),
            source: Some(Box::new(other)),
        },
        other => ModelError::Connection {
            message: format!("could not open the stream | {}", other),
            source: Some(Box::new(other)),
        },
    }
}
