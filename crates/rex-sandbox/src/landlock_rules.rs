//! Building the Landlock ruleset from a plan and restricting the calling thread with it.

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, LandlockStatus, NetPort,
    PathBeneath, RestrictSelfAttr, Ruleset, RulesetAttr, RulesetCreated, RulesetCreatedAttr,
    RulesetError, RulesetStatus, Scope, make_bitflags,
};
use rex_policy::CanonicalPath;
use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::error::SandboxError;
use crate::fs_rights::split_parent;
use crate::plan::{FsPlan, FsRule, PermitIds, RuleOrigin, SandboxPlan};
use crate::report::Enforcement;

/// What the kernel took.
pub(crate) struct Outcome {
    pub abi: Option<i32>,
    pub enforcement: Enforcement,
    pub rules: usize,
    pub connect_ports: Option<Vec<u16>>,
    pub notes: Vec<String>,
}

/// The Landlock ABI version of the running kernel, `None` when Landlock is not available
/// (not built in, or not enabled at boot). Probing creates no restriction.
///
/// Found by asking for each ABI's features with a hard requirement: filesystem rights
/// (ABI 1, 2, 3, 5, 9), network rights (4), scopes (6), and the restrict-self flags for
/// audit logging (7) and all threads (8).
pub fn landlock_abi() -> Option<i32> {
    let statically = |abi: ABI| -> bool {
        let mut rs = Ruleset::default().set_compatibility(CompatLevel::HardRequirement);
        let fs = AccessFs::from_all(abi);
        let net = AccessNet::from_all(abi);
        let scope = Scope::from_all(abi);
        let mut step = || -> Result<(), RulesetError> {
            rs = std::mem::take(&mut rs).handle_access(fs)?;
            if !net.is_empty() {
                rs = std::mem::take(&mut rs).handle_access(net)?;
            }
            if !scope.is_empty() {
                rs = std::mem::take(&mut rs).scope(scope)?;
            }
            Ok(())
        };
        step().is_ok()
    };
    let base = [9, 6, 5, 4, 3, 2, 1]
        .into_iter()
        .find(|n| statically(ABI::from(*n)))?;
    if base != 6 {
        return Some(base);
    }
    let created =
        |f: &dyn Fn(landlock::RulesetCreated) -> Result<landlock::RulesetCreated, RulesetError>| {
            Ruleset::default()
                .set_compatibility(CompatLevel::HardRequirement)
                .handle_access(AccessFs::Execute)
                .and_then(Ruleset::create)
                .and_then(f)
                .is_ok()
        };
    if created(&|r| r.all_threads(true)) {
        Some(8)
    } else if created(&|r| r.log_new_exec(true)) {
        Some(7)
    } else {
        Some(6)
    }
}

/// Rights valid on a non-directory.
fn file_rights() -> BitFlags<AccessFs> {
    make_bitflags!(AccessFs::{Execute | WriteFile | ReadFile | Truncate | IoctlDev})
}

/// Opens `path` with `O_PATH`, following symlinks (a rule attaches to the inode reached).
fn open_path(path: &str) -> Result<OwnedFd, Errno> {
    rustix::fs::open(path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty())
}

/// Whether `fd` is a directory.
fn is_dir(fd: &OwnedFd) -> Result<bool, Errno> {
    let st = rustix::fs::fstat(fd)?;
    Ok(FileType::from_raw_mode(st.st_mode) == FileType::Directory)
}

/// Opens rule paths. An absolute path is opened relative to its parent directory, which
/// stays open while consecutive rules share it (rules come sorted by path, so siblings are
/// consecutive): one lookup of one component per rule instead of a walk from `/`, with
/// the same result (the parent was reached by the same walk, symlinks followed). Beneath
/// a parent that cannot be opened, only the first path is tried: the others fail the same
/// way (a path beneath something that is missing, or not a directory, is missing too).
#[derive(Default)]
struct Opener {
    parent: Option<Parent>,
}

/// The parent directory of the last rule path opened.
struct Parent {
    path: String,
    dir: Result<OwnedFd, Errno>,
    /// For a parent that cannot be opened: where the permitted paths beneath it moved.
    anchor: Option<String>,
}

