//! From a policy set to a [`SandboxPlan`]: Landlock filesystem and network rules, scopes,
//! the seccomp deny-list, and the notes saying what could not be expressed.

use std::collections::{BTreeMap, BTreeSet};

use landlock::{AccessFs, BitFlags, Scope as LandlockScope};
use rex_policy::action::{fs, net, process, sysctl, sysinfo};
use rex_policy::{Action, CanonicalPath, Policies};
use serde_json::Value;

use crate::condition::{self, PathBound};
use crate::config::{ResourceLimits, SandboxConfig};
use crate::fs_rights::{self, Anchor, Kind, Target};
use crate::mode::SandboxMode;
use crate::net_ports::port_of_url;
use crate::scan::{Scanned, Scope, scan};
use crate::seccomp_filter::{Family, RefusedSyscall, catalogue};

/// Where a filesystem rule comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum RuleOrigin {
    /// Derived from these permits (ids). A path that does not exist when the sandbox is
    /// applied moves up to its nearest existing ancestor (Landlock needs an open file).
    Policy(BTreeSet<String>),
    /// Needed by the runner itself or implied by a permitted action (the reason). Skipped
    /// when the path does not exist.
    Runtime(&'static str),
    /// Listed in [`SandboxConfig::extra_read_paths`] or `extra_write_paths`. Skipped when
    /// the path does not exist.
    Config,
}

/// One Landlock rule: `access` on `path` (a file, or a directory and everything beneath).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsRule {
    /// The path, as written in the policy or the runtime set.
    pub path: String,
    /// The rights granted there (already limited to the handled set).
    pub access: BitFlags<AccessFs>,
    /// Why.
    pub origin: RuleOrigin,
}

/// The Landlock filesystem part of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsPlan {
    /// Rights the ruleset restricts; every other right is left unrestricted.
    pub handled: BitFlags<AccessFs>,
    /// Where handled rights are granted.
    pub rules: Vec<FsRule>,
}

/// Everything [`crate::apply`] will do, derived from the policy and the config without
/// touching the kernel. Building a plan restricts nothing and authorizes nothing.
#[derive(Debug, Clone)]
pub struct SandboxPlan {
    pub(crate) mode: SandboxMode,
    pub(crate) landlock: bool,
    pub(crate) limits: ResourceLimits,
    pub(crate) fs: Option<FsPlan>,
    pub(crate) connect_ports: Option<BTreeSet<u16>>,
    pub(crate) scopes: BitFlags<LandlockScope>,
    pub(crate) refused: Vec<RefusedSyscall>,
    pub(crate) namespaces: bool,
    pub(crate) notes: Vec<String>,
}

impl SandboxPlan {
    /// The mode the plan will be applied in.
    pub fn mode(&self) -> SandboxMode {
        self.mode
    }

    /// Whether a Landlock ruleset is applied at all (`false` when the policy explicitly
    /// permits inspecting other processes, which no Landlock domain allows).
    pub fn uses_landlock(&self) -> bool {
        self.landlock
    }

    /// The resource limits to set.
    pub fn limits(&self) -> &ResourceLimits {
        &self.limits
    }

    /// The filesystem ruleset, `None` when no filesystem right is restricted at all.
    pub fn fs(&self) -> Option<&FsPlan> {
        self.fs.as_ref()
    }

    /// The TCP ports `connect` may reach; `None` when TCP connect is left unrestricted.
    /// TCP `bind` is always refused (no SDK operation listens).
    pub fn connect_ports(&self) -> Option<&BTreeSet<u16>> {
        self.connect_ports.as_ref()
    }

    /// Whether signals to processes outside the sandbox are refused (Landlock scope).
    pub fn scopes_signals(&self) -> bool {
        self.scopes.contains(LandlockScope::Signal)
    }

    /// Whether connecting to abstract UNIX sockets outside the sandbox is refused.
    pub fn scopes_abstract_unix_sockets(&self) -> bool {
        self.scopes.contains(LandlockScope::AbstractUnixSocket)
    }

    /// System calls the seccomp filter refuses with `EPERM`.
    pub fn refused_syscalls(&self) -> &[RefusedSyscall] {
        &self.refused
    }

