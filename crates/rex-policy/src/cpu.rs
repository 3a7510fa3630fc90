//! Getting a thread that was just started onto a processor at once.
//!
//! Linux queues a new thread on its creator's processor. When the creator goes on working
//! (as rex's start-up does, parsing the policy while a helper builds the schema), the new
//! thread waits until the creator blocks or the idle processor's load balancer pulls it
//! over: on the 2-processor KVM guests rex is measured on, a helper started by a thread
//! that stays busy first ran 1.5 ms later in the median (`docs/PERFORMANCE.md`, eleventh
//! session). [`leave_this_cpu`] moves the creator instead: the new thread runs at once
//! where the creator was, and the creator goes on on another processor once that one has
//! woken up (about 0.12 ms there).

use rustix::thread::{CpuSet, sched_getaffinity, sched_getcpu, sched_setaffinity};

/// Moves the calling thread to another processor it is allowed to run on, and lets it run
/// on all of them again, so a thread it has just started, queued on the processor it
/// leaves, runs there at once. `false`, with nothing changed, when the thread may run on
/// one processor only or the kernel refuses the move (a seccomp filter, for one).
///
/// Changes where the thread runs, never what it may do.
pub fn leave_this_cpu() -> bool {
    let Ok(allowed) = sched_getaffinity(None) else {
        return false;
    };
    let mut elsewhere = allowed;
    elsewhere.unset(sched_getcpu());
    if elsewhere.count() == 0 || sched_setaffinity(None, &elsewhere).is_err() {
        return false;
    }
    // The kernel has moved the thread before returning; with the whole set back it stays
    // where it now is until the scheduler moves it.
    restore(&allowed)
}

/// Gives the calling thread its processors back (a second try before giving up: a
/// thread left on fewer processors still runs, only less freely).
fn restore(allowed: &CpuSet) -> bool {
    sched_setaffinity(None, allowed).is_ok() || sched_setaffinity(None, allowed).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> CpuSet {
        sched_getaffinity(None).unwrap()
    }

    #[test]
    fn the_thread_moves_to_another_processor_and_keeps_all_of_them() {
        std::thread::spawn(|| {
            let before = allowed();
            if before.count() < 2 {
                eprintln!("one processor: nothing to move to");
                return;
            }
            for _ in 0..20 {
                let here = sched_getcpu();
                assert!(leave_this_cpu());
                assert_ne!(sched_getcpu(), here, "still on processor {here}");
                assert_eq!(allowed(), before);
            }
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_thread_on_one_processor_stays() {
        std::thread::spawn(|| {
            let mut one = CpuSet::new();
            one.set(sched_getcpu());
            sched_setaffinity(None, &one).unwrap();
            let here = sched_getcpu();
            assert!(!leave_this_cpu());
            assert_eq!(sched_getcpu(), here);
            assert_eq!(allowed(), one);
        })
        .join()
        .unwrap();
    }
}
