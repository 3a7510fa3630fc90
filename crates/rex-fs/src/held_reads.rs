//! Regular files this thread opened for reading through `cat`'s open-first route, kept
//! open so that the next `cat` of the same path by the same run does not open them again.
//!
//! Opening a file for reading is the dearest step of a small `cat`: besides the open
//! itself, Landlock's `file_open` hook walks from the file up to the root on every open
//! (it looks for a rule granting `truncate`, which a read-only rule never does). An
//! `O_PATH` open makes the same path walk but is not a real open: no hook, no file
//! system `open`/`release`. So a repeated `cat` of a path resolves the path `O_PATH`
//! again (`openat2` refusing every symlink, as the first time), `fstat`s what it reached,
//! and reads the held fd with `pread` from offset 0 only when that is the very inode the
//! fd holds (same device and inode number; the held fd keeps the inode alive, so its
//! number cannot be reused meanwhile). A path that now names another inode, or nothing,
//! or no regular file, drops the held fd and goes the way a first `cat` goes.
//!
//! What this authorizes: nothing. Every `cat` still asks the gate its three requests,
//! and the inode read is the one the canonical path names when it is asked, exactly as
//! for a fresh open (which would read what it opened after the same checks). Entries are
//! per thread (Landlock domains are per thread: an fd opened under one thread's domain is
//! never read by another thread) and per gate ([`Gate::id`]): a thread that runs a second
//! script never reads through the first run's fds. At most [`MAX_HELD`] fds are held; the
//! oldest is closed for a new one, and all of them when the thread ends. A file removed
//! while its fd is held keeps its blocks until then (or until the next `cat` of its path
//! finds it gone and drops the fd).

use std::cell::RefCell;

use rex_policy::Gate;
use rustix::fd::OwnedFd;

use crate::sys::FileId;

/// Most fds held per thread.
pub(crate) const MAX_HELD: usize = 8;

/// One held fd.
#[derive(Debug)]
pub(crate) struct Held {
    /// The gate of the run that opened it.
    gate: u64,
    /// The canonical path it was opened by.
    path: Box<str>,
    /// Open for reading.
    pub(crate) fd: OwnedFd,
    /// The inode it holds.
    pub(crate) id: FileId,
}

thread_local! {
    static HELD: RefCell<Vec<Held>> = const { RefCell::new(Vec::new()) };
}

/// Takes the fd this thread holds for `path` under `gate`, if any (give it back with
/// [`keep`]). Entries of other gates are closed on the way.
pub(crate) fn take(gate: &Gate, path: &str) -> Option<Held> {
    let id = gate.id();
    HELD.with(|held| {
        let mut held = held.borrow_mut();
        held.retain(|h| h.gate == id);
        let i = held.iter().position(|h| &*h.path == path)?;
        Some(held.remove(i))
    })
}

/// Holds `fd`, open for reading on the inode `id` that `path` named under `gate`,
/// closing the oldest held fd when [`MAX_HELD`] are held.
pub(crate) fn keep(gate: &Gate, path: &str, fd: OwnedFd, id: FileId) {
    let entry = Held {
        gate: gate.id(),
        path: path.into(),
        fd,
        id,
    };
    HELD.with(|held| {
        let mut held = held.borrow_mut();
        held.retain(|h| &*h.path != path);
        if held.len() >= MAX_HELD {
            held.remove(0);
        }
        held.push(entry);
    });
}

/// How many fds this thread holds (for tests).
#[cfg(test)]
pub(crate) fn count() -> usize {
    HELD.with(|held| held.borrow().len())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use rex_policy::Policies;

    fn gate() -> Gate {
        Gate::builder()
            .principal("tester")
            .build(Policies::from_text("t.cedar", "permit(principal, action, resource);").unwrap())
            .unwrap()
    }

    fn open(dir: &tempfile::TempDir, name: &str) -> (String, OwnedFd, FileId) {
        let path = dir.path().join(name);
        std::fs::write(&path, name).unwrap();
        let fd =
            rustix::fs::open(&path, rustix::fs::OFlags::RDONLY, rustix::fs::Mode::empty()).unwrap();
        let id = FileId::of(&rustix::fs::fstat(&fd).unwrap());
        (path.to_string_lossy().into_owned(), fd, id)
    }

    #[test]
    fn held_per_gate_per_thread_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (gate(), gate());
        assert_ne!(a.id(), b.id());
        let (path, fd, id) = open(&dir, "f");
        keep(&a, &path, fd, id);
        assert_eq!(count(), 1);
        // Another thread holds nothing of this one's.
        let p = path.clone();
        let other = std::thread::spawn(move || {
            let g = gate();
            (take(&g, &p).is_none(), count())
        });
        assert_eq!(other.join().unwrap(), (true, 0));
        // Another gate never gets it, and closes it on the way.
        assert!(take(&b, &path).is_none());
        assert_eq!(count(), 0);
        // Its own gate gets it back, once.
        let (path, fd, id) = open(&dir, "g");
        keep(&a, &path, fd, id);
        let held = take(&a, &path).unwrap();
        assert_eq!(held.id, id);
        assert!(take(&a, &path).is_none());
        // At most MAX_HELD, the oldest closed first.
        let mut paths = Vec::new();
        for i in 0..=MAX_HELD {
            let (path, fd, id) = open(&dir, &format!("n{i}"));
            keep(&a, &path, fd, id);
            paths.push(path);
        }
        assert_eq!(count(), MAX_HELD);
        assert!(take(&a, &paths[0]).is_none());
        assert!(take(&a, &paths[MAX_HELD]).is_some());
    }
}