impl Opener {
    /// Opens `path` as [`open_path`] does.
    fn open(&mut self, path: &str) -> Result<OwnedFd, Errno> {
        let Some((dir, name)) = split_parent(path) else {
            return open_path(path);
        };
        let fresh = self.parent.as_ref().is_none_or(|p| p.path != dir);
        if fresh {
            let opened = rustix::fs::open(
                dir,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            );
            self.parent = Some(Parent {
                path: dir.to_owned(),
                dir: opened,
                anchor: None,
            });
        }
        match self.parent.as_ref().map(|p| &p.dir) {
            Some(Ok(fd)) => {
                rustix::fs::openat(fd, name, OFlags::PATH | OFlags::CLOEXEC, Mode::empty())
            }
            // The first path beneath a parent that cannot be opened is tried itself, so
            // that its note gives its own error.
            Some(Err(e)) if !fresh => Err(*e),
            _ => open_path(path),
        }
    }
}

/// Policy paths that do not exist, moved up to their nearest existing ancestor (one rule
/// and one note per ancestor, however many paths beneath it were missing).
#[derive(Default)]
struct Moved {
    anchors: BTreeMap<String, MovedTo>,
}

struct MovedTo {
    fd: OwnedFd,
    access: BitFlags<AccessFs>,
    /// The first missing path, its permits and the error; how many in all.
    example: (String, String, Errno),
    count: usize,
}

impl Moved {
    /// Records that `rule` (a policy path that cannot be opened with `e`, from the permits
    /// `ids`) is granted on its nearest existing ancestor. False when no ancestor can be
    /// opened.
    fn add(
        &mut self,
        plan: &SandboxPlan,
        rule: &FsRule,
        ids: &PermitIds,
        e: Errno,
        opener: &mut Opener,
    ) -> bool {
        // The rule's parent is the opener's: when it is open, it is the nearest existing
        // ancestor; when it is not, the ancestor found for the first path beneath it.
        if let Some((dir, _)) = split_parent(&rule.path)
            && let Some(parent) = opener.parent.as_mut()
            && parent.path == dir
        {
            match &parent.dir {
                Ok(fd) => {
                    if self.merge(dir, rule) {
                        return true;
                    }
                    if let Ok(fd) = fd.try_clone() {
                        self.insert(dir, fd, plan, rule, ids, e);
                        return true;
                    }
                }
                Err(_) => {
                    if let Some(anchor) = &parent.anchor
                        && self.merge(anchor, rule)
                    {
                        return true;
                    }
                    parent.anchor = self.walk(plan, rule, ids, e);
                    return parent.anchor.is_some();
                }
            }
        }
        self.walk(plan, rule, ids, e).is_some()
    }

    /// Adds `rule`'s rights to the anchor at `path`, if there is one.
    fn merge(&mut self, path: &str, rule: &FsRule) -> bool {
        match self.anchors.get_mut(path) {
            Some(to) => {
                to.access |= rule.access;
                to.count += 1;
                true
            }
            None => false,
        }
    }

    fn insert(
        &mut self,
        path: &str,
        fd: OwnedFd,
        plan: &SandboxPlan,
        rule: &FsRule,
        ids: &PermitIds,
        e: Errno,
    ) {
        let ids = plan.permit_names(ids).join(", ");
        self.anchors.insert(
            path.to_owned(),
            MovedTo {
                fd,
                access: rule.access,
                example: (rule.path.clone(), ids, e),
                count: 1,
            },
        );
    }

    /// Walks up from `rule`'s path to the first ancestor that is an anchor already or can
    /// be opened; its path.
    fn walk(
        &mut self,
        plan: &SandboxPlan,
        rule: &FsRule,
        ids: &PermitIds,
        e: Errno,
    ) -> Option<String> {
        let mut here = CanonicalPath::new(&rule.path).ok()?;
        while let Some(up) = here.parent() {
            if self.merge(up.as_str(), rule) {
                return Some(up.as_str().to_owned());
            }
            if let Ok(fd) = open_path(up.as_str()) {
                self.insert(up.as_str(), fd, plan, rule, ids, e);
                return Some(up.as_str().to_owned());
            }
            here = up;
        }
        None
    }

