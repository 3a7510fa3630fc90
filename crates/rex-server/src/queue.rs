//! Admission and concurrency: at most `max_concurrent` jobs run at once, at most
//! `max_queue` more wait; a submission beyond that is refused (HTTP 429) before anything
//! is stored, so an accepted job always has a place.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The job queue's counters and run slots.
#[derive(Debug, Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    slots: Arc<Semaphore>,
    /// Jobs admitted and not yet finished (waiting or running).
    admitted: AtomicUsize,
    /// Jobs holding a run slot.
    running: AtomicUsize,
    capacity: usize,
    max_concurrent: usize,
}

/// A job's place in the system; dropping it frees the place.
#[derive(Debug)]
pub struct Ticket {
    inner: Arc<Inner>,
}

/// A run slot; dropping it lets the next waiting job start.
#[derive(Debug)]
pub struct Slot {
    _permit: OwnedSemaphorePermit,
    inner: Arc<Inner>,
}

impl Queue {
    /// A queue running `max_concurrent` jobs at once with `max_queue` waiting.
    pub fn new(max_concurrent: usize, max_queue: usize) -> Self {
        let max_concurrent = max_concurrent.max(1);
        Self {
            inner: Arc::new(Inner {
                slots: Arc::new(Semaphore::new(max_concurrent)),
                admitted: AtomicUsize::new(0),
                running: AtomicUsize::new(0),
                capacity: max_concurrent.saturating_add(max_queue),
                max_concurrent,
            }),
        }
    }

    /// A place for one more job, or `None` when running + waiting jobs are at capacity.
    pub fn admit(&self) -> Option<Ticket> {
        let admitted = self
            .inner
            .admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.inner.capacity).then_some(n + 1)
            });
        admitted.ok().map(|_| Ticket {
            inner: Arc::clone(&self.inner),
        })
    }

    /// Jobs waiting for a slot.
    pub fn waiting(&self) -> usize {
        self.inner
            .admitted
            .load(Ordering::Acquire)
            .saturating_sub(self.running())
    }

    /// Jobs running.
    pub fn running(&self) -> usize {
        self.inner.running.load(Ordering::Acquire)
    }

    /// The concurrency cap.
    pub fn max_concurrent(&self) -> usize {
        self.inner.max_concurrent
    }
}

impl Ticket {
    /// Waits for a run slot.
    pub async fn slot(&self) -> Option<Slot> {
        let permit = Arc::clone(&self.inner.slots).acquire_owned().await.ok()?;
        self.inner.running.fetch_add(1, Ordering::AcqRel);
        Some(Slot {
            _permit: permit,
            inner: Arc::clone(&self.inner),
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.inner.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.inner.running.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn admits_up_to_slots_plus_queue_then_refuses() {
        let q = Queue::new(2, 1);
        let a = q.admit().unwrap();
        let b = q.admit().unwrap();
        let c = q.admit().unwrap();
        assert!(q.admit().is_none());
        let sa = a.slot().await.unwrap();
        let _sb = b.slot().await.unwrap();
        assert_eq!((q.running(), q.waiting()), (2, 1));
        // The third waits until a slot frees.
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), c.slot()).await;
        assert!(waiting.is_err());
        drop(sa);
        drop(a);
        assert!(q.admit().is_some());
        let _sc = c.slot().await.unwrap();
        assert_eq!(q.running(), 2);
    }
}
