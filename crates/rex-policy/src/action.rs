//! Cedar actions as typed constants, so an SDK cannot ask about an action that does not exist.

use std::fmt;

/// One Cedar action, such as `file_system::Action::"read"`.
///
/// Holding an `Action` authorizes nothing; it names what `Gate::check` is asked about.
#[derive(Clone, Copy, Eq, PartialOrd, Ord)]
pub struct Action {
    namespace: &'static str,
    name: &'static str,
}

/// Equality of two static names: the same pointer (the same constant, the usual case)
/// without reading the bytes. Reading them was not free: glibc's `memcmp` reads short
/// strings with one masked 32-byte load, and for a constant near the end of a page that
/// load cost more than the rest of a remembered gate check (7% of a `cat` loop).
pub(crate) fn same_name(a: &'static str, b: &'static str) -> bool {
    std::ptr::eq(a, b) || a == b
}

impl PartialEq for Action {
    fn eq(&self, other: &Self) -> bool {
        same_name(self.name, other.name) && same_name(self.namespace, other.namespace)
    }
}

impl std::hash::Hash for Action {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.namespace.hash(state);
        self.name.hash(state);
    }
}

impl Action {
    /// An action in `namespace` with id `name`. Only the constants below are declared in
    /// the schema; others are rejected by `Gate::check` as evaluation errors.
    pub const fn new(namespace: &'static str, name: &'static str) -> Self {
        Self { namespace, name }
    }

    /// The namespace, e.g. `file_system`.
    pub const fn namespace(&self) -> &'static str {
        self.namespace
    }

    /// The action id, e.g. `read`.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Whether this action changes the host (used for warnings and `--read-only` learning).
    pub fn is_mutating(&self) -> bool {
        !matches!(
            (self.namespace, self.name),
            ("file_system", "open" | "read" | "redacted_read" | "stat")
                | ("sysinfo", _)
                | ("network", "GET" | "connect")
                | ("process_system", "list" | "list_fds")
                | ("systemd", "status")
        )
    }
}

/// Every concrete action in the schema.
pub const ALL: &[Action] = &[
    fs::OPEN,
    fs::READ,
    fs::REDACTED_READ,
    fs::WRITE,
    fs::CREATE,
    fs::DELETE,
    fs::STAT,
    fs::CHMOD,
    fs::CHOWN,
    fs::MOVE,
    fs::SET_X_ATTR,
    fs::EXECUTE,
    fs::NETWORK_NAMESPACE,
    fs::UNMOUNT,
    sysinfo::LIST,
    sysinfo::RESOLVE_HOSTNAME,
    net::GET,
    net::POST,
    net::PUT,
    net::DELETE,
    net::CONNECT,
    process::LIST,
    process::LIST_FDS,
    process::MOUNT_NAMESPACE,
    process::NETWORK_NAMESPACE,
    process::KILL,
    process::INTERRUPT,
    process::TRACE,
    systemd::START,
    systemd::STOP,
    systemd::RESTART,
    systemd::STATUS,
    systemd::DAEMON_RELOAD,
    sysctl::LOAD,
];

/// The action groups of the schema, `(namespace, group)`; each contains every action of
/// its namespace.
pub const GROUPS: &[(&str, &str)] = &[
    ("file_system", "SafeIO"),
    ("sysinfo", "SysinfoAction"),
    ("network", "NetworkAction"),
    ("process_system", "ProcessAction"),
    ("systemd", "SystemdAction"),
    ("sysctl", "SysctlAction"),
];

impl Action {
    /// Parses `file_system::Action::"read"` (the Cedar uid) or `file_system::read`.
    /// Only actions declared in the schema parse.
    pub fn parse(text: &str) -> Option<Action> {
        let text = text.trim();
        let (ns, name) = match text.split_once("::Action::") {
            Some((ns, quoted)) => (ns, quoted.strip_prefix('"')?.strip_suffix('"')?),
            None => text.rsplit_once("::")?,
        };
        ALL.iter()
            .copied()
            .find(|a| a.namespace == ns && a.name == name)
    }

