//! Phone calls through Twilio Media Streams: `POST /twilio/voice` answers a call with TwiML
//! that connects it to `GET /twilio/media`, a WebSocket speaking Twilio's Media Streams
//! protocol (μ-law at 8 kHz, marks, `clear`). With the account's auth token configured,
//! both need a valid `X-Twilio-Signature` (403 otherwise). docs/telephony.md tells how to
//! point a number at the server.
//!
//! - [`protocol`]: Twilio's messages;
//! - [`call`]: the call's audio and what the caller heard (pure);
//! - [`signature`]: Twilio's request signatures;
//! - [`twiml`]: the TwiML answer.

pub mod call;
pub mod protocol;
mod session;
pub mod signature;
pub mod twiml;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::state::AppState;
use signature::TwilioSigner;

/// The routes `/twilio/voice` and `/twilio/media` (outside the bearer token: Twilio signs
/// its requests instead).
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/twilio/voice", post(voice))
        .route("/twilio/media", get(media))
}

/// The public `https://host[:port]` base of the server: the configured one, else the
/// request's `Host` with the scheme of `X-Forwarded-Proto` (else `http`).
fn public_base(state: &AppState, headers: &HeaderMap) -> Option<String> {
    if let Some(url) = &state.config.public_url {
        return Some(url.trim_end_matches('/').to_owned());
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map_or("http", str::trim);
    Some(format!("{scheme}://{host}"))
}

/// The host (and port) of a base URL.
fn host_of(base: &str) -> &str {
    base.split_once("://").map_or(base, |(_, rest)| rest)
}

fn forbidden(why: &str) -> Response {
    tracing::info!("refused a Twilio request: {why}");
    (
        StatusCode::FORBIDDEN,
        "403 forbidden: bad or missing X-Twilio-Signature\n",
    )
        .into_response()
}

/// Whether the request's signature is right, when signatures are checked.
fn signed(state: &AppState, headers: &HeaderMap, url: &str, params: &[(String, String)]) -> bool {
    let Some(signer) = state
        .config
        .twilio_auth_token
        .clone()
        .and_then(TwilioSigner::new)
    else {
        return true;
    };
    let presented = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    signer.verify(url, params, presented)
}

async fn voice(
    State(state): State<Arc<AppState>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(base) = public_base(&state, &headers) else {
        return (StatusCode::BAD_REQUEST, "400 no Host header\n").into_response();
    };
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let path_and_query = uri.path_and_query().map_or("/twilio/voice", |p| p.as_str());
    if !signed(
        &state,
        &headers,
        &format!("{base}{path_and_query}"),
        &params,
    ) {
        return forbidden("/twilio/voice");
    }
    let find = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let passed: Vec<(&str, &str)> = [("call_sid", "CallSid"), ("from", "From"), ("to", "To")]
        .into_iter()
        .filter_map(|(name, key)| find(key).map(|v| (name, v)))
        .collect();
    let stream = format!("wss://{}/twilio/media", host_of(&base));
    (
        [(header::CONTENT_TYPE, "text/xml")],
        twiml::connect_stream(&stream, &passed),
    )
        .into_response()
}

async fn media(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(base) = public_base(&state, &headers) else {
        return (StatusCode::BAD_REQUEST, "400 no Host header\n").into_response();
    };
    // Twilio signs the upgrade over the wss:// Stream URL alone.
    let stream = format!("wss://{}/twilio/media", host_of(&base));
    if !signed(&state, &headers, &stream, &[]) {
        return forbidden("/twilio/media");
    }
    if state.is_draining() {
        state.metrics.session_refused();
        return (StatusCode::SERVICE_UNAVAILABLE, "503 draining\n").into_response();
    }
    let Ok(slot) = Arc::clone(&state.slots).try_acquire_owned() else {
        state.metrics.session_refused();
        return (StatusCode::SERVICE_UNAVAILABLE, "503 too many sessions\n").into_response();
    };
    state
        .size_upgrade(upgrade)
        .on_upgrade(move |socket| session::serve(socket, state, slot))
}
