//! Canonical paths this process has found to name a regular file, from the `fstat` of an
//! `O_PATH` fd (which opens nothing), each with the `Resource`s a `cat` of it asks about.
//!
//! `cat` opens a file for reading before typing it only when its path is in this set
//! (see `helpers::cat`), so a FIFO or device the policy allows opening is still typed
//! through `O_PATH` first: the set is what keeps such an object from being opened merely
//! because its path was spelled canonically. A path in the set may since have been
//! replaced; the open-first route types what it opened with `fstat`, reads only a regular
//! file and forgets the path otherwise. Membership authorizes nothing and decides nothing:
//! every request is still asked of the gate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use rex_policy::{CanonicalPath, Resource};

/// Most paths remembered; the set is emptied when full (the cost of a miss is one
/// `O_PATH` round trip, never a different answer).
const MAX_KNOWN: usize = 4096;

/// A path known to name a regular file, with what `cat` asks the gate about it (built
/// once, not per call).
#[derive(Debug)]
pub(crate) struct Known {
    /// The canonical path (the key, validated once).
    pub(crate) path: CanonicalPath,
    /// `Dir` of its parent directory.
    pub(crate) parent: Resource,
    /// `File` of the path.
    pub(crate) file: Resource,
}

/// Seeded `foldhash` (a `cat` loop looks a path up per call; SipHash was 1% of it).
type Map = HashMap<Box<str>, Arc<Known>, foldhash::fast::RandomState>;

static KNOWN: Mutex<Option<Map>> = Mutex::new(None);

/// The entry of `path`, if it was last seen as a regular file.
pub(crate) fn get(path: &str) -> Option<Arc<Known>> {
    let known = KNOWN.lock().unwrap_or_else(PoisonError::into_inner);
    known.as_ref()?.get(path).map(Arc::clone)
}

/// Remembers that `path` names a regular file (its `O_PATH` fd's `fstat` said so). `/`
/// is never a file and is not remembered.
pub(crate) fn remember(path: &CanonicalPath) {
    let mut known = KNOWN.lock().unwrap_or_else(PoisonError::into_inner);
    let map = known.get_or_insert_with(Map::default);
    if map.contains_key(path.as_str()) {
        return;
    }
    let Some(parent) = Resource::parent_dir_of(path) else {
        return;
    };
    if map.len() >= MAX_KNOWN {
        map.clear();
    }
    let entry = Known {
        path: path.clone(),
        parent,
        file: Resource::file(path),
    };
    map.insert(path.as_str().into(), Arc::new(entry));
}

/// Forgets `path` (it no longer names a regular file).
pub(crate) fn forget(path: &str) {
    let mut known = KNOWN.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(map) = known.as_mut() {
        map.remove(path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_forgets_and_stays_bounded() {
        let p = CanonicalPath::new("/known_files/test/a").unwrap();
        assert!(get(p.as_str()).is_none());
        remember(&p);
        let k = get(p.as_str()).unwrap();
        assert_eq!(k.path, p);
        assert_eq!(k.file, Resource::file(&p));
        assert_eq!(Some(k.parent.clone()), Resource::parent_dir_of(&p));
        forget(p.as_str());
        assert!(get(p.as_str()).is_none());
        remember(&CanonicalPath::root());
        assert!(get("/").is_none());
        for i in 0..=MAX_KNOWN {
            remember(&CanonicalPath::new(&format!("/known_files/test/many/{i}")).unwrap());
        }
        let len = KNOWN.lock().unwrap().as_ref().map_or(0, Map::len);
        assert!((1..=MAX_KNOWN).contains(&len), "{len}");
    }
}
