//! The log viewer: a page served by heyplayer itself on 127.0.0.1, behind a
//! random token, showing what the privacy store holds and letting the user
//! delete it. HTML, CSS and JS are embedded; the CSP forbids anything else.
//!
//! The only listening socket heyplayer ever opens. It runs on its own tokio
//! runtime (one thread) for the time `heyplayer viewer` runs; the store is
//! read through `heyplayer-privacy`, like every other access to disk.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use heyplayer_privacy::store::{AuditQuery, PurgeFilter};
use heyplayer_privacy::{Action, Actor, Clock, PrivacyError, Store, SystemClock};
use serde::Deserialize;
use serde_json::{json, Value};

const INDEX: &str = include_str!("index.html");
const APP_JS: &str = include_str!("app.js");
const APP_CSS: &str = include_str!("app.css");

/// Content-Security-Policy of every response: only this origin's own script
/// and style, no inline code, no framing, no form posts elsewhere.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// How often the live indicator is refreshed.
pub const LIVE_EVERY: Duration = Duration::from_secs(1);

/// Audit entries shown on the page.
pub const AUDIT_ROWS: u64 = 200;

/// Errors of the viewer.
#[derive(Debug, thiserror::Error)]
pub enum ViewerError {
    /// The port cannot be bound.
    #[error(
        "cannot listen on 127.0.0.1:{port}: {source} (try another --port, or 0 for a free one)"
    )]
    Bind {
        /// The port asked for.
        port: u16,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The runtime or the server failed.
    #[error("viewer: {0}")]
    Io(#[from] std::io::Error),
    /// No randomness for the token.
    #[error("viewer: no random source for the access token: {0}")]
    Random(String),
    /// The store.
    #[error(transparent)]
    Privacy(#[from] PrivacyError),
}

/// A running viewer's address and token.
#[derive(Debug, Clone)]
pub struct Served {
    /// Where it listens (always 127.0.0.1).
    pub addr: SocketAddr,
    /// The access token.
    pub token: String,
}

impl Served {
    /// The URL to open, token included.
    pub fn url(&self) -> String {
        format!("http://{}/?token={}", self.addr, self.token)
    }
}

struct AppState {
    dir: PathBuf,
    token: String,
    port: u16,
    store: Mutex<Option<Store>>,
}

impl AppState {
    /// Runs `f` on the store, opening it when it appears (a viewer started
    /// before anything was stored picks it up later).
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, PrivacyError>,
    ) -> Result<Option<T>, PrivacyError> {
        let mut guard = self
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if guard.is_none() {
            *guard = Store::open_existing(&self.dir, Arc::new(SystemClock))?;
        }
        match guard.as_mut() {
            Some(s) => f(s).map(Some),
            None => Ok(None),
        }
    }
}

fn random_token() -> Result<String, ViewerError> {
    let mut b = [0u8; 24];
    getrandom::fill(&mut b).map_err(|e| ViewerError::Random(e.to_string()))?;
    Ok(heyplayer_privacy::audit::hex(&b))
}

/// Equal-time comparison, so the token cannot be guessed byte by byte.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn error_response(e: PrivacyError) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({"error": e.to_string()})),
    )
        .into_response()
}

/// Every response: the CSP and friends. Every request but the static assets:
/// the token, and a Host header naming this loopback port (DNS rebinding).
async fn guard(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let public = matches!(path, "/app.js" | "/app.css");
    let host_ok = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| {
            h == format!("127.0.0.1:{}", st.port) || h == format!("localhost:{}", st.port)
        });
    let token_ok = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.strip_prefix("token="))
        .any(|t| same(t, &st.token));
    // A page from elsewhere may not call in, even with the token.
    let own = |o: &str| {
        o == format!("http://127.0.0.1:{}", st.port) || o == format!("http://localhost:{}", st.port)
    };
    let origin_ok = req
        .headers()
        .get(header::ORIGIN)
        .map(|h| h.to_str().is_ok_and(own))
        .unwrap_or(true);
    let cross_site = req
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site");
    let mut resp = if !host_ok {
        (StatusCode::FORBIDDEN, "forbidden: wrong Host\n").into_response()
    } else if !origin_ok || cross_site {
        (StatusCode::FORBIDDEN, "forbidden: cross-origin request\n").into_response()
    } else if !public && !token_ok {
        (
            StatusCode::FORBIDDEN,
            "forbidden: open the URL heyplayer viewer printed (it holds the token)\n",
        )
            .into_response()
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

async fn index() -> Html<&'static str> {
    Html(INDEX)
}

async fn app_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        APP_JS,
    )
}

async fn app_css() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], APP_CSS)
}

async fn records(State(st): State<Arc<AppState>>) -> Response {
    match st.with(|s| s.records(0)) {
        Ok(r) => Json(json!({"now_ms": SystemClock.now_ms(), "records": r.unwrap_or_default()}))
            .into_response(),
        Err(e) => error_response(e),
    }
}

fn status_value(s: &mut Store) -> Result<Value, PrivacyError> {
    let st = s.status()?;
    let chain = s.verify_audit()?;
    let (listening, alive) = match &st.listening {
        Some((l, alive)) => (serde_json::to_value(l)?, *alive),
        None => (Value::Null, false),
    };
    Ok(json!({
        "listening": listening,
        "alive": alive,
        "state": st.state,
        "last_stop": st.last_stop,
        "next_expiry_ms": st.next_expiry_ms,
        "data_dir": st.data_dir,
        "records": st.records,
        "counts": st.counts,
        "retention": st.retention,
        "chain": chain,
    }))
}

