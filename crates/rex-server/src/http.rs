//! The HTTP API (`docs/openapi.json` describes it):
//!
//! | route | what |
//! |---|---|
//! | `POST /v1/jobs` | submit `{script, arguments?, timeout_secs?}`; 202 with the job id |
//! | `GET /v1/jobs` | the caller's recent jobs (`?limit=N`) |
//! | `GET /v1/jobs/{id}` | status and REX output document (`?wait=SECS` long-polls) |
//! | `GET /v1/jobs/{id}/logs` | log lines, streamed (chunked `text/plain`) while it runs |
//! | `DELETE /v1/jobs/{id}` | forget a finished job |
//! | `GET /healthz`, `GET /metrics`, `GET /openapi.json` | no token needed |
//!
//! Every `/v1` route needs `Authorization: Bearer <token>`; a missing or unknown token is
//! 401 before anything else is read. A job of another principal is 404, as if it did not
//! exist. Errors are JSON: `{"error": {"code": "...", "message": "..."}}`.

// Helpers return `Result<_, Response>` so handlers can answer early with `?`-like matches:
// the axum idiom; a Response is moved once per request.
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::child::valid_job_id;
use crate::server::{AppState, now, start_job};
use crate::store::JobRecord;

/// The checked-in OpenAPI document, served at `/openapi.json`.
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

/// Longest `?wait=` a request may hold.
const MAX_WAIT_SECS: f64 = 60.0;

/// The router over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    let body_limit = state.config.limits.max_request_bytes;
    Router::new()
        .route("/v1/jobs", get(list_jobs).post(submit))
        .route("/v1/jobs/{id}", get(get_job).delete(delete_job))
        .route("/v1/jobs/{id}/logs", get(job_logs))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such route".into()) })
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// Puts what a mounted service needs to know about the authenticated caller into the
/// request's extensions (e.g. `rex mcp`'s agent identity). `false` refuses the request
/// with 403. The hook sees only a caller whose token matched.
pub type CallerHook = Arc<dyn Fn(&Caller, &mut axum::http::Extensions) -> bool + Send + Sync>;

/// `service` behind the bearer-token check: a missing or unknown token is 401 and never
/// reaches it; a known one reaches it with the [`Caller`] (and what `hook` adds) in the
/// request's extensions.
pub(crate) fn guard(state: Arc<AppState>, service: Router, hook: CallerHook) -> Router {
    service.layer(axum::middleware::from_fn(
        move |mut req: axum::extract::Request, next: axum::middleware::Next| {
            let state = Arc::clone(&state);
            let hook = Arc::clone(&hook);
            async move {
                let caller = match authenticate(&state, req.headers()) {
                    Ok(c) => c,
                    Err(r) => return r,
                };
                if !hook(&caller, req.extensions_mut()) {
                    return error(
                        StatusCode::FORBIDDEN,
                        "forbidden",
                        format!("principal `{}` may not use this service", caller.principal),
                    );
                }
                req.extensions_mut().insert(caller);
                next.run(req).await
            }
        },
    ))
}

fn error(status: StatusCode, code: &str, message: String) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

fn unauthorized(state: &AppState) -> Response {
    state.metrics.unauthorized();
    let mut r = error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "missing or unknown bearer token".into(),
    );
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    r
}

fn store_error(e: impl std::fmt::Display) -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "store",
        format!("job store: {e}"),
    )
}

fn not_found(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no job `{id}` for this token"),
    )
}

fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, Response> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    state
        .tokens
        .authenticate(value)
        .ok_or_else(|| unauthorized(state))
}

/// A submission.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitRequest {
    script: String,
    #[serde(default)]
    arguments: Option<Value>,
    #[serde(default)]
    timeout_secs: Option<f64>,
}

fn new_job_id() -> Option<String> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new().fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

