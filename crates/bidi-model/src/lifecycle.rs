//! Model ids a provider retired or is retiring, and what replaces them: a model is told at
//! construction (a `tracing` warning naming the replacement), before it connects.
//!
//! Checked against the providers' public documentation on 2026-12-03 (docs/providers.md,
//! "Default models"). A warning, not an error: an account with an extension may still reach
//! a retired id, and the service's own refusal stays the final word.

/// Where a model id stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The provider no longer serves it.
    Retired,
    /// Still served, on its way out.
    Deprecated,
}

/// A notice about a model id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notice {
    /// The id (or id prefix) the notice is about.
    pub model: &'static str,
    /// Where it stands.
    pub status: Status,
    /// The model to move to.
    pub replacement: &'static str,
    /// When, as the provider announced it.
    pub when: &'static str,
}

/// Every notice: `model` is matched exactly, or as a prefix when it ends with `*`.
pub const NOTICES: &[Notice] = &[
    Notice {
        model: "amazon.nova-sonic-v1:0",
        status: Status::Retired,
        replacement: "amazon.nova-2-sonic-v1:0",
        when: "end of life September 2026",
    },
    Notice {
        model: "gpt-4o-realtime-preview*",
        status: Status::Retired,
        replacement: "gpt-realtime-2",
        when: "the beta Realtime models were retired after the GA protocol",
    },
    Notice {
        model: "gpt-4o-mini-realtime-preview*",
        status: Status::Retired,
        replacement: "gpt-realtime-mini",
        when: "the beta Realtime models were retired after the GA protocol",
    },
    Notice {
        model: "gpt-realtime",
        status: Status::Deprecated,
        replacement: "gpt-realtime-2",
        when: "integrators migrate by January 2027",
    },
];

/// The notice about `model_id`, if any.
///
/// ```
/// use bidi_model::lifecycle::{Status, notice};
/// assert_eq!(notice("amazon.nova-sonic-v1:0").map(|n| n.replacement), Some("amazon.nova-2-sonic-v1:0"));
/// assert_eq!(notice("gpt-4o-realtime-preview-2024-12-17").map(|n| n.status), Some(Status::Retired));
/// assert_eq!(notice("gpt-realtime-2"), None);
/// ```
pub fn notice(model_id: &str) -> Option<&'static Notice> {
    NOTICES.iter().find(|n| match n.model.strip_suffix('*') {
        Some(prefix) => model_id.starts_with(prefix),
        None => model_id == n.model,
    })
}

/// Logs the notice about `model_id` for `provider`, if any; returns it.
pub fn warn(provider: &str, model_id: &str) -> Option<&'static Notice> {
    let notice = notice(model_id)?;
    let status = match notice.status {
        Status::Retired => "retired",
        Status::Deprecated => "deprecated",
    };
    tracing::warn!(
        provider,
        model = model_id,
        replacement = notice.replacement,
        "model=<{model_id}> | {provider} model {status} ({}): use {}",
        notice.when,
        notice.replacement
    );
    Some(notice)
}
