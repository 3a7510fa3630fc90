//! From a policy set to a [`SandboxPlan`]: Landlock filesystem and network rules, scopes,
//! the seccomp deny-list, and the notes saying what could not be expressed.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use landlock::{AccessFs, BitFlags, Scope as LandlockScope};
use rex_policy::action::{fs, net, process, sysctl, sysinfo};
use rex_policy::{Action, CanonicalPath, Policies};
use serde_json::Value;

use crate::condition::{self, PathBound};
use crate::config::{ResourceLimits, SandboxConfig};
use crate::fs_rights::{self, Anchor, Kind, Target};
use crate::mode::SandboxMode;
use crate::net_ports::port_of_url;
use crate::scan::{Scanned, Scope, Shape, scan};
use crate::seccomp_filter::{Family, RefusedSyscall, catalogue};

/// Where a filesystem rule comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleOrigin {
    /// Derived from these permits ([`SandboxPlan::permit_names`] gives their ids). A path
    /// that does not exist when the sandbox is applied moves up to its nearest existing
    /// ancestor (Landlock needs an open file).
    Policy(PermitIds),
    /// Needed by the runner itself or implied by a permitted action (the reason). Skipped
    /// when the path does not exist.
    Runtime(&'static str),
    /// Listed in [`SandboxConfig::extra_read_paths`] or `extra_write_paths`. Skipped when
    /// the path does not exist.
    Config,
}

/// The permits a filesystem rule is derived from: their positions in the policy set's
/// load order (as in [`Policies::views`]), distinct and ascending. Positions rather than
/// ids, so that a plan of 10,000 rules does not copy 10,000 ids; the plan that holds the
/// rule resolves them ([`SandboxPlan::permit_names`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PermitIds {
    first: usize,
    more: Vec<usize>,
}

impl PermitIds {
    fn one(index: usize) -> Self {
        Self {
            first: index,
            more: Vec::new(),
        }
    }

    fn insert(&mut self, index: usize) {
        if index == self.first {
            return;
        }
        if index < self.first {
            self.more.insert(0, self.first);
            self.first = index;
            return;
        }
        if let Err(at) = self.more.binary_search(&index) {
            self.more.insert(at, index);
        }
    }

    /// The permits' positions in load order, ascending.
    pub fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(self.first).chain(self.more.iter().copied())
    }

    /// How many permits (at least one).
    pub fn len(&self) -> usize {
        1 + self.more.len()
    }

    /// Always false: a rule from the policy has at least one permit.
    pub fn is_empty(&self) -> bool {
        false
    }
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
    /// [`SandboxConfig::helper_threads`].
    pub(crate) helper_threads: Vec<String>,
    /// The policy set the plan was derived from, for the ids of [`RuleOrigin::Policy`].
    pub(crate) policies: PolicyNames,
}

/// The policies a plan names permits from (a shared handle, printed as a count).
#[derive(Clone)]
pub(crate) struct PolicyNames(Policies);