    /// Whether namespace creation (`clone` with `CLONE_NEW*`, `clone3`) stays allowed.
    pub fn allows_namespaces(&self) -> bool {
        self.namespaces
    }

    /// What the plan leaves out and why.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The plan for people: one line per rule, port, scope, syscall family and note.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!("sandbox plan (mode {})", self.mode)];
        if !self.landlock {
            out.push("landlock: off".to_owned());
        }
        match &self.fs {
            Some(f) => {
                out.push(format!(
                    "filesystem: handled {}",
                    fs_rights::names(f.handled)
                ));
                for r in &f.rules {
                    let why = match &r.origin {
                        RuleOrigin::Policy(ids) => {
                            format!(
                                "permit {}",
                                ids.iter().cloned().collect::<Vec<_>>().join(", ")
                            )
                        }
                        RuleOrigin::Runtime(why) => (*why).to_owned(),
                        RuleOrigin::Config => "sandbox config".to_owned(),
                    };
                    out.push(format!(
                        "  {}: {} ({why})",
                        r.path,
                        fs_rights::names(r.access)
                    ));
                }
            }
            None => out.push("filesystem: unrestricted".to_owned()),
        }
        out.push(match &self.connect_ports {
            Some(p) if p.is_empty() => "network: TCP connect refused, bind refused".to_owned(),
            Some(p) => format!(
                "network: TCP connect to ports {}, bind refused",
                join_ports(p)
            ),
            None => "network: TCP connect unrestricted, bind refused".to_owned(),
        });
        out.push(format!(
            "scopes: signals {}, abstract unix sockets {}",
            if self.scopes_signals() {
                "confined"
            } else {
                "unrestricted"
            },
            if self.scopes_abstract_unix_sockets() {
                "confined"
            } else {
                "unrestricted"
            },
        ));
        out.push(format!(
            "seccomp: refuses {}",
            self.refused
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", ")
        ));
        out.push(format!("limits: {}", self.limits.describe()));
        out.extend(self.notes.iter().map(|n| format!("note: {n}")));
        out
    }
}

pub(crate) fn join_ports(p: &BTreeSet<u16>) -> String {
    p.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
}

/// Network actions: each opens a TCP connection.
const NET_ACTIONS: [Action; 5] = [net::GET, net::POST, net::PUT, net::DELETE, net::CONNECT];

/// Actions that need ptrace-mode access to other processes.
const INSPECT: [Action; 4] = [
    process::LIST_FDS,
    process::TRACE,
    process::MOUNT_NAMESPACE,
    process::NETWORK_NAMESPACE,
];

/// Actions with no Landlock right: the SDK alone enforces them.
const NO_RIGHT: [Action; 4] = [fs::STAT, fs::CHMOD, fs::CHOWN, fs::SET_X_ATTR];

