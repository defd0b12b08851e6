//! The routes: `/healthz`, `/metrics`, the voice page at `/`, and the WebSocket at `/ws`;
//! every one but `/healthz` behind the token when one is set.

use std::sync::Arc;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use bidi_agent::session::SessionError;

use crate::auth::{query_param, redact};
use crate::factory::SessionStart;
use crate::page::PAGE;
use crate::session;
use crate::state::AppState;

/// The router of `state`'s server.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/ws", get(websocket))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            require_token,
        ))
        .route("/healthz", get(healthz))
        .merge(crate::twilio::routes())
        .with_state(state)
}

/// 401 before anything else when the request lacks the token.
async fn require_token(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(token) = &state.token
        && !token.admits(request.headers(), request.uri().query())
    {
        let target = request.uri().path_and_query().map_or("", |p| p.as_str());
        tracing::info!(
            "target=<{}> | refused: missing or wrong token",
            redact(target)
        );
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "401 unauthorized: missing or wrong token (send Authorization: Bearer TOKEN, or ?token=TOKEN)\n",
        )
            .into_response();
    }
    next.run(request).await
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    if state.is_draining() {
        (StatusCode::SERVICE_UNAVAILABLE, "draining\n").into_response()
    } else {
        (StatusCode::OK, "ok\n").into_response()
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn websocket(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    upgrade: WebSocketUpgrade,
) -> Response {
    if state.is_draining() {
        state.metrics.session_refused();
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "503 draining: not accepting new sessions\n",
        )
            .into_response();
    }
    let id = query_param(query.as_deref(), "session");
    if id.is_some() && state.config.sessions.is_none() {
        return (
            StatusCode::BAD_REQUEST,
            "400 ?session= needs a server started with --session-dir or --session-s3\n",
        )
            .into_response();
    }
    let Ok(slot) = Arc::clone(&state.slots).try_acquire_owned() else {
        state.metrics.session_refused();
        tracing::info!(
            max_sessions = state.config.max_sessions,
            "refused an upgrade: the session cap is reached"
        );
        return (StatusCode::SERVICE_UNAVAILABLE, "503 too many sessions\n").into_response();
    };
    // The session is opened (an S3 session read whole) before the upgrade: a bad id is a
    // 400 and a store that cannot be read a 503 the client (or a load balancer) sees.
    let session = match (&id, &state.config.sessions) {
        (Some(id), Some(store)) => match store.open(id).await {
            Ok(manager) => Some(manager),
            Err(e @ (SessionError::InvalidSessionId(_) | SessionError::Corrupt { .. })) => {
                return (StatusCode::BAD_REQUEST, format!("400 bad session: {e}\n"))
                    .into_response();
            }
            Err(e) => {
                tracing::warn!("error=<{e}> | session store unavailable");
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "503 session store unavailable\n",
                )
                    .into_response();
            }
        },
        _ => None,
    };
    let start = SessionStart {
        session,
        phone_call: false,
    };
    state
        .size_upgrade(upgrade)
        .on_upgrade(move |socket| session::serve(socket, state, start, slot))
}
