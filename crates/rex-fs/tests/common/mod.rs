//! Shared fixtures: a canonical temp dir and gates over policies about it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rex_fs::{FsError, IoErrorKind};
use rex_policy::{Gate, Policies};

/// A temp dir whose path has no symlinks in it (so it can be written into policies).
pub struct Fx {
    _tmp: tempfile::TempDir,
    pub root: String,
}

impl Fx {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path())
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        Self { _tmp: tmp, root }
    }

    /// `<root>/<rel>`.
    pub fn p(&self, rel: &str) -> String {
        format!("{}/{rel}", self.root)
    }

    pub fn mkdir(&self, rel: &str) {
        std::fs::create_dir_all(self.p(rel)).unwrap();
    }

    pub fn file(&self, rel: &str, content: &str) {
        std::fs::write(self.p(rel), content).unwrap();
    }

    pub fn symlink(&self, target: &str, rel: &str) {
        std::os::unix::fs::symlink(target, self.p(rel)).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.p(rel)).unwrap()
    }

    pub fn exists(&self, rel: &str) -> bool {
        Path::new(&self.p(rel)).symlink_metadata().is_ok()
    }

    /// Everything in the root permitted, except `<root>/d/secret`, plus `extra` policies.
    pub fn gate_with(&self, extra: &str) -> Gate {
        let root = &self.root;
        gate(&format!(
            r#"permit(principal, action, resource in file_system::Dir::"{root}");
forbid(principal, action, resource == file_system::File::"{root}/d/secret");
{extra}"#
        ))
    }

    /// [`Fx::gate_with`] with nothing extra.
    pub fn gate(&self) -> Gate {
        self.gate_with("")
    }

    /// Only `actions` (e.g. `"open", "read"`), on everything in the root.
    pub fn gate_actions(&self, actions: &[&str]) -> Gate {
        let list = actions
            .iter()
            .map(|a| format!(r#"file_system::Action::"{a}""#))
            .collect::<Vec<_>>()
            .join(", ");
        gate(&format!(
            r#"permit(principal, action in [{list}], resource in file_system::Dir::"{}");"#,
            self.root
        ))
    }
}

pub fn gate(text: &str) -> Gate {
    Gate::builder()
        .principal("tester")
        .build(Policies::from_text("t.cedar", text).unwrap())
        .unwrap()
}

/// The Cedar uid of a file.
pub fn file_uid(path: &str) -> String {
    format!("file_system::File::\"{path}\"")
}

/// Asserts `r` is a Cedar refusal about `resource` (a uid as from [`file_uid`]).
#[track_caller]
pub fn assert_denied_on<T: std::fmt::Debug>(r: Result<T, FsError>, resource: &str, what: &str) {
    let e = r.expect_err(what);
    assert_eq!(e.kind(), IoErrorKind::PermissionDenied, "{what}: {e}");
    let d = e
        .denied()
        .unwrap_or_else(|| panic!("{what}: not a denial: {e}"));
    assert_eq!(d.resource().to_string(), resource, "{what}: {e}");
}

/// Asserts `r` failed with `kind`.
#[track_caller]
pub fn assert_kind<T: std::fmt::Debug>(r: Result<T, FsError>, kind: IoErrorKind, what: &str) {
    let e = r.expect_err(what);
    assert_eq!(e.kind(), kind, "{what}: {e}");
}

/// Runs `f` in a thread; panics if it does not finish within `secs` seconds.
pub fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .expect("operation did not finish in time (blocked?)")
}

/// A thread that exchanges `a` with each of `others` in turn (`renameat2` with
/// `RENAME_EXCHANGE`), as fast as it can, until [`Exchanger::stop`]: the swapping attacker
/// of the race tests.
pub struct Exchanger {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    swaps: std::sync::Arc<std::sync::atomic::AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl Exchanger {
    pub fn start(a: String, others: Vec<String>) -> Self {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let stop = Arc::new(AtomicBool::new(false));
        let swaps = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, swaps) = (Arc::clone(&stop), Arc::clone(&swaps));
            std::thread::spawn(move || {
                for other in others.iter().cycle() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    rustix::fs::renameat_with(
                        rustix::fs::CWD,
                        a.as_str(),
                        rustix::fs::CWD,
                        other.as_str(),
                        rustix::fs::RenameFlags::EXCHANGE,
                    )
                    .unwrap();
                    swaps.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        Self {
            stop,
            swaps,
            thread,
        }
    }

    /// Stops the thread, waits for it, and says how many exchanges it made.
    pub fn stop(self) -> u64 {
        use std::sync::atomic::Ordering;
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap();
        self.swaps.load(Ordering::Relaxed)
    }
}