/// Derives the sandbox plan from the permits of `policies` (see the crate docs for the
/// rules). Pure: reads neither the filesystem nor the kernel.
pub fn plan(policies: &Policies, cfg: &SandboxConfig) -> SandboxPlan {
    let scanned = scan(policies);
    let permits: Vec<&Scanned> = scanned.iter().filter(|s| s.permit).collect();
    let permitted = |a: Action| permits.iter().any(|p| p.has(a));
    let permitted_ns = |ns: &str| {
        rex_policy::action::ALL
            .iter()
            .any(|a| a.namespace() == ns && permitted(*a))
    };
    let mut notes = Vec::new();

    let forbids: Vec<&str> = scanned
        .iter()
        .filter(|s| !s.permit)
        .map(|s| s.id.as_str())
        .collect();
    if !forbids.is_empty() {
        notes.push(format!(
            "forbid {} not representable in Landlock (allow-lists only): the SDK enforces {}",
            forbids
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", "),
            if forbids.len() == 1 { "it" } else { "them" }
        ));
    }

    let mut fsb = FsBuilder::default();
    let mut no_right: BTreeSet<&'static str> = BTreeSet::new();
    // Permits with no readable resource, by action: one note per action, however many.
    let mut unbounded: BTreeMap<Action, Vec<&str>> = BTreeMap::new();
    let mut unmount_explicit = false;
    for p in &permits {
        let fs_actions: Vec<Action> = p
            .actions
            .iter()
            .copied()
            .filter(|a| a.namespace() == "file_system")
            .collect();
        if fs_actions.is_empty() {
            continue;
        }
        let targets = fs_targets(p, &mut notes);
        for a in fs_actions {
            if NO_RIGHT.contains(&a) {
                no_right.insert(a.name());
                continue;
            }
            if a == fs::UNMOUNT {
                unmount_explicit |= p.names_explicitly(a);
                continue;
            }
            match &targets {
                Some(ts) => {
                    for t in ts {
                        for (anchor, access) in fs_rights::grants(a.name(), t) {
                            fsb.grant(anchor, access, &p.id);
                        }
                    }
                }
                None => {
                    fsb.unrestricted |= fs_rights::unbounded(a.name());
                    unbounded.entry(a).or_default().push(&p.id);
                }
            }
            if a == fs::MOVE {
                match move_destinations(p) {
                    Some(bounds) => {
                        for b in bounds {
                            let anchor = match b {
                                PathBound::Exact(q) => Anchor::ParentOf(q),
                                PathBound::Beneath(d) => Anchor::At(d),
                            };
                            fsb.grant(anchor, fs_rights::move_destination(), &p.id);
                        }
                    }
                    None => {
                        fsb.refer_everywhere = true;
                        fsb.unrestricted |= fs_rights::move_destination() & !AccessFs::Refer;
                        notes.push(format!(
                            "permit `{}` allows {a} with no readable `context.destination`: creating and removing entries left unrestricted, cross-directory renames allowed everywhere",
                            p.id
                        ));
                    }
                }
            }
        }
    }
    for (a, ids) in unbounded {
        let who = match ids.as_slice() {
            [one] => format!("permit `{one}` has"),
            many => {
                let named: Vec<String> = many.iter().take(3).map(|id| format!("`{id}`")).collect();
                match many.len() {
                    n if n <= 3 => format!("permits {} have", named.join(", ")),
                    n => format!("permits {} and {} more have", named.join(", "), n - 3),
                }
            }
        };
        notes.push(format!(
            "{who} no resource constraint on {a}: {} left unrestricted",
            fs_rights::names(fs_rights::unbounded(a.name()))
        ));
    }
    if !no_right.is_empty() {
        notes.push(format!(
            "{} {} no Landlock right: the SDK alone enforces {}",
            no_right
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            if no_right.len() == 1 { "has" } else { "have" },
            if no_right.len() == 1 { "it" } else { "them" }
        ));
    }

    // What the runner itself needs, and what permitted actions imply beyond their resource.
    let read = AccessFs::ReadFile | AccessFs::ReadDir;
    fsb.runtime(
        "/proc/self",
        read,
        "the runner's own /proc files: metrics, /proc/self/fd re-opens",
    );
    fsb.runtime(
        "/proc",
        AccessFs::ReadDir.into(),
        "listing /proc to check it is procfs",
    );
    fsb.runtime("/proc/uptime", AccessFs::ReadFile.into(), "run metrics");
    fsb.runtime(
        "/dev/null",
        AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate,
        "/dev/null",
    );
    for p in ["/dev/urandom", "/dev/random"] {
        fsb.runtime(p, AccessFs::ReadFile.into(), "random numbers");
    }
    for p in ["/etc/passwd", "/etc/group", "/etc/nsswitch.conf"] {
        fsb.runtime(p, AccessFs::ReadFile.into(), "user and group names");
    }
    for p in LIB_DIRS {
        fsb.runtime(
            p,
            AccessFs::ReadFile.into(),
            "shared libraries loaded at run time (NSS, iconv)",
        );
    }
    if permitted(fs::EXECUTE) {
        for p in LOADERS {
            fsb.runtime(
                p,
                AccessFs::Execute | AccessFs::ReadFile,
                "the dynamic loader of executed programs",
            );
        }
        for p in ["/etc/ld.so.cache", "/etc/ld.so.preload", "/etc/localtime"] {
            fsb.runtime(p, AccessFs::ReadFile.into(), "files executed programs load");
        }
        fsb.runtime("/usr/share/zoneinfo", read, "files executed programs load");
        notes.push(
            "programs run with `execute` inherit the sandbox (Landlock rules, seccomp filter, no_new_privs, limits): they can reach only what the policy's filesystem permits and the runtime set allow"
                .to_owned(),
        );
    }
    let networked =
        NET_ACTIONS.iter().any(|a| permitted(*a)) || permitted(sysinfo::RESOLVE_HOSTNAME);
    if networked {
        for p in RESOLVER_FILES {
            fsb.runtime(p, AccessFs::ReadFile.into(), "the system resolver");
        }
    }
    if permitted(sysinfo::LIST) {
        fsb.runtime("/proc", read, "system information");
        fsb.runtime("/sys", read, "system information");
        for p in [
            "/etc/os-release",
            "/usr/lib/os-release",
            "/etc/hostname",
            "/etc/machine-id",
        ] {
            fsb.runtime(p, AccessFs::ReadFile.into(), "system information");
        }
    }
    if permitted_ns("process_system") {
        fsb.runtime("/proc", read, "process information");
    }
    if permitted(sysctl::LOAD) {
        for p in SYSCTL_DIRS {
            fsb.runtime(p, read, "sysctl configuration");
        }
        fsb.runtime(
            "/proc/sys",
            read | AccessFs::WriteFile | AccessFs::Truncate,
            "applying sysctl values",
        );
    }
    for p in &cfg.extra_read_paths {
        fsb.config(&p.to_string_lossy(), read);
    }
    for p in &cfg.extra_write_paths {
        fsb.config(
            &p.to_string_lossy(),
            read | AccessFs::WriteFile | AccessFs::Truncate | AccessFs::MakeReg,
        );
    }

    let fs_plan = if unmount_explicit {
        notes.push(
            "the policy permits file_system::Action::\"unmount\": Landlock refuses every unmount under a filesystem ruleset, so no filesystem rule is applied"
                .to_owned(),
        );
        None
    } else {
        if permitted(fs::UNMOUNT) {
            notes.push(
                "file_system::Action::\"unmount\" is permitted only through an action group or an unconstrained action: the kernel refuses unmounts under Landlock (name the action explicitly to drop the filesystem rules instead)"
                    .to_owned(),
            );
        }
        fsb.finish()
    };

    let mut connect_ports = network_ports(&permits, networked, &mut notes);

    // Any Landlock domain makes the kernel refuse ptrace-mode access (/proc/<pid>/fd,
    // exe, maps, ns/*, setns through a pidfd) to processes outside it.
    let inspect: Vec<String> = INSPECT
        .iter()
        .filter(|a| permits.iter().any(|p| p.names_explicitly(**a)))
        .map(ToString::to_string)
        .collect();
    let landlock = inspect.is_empty();
    let mut fs_plan = fs_plan;
    if !landlock {
        notes.push(format!(
            "the policy permits {}: under any Landlock domain the kernel refuses to inspect processes outside it, so no Landlock rule (filesystem, network, scope) is applied",
            inspect.join(", ")
        ));
        fs_plan = None;
        connect_ports = None;
    } else if INSPECT.iter().any(|a| permitted(*a)) {
        notes.push(
            "list_fds, trace or process namespaces are permitted only through an action group or an unconstrained action: under Landlock the kernel refuses them for processes outside the sandbox (name them explicitly to turn Landlock off instead)"
                .to_owned(),
        );
    } else if permitted_ns("process_system") {
        notes.push(
            "process details that need ptrace access (executable, namespaces) are unavailable for processes outside the sandbox under Landlock"
                .to_owned(),
        );
    }

    let mut scopes = BitFlags::<LandlockScope>::EMPTY;
    if [process::KILL, process::INTERRUPT, process::TRACE]
        .iter()
        .any(|a| permitted(*a))
    {
        notes.push(
            "signals to processes outside the sandbox stay allowed: the policy permits kill, interrupt or trace"
                .to_owned(),
        );
    } else {
        scopes |= LandlockScope::Signal;
    }
    if permitted_ns("systemd") {
        notes.push(
            "abstract UNIX sockets outside the sandbox stay reachable: the policy permits systemd actions (D-Bus)"
                .to_owned(),
        );
    } else {
        scopes |= LandlockScope::AbstractUnixSocket;
    }
    if !landlock {
        scopes = BitFlags::EMPTY;
    }

    let trace = permitted(process::TRACE);
    let unmount = fs_plan.is_none() && permitted(fs::UNMOUNT);
    let namespaces = [
        fs::NETWORK_NAMESPACE,
        process::MOUNT_NAMESPACE,
        process::NETWORK_NAMESPACE,
    ]
    .iter()
    .any(|a| permitted(*a))
        || permits
            .iter()
            .any(|p| p.has(fs::EXECUTE) && condition_mentions(&p.conditions(), "namespace"));
    if permitted(fs::EXECUTE) && !namespaces {
        notes.push(
            "no permit mentions `context.namespace` for execute: entering another process's namespaces is refused by seccomp"
                .to_owned(),
        );
    }
    let refused: Vec<RefusedSyscall> = catalogue()
        .into_iter()
        .filter(|s| match s.family {
            Family::Trace => !trace,
            Family::Unmount => !unmount,
            Family::Namespace => !namespaces,
            Family::Never => true,
        })
        .collect();
    notes.push(
        "UDP is not restricted by Landlock: the SDK alone decides where datagrams go".to_owned(),
    );

    SandboxPlan {
        mode: cfg.mode,
        landlock,
        limits: cfg.limits.clone(),
        fs: fs_plan,
        connect_ports,
        scopes,
        refused,
        namespaces,
        notes,
    }
}

