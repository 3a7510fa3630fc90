//! The time and bytes one SDK call may use.

use std::time::{Duration, Instant};

use crate::error::NetError;

/// Bounds of one call: a wall-clock deadline (the run's) and a byte budget for what is
/// read into memory. Every socket operation is given at most the time left.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// No socket operation runs past this instant.
    pub deadline: Instant,
    /// Bytes one response body may bring into memory (more is cut off).
    pub max_bytes: usize,
}

impl Budget {
    /// A budget ending `timeout` from now.
    pub fn new(timeout: Duration, max_bytes: usize) -> Self {
        Self {
            deadline: Instant::now() + timeout,
            max_bytes,
        }
    }

    /// The same budget, ending at the earlier of its deadline and `timeout` from now.
    #[must_use]
    pub fn within(self, timeout: Duration) -> Self {
        Self {
            deadline: self.deadline.min(Instant::now() + timeout),
            max_bytes: self.max_bytes,
        }
    }

    /// The time left, or a timeout error naming `what` when none is.
    pub fn remaining(&self, what: &str) -> Result<Duration, NetError> {
        self.deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| NetError::Timeout(format!("{what}: no time left before the deadline")))
    }
}
