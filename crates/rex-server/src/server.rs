//! The server's state and lifecycle: binding, recovering jobs after a restart, running
//! each accepted job through [`crate::child::run_child_streaming`], expiring old results.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::auth::Tokens;
use crate::child::{ChildJob, JobStatus, run_child_streaming};
use crate::config::Config;
use crate::http::CallerHook;
use crate::metrics::Metrics;
use crate::queue::{Queue, Ticket};
use crate::store::{JobRecord, Store, StoreError};
use crate::tls::{TlsError, TlsListener};

/// A server start-up or serving failure.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The job store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// TLS setup failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Binding or serving failed.
    #[error("cannot listen on `{addr}`: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The server loop failed.
    #[error("server: {0}")]
    Serve(std::io::Error),
}

/// The live log lines of a running job and whether it finished.
#[derive(Debug)]
pub(crate) struct Live {
    pub(crate) lines: Mutex<Vec<String>>,
    /// (lines so far, finished)
    pub(crate) progress: watch::Sender<(usize, bool)>,
}

impl Live {
    fn new() -> Self {
        Self {
            lines: Mutex::new(Vec::new()),
            progress: watch::channel((0, false)).0,
        }
    }

    fn push(&self, line: String) {
        let n = match self.lines.lock() {
            Ok(mut lines) => {
                lines.push(line);
                lines.len()
            }
            Err(_) => return,
        };
        self.progress.send_replace((n, false));
    }

    fn finish(&self) {
        self.progress.send_modify(|p| p.1 = true);
    }
}

/// Shared state of the HTTP handlers and job tasks.
#[derive(Debug)]
pub struct AppState {
    pub(crate) config: Config,
    pub(crate) tokens: Tokens,
    pub(crate) store: Arc<Store>,
    pub(crate) queue: Queue,
    pub(crate) rex_bin: PathBuf,
    pub(crate) live: Mutex<HashMap<String, Arc<Live>>>,
    pub(crate) metrics: Metrics,
}

impl AppState {
    pub(crate) fn live(&self, id: &str) -> Option<Arc<Live>> {
        self.live.lock().ok()?.get(id).cloned()
    }

    /// Runs a blocking store operation off the async workers.
    pub(crate) async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| StoreError::Db {
                path: PathBuf::new(),
                message: format!("store task failed: {e}"),
            })?
    }
}

/// A bound server, ready to run.
pub struct Server {
    state: Arc<AppState>,
    listener: TcpListener,
    addr: SocketAddr,
    mounts: Vec<(String, axum::Router, CallerHook)>,
}

/// Current time as (RFC 3339, Unix milliseconds).
pub(crate) fn now() -> (String, u64) {
    let t = jiff::Timestamp::now();
    (
        t.to_string(),
        u64::try_from(t.as_millisecond()).unwrap_or(0),
    )
}

impl Server {
    /// Opens the store, recovers jobs a previous process left (a job that was running is
    /// marked crashed, since running it twice could repeat its side effects; a job that
    /// was waiting is run now), and binds the listener.
    pub async fn bind(config: Config, rex_bin: PathBuf) -> Result<Self, ServerError> {
        let store = Arc::new(Store::open(&config.data_dir)?);
        let queue = Queue::new(config.limits.max_concurrent, config.limits.max_queue);
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServerError::Listen {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener
            .local_addr()
            .map_err(|source| ServerError::Listen {
                addr: config.listen,
                source,
            })?;
        let state = Arc::new(AppState {
            tokens: Tokens::new(&config.token),
            config,
            store,
            queue,
            rex_bin,
            live: Mutex::new(HashMap::new()),
            metrics: Metrics::default(),
        });
        recover(&state)?;
        Ok(Self {
            state,
            listener,
            addr,
            mounts: Vec::new(),
        })
    }

    /// Serves `service` under `path` (e.g. `/mcp`), behind the same bearer tokens as the
    /// job API: unauthenticated requests get 401 and never reach it. `hook` adds what the
    /// service needs to know about the caller to the request.
    pub fn mount(&mut self, path: &str, service: axum::Router, hook: CallerHook) {
        self.mounts.push((path.to_owned(), service, hook));
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// True when the server speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.state.config.tls.is_some()
    }

    /// Serves until `shutdown` completes, then stops accepting and lets open requests end.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let state = Arc::clone(&self.state);
        tokio::spawn(expire_loop(Arc::clone(&state)));
        let mut app = crate::http::router(Arc::clone(&state));
        for (path, service, hook) in self.mounts {
            let guarded = crate::http::guard(Arc::clone(&state), service, hook);
            app = app.nest_service(&path, guarded);
        }
        match &state.config.tls {
            Some(tls) => {
                let acceptor = crate::tls::acceptor(&tls.cert, &tls.key)?;
                let listener =
                    TlsListener::new(self.listener, acceptor).map_err(ServerError::Serve)?;
                axum::serve(listener, app)
                    .with_graceful_shutdown(shutdown)
                    .await
                    .map_err(ServerError::Serve)
            }
            None => axum::serve(self.listener, app)
                .with_graceful_shutdown(shutdown)
                .await
                .map_err(ServerError::Serve),
        }
    }
}

