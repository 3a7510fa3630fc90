//! `ServiceInfo`: a unit's status as `systemctl status` reports it.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;
use zbus::zvariant::OwnedValue;

/// A unit's status, read from its `org.freedesktop.systemd1.Unit` (and `.Service`)
/// properties. Reading it grants nothing.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct ServiceInfo {
    /// Canonical unit name.
    pub name: String,
    /// `Description`.
    pub description: String,
    /// `LoadState` (`loaded`, `not-found`, ...).
    pub load_state: String,
    /// `FragmentPath`: the unit file.
    pub load_path: String,
    /// `UnitFileState` (`enabled`, `disabled`, ...).
    pub unit_file_state: String,
    /// `UnitFilePreset`.
    pub unit_file_preset: String,
    /// `SubState` (`running`, `dead`, ...).
    pub sub_state: String,
    /// `ActiveState` (`active`, `inactive`, `failed`, ...), one of the `State` constants.
    pub active_state: String,
    /// `NeedDaemonReload`.
    pub need_daemon_reload: bool,
    /// `MainPID` (0 when none).
    pub main_pid: u32,
    /// `TasksCurrent`, when known.
    pub tasks: Option<u64>,
    /// `MemoryCurrent` in bytes, when known.
    pub memory: Option<u64>,
}

impl ServiceInfo {
    pub(crate) fn from_properties(
        name: &str,
        mut unit: HashMap<String, OwnedValue>,
        mut service: HashMap<String, OwnedValue>,
    ) -> Self {
        let mut text = |k: &str| {
            unit.remove(k)
                .and_then(|v| String::try_from(v).ok())
                .unwrap_or_default()
        };
        let description = text("Description");
        let load_state = text("LoadState");
        let load_path = text("FragmentPath");
        let unit_file_state = text("UnitFileState");
        let unit_file_preset = text("UnitFilePreset");
        let sub_state = text("SubState");
        let active_state = text("ActiveState");
        let need_daemon_reload = unit
            .remove("NeedDaemonReload")
            .and_then(|v| bool::try_from(v).ok())
            .unwrap_or(false);
        // systemd reports "unknown" counters as u64::MAX.
        let mut counter = |k: &str| {
            service
                .remove(k)
                .and_then(|v| u64::try_from(v).ok())
                .filter(|n| *n != u64::MAX)
        };
        let tasks = counter("TasksCurrent");
        let memory = counter("MemoryCurrent");
        let main_pid = service
            .remove("MainPID")
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(0);
        Self {
            name: name.to_owned(),
            description,
            load_state,
            load_path,
            unit_file_state,
            unit_file_preset,
            sub_state,
            active_state,
            need_daemon_reload,
            main_pid,
            tasks,
            memory,
        }
    }
}

impl fmt::Display for ServiceInfo {
    /// Pretty JSON, as the original's `to_string()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::to_string_pretty(self) {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "{} {}", self.name, self.active_state),
        }
    }
}

/// The values of `ActiveState` scripts compare against (`State::ACTIVE` is `"active"`).
pub const STATES: &[(&str, &str)] = &[
    ("ACTIVE", "active"),
    ("INACTIVE", "inactive"),
    ("FAILED", "failed"),
    ("ACTIVATING", "activating"),
    ("DEACTIVATING", "deactivating"),
    ("MAINTENANCE", "maintenance"),
    ("RELOADING", "reloading"),
    ("REFRESHING", "refreshing"),
    ("UNKNOWN", "unknown"),
];
