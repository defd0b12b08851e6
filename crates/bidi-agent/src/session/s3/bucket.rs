//! [`Bucket`]: the S3 requests a session makes (list, read a JSON object, write one whole,
//! create one only if absent), each failure sorted into a [`Failure`].

use std::path::PathBuf;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use bidi_types::BoxError;
use serde_json::{Map, Value};

use super::super::SessionError;
use super::super::layout;

/// The largest object read back (a message with images can be large; anything beyond this is
/// not a session object and is refused as corrupt rather than buffered).
const MAX_OBJECT_BYTES: i64 = 32 * 1024 * 1024;

/// How one request went wrong.
pub(super) enum Failure {
    /// The object does not exist.
    Missing,
    /// A conditional write found the object already there.
    Taken,
    /// Anything else.
    Error(SessionError),
}

/// One bucket, through one client.
#[derive(Debug)]
pub(super) struct Bucket {
    pub(super) client: Client,
    pub(super) name: String,
}

impl Bucket {
    /// Every key under `prefix`.
    pub(super) async fn list(&self, prefix: &str) -> Result<Vec<String>, SessionError> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.name)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    let f = self.classify(e);
                    self.error(prefix, f)
                })?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => return Ok(keys),
            }
        }
    }

    /// The JSON object at `key`, `None` when there is none.
    pub(super) async fn read(&self, key: &str) -> Result<Option<Map<String, Value>>, SessionError> {
        let response = match self
            .client
            .get_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                return match self.classify(e) {
                    Failure::Missing => Ok(None),
                    f => Err(self.error(key, f)),
                };
            }
        };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_OBJECT_BYTES)
        {
            return Err(self.corrupt(key, "larger than a session object can be"));
        }
        let bytes = response
            .body
            .collect()
            .await
            .map_err(|e| SessionError::Network {
                bucket: self.name.clone(),
                key: key.to_owned(),
                source: Box::new(e),
            })?
            .into_bytes();
        let text = std::str::from_utf8(&bytes).map_err(|e| self.corrupt(key, &e.to_string()))?;
        layout::parse_object(text)
            .map(Some)
            .map_err(|e| self.corrupt(key, &e))
    }

    /// Writes `value` at `key` as the reference does (JSON indented by 2, UTF-8,
    /// `application/json`); with `create_only`, only if no object is there
    /// (`If-None-Match: *`).
    pub(super) async fn put(
        &self,
        key: &str,
        value: &Value,
        create_only: bool,
    ) -> Result<(), Failure> {
        let text = layout::to_text(value).map_err(|e| {
            Failure::Error(SessionError::Storage {
                bucket: self.name.clone(),
                key: key.to_owned(),
                source: Box::new(e),
            })
        })?;
        let mut request = self
            .client
            .put_object()
            .bucket(&self.name)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(text.into_bytes()));
        if create_only {
            request = request.if_none_match("*");
        }
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.classify(e))
    }

    fn classify<E>(&self, err: SdkError<E>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let code = match &err {
            SdkError::ServiceError(e) => e.err().code().map(str::to_owned),
            _ => None,
        };
        let source: BoxError = DisplayErrorContext(&err).to_string().into();
        let bucket = self.name.clone();
        // The key is filled in by `error`.
        let key = String::new();
        match (&err, code.as_deref(), status) {
            (SdkError::ServiceError(_), Some("NoSuchKey"), _) => Failure::Missing,
            (SdkError::ServiceError(_), Some("NoSuchBucket"), _) => {
                Failure::Error(SessionError::NoSuchBucket { bucket })
            }
            (
                SdkError::ServiceError(_),
                Some("PreconditionFailed" | "ConditionalRequestConflict"),
                _,
            )
            | (SdkError::ServiceError(_), _, Some(412)) => Failure::Taken,
            (
                SdkError::ServiceError(_),
                Some(
                    "AccessDenied"
                    | "InvalidAccessKeyId"
                    | "SignatureDoesNotMatch"
                    | "ExpiredToken"
                    | "InvalidToken"
                    | "AllAccessDisabled"
                    | "AccountProblem",
                ),
                _,
            )
            | (SdkError::ServiceError(_), _, Some(403)) => {
                Failure::Error(SessionError::AccessDenied {
                    bucket,
                    key,
                    source,
                })
            }
            (SdkError::TimeoutError(_) | SdkError::ResponseError(_), _, _) => {
                Failure::Error(SessionError::Network {
                    bucket,
                    key,
                    source,
                })
            }
            (SdkError::DispatchFailure(d), _, _) if d.is_io() || d.is_timeout() => {
                Failure::Error(SessionError::Network {
                    bucket,
                    key,
                    source,
                })
            }
            _ => Failure::Error(SessionError::Storage {
                bucket,
                key,
                source,
            }),
        }
    }

    /// The session error of a failure at `key`.
    pub(super) fn error(&self, key: &str, failure: Failure) -> SessionError {
        let mut error = match failure {
            Failure::Missing => self.corrupt(key, "not found"),
            Failure::Taken => SessionError::Conflict {
                key: key.to_owned(),
                attempts: 1,
            },
            Failure::Error(e) => e,
        };
        if let SessionError::AccessDenied { key: k, .. }
        | SessionError::Network { key: k, .. }
        | SessionError::Storage { key: k, .. } = &mut error
            && k.is_empty()
        {
            key.clone_into(k);
        }
        error
    }

    pub(super) fn corrupt(&self, key: &str, reason: &str) -> SessionError {
        SessionError::Corrupt {
            path: PathBuf::from(format!("s3://{}/{key}", self.name)),
            reason: reason.to_owned(),
        }
    }
}
