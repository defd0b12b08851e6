//! Binary content in messages and tool results: [`ImageBlock`], [`DocumentBlock`] and their
//! [`BinarySource`].

use serde::{Deserialize, Serialize};

/// An image: `{"format": "png", "source": {"bytes": "<base64>"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageBlock {
    /// `png`, `jpeg`, `gif` or `webp`.
    pub format: String,
    /// Where the bytes are.
    pub source: BinarySource,
}

/// A document: `{"format": "pdf", "name": "...", "source": {"bytes": "<base64>"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentBlock {
    /// `pdf`, `txt`, `md`, ...
    pub format: String,
    /// The document's name.
    pub name: String,
    /// Where the bytes are.
    pub source: BinarySource,
}

/// Bytes carried in JSON: `{"bytes": "<base64>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BinarySource {
    /// The bytes, base64 (standard alphabet, padded).
    pub bytes: String,
}