fn recover(state: &Arc<AppState>) -> Result<(), ServerError> {
    let unfinished = state.store.scan(|r| !r.status.is_finished())?;
    // Oldest first, so waiting jobs keep their order.
    for mut record in unfinished.into_iter().rev() {
        let ticket = match (&record.status, state.queue.admit()) {
            (JobStatus::Queued, Some(ticket)) if record.script.is_some() => ticket,
            (JobStatus::Queued, _) => {
                finish_lost(
                    state,
                    &mut record,
                    "the server restarted and had no room to run it",
                )?;
                continue;
            }
            _ => {
                finish_lost(state, &mut record, "the server stopped while the job ran")?;
                continue;
            }
        };
        start_job(state, ticket, record);
    }
    Ok(())
}

fn finish_lost(state: &AppState, record: &mut JobRecord, why: &str) -> Result<(), StoreError> {
    let (at, ms) = now();
    let message = format!("job `{}` lost: {why}", record.id);
    record.document = Some(crate::child::error_document(
        rex_engine::ErrorType::InternalException,
        &message,
    ));
    record.status = JobStatus::Crashed { message };
    record.finished_at = Some(at);
    record.finished_ms = Some(ms);
    record.script = None;
    record.arguments = None;
    state.store.put(record)
}

/// Starts the task that runs an admitted, stored job.
pub(crate) fn start_job(state: &Arc<AppState>, ticket: Ticket, record: JobRecord) {
    let live = Arc::new(Live::new());
    if let Ok(mut map) = state.live.lock() {
        map.insert(record.id.clone(), Arc::clone(&live));
    }
    tokio::spawn(run_job(Arc::clone(state), ticket, record, live));
}

async fn run_job(state: Arc<AppState>, ticket: Ticket, mut record: JobRecord, live: Arc<Live>) {
    let Some(slot) = ticket.slot().await else {
        return;
    };
    let (at, _) = now();
    record.status = JobStatus::Running;
    record.started_at = Some(at);
    let snapshot = record.clone();
    if let Err(e) = state.with_store(move |s| s.put(&snapshot)).await {
        eprintln!("rex serve: job `{}`: {e}", record.id);
    }
    let limits = &state.config.limits;
    let job = ChildJob {
        job_id: record.id.clone(),
        script: record.script.clone().unwrap_or_default(),
        arguments: record.arguments.clone(),
        policy: record.policy.clone(),
        principal: record.principal.clone(),
        timeout: Duration::from_secs_f64(record.timeout_secs),
        max_memory_bytes: limits.max_memory_bytes,
        max_output_bytes: limits.max_output_bytes,
        audit_log: state.config.audit_log.clone(),
        sandbox: state.config.sandbox.clone(),
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let forward = {
        let live = Arc::clone(&live);
        tokio::spawn(async move {
            while let Some(line) = rx.recv().await {
                live.push(line);
            }
        })
    };
    let started = Instant::now();
    let outcome = run_child_streaming(&state.rex_bin, &job, Some(tx)).await;
    let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let _ = forward.await;
    drop(slot);
    let (at, ms) = now();
    state.metrics.finished(&outcome.status, millis);
    record.status = outcome.status;
    record.document = Some(outcome.document);
    record.logs = outcome.logs;
    record.finished_at = Some(at);
    record.finished_ms = Some(ms);
    record.script = None;
    record.arguments = None;
    let id = record.id.clone();
    if let Err(e) = state.with_store(move |s| s.put(&record)).await {
        eprintln!("rex serve: job `{id}`: cannot store its result: {e}");
    }
    live.finish();
    if let Ok(mut map) = state.live.lock() {
        map.remove(&id);
    }
    drop(ticket);
}

async fn expire_loop(state: Arc<AppState>) {
    let ttl = state.config.limits.result_ttl_secs;
    let every = Duration::from_secs(ttl.clamp(1, 60));
    loop {
        tokio::time::sleep(every).await;
        let cutoff = now().1.saturating_sub(ttl.saturating_mul(1000));
        if let Err(e) = state.with_store(move |s| s.expire(cutoff)).await {
            eprintln!("rex serve: expiring results: {e}");
        }
    }
}
