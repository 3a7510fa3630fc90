//! systemd over D-Bus: start, stop, restart, try-restart, status and daemon-reload of
//! units, each authorized on the canonical unit name.

mod status;
mod unit_name;

use std::collections::HashMap;
use std::time::Duration;

use rex_policy::action::systemd;
use rex_policy::{Gate, Permit, Resource};
use zbus::blocking::Connection;
use zbus::zvariant::{OwnedObjectPath, OwnedValue};

pub use status::{STATES, ServiceInfo};
pub use unit_name::UnitName;

use crate::error::ProcessError;

/// Environment variable naming the D-Bus address of systemd's bus (default: the system
/// bus). Set by the operator, never by a script; tests point it at a private bus.
pub const BUS_ENV: &str = "REX_SYSTEMD_BUS";

/// Cedar entity type of units.
pub const SERVICE_TYPE: &str = "systemd::Service";
/// Cedar entity type of the service manager itself.
pub const SYSTEMD_TYPE: &str = "systemd::Systemd";
/// The one id of `systemd::Systemd` (the manager of this host).
pub const SYSTEMD_ID: &str = "localhost";

const DEST: &str = "org.freedesktop.systemd1";
const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER_IFACE: &str = "org.freedesktop.systemd1.Manager";
const UNIT_IFACE: &str = "org.freedesktop.systemd1.Unit";
const SERVICE_IFACE: &str = "org.freedesktop.systemd1.Service";
const PROPERTIES_IFACE: &str = "org.freedesktop.DBus.Properties";
/// How long one D-Bus call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(25);

/// Manages units through systemd's D-Bus API. Each operation authorizes the canonical
/// unit (`systemd::Service::"nginx.service"`) or, for `daemon_reload`,
/// `systemd::Systemd::"localhost"`, right before the call. The process's credentials
/// never change: if the runner lacks the rights, systemd refuses and the call fails with
/// a `PrivilegeError`.
#[derive(Debug, Default)]
pub struct SystemctlManager {
    address: Option<String>,
    connection: Option<Connection>,
}

impl SystemctlManager {
    /// A manager for the bus named by `REX_SYSTEMD_BUS`, or the system bus. Connects on
    /// first use. Authorizes nothing.
    pub fn new() -> Self {
        Self {
            address: std::env::var(BUS_ENV).ok().filter(|a| !a.is_empty()),
            connection: None,
        }
    }

    /// A manager for the bus at `address` (a D-Bus address such as
    /// `unix:path=/run/dbus/system_bus_socket`).
    pub fn with_address(address: impl Into<String>) -> Self {
        Self {
            address: Some(address.into()),
            connection: None,
        }
    }

    /// The bus address in use (`None`: the system bus).
    pub fn address(&self) -> Option<&str> {
        self.address.as_deref()
    }

    fn connection(&mut self) -> Result<Connection, ProcessError> {
        if let Some(c) = &self.connection {
            return Ok(c.clone());
        }
        let bus = |e: zbus::Error| ProcessError::DBus {
            method: "connect".into(),
            message: e.to_string(),
        };
        let builder = match &self.address {
            Some(a) => zbus::blocking::connection::Builder::address(a.as_str()).map_err(bus)?,
            None => zbus::blocking::connection::Builder::system().map_err(bus)?,
        };
        let c = builder.method_timeout(CALL_TIMEOUT).build().map_err(bus)?;
        self.connection = Some(c.clone());
        Ok(c)
    }

    /// The resource of a unit.
    pub fn resource(unit: &UnitName) -> Resource {
        Resource::new(SERVICE_TYPE, unit.as_str()).attr(
            "name",
            rex_policy::AttrValue::String(unit.as_str().to_owned()),
        )
    }

    fn authorize(
        gate: &Gate,
        action: rex_policy::Action,
        unit: &str,
    ) -> Result<(UnitName, Permit), ProcessError> {
        let unit = UnitName::parse(unit)?;
        let permit = gate.check(action, &Self::resource(&unit))?;
        Ok((unit, permit))
    }

    /// Starts `unit` (`systemd:start`).
    pub fn start(&mut self, gate: &Gate, unit: &str) -> Result<(), ProcessError> {
        let (unit, permit) = Self::authorize(gate, systemd::START, unit)?;
        self.job(&permit, "StartUnit", &unit)
    }

    /// Stops `unit` (`systemd:stop`).
    pub fn stop(&mut self, gate: &Gate, unit: &str) -> Result<(), ProcessError> {
        let (unit, permit) = Self::authorize(gate, systemd::STOP, unit)?;
        self.job(&permit, "StopUnit", &unit)
    }

