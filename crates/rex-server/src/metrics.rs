//! Counters for `GET /metrics`, rendered in the Prometheus text format by hand (a few
//! counters do not need a metrics crate). No label carries a principal or a job id.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::child::JobStatus;

const STATES: [&str; 6] = [
    "succeeded",
    "script_error",
    "denied",
    "invalid",
    "killed",
    "crashed",
];

/// The server's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    submitted: AtomicU64,
    rejected_queue_full: AtomicU64,
    unauthorized: AtomicU64,
    finished: [AtomicU64; 6],
    duration_ms_sum: AtomicU64,
}

impl Metrics {
    /// A job was accepted.
    pub fn submitted(&self) {
        self.submitted.fetch_add(1, Ordering::Relaxed);
    }

    /// A submission was refused with 429.
    pub fn queue_full(&self) {
        self.rejected_queue_full.fetch_add(1, Ordering::Relaxed);
    }

    /// A request was refused with 401.
    pub fn unauthorized(&self) {
        self.unauthorized.fetch_add(1, Ordering::Relaxed);
    }

    /// A job ended with `status` after running `millis`.
    pub fn finished(&self, status: &JobStatus, millis: u64) {
        if let Some(i) = STATES.iter().position(|s| *s == status.name())
            && let Some(c) = self.finished.get(i)
        {
            c.fetch_add(1, Ordering::Relaxed);
        }
        self.duration_ms_sum.fetch_add(millis, Ordering::Relaxed);
    }

    /// The Prometheus text exposition, with the queue's gauges.
    pub fn render(&self, running: usize, waiting: usize) -> String {
        let mut out = String::new();
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP rex_jobs_submitted_total Jobs accepted.\n# TYPE rex_jobs_submitted_total counter\nrex_jobs_submitted_total {}",
            load(&self.submitted)
        );
        let _ = writeln!(
            out,
            "# HELP rex_jobs_rejected_total Submissions refused.\n# TYPE rex_jobs_rejected_total counter\nrex_jobs_rejected_total{{reason=\"queue_full\"}} {}",
            load(&self.rejected_queue_full)
        );
        let _ = writeln!(
            out,
            "# HELP rex_http_unauthorized_total Requests refused for a missing or unknown token.\n# TYPE rex_http_unauthorized_total counter\nrex_http_unauthorized_total {}",
            load(&self.unauthorized)
        );
        let _ = writeln!(
            out,
            "# HELP rex_jobs_finished_total Jobs finished, by how they ended.\n# TYPE rex_jobs_finished_total counter"
        );
        let mut total = 0;
        for (name, c) in STATES.iter().zip(&self.finished) {
            let n = load(c);
            total += n;
            let _ = writeln!(out, "rex_jobs_finished_total{{status=\"{name}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP rex_job_run_seconds Wall-clock time of finished jobs' child processes.\n# TYPE rex_job_run_seconds summary\nrex_job_run_seconds_sum {:.3}\nrex_job_run_seconds_count {total}",
            load(&self.duration_ms_sum) as f64 / 1000.0
        );
        let _ = writeln!(
            out,
            "# HELP rex_jobs_running Jobs running now.\n# TYPE rex_jobs_running gauge\nrex_jobs_running {running}\n# HELP rex_jobs_waiting Jobs waiting for a slot.\n# TYPE rex_jobs_waiting gauge\nrex_jobs_waiting {waiting}"
        );
        out
    }
}