    /// One note per anchor.
    fn notes(&self) -> impl Iterator<Item = String> + '_ {
        self.anchors.iter().map(|(anchor, to)| {
            let (path, ids, e) = &to.example;
            if to.count == 1 {
                format!(
                    "`{path}` (permit {ids}) cannot be opened ({e}): its rights are granted on `{anchor}` and everything beneath"
                )
            } else {
                format!(
                    "`{path}` (permit {ids}) and {} more permitted paths beneath `{anchor}` cannot be opened ({e}): their rights are granted on `{anchor}` and everything beneath",
                    to.count - 1
                )
            }
        })
    }
}

/// Where opened rules go: the ruleset, or a recorder in tests. Rules may be added from
/// several threads, each with its own sink ([`RuleSink::fork`]), merged back in order.
pub(crate) trait RuleSink: Sized + Send {
    type Error: Send;
    /// Another sink adding to the same ruleset; `None` when none can be made (the rules
    /// are then added on the calling thread).
    fn fork(&self) -> Option<Self>;
    /// Adds a rule granting `access` on the object `fd` refers to (`path` for messages).
    fn add(
        &mut self,
        fd: OwnedFd,
        access: BitFlags<AccessFs>,
        path: &str,
    ) -> Result<(), Self::Error>;
    /// Takes back a fork's record after its thread is done.
    fn merge(&mut self, fork: Self);
}

/// Below this many rules per thread, a thread's start costs more than its share saves
/// (each rule is four system calls: `openat`, `fstat`, `landlock_add_rule`, `close`).
const RULES_PER_THREAD: usize = 512;

/// At most this many threads add rules.
const MAX_RULE_THREADS: usize = 8;

/// Opens `rule`'s path and the rights it gets there: only the file rights on a
/// non-directory (whether it is a directory matters only for rights beyond a file's).
fn open_rule(opener: &mut Opener, rule: &FsRule) -> Result<(OwnedFd, BitFlags<AccessFs>), Errno> {
    let fd = opener.open(&rule.path)?;
    if (rule.access & !file_rights()).is_empty() || is_dir(&fd)? {
        Ok((fd, rule.access))
    } else {
        Ok((fd, rule.access & file_rights()))
    }
}

/// Adds every rule of `rules` whose path opens; the indexes (from `first`) of the policy
/// rules whose path does not (a runtime or config path that does not exist is skipped).
fn add_opened<S: RuleSink>(
    rules: &[FsRule],
    first: usize,
    sink: &mut S,
) -> Result<Vec<usize>, S::Error> {
    let mut opener = Opener::default();
    let mut failed = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        match open_rule(&mut opener, rule) {
            Ok((fd, access)) if !access.is_empty() => sink.add(fd, access, &rule.path)?,
            Ok(_) => {}
            Err(_) if matches!(rule.origin, RuleOrigin::Policy(_)) => failed.push(first + i),
            Err(_) => {}
        }
    }
    Ok(failed)
}

/// How many threads add `rules` rules: one per [`RULES_PER_THREAD`] rules, at most one per
/// processor this process may use and [`MAX_RULE_THREADS`].
fn rule_threads(rules: usize) -> usize {
    let wanted = (rules / RULES_PER_THREAD).min(MAX_RULE_THREADS);
    if wanted > 1 {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(wanted))
    } else {
        1
    }
}