const LIB_DIRS: [&str; 7] = [
    "/lib",
    "/lib64",
    "/lib32",
    "/usr/lib",
    "/usr/lib64",
    "/usr/lib32",
    "/usr/local/lib",
];

const LOADERS: [&str; 7] = [
    "/lib64/ld-linux-x86-64.so.2",
    "/lib/ld-linux-x86-64.so.2",
    "/lib/ld-linux-aarch64.so.1",
    "/lib64/ld-linux-aarch64.so.1",
    "/lib/ld-musl-x86_64.so.1",
    "/lib/ld-musl-aarch64.so.1",
    "/lib/ld-linux-riscv64-lp64d.so.1",
];

const RESOLVER_FILES: [&str; 6] = [
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/etc/services",
    "/etc/protocols",
];

const SYSCTL_DIRS: [&str; 6] = [
    "/etc/sysctl.conf",
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
];

fn condition_mentions(conditions: &Value, attr: &str) -> bool {
    conditions.as_array().is_some_and(|cs| {
        cs.iter()
            .filter_map(|c| c.get("body"))
            .any(|b| condition::mentions_context_attr(b, attr))
    })
}

/// Where the permit's filesystem resource lies; `None` when it cannot be read (every
/// file or directory).
fn fs_targets(p: &Scanned, notes: &mut Vec<String>) -> Option<Vec<Target>> {
    let canonical = |id: &str, notes: &mut Vec<String>| -> Option<String> {
        match CanonicalPath::new(id) {
            Ok(c) => Some(c.as_str().to_owned()),
            Err(_) => {
                notes.push(format!(
                    "permit `{}` names `{id}`, which is not a canonical path: it matches no SDK request and grants nothing",
                    p.id
                ));
                None
            }
        }
    };
    let from_when = || -> Option<Vec<Target>> {
        condition::when_bodies(&p.conditions())
            .into_iter()
            .find_map(condition::path_bound)
            .map(|bs| {
                bs.into_iter()
                    .map(|b| match b {
                        PathBound::Exact(q) => Target::Exact(q, Kind::Unknown),
                        PathBound::Beneath(d) => Target::Beneath(d),
                    })
                    .collect()
            })
    };
    match &p.scope {
        Scope::Any => from_when(),
        Scope::Is(t) if is_fs_type(t) => from_when(),
        Scope::Is(_) => Some(Vec::new()),
        Scope::Eq(t, id) | Scope::In(t, id) if t == rex_policy::FILE_TYPE => Some(
            canonical(id, notes)
                .map(|c| Target::Exact(c, Kind::File))
                .into_iter()
                .collect(),
        ),
        Scope::Eq(t, id) if t == rex_policy::DIR_TYPE => Some(
            canonical(id, notes)
                .map(|c| Target::Exact(c, Kind::Dir))
                .into_iter()
                .collect(),
        ),
        Scope::In(t, id) if t == rex_policy::DIR_TYPE => Some(
            canonical(id, notes)
                .map(Target::Beneath)
                .into_iter()
                .collect(),
        ),
        Scope::Eq(..) | Scope::In(..) => Some(Vec::new()),
    }
}