    /// Restarts `unit` (`systemd:restart`).
    pub fn restart(&mut self, gate: &Gate, unit: &str) -> Result<(), ProcessError> {
        let (unit, permit) = Self::authorize(gate, systemd::RESTART, unit)?;
        self.job(&permit, "RestartUnit", &unit)
    }

    /// Restarts `unit` if it is running (`systemd:restart`).
    pub fn try_restart(&mut self, gate: &Gate, unit: &str) -> Result<(), ProcessError> {
        let (unit, permit) = Self::authorize(gate, systemd::RESTART, unit)?;
        self.job(&permit, "TryRestartUnit", &unit)
    }

    /// Reloads the manager's configuration (`systemd:daemon_reload` on
    /// `systemd::Systemd::"localhost"`).
    pub fn daemon_reload(&mut self, gate: &Gate) -> Result<(), ProcessError> {
        let _permit = gate.check(
            systemd::DAEMON_RELOAD,
            &Resource::new(SYSTEMD_TYPE, SYSTEMD_ID),
        )?;
        let conn = self.connection()?;
        conn.call_method(Some(DEST), MANAGER_PATH, Some(MANAGER_IFACE), "Reload", &())
            .map_err(|e| bus_error("Reload", "", e))?;
        Ok(())
    }

    /// The unit's status (`systemd:status`). `ServiceNotFound` when systemd has no such
    /// unit.
    pub fn status(&mut self, gate: &Gate, unit: &str) -> Result<ServiceInfo, ProcessError> {
        let (unit, _permit) = Self::authorize(gate, systemd::STATUS, unit)?;
        let conn = self.connection()?;
        let reply = conn
            .call_method(
                Some(DEST),
                MANAGER_PATH,
                Some(MANAGER_IFACE),
                "LoadUnit",
                &(unit.as_str(),),
            )
            .map_err(|e| bus_error("LoadUnit", unit.as_str(), e))?;
        let path: OwnedObjectPath = reply.body().deserialize().map_err(|e| ProcessError::DBus {
            method: "LoadUnit".into(),
            message: e.to_string(),
        })?;
        let unit_props = get_all(&conn, &path, UNIT_IFACE)?;
        let service_props = if unit.as_str().ends_with(".service") {
            get_all(&conn, &path, SERVICE_IFACE).unwrap_or_default()
        } else {
            HashMap::new()
        };
        let info = ServiceInfo::from_properties(unit.as_str(), unit_props, service_props);
        if info.load_state == "not-found" {
            return Err(ProcessError::ServiceNotFound(unit.to_string()));
        }
        Ok(info)
    }

    fn job(&mut self, permit: &Permit, method: &str, unit: &UnitName) -> Result<(), ProcessError> {
        if permit.resource_id() != unit.as_str() {
            return Err(ProcessError::Invalid(format!(
                "permit for `{}` does not cover unit `{unit}`",
                permit.resource_id()
            )));
        }
        let conn = self.connection()?;
        conn.call_method(
            Some(DEST),
            MANAGER_PATH,
            Some(MANAGER_IFACE),
            method,
            &(unit.as_str(), "replace"),
        )
        .map_err(|e| bus_error(method, unit.as_str(), e))?;
        Ok(())
    }
}

fn get_all(
    conn: &Connection,
    path: &OwnedObjectPath,
    iface: &str,
) -> Result<HashMap<String, OwnedValue>, ProcessError> {
    let reply = conn
        .call_method(
            Some(DEST),
            path.as_str(),
            Some(PROPERTIES_IFACE),
            "GetAll",
            &(iface,),
        )
        .map_err(|e| bus_error("GetAll", iface, e))?;
    reply.body().deserialize().map_err(|e| ProcessError::DBus {
        method: "GetAll".into(),
        message: e.to_string(),
    })
}

/// Classifies a failed call: unknown unit, refused (no rights), or another bus error.
fn bus_error(method: &str, unit: &str, e: zbus::Error) -> ProcessError {
    if let zbus::Error::MethodError(name, text, _) = &e {
        let message = text.clone().unwrap_or_else(|| name.to_string());
        match name.as_str() {
            "org.freedesktop.systemd1.NoSuchUnit" | "org.freedesktop.systemd1.LoadFailed" => {
                return ProcessError::ServiceNotFound(unit.to_owned());
            }
            "org.freedesktop.DBus.Error.AccessDenied"
            | "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired" => {
                return ProcessError::DBusRefused {
                    method: method.to_owned(),
                    message,
                };
            }
            _ => {
                return ProcessError::DBus {
                    method: method.to_owned(),
                    message: format!("{name}: {message}"),
                };
            }
        }
    }
    ProcessError::DBus {
        method: method.to_owned(),
        message: e.to_string(),
    }
}