/// [`add_opened`] over all `rules`, split into `threads` consecutive runs (siblings stay
/// together) on as many threads (named `rex-landlock`): the system calls per rule dominate
/// a large policy's start-up (10,000 file rules: 40,000 calls), and they run in parallel.
/// The threads are joined before this returns, so none is left when the caller restricts
/// itself. A thread that cannot be started leaves its run to the calling thread. The
/// rules reach the sink in rule order whatever the number of threads.
fn add_all_opened<S: RuleSink>(
    rules: &[FsRule],
    threads: usize,
    sink: &mut S,
) -> Result<Vec<usize>, S::Error> {
    if threads <= 1 || rules.is_empty() {
        return add_opened(rules, 0, sink);
    }
    let size = rules.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut forks = Vec::new();
        for (k, run) in rules.chunks(size).enumerate().skip(1) {
            let first = k * size;
            let started = sink.fork().and_then(|mut fork| {
                std::thread::Builder::new()
                    .name("rex-landlock".to_owned())
                    .spawn_scoped(scope, move || {
                        add_opened(run, first, &mut fork).map(|failed| (fork, failed))
                    })
                    .ok()
            });
            forks.push((run, first, started));
        }
        // This thread adds the first run: the others start at once where it was.
        if forks.iter().any(|(_, _, started)| started.is_some()) {
            rex_policy::cpu::leave_this_cpu();
        }
        let mut failed = add_opened(rules.get(..size).unwrap_or(rules), 0, sink)?;
        for (run, first, started) in forks {
            let Some(handle) = started else {
                failed.extend(add_opened(run, first, sink)?);
                continue;
            };
            let (fork, more) = match handle.join() {
                Ok(result) => result?,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            sink.merge(fork);
            failed.extend(more);
        }
        Ok(failed)
    })
}

/// Opens the path of every rule of `fs` and adds it to `sink` with the rights it gets
/// there (only the file rights on a non-directory), in rule order; then each ancestor
/// that missing policy paths moved to. The notes about moved paths.
fn add_fs_rules<S: RuleSink>(
    plan: &SandboxPlan,
    fs: &FsPlan,
    threads: usize,
    sink: &mut S,
) -> Result<Vec<String>, S::Error> {
    let failed = add_all_opened(&fs.rules, threads, sink)?;
    // Paths that did not open are tried again in order, on one thread, so that each
    // moves to the ancestor the rules before it found.
    let mut opener = Opener::default();
    let mut moved = Moved::default();
    for rule in failed.into_iter().filter_map(|i| fs.rules.get(i)) {
        match open_rule(&mut opener, rule) {
            Ok((fd, access)) if !access.is_empty() => sink.add(fd, access, &rule.path)?,
            Ok(_) => {}
            Err(e) => {
                if let RuleOrigin::Policy(ids) = &rule.origin {
                    moved.add(plan, rule, ids, e, &mut opener);
                }
            }
        }
    }
    let notes = moved.notes().collect();
    for (anchor, to) in moved.anchors {
        sink.add(to.fd, to.access, &anchor)?;
    }
    Ok(notes)
}

/// The ruleset being built, as a [`RuleSink`]: a fork is a duplicate of its descriptor
/// (rules added through it go to the same ruleset).
struct RulesetSink {
    created: RulesetCreated,
    required: bool,
    rules: usize,
}

impl RuleSink for RulesetSink {
    type Error = SandboxError;

    fn fork(&self) -> Option<Self> {
        // The fork starts from this sink's compatibility state. A rule's own state can
        // only be what the handled rights already made it (the planner limits each rule
        // to the handled rights, and a non-directory to the file rights), so the state
        // the forks reach is the one this sink reports.
        Some(Self {
            created: self.created.try_clone().ok()?,
            required: self.required,
            rules: 0,
        })
    }

    fn add(
        &mut self,
        fd: OwnedFd,
        access: BitFlags<AccessFs>,
        path: &str,
    ) -> Result<(), SandboxError> {
        (&mut self.created)
            .add_rule(PathBeneath::new(fd, access))
            .map_err(|e| landlock_error(self.required, &format!("add rule for `{path}`"), &e))?;
        self.rules += 1;
        Ok(())
    }

    fn merge(&mut self, fork: Self) {
        self.rules += fork.rules;
    }
}

fn landlock_error(required: bool, what: &str, e: &RulesetError) -> SandboxError {
    if required {
        SandboxError::Unsupported {
            part: "landlock",
            reason: format!("{what}: {e}"),
        }
    } else {
        SandboxError::Landlock {
            what: what.to_owned(),
            reason: e.to_string(),
        }
    }
}