async fn submit(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let caller = match authenticate(&state, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let request: SubmitRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("invalid job request: {e}"),
            );
        }
    };
    if let Some(args) = &request.arguments
        && !(args.is_object() || args.is_null())
    {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "`arguments` must be an object in the REX argument format".into(),
        );
    }
    let limits = &state.config.limits;
    let timeout_secs = request.timeout_secs.unwrap_or(limits.default_timeout_secs);
    if !(timeout_secs > 0.0 && timeout_secs <= limits.max_timeout_secs) {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!(
                "`timeout_secs` must be in (0, {}], got `{timeout_secs}`",
                limits.max_timeout_secs
            ),
        );
    }
    let Some(ticket) = state.queue.admit() else {
        state.metrics.queue_full();
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "queue_full",
            format!(
                "{} jobs running and {} waiting (max_concurrent {}, max_queue {}); retry later",
                state.queue.running(),
                state.queue.waiting(),
                state.queue.max_concurrent(),
                limits.max_queue
            ),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return r;
    };
    let Some(id) = new_job_id() else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "random",
            "the system random generator failed".into(),
        );
    };
    let (at, ms) = now();
    let record = JobRecord {
        id: id.clone(),
        principal: caller.principal,
        policy: caller.policy,
        status: crate::child::JobStatus::Queued,
        submitted_at: at,
        submitted_ms: ms,
        started_at: None,
        finished_at: None,
        finished_ms: None,
        timeout_secs,
        script: Some(request.script),
        arguments: request.arguments.filter(|a| !a.is_null()),
        document: None,
        logs: String::new(),
    };
    let stored = record.clone();
    if let Err(e) = state.with_store(move |s| s.put(&stored)).await {
        return store_error(e);
    }
    state.metrics.submitted();
    start_job(&state, ticket, record);
    let location = format!("/v1/jobs/{id}");
    let mut r = (
        StatusCode::ACCEPTED,
        axum::Json(json!({
            "id": id,
            "status": {"state": "queued"},
            "links": {"self": location, "logs": format!("{location}/logs")},
        })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A job as the API shows it.
fn view(r: &JobRecord, full: bool) -> Value {
    let mut v = json!({
        "id": r.id,
        "principal": r.principal,
        "status": r.status,
        "submitted_at": r.submitted_at,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "timeout_secs": r.timeout_secs,
    });
    if full {
        v["document"] = r.document.clone().unwrap_or(Value::Null);
        v["stderr"] = Value::String(r.logs.clone());
    }
    v
}

/// Loads job `id` if it belongs to `caller`.
async fn owned(state: &Arc<AppState>, caller: &Caller, id: &str) -> Result<JobRecord, Response> {
    if !valid_job_id(id) {
        return Err(not_found(id));
    }
    let key = id.to_owned();
    match state.with_store(move |s| s.get(&key)).await {
        Ok(Some(r)) if r.principal == caller.principal => Ok(r),
        Ok(_) => Err(not_found(id)),
        Err(e) => Err(store_error(e)),
    }
}

#[derive(Debug, Deserialize)]
struct WaitQuery {
    wait: Option<f64>,
}

async fn get_job(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<WaitQuery>,
) -> Response {
    let caller = match authenticate(&state, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut record = match owned(&state, &caller, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let wait = q.wait.unwrap_or(0.0);
    if wait > 0.0 && !record.status.is_finished() {
        if let Some(live) = state.live(&id) {
            let mut rx = live.progress.subscribe();
            let limit = Duration::from_secs_f64(wait.min(MAX_WAIT_SECS));
            let _ = tokio::time::timeout(limit, rx.wait_for(|p| p.1)).await;
        }
        // Read again, also when the job has no live state any more: it finished (its
        // result stored, then its live state removed) since the record was read.
        record = match owned(&state, &caller, &id).await {
            Ok(r) => r,
            Err(r) => return r,
        };
    }
    axum::Json(view(&record, true)).into_response()
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    limit: Option<usize>,
}

async fn list_jobs(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Response {
    let caller = match authenticate(&state, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let limit = q
        .limit
        .unwrap_or(state.config.limits.max_list)
        .min(state.config.limits.max_list);
    let principal = caller.principal.clone();
    match state.with_store(move |s| s.list(&principal, limit)).await {
        Ok(jobs) => axum::Json(json!({
            "jobs": jobs.iter().map(|r| view(r, false)).collect::<Vec<_>>()
        }))
        .into_response(),
        Err(e) => store_error(e),
    }
}

async fn delete_job(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let caller = match authenticate(&state, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let record = match owned(&state, &caller, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    if !record.status.is_finished() {
        return error(
            StatusCode::CONFLICT,
            "not_finished",
            format!("job `{id}` has not finished"),
        );
    }
    match state.with_store(move |s| s.delete(&record.id)).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => store_error(e),
    }
}

/// The document's log entries as `[LEVEL] message` lines.
fn document_lines(record: &JobRecord) -> Vec<String> {
    let entries = record
        .document
        .as_ref()
        .and_then(|d| d.get("logs"))
        .and_then(Value::as_array);
    entries
        .into_iter()
        .flatten()
        .map(|e| {
            let a = &e["attributes"];
            format!(
                "[{}] {}",
                a["level"].as_str().unwrap_or("INFO"),
                a["message"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// Streams the job's lines: the child's stderr as it arrives, then (once finished) the
/// script's log entries from the document and a final `-- job <state>` line.
async fn job_logs(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let caller = match authenticate(&state, &headers) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let record = match owned(&state, &caller, &id).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let live = if record.status.is_finished() {
        None
    } else {
        state.live(&id)
    };
    enum Phase {
        Live(usize),
        Done,
        End,
    }
    let start = if live.is_some() {
        Phase::Live(0)
    } else {
        Phase::Done
    };
    let stream = futures_util::stream::unfold(
        (start, live, state, caller, id),
        |(phase, live, state, caller, id)| async move {
            match phase {
                Phase::Live(seen) => {
                    let live = live?;
                    let mut rx = live.progress.subscribe();
                    let _ = rx.wait_for(|p| p.0 > seen || p.1).await;
                    let (lines, finished) = {
                        let all = live.lines.lock().ok()?;
                        let new: Vec<String> = all.get(seen..).unwrap_or_default().to_vec();
                        (new, live.progress.borrow().1)
                    };
                    let next = if finished && lines.is_empty() {
                        Phase::Done
                    } else {
                        Phase::Live(seen + lines.len())
                    };
                    let chunk: String = lines.iter().map(|l| format!("{l}\n")).collect();
                    Some((
                        Ok::<_, std::io::Error>(Bytes::from(chunk)),
                        (next, Some(live), state, caller, id),
                    ))
                }
                Phase::Done => {
                    let streamed = live.is_some();
                    let record = owned(&state, &caller, &id).await.ok()?;
                    let mut text = String::new();
                    if !streamed {
                        text.push_str(&record.logs);
                        if !text.is_empty() && !text.ends_with('\n') {
                            text.push('\n');
                        }
                    }
                    for line in document_lines(&record) {
                        text.push_str(&line);
                        text.push('\n');
                    }
                    text.push_str(&format!("-- job {}\n", record.status.name()));
                    Some((Ok(Bytes::from(text)), (Phase::End, live, state, caller, id)))
                }
                Phase::End => None,
            }
        },
    );
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(json!({
        "status": "ok",
        "running": state.queue.running(),
        "waiting": state.queue.waiting(),
    }))
    .into_response()
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state
            .metrics
            .render(state.queue.running(), state.queue.waiting()),
    )
        .into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
