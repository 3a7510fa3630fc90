//! Building the Landlock ruleset from a plan and restricting the calling thread with it.

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::OwnedFd;

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, LandlockStatus, NetPort,
    PathBeneath, RestrictSelfAttr, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetError,
    RulesetStatus, Scope, make_bitflags,
};
use rex_policy::CanonicalPath;
use rustix::fs::{FileType, Mode, OFlags};

use crate::error::SandboxError;
use crate::plan::{FsRule, RuleOrigin, SandboxPlan};
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

/// Opens `path` with `O_PATH`, following symlinks (a rule attaches to the inode reached);
/// whether it is a directory.
fn open_path(path: &str) -> Result<(OwnedFd, bool), rustix::io::Errno> {
    let fd = rustix::fs::open(path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty())?;
    let st = rustix::fs::fstat(&fd)?;
    Ok((
        fd,
        FileType::from_raw_mode(st.st_mode) == FileType::Directory,
    ))
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
    example: (String, String, rustix::io::Errno),
    count: usize,
}

impl Moved {
    /// Records that `rule` (a policy path that cannot be opened with `e`) is granted on
    /// its nearest existing ancestor. False when no ancestor can be opened.
    fn add(&mut self, rule: &FsRule, ids: &BTreeSet<String>, e: rustix::io::Errno) -> bool {
        let Ok(mut here) = CanonicalPath::new(&rule.path) else {
            return false;
        };
        while let Some(up) = here.parent() {
            if let Some(to) = self.anchors.get_mut(up.as_str()) {
                to.access |= rule.access;
                to.count += 1;
                return true;
            }
            if let Ok((fd, _)) = open_path(up.as_str()) {
                let ids = ids.iter().cloned().collect::<Vec<_>>().join(", ");
                self.anchors.insert(
                    up.as_str().to_owned(),
                    MovedTo {
                        fd,
                        access: rule.access,
                        example: (rule.path.clone(), ids, e),
                        count: 1,
                    },
                );
                return true;
            }
            here = up;
        }
        false
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
    let mut created = rs.create().map_err(err("create ruleset"))?;

    let mut rules = 0;
    if let Some(fs) = &plan.fs {
        let mut moved = Moved::default();
        for rule in &fs.rules {
            let (fd, is_dir) = match open_path(&rule.path) {
                Ok(found) => found,
                Err(e) => {
                    // A runtime or config path that does not exist is skipped.
                    if let RuleOrigin::Policy(ids) = &rule.origin {
                        moved.add(rule, ids, e);
                    }
                    continue;
                }
            };
            let access = if is_dir {
                rule.access
            } else {
                rule.access & file_rights()
            };
            if access.is_empty() {
                continue;
            }
            created = created
                .add_rule(PathBeneath::new(fd, access))
                .map_err(err(&format!("add rule for `{}`", rule.path)))?;
            rules += 1;
        }
        for (anchor, to) in moved.anchors {
            let (path, ids, e) = &to.example;
            notes.push(if to.count == 1 {
                format!(
                    "`{path}` (permit {ids}) cannot be opened ({e}): its rights are granted on `{anchor}` and everything beneath"
                )
            } else {
                format!(
                    "`{path}` (permit {ids}) and {} more permitted paths beneath `{anchor}` cannot be opened ({e}): their rights are granted on `{anchor}` and everything beneath",
                    to.count - 1
                )
            });
            created = created
                .add_rule(PathBeneath::new(to.fd, to.access))
                .map_err(err(&format!("add rule for `{anchor}`")))?;
            rules += 1;
        }
    }
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