fn empty_status(st: &AppState) -> Value {
    json!({
        "listening": null, "alive": false, "state": null, "last_stop": null, "next_expiry_ms": null,
        "data_dir": st.dir, "records": 0, "counts": {},
        "retention": {}, "chain": {"entries": 0, "first_broken": null},
    })
}

async fn status(State(st): State<Arc<AppState>>) -> Response {
    match st.with(status_value) {
        Ok(v) => Json(v.unwrap_or_else(|| empty_status(&st))).into_response(),
        Err(e) => error_response(e),
    }
}

/// `/api/audit`'s parameters: a page of [`AUDIT_ROWS`] entries, newest
/// first, optionally of one action and from a time on (the page's filter and
/// its wake-ups-per-hour chart). `limit=0` with `since_ms`: all of them.
#[derive(Deserialize)]
struct AuditParams {
    page: Option<u64>,
    action: Option<String>,
    since_ms: Option<i64>,
    limit: Option<u64>,
}

async fn audit(State(st): State<Arc<AppState>>, Query(q): Query<AuditParams>) -> Response {
    let page = q.page.unwrap_or(1).max(1);
    let action = match q.action.as_deref().filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => match Action::from_name(a) {
            Some(a) => Some(a),
            None => {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"error": format!("no audit action {a:?}")})),
                )
                    .into_response()
            }
        },
    };
    // Everything at once only for a bounded time span.
    let limit = match (q.limit, q.since_ms) {
        (Some(0), Some(_)) => 0,
        (Some(n), _) if n > 0 => n.min(AUDIT_ROWS),
        _ => AUDIT_ROWS,
    };
    let query = AuditQuery {
        limit,
        offset: (page - 1) * limit,
        action,
        since_ms: q.since_ms,
        ..Default::default()
    };
    match st.with(|s| s.audit_entries(&query)) {
        Ok(Some((entries, total))) => {
            Json(json!({"entries": entries, "total": total, "page": page})).into_response()
        }
        Ok(None) => Json(json!({"entries": [], "total": 0, "page": 1})).into_response(),
        Err(e) => error_response(e),
    }
}

async fn delete(State(st): State<Arc<AppState>>, Path(id): Path<i64>) -> Response {
    match st.with(|s| s.delete_record(id, Actor::User)) {
        Ok(Some(true)) => Json(json!({"deleted": id})).into_response(),
        Ok(_) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!("no record {id}")})),
        )
            .into_response(),
        Err(e) => error_response(e),
    }
}

async fn purge(State(st): State<Arc<AppState>>) -> Response {
    let all = PurgeFilter {
        all: true,
        ..Default::default()
    };
    match st.with(|s| s.purge(all, Actor::Purge)) {
        Ok(c) => Json(json!({"deleted": c.unwrap_or_default()})).into_response(),
        Err(e) => error_response(e),
    }
}

/// Server-sent events: the status every [`LIVE_EVERY`], with `changed` when
/// the store changed since the last one (the page then reloads its tables).
async fn events(
    State(st): State<Arc<AppState>>,
) -> Sse<impl futures_util::Stream<Item = Result<SseEvent, Infallible>>> {
    let stream =
        futures_util::stream::unfold((st, None::<String>, true), |(st, last, first)| async move {
            if !first {
                tokio::time::sleep(LIVE_EVERY).await;
            }
            let v = match st.with(|s| {
                let v = status_value(s)?;
                let (top, _) = s.audit_entries(&AuditQuery {
                    limit: 1,
                    ..Default::default()
                })?;
                Ok((v, top.first().map(|e| e.hash.clone()).unwrap_or_default()))
            }) {
                Ok(Some((mut v, mark))) => {
                    v["changed"] = json!(last.as_deref().is_some_and(|l| l != mark));
                    (v, Some(mark))
                }
                Ok(None) => (empty_status(&st), last.clone()),
                Err(e) => (json!({"error": e.to_string()}), last.clone()),
            };
            let ev = SseEvent::default().event("status").data(v.0.to_string());
            Some((Ok(ev), (st, v.1, false)))
        });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// Serves the viewer for the store in `dir` on 127.0.0.1:`port` (0: a free
/// port) until Ctrl-C. `ready` gets the address and token once listening.
pub fn serve(dir: PathBuf, port: u16, ready: impl FnOnce(&Served)) -> Result<(), ViewerError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(|source| ViewerError::Bind { port, source })?;
        let addr = listener.local_addr()?;
        let served = Served {
            addr,
            token: random_token()?,
        };
        let state = Arc::new(AppState {
            dir,
            token: served.token.clone(),
            port: addr.port(),
            store: Mutex::new(None),
        });
        // Open (and sweep) once up front, so errors show before the URL does.
        state.with(|_| Ok(()))?;
        let app = Router::new()
            .route("/", get(index))
            .route("/app.js", get(app_js))
            .route("/app.css", get(app_css))
            .route("/api/records", get(records))
            .route("/api/status", get(status))
            .route("/api/audit", get(audit))
            .route("/api/events", get(events))
            .route("/api/records/{id}/delete", post(delete))
            .route("/api/purge", post(purge))
            .layer(middleware::from_fn_with_state(Arc::clone(&state), guard))
            .with_state(state);
        ready(&served);
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_compared_whole() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 48);
        assert_ne!(a, b);
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &b));
        assert!(!same(&a, &a[..47]));
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        for text in [INDEX, APP_JS, APP_CSS] {
            assert!(!text.contains("http://") || text.contains("http://www.w3.org/2000/svg"));
            assert!(!text.contains("https://"));
        }
        assert!(
            !INDEX.contains("<script>"),
            "no inline script (the CSP forbids it)"
        );
        assert!(
            !INDEX.contains("style="),
            "no inline style (the CSP forbids it)"
        );
    }
}