    /// Whether `text` names an action group (`file_system::Action::"SafeIO"`), and which
    /// namespace it covers.
    pub fn group_namespace(text: &str) -> Option<&'static str> {
        let (ns, quoted) = text.trim().split_once("::Action::")?;
        let name = quoted.strip_prefix('"')?.strip_suffix('"')?;
        GROUPS
            .iter()
            .find(|(n, g)| *n == ns && *g == name)
            .map(|(n, _)| *n)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::Action::\"{}\"", self.namespace, self.name)
    }
}

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `file_system` actions.
pub mod fs {
    use super::Action;
    const NS: &str = "file_system";
    /// Open a file or directory handle.
    pub const OPEN: Action = Action::new(NS, "open");
    /// Read a file's content or list a directory.
    pub const READ: Action = Action::new(NS, "read");
    /// Read a file with unpermitted lines redacted.
    pub const REDACTED_READ: Action = Action::new(NS, "redacted_read");
    /// Write a file's content.
    pub const WRITE: Action = Action::new(NS, "write");
    /// Create a file or directory.
    pub const CREATE: Action = Action::new(NS, "create");
    /// Delete a file or directory.
    pub const DELETE: Action = Action::new(NS, "delete");
    /// Read metadata.
    pub const STAT: Action = Action::new(NS, "stat");
    /// Change permission bits.
    pub const CHMOD: Action = Action::new(NS, "chmod");
    /// Change ownership.
    pub const CHOWN: Action = Action::new(NS, "chown");
    /// Rename or move (context: `destination`).
    pub const MOVE: Action = Action::new(NS, "move");
    /// Set an extended attribute (context: `xattr.name`).
    pub const SET_X_ATTR: Action = Action::new(NS, "set_x_attr");
    /// Run a program (context: arguments, environment, user, group, namespace, capabilities).
    pub const EXECUTE: Action = Action::new(NS, "execute");
    /// Enter a network namespace named by a file under `/run/netns`.
    pub const NETWORK_NAMESPACE: Action = Action::new(NS, "network_namespace");
    /// Unmount the filesystem mounted on a directory.
    pub const UNMOUNT: Action = Action::new(NS, "unmount");
}

/// `sysinfo` actions.
pub mod sysinfo {
    use super::Action;
    const NS: &str = "sysinfo";
    /// Read system information (`sysinfo::Sysinfo`, `sysinfo::Uname`).
    pub const LIST: Action = Action::new(NS, "list");
    /// Resolve a host name (`sysinfo::Hostname`).
    pub const RESOLVE_HOSTNAME: Action = Action::new(NS, "resolve_hostname");
}

/// `network` actions (resource `network::url`).
pub mod net {
    use super::Action;
    const NS: &str = "network";
    /// HTTP GET (every redirect hop is its own request).
    pub const GET: Action = Action::new(NS, "GET");
    /// HTTP POST (rex addition).
    pub const POST: Action = Action::new(NS, "POST");
    /// HTTP PUT (rex addition).
    pub const PUT: Action = Action::new(NS, "PUT");
    /// HTTP DELETE (rex addition).
    pub const DELETE: Action = Action::new(NS, "DELETE");
    /// Open a TCP/UDP connection (host and port are attributes).
    pub const CONNECT: Action = Action::new(NS, "connect");
}

/// `process_system` actions (resource `process_system::Process`).
pub mod process {
    use super::Action;
    const NS: &str = "process_system";
    /// See a process in a listing.
    pub const LIST: Action = Action::new(NS, "list");
    /// List a process's open files.
    pub const LIST_FDS: Action = Action::new(NS, "list_fds");
    /// Enter a process's mount namespace.
    pub const MOUNT_NAMESPACE: Action = Action::new(NS, "mount_namespace");
    /// Enter a process's network namespace.
    pub const NETWORK_NAMESPACE: Action = Action::new(NS, "network_namespace");
    /// Send a terminating signal.
    pub const KILL: Action = Action::new(NS, "kill");
    /// Send SIGHUP.
    pub const INTERRUPT: Action = Action::new(NS, "interrupt");
    /// Take a stack trace.
    pub const TRACE: Action = Action::new(NS, "trace");
}

/// `systemd` actions.
pub mod systemd {
    use super::Action;
    const NS: &str = "systemd";
    /// Start a unit (`systemd::Service`).
    pub const START: Action = Action::new(NS, "start");
    /// Stop a unit.
    pub const STOP: Action = Action::new(NS, "stop");
    /// Restart (or try-restart) a unit.
    pub const RESTART: Action = Action::new(NS, "restart");
    /// Read a unit's status.
    pub const STATUS: Action = Action::new(NS, "status");
    /// Reload the manager (`systemd::Systemd`).
    pub const DAEMON_RELOAD: Action = Action::new(NS, "daemon_reload");
}

/// `sysctl` actions.
pub mod sysctl {
    use super::Action;
    /// Load the system's sysctl configuration (`sysctl::Sysctl`).
    pub const LOAD: Action = Action::new("sysctl", "load");
}
