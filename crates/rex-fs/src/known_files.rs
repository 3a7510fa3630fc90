//! Canonical paths this process has found to name a regular file, from the `fstat` of an
//! `O_PATH` fd (which opens nothing).
//!
//! `cat` opens a file for reading before typing it only when its path is in this set
//! (see `helpers::cat`), so a FIFO or device the policy allows opening is still typed
//! through `O_PATH` first: the set is what keeps such an object from being opened merely
//! because its path was spelled canonically. A path in the set may since have been
//! replaced; the open-first route types what it opened with `fstat`, reads only a regular
//! file and forgets the path otherwise. Membership authorizes nothing and decides nothing:
//! every request is still asked of the gate.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

/// Most paths remembered; the set is emptied when full (the cost of a miss is one
/// `O_PATH` round trip, never a different answer).
const MAX_KNOWN: usize = 4096;

/// Seeded `foldhash` (a `cat` loop looks a path up per call; SipHash was 1% of it).
type Set = HashSet<Box<str>, foldhash::fast::RandomState>;

static KNOWN: Mutex<Option<Set>> = Mutex::new(None);

/// Whether `path` was last seen as a regular file.
pub(crate) fn is_regular(path: &str) -> bool {
    let known = KNOWN.lock().unwrap_or_else(PoisonError::into_inner);
    known.as_ref().is_some_and(|set| set.contains(path))
}

/// Remembers that `path` names a regular file (its `O_PATH` fd's `fstat` said so).
pub(crate) fn remember(path: &str) {
    let mut known = KNOWN.lock().unwrap_or_else(PoisonError::into_inner);
    let set = known.get_or_insert_with(Set::default);
    if set.contains(path) {
        return;
    }
    if set.len() >= MAX_KNOWN {
        set.clear();
    }
    set.insert(path.into());
}

/// Forgets `path` (it no longer names a regular file).
pub(crate) fn forget(path: &str) {
    let mut known = KNOWN.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(set) = known.as_mut() {
        set.remove(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_forgets_and_stays_bounded() {
        let p = "/known_files/test/a";
        assert!(!is_regular(p));
        remember(p);
        assert!(is_regular(p));
        forget(p);
        assert!(!is_regular(p));
        for i in 0..=MAX_KNOWN {
            remember(&format!("/known_files/test/many/{i}"));
        }
        let len = KNOWN.lock().unwrap().as_ref().map_or(0, Set::len);
        assert!((1..=MAX_KNOWN).contains(&len), "{len}");
    }
}
