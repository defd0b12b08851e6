//! Token usage.

use serde::{Deserialize, Serialize};

/// A kind of content tokens are counted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Modality {
    /// Text.
    Text,
    /// Audio.
    Audio,
    /// Images.
    Image,
    /// Video.
    Video,
    /// Documents.
    Document,
    /// Cached input.
    Cached,
}

/// Tokens of one modality: `{"modality", "input_tokens", "output_tokens"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModalityUsage {
    /// Which modality.
    pub modality: Modality,
    /// Input tokens of that modality.
    pub input_tokens: u64,
    /// Output tokens of that modality.
    pub output_tokens: u64,
}

/// Token counts: `{"type": "bidi_usage", "inputTokens", "outputTokens", "totalTokens"}` and,
/// only when known, `modality_details`, `cacheReadInputTokens`, `cacheWriteInputTokens`.
///
/// ```
/// use bidi_types::BidiUsageEvent;
/// let u = BidiUsageEvent::new(10, 20, 30);
/// assert_eq!(
///     serde_json::to_string(&u).unwrap(),
///     r#"{"type":"bidi_usage","inputTokens":10,"outputTokens":20,"totalTokens":30}"#
/// );
/// assert!(u.modality_details().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename = "bidi_usage")]
pub struct BidiUsageEvent {
    #[serde(rename = "inputTokens")]
    input_tokens: u64,
    #[serde(rename = "outputTokens")]
    output_tokens: u64,
    #[serde(rename = "totalTokens")]
    total_tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    modality_details: Option<Vec<ModalityUsage>>,
    #[serde(
        rename = "cacheReadInputTokens",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    cache_read_input_tokens: Option<u64>,
    #[serde(
        rename = "cacheWriteInputTokens",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    cache_write_input_tokens: Option<u64>,
}

impl BidiUsageEvent {
    /// Totals only.
    pub fn new(input_tokens: u64, output_tokens: u64, total_tokens: u64) -> Self {
        Self {
            input_tokens,
            output_tokens,
            total_tokens,
            modality_details: None,
            cache_read_input_tokens: None,
            cache_write_input_tokens: None,
        }
    }
    /// With a per-modality breakdown.
    pub fn with_modality_details(mut self, details: Vec<ModalityUsage>) -> Self {
        self.modality_details = Some(details);
        self
    }
    /// With cache counts.
    pub fn with_cache(mut self, read: Option<u64>, write: Option<u64>) -> Self {
        self.cache_read_input_tokens = read;
        self.cache_write_input_tokens = write;
        self
    }
    /// Input tokens, all modalities.
    pub fn input_tokens(&self) -> u64 {
        self.input_tokens
    }
    /// Output tokens, all modalities.
    pub fn output_tokens(&self) -> u64 {
        self.output_tokens
    }
    /// Input plus output.
    pub fn total_tokens(&self) -> u64 {
        self.total_tokens
    }
    /// Per modality; empty when not given.
    pub fn modality_details(&self) -> &[ModalityUsage] {
        self.modality_details.as_deref().unwrap_or_default()
    }
    /// Tokens read from a cache.
    pub fn cache_read_input_tokens(&self) -> Option<u64> {
        self.cache_read_input_tokens
    }
    /// Tokens written to a cache.
    pub fn cache_write_input_tokens(&self) -> Option<u64> {
        self.cache_write_input_tokens
    }
}