impl fmt::Debug for PolicyNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PolicyNames({} policies)", self.0.len())
    }
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

    /// The ids of the permits `ids` stands for, sorted.
    pub fn permit_names(&self, ids: &PermitIds) -> Vec<&str> {
        let mut names: Vec<&str> = ids
            .indices()
            .filter_map(|i| self.policies.0.id_of(i))
            .collect();
        names.sort_unstable();
        names
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
                            format!("permit {}", self.permit_names(ids).join(", "))
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
    let (scanned, shapes) = scan(policies);
    let permits: Vec<&Scanned> = scanned.iter().filter(|s| s.permit()).collect();
    // Every policy of a shape has the shape's actions: what is permitted, and what is
    // named explicitly, is read from the shapes.
    let permitted = |a: Action| shapes.iter().any(|s| s.permit() && s.has(a));
    let named_explicitly = |a: Action| shapes.iter().any(|s| s.permit() && s.names_explicitly(a));
    let permitted_ns = |ns: &str| {
        rex_policy::action::ALL
            .iter()
            .any(|a| a.namespace() == ns && permitted(*a))
    };
    let mut notes = Vec::new();

    let forbids: Vec<&str> = scanned
        .iter()
        .filter(|s| !s.permit())
        .map(Scanned::id)
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
    fsb.grants.reserve(permits.len() + 64);
    let mut no_right: BTreeSet<&'static str> = BTreeSet::new();
    // Permits with no readable resource, by action: one note per action, however many.
    let mut unbounded: BTreeMap<Action, Vec<&str>> = BTreeMap::new();
    let mut unmount_explicit = false;
    // What the permits of each shape do with the filesystem, worked out once per shape.
    let mut per_shape: Vec<Option<ShapeFs>> = Vec::new();
    per_shape.resize_with(shapes.len(), || None);
    // The grants of one permit, one per path (a permit of `open` and `read` on a file
    // grants on it once).
    let mut own: Vec<(Cow<'_, str>, BitFlags<AccessFs>)> = Vec::new();
    for p in &permits {
        let Some(sf) = per_shape.get_mut(p.shape().slot) else {
            continue;
        };
        let sf =
            sf.get_or_insert_with(|| ShapeFs::new(p.shape(), &mut no_right, &mut unmount_explicit));
        if !sf.fs {
            continue;
        }
        let targets = fs_targets(p, &mut notes);
        match &targets {
            // One target read from the scope: the same grants for every permit of the
            // shape, on its own path.
            Some(Targets::Scope(Some(t))) => {
                for &(parent, access) in sf.on(t) {
                    let path = match t {
                        Target::Exact(p, _) | Target::Beneath(p) => p.clone(),
                    };
                    let anchor = if parent {
                        Anchor::ParentOf(path)
                    } else {
                        Anchor::At(path)
                    };
                    add_grant(&mut own, anchor, access);
                }
            }
            Some(ts) => {
                for a in &sf.actions {
                    for t in ts.as_slice() {
                        for (anchor, access) in fs_rights::grants(a.name(), t) {
                            add_grant(&mut own, anchor, access);
                        }
                    }
                }
            }
            None => {
                for &a in &sf.actions {
                    fsb.unrestricted |= fs_rights::unbounded(a.name());
                    unbounded.entry(a).or_default().push(p.id());
                }
            }
        }
        if sf.moves {
            let a = fs::MOVE;
            match move_destinations(p) {
                Some(bounds) => {
                    for b in bounds {
                        let anchor = match b {
                            PathBound::Exact(q) => Anchor::ParentOf(Cow::Owned(q)),
                            PathBound::Beneath(d) => Anchor::At(Cow::Owned(d)),
                        };
                        add_grant(&mut own, anchor, fs_rights::move_destination());
                    }
                }
                None => {
                    fsb.refer_everywhere = true;
                    fsb.unrestricted |= fs_rights::move_destination() & !AccessFs::Refer;
                    notes.push(format!(
                        "permit `{}` allows {a} with no readable `context.destination`: creating and removing entries left unrestricted, cross-directory renames allowed everywhere",
                        p.id()
                    ));
                }
            }
        }
        for (path, access) in own.drain(..) {
            fsb.grants.push(Grant {
                path,
                access,
                origin: Origin::Policy(p.index()),
            });
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
        .filter(|a| named_explicitly(**a))
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
        helper_threads: cfg.helper_threads.clone(),
        policies: PolicyNames(policies.clone()),
    }
}

/// The `file_system` side of the permits of one shape.
struct ShapeFs {
    /// Whether they can match any `file_system` action.
    fs: bool,
    /// Those of their actions that need Landlock rights somewhere.
    actions: Vec<Action>,
    /// Whether they permit `move` (whose destination is read per permit).
    moves: bool,
    /// The grants of all `actions` on a target of each kind (file, directory, either,
    /// beneath a directory): on the target itself (`false`) or its parent (`true`).
    on: [Option<OnTarget>; 4],
}

/// Rights granted on a target (`false`) or on its parent (`true`).
type OnTarget = Vec<(bool, BitFlags<AccessFs>)>;

impl ShapeFs {
    /// Also notes what the shape's actions leave to the SDK alone, and an explicit
    /// `unmount`.
    fn new(
        shape: &Shape,
        no_right: &mut BTreeSet<&'static str>,
        unmount_explicit: &mut bool,
    ) -> Self {
        let mut actions = Vec::new();
        let mut fs = false;
        for &a in shape.actions() {
            if a.namespace() != "file_system" {
                continue;
            }
            fs = true;
            if NO_RIGHT.contains(&a) {
                no_right.insert(a.name());
            } else if a == fs::UNMOUNT {
                *unmount_explicit |= shape.names_explicitly(a);
            } else {
                actions.push(a);
            }
        }
        Self {
            fs,
            moves: actions.contains(&fs::MOVE),
            actions,
            on: [None, None, None, None],
        }
    }

    /// The grants of the shape's actions on a target like `t`.
    fn on(&mut self, t: &Target<'_>) -> &[(bool, BitFlags<AccessFs>)] {
        let (k, model) = match t {
            Target::Exact(_, Kind::File) => (0, Target::Exact(Cow::Borrowed(""), Kind::File)),
            Target::Exact(_, Kind::Dir) => (1, Target::Exact(Cow::Borrowed(""), Kind::Dir)),
            Target::Exact(_, Kind::Unknown) => (2, Target::Exact(Cow::Borrowed(""), Kind::Unknown)),
            Target::Beneath(_) => (3, Target::Beneath(Cow::Borrowed(""))),
        };
        let actions = &self.actions;
        let Some(slot) = self.on.get_mut(k) else {
            return &[];
        };
        slot.get_or_insert_with(|| {
            let mut out: OnTarget = Vec::new();
            for a in actions {
                for (anchor, access) in fs_rights::grants(a.name(), &model) {
                    let parent = matches!(anchor, Anchor::ParentOf(_));
                    match out.iter_mut().find(|(p, _)| *p == parent) {
                        Some((_, all)) => *all |= access,
                        None => out.push((parent, access)),
                    }
                }
            }
            out
        })
    }
}

/// Adds a grant of one permit to its others (one entry per path).
fn add_grant<'a>(
    own: &mut Vec<(Cow<'a, str>, BitFlags<AccessFs>)>,
    anchor: Anchor<'a>,
    access: BitFlags<AccessFs>,
) {
    let Some(path) = anchor.into_path() else {
        return;
    };
    match own.iter_mut().find(|(p, _)| *p == path) {
        Some((_, a)) => *a |= access,
        None => own.push((path, access)),
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

/// The targets of one permit: at most one from its scope, any number from a condition.
enum Targets<'a> {
    Scope(Option<Target<'a>>),
    When(Vec<Target<'a>>),
}

impl<'a> Targets<'a> {
    fn as_slice(&self) -> &[Target<'a>] {
        match self {
            Targets::Scope(t) => t.as_slice(),
            Targets::When(ts) => ts,
        }
    }
}

/// Where the permit's filesystem resource lies; `None` when it cannot be read (every
/// file or directory).
fn fs_targets<'a>(p: &Scanned<'a>, notes: &mut Vec<String>) -> Option<Targets<'a>> {
    let canonical = |id: &Cow<'a, str>, notes: &mut Vec<String>| -> Option<Cow<'a, str>> {
        if is_canonical(id) {
            Some(id.clone())
        } else {
            notes.push(format!(
                "permit `{}` names `{id}`, which is not a canonical path: it matches no SDK request and grants nothing",
                p.id()
            ));
            None
        }
    };
    let from_when = || -> Option<Targets<'a>> {
        condition::when_bodies(&p.conditions())
            .into_iter()
            .find_map(condition::path_bound)
            .map(|bs| {
                Targets::When(
                    bs.into_iter()
                        .map(|b| match b {
                            PathBound::Exact(q) => Target::Exact(Cow::Owned(q), Kind::Unknown),
                            PathBound::Beneath(d) => Target::Beneath(Cow::Owned(d)),
                        })
                        .collect(),
                )
            })
    };
    match &p.scope() {
        Scope::Any => from_when(),
        Scope::Is(t) if is_fs_type(t) => from_when(),
        Scope::Is(_) => Some(Targets::Scope(None)),
        Scope::Eq(t, id) | Scope::In(t, id) if t == rex_policy::FILE_TYPE => Some(Targets::Scope(
            canonical(id, notes).map(|c| Target::Exact(c, Kind::File)),
        )),
        Scope::Eq(t, id) if t == rex_policy::DIR_TYPE => Some(Targets::Scope(
            canonical(id, notes).map(|c| Target::Exact(c, Kind::Dir)),
        )),
        Scope::In(t, id) if t == rex_policy::DIR_TYPE => {
            Some(Targets::Scope(canonical(id, notes).map(Target::Beneath)))
        }
        Scope::Eq(..) | Scope::In(..) => Some(Targets::Scope(None)),
    }
}

/// Whether `path` is a [`CanonicalPath`]. Answers without allocating for the common
/// spellings (an absolute path of non-empty components other than `.` and `..`, without
/// NUL), and asks [`CanonicalPath::new`] about anything else.
fn is_canonical(path: &str) -> bool {
    let b = path.as_bytes();
    // One pass over the bytes (this runs once per permit, 10,000 times for a large
    // policy): no NUL, and every component (the text after each `/`) is neither empty,
    // `.` nor `..`. A component is fine when it has a byte other than `.`, or more than
    // two dots.
    let plain = b.len() > 1 && b.first() == Some(&b'/') && {
        let (mut len, mut dots, mut ok) = (0usize, 0usize, true);
        for &c in b.get(1..).unwrap_or_default() {
            match c {
                b'/' => {
                    ok &= len > dots || dots > 2;
                    (len, dots) = (0, 0);
                }
                0 => ok = false,
                b'.' => (len, dots) = (len + 1, dots + 1),
                _ => len += 1,
            }
        }
        ok && (len > dots || dots > 2)
    };
    plain || CanonicalPath::new(path).is_ok()
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
        let found = match &p.scope() {
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
                    p.id()
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

/// Why one grant was made.
enum Origin {
    /// Permit number `n` (load order).
    Policy(usize),
    Runtime(&'static str),
    Config,
}

/// One grant: `access` on `path`.
struct Grant<'a> {
    path: Cow<'a, str>,
    access: BitFlags<AccessFs>,
    origin: Origin,
}

/// Grants, collected in order and merged per path by [`FsBuilder::finish`].
#[derive(Default)]
struct FsBuilder<'a> {
    grants: Vec<Grant<'a>>,
    unrestricted: BitFlags<AccessFs>,
    refer_everywhere: bool,
}

impl<'a> FsBuilder<'a> {
    fn runtime(&mut self, path: &'a str, access: BitFlags<AccessFs>, why: &'static str) {
        self.grants.push(Grant {
            path: Cow::Borrowed(path),
            access,
            origin: Origin::Runtime(why),
        });
    }

    fn config(&mut self, path: &str, access: BitFlags<AccessFs>) {
        self.grants.push(Grant {
            path: Cow::Owned(path.to_owned()),
            access,
            origin: Origin::Config,
        });
    }

    /// One rule per path, in path order, with the union of the rights granted there. Its
    /// origin is every permit that granted there; with none, the first runtime or config
    /// entry for the path.
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
        // Stable: the grants of one path stay in the order they were made. Policy paths
        // mostly come sorted (policy files are), so this is close to one pass.
        self.grants.sort_by(|a, b| a.path.cmp(&b.path));
        let mut rules = Vec::with_capacity(self.grants.len());
        let mut grants = self.grants.into_iter().peekable();
        while let Some(first) = grants.next() {
            let mut access = first.access;
            let mut origin = match first.origin {
                Origin::Policy(i) => RuleOrigin::Policy(PermitIds::one(i)),
                Origin::Runtime(why) => RuleOrigin::Runtime(why),
                Origin::Config => RuleOrigin::Config,
            };
            while let Some(next) = grants.next_if(|g| g.path == first.path) {
                access |= next.access;
                match (&mut origin, next.origin) {
                    (RuleOrigin::Policy(ids), Origin::Policy(i)) => ids.insert(i),
                    (_, Origin::Policy(i)) => origin = RuleOrigin::Policy(PermitIds::one(i)),
                    _ => {}
                }
            }
            let access = access & handled;
            if !access.is_empty() {
                rules.push(FsRule {
                    path: first.path.into_owned(),
                    access,
                    origin,
                });
            }
        }
        Some(FsPlan { handled, rules })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_canonical_agrees_with_canonical_path() {
        for p in [
            "/",
            "/a",
            "/a/b",
            "/a b/c.d",
            "/..a/b..",
            "/.hidden",
            "",
            "a",
            "a/b",
            "/a/",
            "//a",
            "/a//b",
            "/a/./b",
            "/a/../b",
            "/.",
            "/..",
            "/a\0b",
            "/a/.",
            "/a/..",
            "/\\",
            "/é/x",
            "/a/...",
            "/a/.b/..c",
            "/.../x",
            "/a/b/",
            "/a/./",
            "/a/../",
            "/a/b\0",
            "/...",
            "/..../x",
            "/a/.../",
            "/a./b",
            "/a/b/.c/..",
            "/a/b/.c/...",
            "/./",
            "/../a",
            "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/../z",
        ] {
            assert_eq!(is_canonical(p), CanonicalPath::new(p).is_ok(), "{p:?}");
        }
    }

    #[test]
    fn grants_merge_per_path_with_every_permit_and_the_first_other_origin() {
        let policies = Policies::from_text(
            "t.cedar",
            "@id(\"b\") permit(principal, action, resource);\n@id(\"a\") permit(principal, action, resource);",
        )
        .unwrap();
        let mut fsb = FsBuilder::default();
        fsb.runtime("/x", AccessFs::ReadFile.into(), "first");
        fsb.grants.push(Grant {
            path: Cow::Borrowed("/y"),
            access: AccessFs::ReadDir.into(),
            origin: Origin::Policy(1),
        });
        fsb.runtime("/y", AccessFs::WriteFile.into(), "ignored");
        fsb.grants.push(Grant {
            path: Cow::Borrowed("/x"),
            access: AccessFs::ReadDir.into(),
            origin: Origin::Policy(1),
        });
        fsb.grants.push(Grant {
            path: Cow::Borrowed("/x"),
            access: AccessFs::Execute.into(),
            origin: Origin::Policy(0),
        });
        fsb.runtime("/x", AccessFs::Truncate.into(), "second");
        fsb.config("/z", AccessFs::ReadFile.into());
        fsb.runtime("/z", AccessFs::ReadDir.into(), "after the config");
        let fs = fsb.finish().unwrap();
        let paths: Vec<&str> = fs.rules.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(paths, ["/x", "/y", "/z"]);
        assert_eq!(
            fs.rules[0].access,
            AccessFs::ReadFile | AccessFs::ReadDir | AccessFs::Execute | AccessFs::Truncate
        );
        let RuleOrigin::Policy(ids) = &fs.rules[0].origin else {
            panic!("{:?}", fs.rules[0].origin);
        };
        assert_eq!(ids.indices().collect::<Vec<_>>(), [0, 1]);
        let plan = SandboxPlan {
            mode: SandboxMode::Auto,
            landlock: true,
            limits: ResourceLimits::default(),
            fs: None,
            connect_ports: None,
            scopes: BitFlags::EMPTY,
            refused: Vec::new(),
            namespaces: false,
            notes: Vec::new(),
            helper_threads: Vec::new(),
            policies: PolicyNames(policies),
        };
        assert_eq!(plan.permit_names(ids), ["a", "b"]);
        assert_eq!(fs.rules[1].access, AccessFs::ReadDir | AccessFs::WriteFile);
        assert!(matches!(&fs.rules[1].origin, RuleOrigin::Policy(ids) if ids.len() == 1));
        assert_eq!(fs.rules[2].origin, RuleOrigin::Config);
        let mut ids = PermitIds::one(5);
        for i in [3, 9, 5, 7, 3] {
            ids.insert(i);
        }
        assert_eq!(ids.indices().collect::<Vec<_>>(), [3, 5, 7, 9]);
    }
}