fn is_fs_type(t: &str) -> bool {
    t == rex_policy::FILE_TYPE || t == rex_policy::DIR_TYPE
}

fn move_destinations(p: &Scanned) -> Option<Vec<PathBound>> {
    condition::when_bodies(&p.conditions())
        .into_iter()
        .find_map(condition::destination_bound)
}

/// TCP ports of the network permits; `None` when one of them names no readable port.
fn network_ports(
    permits: &[&Scanned],
    networked: bool,
    notes: &mut Vec<String>,
) -> Option<BTreeSet<u16>> {
    let mut ports = BTreeSet::new();
    let mut unrestricted = false;
    for p in permits {
        let Some(a) = NET_ACTIONS.iter().copied().find(|a| p.has(*a)) else {
            continue;
        };
        let from_when = || {
            condition::when_bodies(&p.conditions())
                .into_iter()
                .find_map(condition::port_bound)
        };
        let found = match &p.scope {
            Scope::Eq(t, id) | Scope::In(t, id) if t == "network::url" => {
                from_when().or_else(|| port_of_url(id).map(|p| vec![p]))
            }
            Scope::Eq(..) | Scope::In(..) => Some(Vec::new()),
            Scope::Is(t) if t != "network::url" => Some(Vec::new()),
            Scope::Any | Scope::Is(_) => from_when(),
        };
        match found {
            Some(v) => ports.extend(v),
            None => {
                unrestricted = true;
                notes.push(format!(
                    "permit `{}` allows {a} with no readable port (`resource.port == N` or a URL literal): TCP connect left unrestricted",
                    p.id
                ));
            }
        }
    }
    if unrestricted {
        return None;
    }
    if networked {
        ports.insert(53);
    }
    Some(ports)
}