/// Builds the ruleset and restricts the calling thread (and the threads it creates
/// afterwards). With `required`, every planned feature must be supported
/// (`CompatLevel::HardRequirement`) and, when other threads already run, the kernel must
/// be able to restrict them too (ABI 8).
pub(crate) fn enforce(
    plan: &SandboxPlan,
    required: bool,
    threads: usize,
) -> Result<Outcome, SandboxError> {
    let level = if required {
        CompatLevel::HardRequirement
    } else {
        CompatLevel::BestEffort
    };
    let mut notes = Vec::new();
    let fs_handled = plan.fs.as_ref().map_or(BitFlags::EMPTY, |f| f.handled);
    let mut net_handled: BitFlags<AccessNet> = AccessNet::BindTcp.into();
    if plan.connect_ports.is_some() {
        net_handled |= AccessNet::ConnectTcp;
    }
    let err = |what: &str| {
        let what = what.to_owned();
        move |e: RulesetError| landlock_error(required, &what, &e)
    };

    let mut rs = Ruleset::default().set_compatibility(level);
    if !fs_handled.is_empty() {
        rs = rs
            .handle_access(fs_handled)
            .map_err(err("handle filesystem rights"))?;
    }
    rs = rs
        .handle_access(net_handled)
        .map_err(err("handle network rights"))?;
    if !plan.scopes.is_empty() {
        rs = rs
            .scope(plan.scopes)
            .map_err(err("scope signals and abstract sockets"))?;
    }
    let mut sink = RulesetSink {
        created: rs.create().map_err(err("create ruleset"))?,
        required,
        rules: 0,
    };
    if let Some(fs) = &plan.fs {
        notes.extend(add_fs_rules(
            plan,
            fs,
            rule_threads(fs.rules.len()),
            &mut sink,
        )?);
    }
    let RulesetSink {
        mut created, rules, ..
    } = sink;
    if let Some(ports) = &plan.connect_ports {
        for port in ports {
            created = created
                .add_rule(NetPort::new(*port, AccessNet::ConnectTcp))
                .map_err(err(&format!("allow TCP connect to port {port}")))?;
        }
    }
    created = created.no_new_privs(true);
    if threads > 1 {
        created = created.all_threads(true).map_err(|e| {
            if required {
                SandboxError::Unsupported {
                    part: "threads",
                    reason: format!(
                        "{} other threads already run and this kernel restricts only the calling thread ({e}): apply the sandbox before starting threads",
                        threads - 1
                    ),
                }
            } else {
                landlock_error(false, "restrict all threads", &e)
            }
        })?;
    }
    let status = created.restrict_self().map_err(err("restrict_self"))?;

    let abi = match status.landlock {
        LandlockStatus::Available {
            effective_abi,
            kernel_abi,
        } => Some(kernel_abi.unwrap_or(effective_abi as i32)),
        _ => None,
    };
    let enforcement = match status.ruleset {
        RulesetStatus::FullyEnforced => Enforcement::Full,
        RulesetStatus::PartiallyEnforced => Enforcement::Partial,
        RulesetStatus::NotEnforced => Enforcement::None,
    };
    if threads > 1 && !status.all_threads && enforcement != Enforcement::None {
        notes.push(format!(
            "{} threads were already running and are not under Landlock (only this thread and the threads it starts are)",
            threads - 1
        ));
    }
    let a = abi.unwrap_or(0);
    let mut net_enforced = enforcement != Enforcement::None;
    if enforcement == Enforcement::Partial || enforcement == Enforcement::None {
        if enforcement == Enforcement::None {
            notes.push("Landlock is not available on this kernel: no filesystem or network rule is enforced".to_owned());
        }
        if (1..2).contains(&a) && fs_handled.contains(AccessFs::Refer) {
            notes.push(
                "Landlock ABI 1: renames and links across directories are always refused"
                    .to_owned(),
            );
        }
        if (1..3).contains(&a) && fs_handled.contains(AccessFs::Truncate) {
            notes.push("Landlock ABI < 3: truncation is not restricted".to_owned());
        }
        if (1..4).contains(&a) {
            net_enforced = false;
            notes.push("Landlock ABI < 4: TCP bind and connect are not restricted".to_owned());
        }
        if (1..5).contains(&a) && fs_handled.contains(AccessFs::IoctlDev) {
            notes.push("Landlock ABI < 5: device ioctls are not restricted".to_owned());
        }
        if (1..6).contains(&a) && !plan.scopes.is_empty() {
            notes.push(
                "Landlock ABI < 6: signals and abstract UNIX sockets are not scoped".to_owned(),
            );
        }
    }
    let connect_ports = if net_enforced {
        plan.connect_ports
            .as_ref()
            .map(|p| p.iter().copied().collect())
    } else {
        None
    };
    Ok(Outcome {
        abi,
        enforcement,
        rules,
        connect_ports,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use rex_policy::Policies;

    use super::*;
    use crate::SandboxConfig;

    fn identity(fd: &OwnedFd) -> (u64, u64) {
        let st = rustix::fs::fstat(fd).unwrap();
        (st.st_dev, st.st_ino)
    }

    /// Records what would be added, and on which thread.
    #[derive(Default)]
    struct Recorder {
        added: Vec<(String, (u64, u64), BitFlags<AccessFs>)>,
        threads: Vec<std::thread::ThreadId>,
    }

    impl RuleSink for Recorder {
        type Error = ();
        fn fork(&self) -> Option<Self> {
            Some(Self::default())
        }
        fn add(&mut self, fd: OwnedFd, access: BitFlags<AccessFs>, path: &str) -> Result<(), ()> {
            self.added.push((path.to_owned(), identity(&fd), access));
            let me = std::thread::current().id();
            if !self.threads.contains(&me) {
                self.threads.push(me);
            }
            Ok(())
        }
        fn merge(&mut self, fork: Self) {
            self.added.extend(fork.added);
            self.threads.extend(fork.threads);
        }
    }

    fn root() -> (tempfile::TempDir, String) {
        let t = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(t.path()).unwrap();
        (t, root.to_str().unwrap().to_owned())
    }

    #[test]
    fn paths_opened_beside_their_parent_reach_what_opening_them_whole_does() {
        let (_t, root) = root();
        std::fs::create_dir_all(format!("{root}/d/b")).unwrap();
        std::fs::create_dir_all(format!("{root}/real")).unwrap();
        for f in ["d/a", "d/c", "real/x"] {
            std::fs::write(format!("{root}/{f}"), f).unwrap();
        }
        symlink(format!("{root}/real"), format!("{root}/link")).unwrap();
        symlink("../real/x", format!("{root}/d/s")).unwrap();
        symlink("nowhere", format!("{root}/d/t")).unwrap();
        let mut paths: Vec<String> = [
            "/d/a",
            "/d/a/under-a-file",
            "/d/b",
            "/d/c",
            "/d/missing",
            "/d/s",
            "/d/t",
            "/d/.",
            "/d/..",
            "/d/",
            "/gone/x",
            "/gone/y",
            "/link/x",
            "/link/y",
            "/real/x",
        ]
        .iter()
        .map(|p| format!("{root}{p}"))
        .collect();
        paths.extend([
            "/".to_owned(),
            "relative".to_owned(),
            format!("{root}/d/b\0x"),
        ]);
        paths.sort();
        let mut opener = Opener::default();
        for p in &paths {
            match (opener.open(p), open_path(p)) {
                (Ok(a), Ok(b)) => assert_eq!(identity(&a), identity(&b), "{p}"),
                (Err(a), Err(b)) => assert_eq!(a, b, "{p}"),
                (a, b) => panic!("{p}: {a:?} beside its parent, {b:?} whole"),
            }
        }
        // The symlinks were followed: `d/s` is `real/x`, `link/x` too.
        let x = identity(&open_path(&format!("{root}/real/x")).unwrap());
        assert_eq!(identity(&opener.open(&format!("{root}/d/s")).unwrap()), x);
        assert_eq!(
            identity(&opener.open(&format!("{root}/link/x")).unwrap()),
            x
        );
    }

    #[test]
    fn missing_paths_move_to_their_nearest_existing_ancestor_with_one_note_each() {
        let (_t, root) = root();
        std::fs::create_dir_all(format!("{root}/d")).unwrap();
        std::fs::write(format!("{root}/d/a"), "a").unwrap();
        let permit = |id: &str, path: &str, action: &str| {
            format!(
                "@id(\"{id}\") permit(principal, action == file_system::Action::\"{action}\", resource == file_system::File::\"{root}{path}\");\n"
            )
        };
        let text = [
            permit("a", "/d/a", "read"),
            permit("m1", "/d/m1", "read"),
            permit("m2", "/d/m2", "execute"),
            permit("g3", "/gone/x/m3", "read"),
            permit("g4", "/gone/x/m4", "read"),
            permit("g5", "/gone/y/m5", "read"),
            permit("g6", "/gone/y/z/m6", "read"),
        ]
        .concat();
        let policies = Policies::from_text("t.cedar", &text).unwrap();
        let plan = crate::plan(&policies, &SandboxConfig::default());
        let fs = plan.fs().unwrap();
        let mut recorder = Recorder::default();
        let notes = add_fs_rules(&plan, fs, 1, &mut recorder).unwrap();
        let added: Vec<_> = recorder
            .added
            .into_iter()
            .filter(|(path, ..)| path.starts_with(&root))
            .collect();
        let enoent = Errno::NOENT;
        assert_eq!(
            notes,
            [
                format!(
                    "`{root}/gone/x/m3` (permit g3) and 3 more permitted paths beneath `{root}` cannot be opened ({enoent}): their rights are granted on `{root}` and everything beneath"
                ),
                format!(
                    "`{root}/d/m1` (permit m1) and 1 more permitted paths beneath `{root}/d` cannot be opened ({enoent}): their rights are granted on `{root}/d` and everything beneath"
                ),
            ]
        );
        let id = |p: &str| identity(&open_path(p).unwrap());
        assert_eq!(
            added,
            [
                (
                    format!("{root}/d/a"),
                    id(&format!("{root}/d/a")),
                    BitFlags::from(AccessFs::ReadFile)
                ),
                (root.clone(), id(&root), BitFlags::from(AccessFs::ReadFile)),
                (
                    format!("{root}/d"),
                    id(&format!("{root}/d")),
                    AccessFs::ReadFile | AccessFs::Execute
                ),
            ]
        );
    }

    #[test]
    fn rules_added_on_several_threads_are_the_rules_added_on_one() {
        let (_t, root) = root();
        for d in ["a", "b", "c"] {
            std::fs::create_dir_all(format!("{root}/{d}/sub")).unwrap();
        }
        // 1,800 permits over three directories: files, subdirectories read as
        // directories, and missing paths at the start, middle and end of the runs the
        // threads get (each missing path moves to its directory, with one note each).
        let mut text = String::new();
        for i in 0..1800 {
            let d = ["a", "b", "c"][i / 600];
            let (kind, path) = match i % 600 {
                0 | 299 | 300 | 599 => ("File", format!("{root}/{d}/missing-{i:04}")),
                7 => ("Dir", format!("{root}/{d}/sub")),
                _ => {
                    let p = format!("{root}/{d}/f{i:04}");
                    std::fs::write(&p, "x").unwrap();
                    ("File", p)
                }
            };
            text.push_str(&format!(
                "@id(\"p{i}\") permit(principal, action == file_system::Action::\"read\", resource == file_system::{kind}::\"{path}\");\n"
            ));
        }
        let policies = Policies::from_text("t.cedar", &text).unwrap();
        let plan = crate::plan(&policies, &SandboxConfig::default());
        let fs = plan.fs().unwrap();
        let mut one = Recorder::default();
        let notes_one = add_fs_rules(&plan, fs, 1, &mut one).unwrap();
        assert_eq!(one.threads.len(), 1);
        for threads in [2, 3, 4] {
            let mut many = Recorder::default();
            let notes = add_fs_rules(&plan, fs, threads, &mut many).unwrap();
            assert_eq!(many.threads.len(), threads, "rules came from every thread");
            assert_eq!(notes, notes_one, "{threads} threads");
            assert_eq!(many.added, one.added, "{threads} threads");
        }
        let ours: Vec<_> = one
            .added
            .iter()
            .filter(|(p, ..)| p.starts_with(&root))
            .collect();
        // 1,788 files and directories, plus the three directories missing paths moved to.
        assert_eq!(ours.len(), 1800 - 12 + 3);
        assert_eq!(notes_one.len(), 3, "{notes_one:?}");
        assert!(notes_one[0].contains("and 3 more permitted paths beneath"));
        let sub = ours.iter().find(|(p, ..)| p.ends_with("a/sub")).unwrap();
        assert_eq!(sub.2, BitFlags::from(AccessFs::ReadDir));
    }
}
