//! [`S3Location`]: a bucket and a key prefix, written `s3://bucket/prefix`.

use std::fmt;
use std::str::FromStr;

use crate::error::SessionError;

/// Where sessions are kept: a bucket and a key prefix (the reference's `bucket` and
/// `prefix`; the prefix's surrounding `/` are dropped, as the reference does).
///
/// ```
/// use bidi_agent::session::S3Location;
///
/// let l: S3Location = "s3://voice-sessions/prod/eu/".parse().unwrap();
/// assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("voice-sessions", "prod/eu"));
/// assert_eq!(l.session_prefix("s1"), "prod/eu/session_s1/");
/// assert_eq!(l.to_string(), "s3://voice-sessions/prod/eu");
///
/// let bare = S3Location::new("b", "");
/// assert_eq!(bare.session_prefix("s1"), "session_s1/");
/// assert!("https://b/p".parse::<S3Location>().is_err());
/// assert!("s3:///p".parse::<S3Location>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The key prefix, without leading or trailing `/` (empty: the bucket's root).
    pub prefix: String,
}

impl S3Location {
    /// A bucket and a prefix.
    pub fn new(bucket: impl Into<String>, prefix: impl AsRef<str>) -> Self {
        Self {
            bucket: bucket.into(),
            prefix: prefix.as_ref().trim_matches('/').to_owned(),
        }
    }

    /// The key prefix of session `session_id`: `<prefix>/session_<id>/`.
    pub fn session_prefix(&self, session_id: &str) -> String {
        if self.prefix.is_empty() {
            format!("session_{session_id}/")
        } else {
            format!("{}/session_{session_id}/", self.prefix)
        }
    }
}

impl FromStr for S3Location {
    type Err = SessionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || SessionError::InvalidLocation(s.to_owned());
        let rest = s.strip_prefix("s3://").ok_or_else(invalid)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // Bucket names: 3-63 of lower-case letters, digits, '.' and '-' (S3's rules; an
        // S3-compatible server may allow more, never '/', '?' or spaces).
        let valid = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !valid {
            return Err(invalid());
        }
        Ok(Self::new(bucket, prefix))
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}