#[derive(Default)]
struct FsBuilder {
    rules: BTreeMap<String, (BitFlags<AccessFs>, RuleOrigin)>,
    unrestricted: BitFlags<AccessFs>,
    refer_everywhere: bool,
}

impl FsBuilder {
    fn grant(&mut self, anchor: Anchor, access: BitFlags<AccessFs>, id: &str) {
        let path = match anchor {
            Anchor::At(p) => p,
            // Anchors are canonical paths (from `fs_targets`): the parent is the text
            // before the last `/`.
            Anchor::ParentOf(p) => match p.rsplit_once('/') {
                Some(("", rest)) if !rest.is_empty() => "/".to_owned(),
                Some((parent, _)) if !parent.is_empty() => parent.to_owned(),
                _ => return,
            },
        };
        let entry = self
            .rules
            .entry(path)
            .or_insert_with(|| (BitFlags::EMPTY, RuleOrigin::Policy(BTreeSet::new())));
        entry.0 |= access;
        match &mut entry.1 {
            RuleOrigin::Policy(ids) => {
                ids.insert(id.to_owned());
            }
            other => *other = RuleOrigin::Policy(BTreeSet::from([id.to_owned()])),
        }
    }

    fn runtime(&mut self, path: &str, access: BitFlags<AccessFs>, why: &'static str) {
        let entry = self
            .rules
            .entry(path.to_owned())
            .or_insert_with(|| (BitFlags::EMPTY, RuleOrigin::Runtime(why)));
        entry.0 |= access;
    }

    fn config(&mut self, path: &str, access: BitFlags<AccessFs>) {
        let entry = self
            .rules
            .entry(path.to_owned())
            .or_insert_with(|| (BitFlags::EMPTY, RuleOrigin::Config));
        entry.0 |= access;
    }

    fn finish(mut self) -> Option<FsPlan> {
        let handled = fs_rights::all_handled() & !(self.unrestricted & !AccessFs::Refer);
        if self.refer_everywhere {
            self.runtime(
                "/",
                AccessFs::Refer.into(),
                "moves to a destination the policy does not bound",
            );
        }
        if handled.is_empty() {
            return None;
        }
        let rules = self
            .rules
            .into_iter()
            .filter_map(|(path, (access, origin))| {
                let access = access & handled;
                (!access.is_empty()).then_some(FsRule {
                    path,
                    access,
                    origin,
                })
            })
            .collect();
        Some(FsPlan { handled, rules })
    }
}
