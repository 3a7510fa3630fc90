//! Sampling CPU use of processes over time (`monitor_processes_cpu`).

use std::time::{Duration, Instant};

use rex_policy::Gate;

use crate::error::ProcessError;
use crate::info::ProcessInfo;
use crate::manager::{ProcessManager, ProcessOptions};

/// Most batches one call takes.
pub const MAX_BATCHES: u32 = 1_000;

/// Options of [`ProcessManager::monitor_processes_cpu`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonitorProcessesCpuOptions {
    /// Only these pids (empty: every visible process).
    pub pids_to_monitor: Vec<i64>,
    /// How many samples to return (at least 1).
    pub batches: u32,
    /// Time between samples.
    pub delay: Duration,
    /// Include threads.
    pub include_threads: bool,
}

impl ProcessManager {
    /// Takes a baseline sample, then `batches` samples `delay` apart; each batch's
    /// `recent_cpu_usage` is the CPU use since the previous sample. Every process in every
    /// sample is authorized with `process_system::Action::"list"` (denied ones are left
    /// out). Stops with an error rather than sleep past `deadline`.
    pub fn monitor_processes_cpu(
        &mut self,
        gate: &Gate,
        options: &MonitorProcessesCpuOptions,
        deadline: Option<Instant>,
    ) -> Result<Vec<Vec<ProcessInfo>>, ProcessError> {
        if options.batches == 0 || options.batches > MAX_BATCHES {
            return Err(ProcessError::Invalid(format!(
                "`batches` must be between 1 and {MAX_BATCHES}, got `{}`",
                options.batches
            )));
        }
        let list = ProcessOptions {
            load_namespace_info: false,
            include_threads: options.include_threads,
        };
        if let Some(d) = deadline {
            let total = options.delay.saturating_mul(options.batches);
            if Instant::now() + total > d {
                return Err(ProcessError::Invalid(format!(
                    "monitoring for {}s would pass the run's deadline",
                    total.as_secs_f64()
                )));
            }
        }
        self.processes(gate, list)?;
        let mut out = Vec::new();
        for _ in 0..options.batches {
            std::thread::sleep(options.delay);
            let listing = self.processes(gate, list)?;
            out.push(
                listing
                    .processes
                    .into_iter()
                    .filter(|p| {
                        options.pids_to_monitor.is_empty()
                            || options.pids_to_monitor.contains(&p.pid)
                    })
                    .collect(),
            );
        }
        Ok(out)
    }
}
