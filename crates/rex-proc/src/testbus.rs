//! A private D-Bus daemon with a minimal systemd on it, for tests, CI and trying scripts
//! on machines that run no systemd.
//!
//! [`TestBus::start`] runs `dbus-daemon --nofork --print-address` with a private
//! configuration listening on a socket in a fresh temporary directory, and serves on it
//! the parts of `org.freedesktop.systemd1` that [`crate::SystemctlManager`] uses:
//! `Manager.{StartUnit, StopUnit, RestartUnit, TryRestartUnit, Reload, GetUnit, LoadUnit}`
//! and the `Unit`/`Service` properties `status` reads. It never touches the system bus
//! and grants nothing: point `REX_SYSTEMD_BUS` (or
//! [`crate::SystemctlManager::with_address`]) at [`TestBus::address`].

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use zbus::blocking::Connection;
use zbus::zvariant::OwnedObjectPath;

use crate::error::ProcessError;
use crate::systemd::UnitName;

/// The state of one fake unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeUnit {
    /// `ActiveState`.
    pub active_state: String,
    /// `SubState`.
    pub sub_state: String,
    /// `MainPID`.
    pub main_pid: u32,
}

#[derive(Debug, Default)]
struct Shared {
    units: BTreeMap<String, FakeUnit>,
    calls: Vec<String>,
}

type State = Arc<Mutex<Shared>>;

fn lock(state: &State) -> MutexGuard<'_, Shared> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running private bus with a fake systemd. Dropping it stops the daemon and removes
/// its directory.
#[derive(Debug)]
pub struct TestBus {
    daemon: Child,
    dir: PathBuf,
    address: String,
    state: State,
    _service: Connection,
}

#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.freedesktop.systemd1")]
enum SdError {
    #[zbus(error)]
    ZBus(zbus::Error),
    NoSuchUnit(String),
}

struct Manager {
    state: State,
}

impl Manager {
    fn transition(
        &self,
        method: &str,
        name: &str,
        change: Option<(&str, &str)>,
    ) -> Result<OwnedObjectPath, SdError> {
        let mut s = lock(&self.state);
        s.calls.push(format!("{method} {name}"));
        let Some(unit) = s.units.get_mut(name) else {
            return Err(SdError::NoSuchUnit(format!("Unit {name} not found.")));
        };
        if let Some((active, sub)) = change {
            unit.active_state = active.to_owned();
            unit.sub_state = sub.to_owned();
            unit.main_pid = if active == "active" { 4242 } else { 0 };
        }
        job_path()
    }

    fn unit_path(&self, method: &str, name: &str) -> Result<OwnedObjectPath, SdError> {
        let mut s = lock(&self.state);
        s.calls.push(format!("{method} {name}"));
        if !s.units.contains_key(name) {
            return Err(SdError::NoSuchUnit(format!("Unit {name} not found.")));
        }
        let path = UnitName::parse(name)
            .map_err(|e| SdError::NoSuchUnit(e.to_string()))?
            .object_path();
        OwnedObjectPath::try_from(path).map_err(|e| SdError::ZBus(e.into()))
    }
}

fn job_path() -> Result<OwnedObjectPath, SdError> {
    static JOB: AtomicU32 = AtomicU32::new(1);
    let n = JOB.fetch_add(1, Ordering::Relaxed);
    OwnedObjectPath::try_from(format!("/org/freedesktop/systemd1/job/{n}"))
        .map_err(|e| SdError::ZBus(e.into()))
}

#[zbus::interface(name = "org.freedesktop.systemd1.Manager")]
impl Manager {
    fn start_unit(&self, name: String, _mode: String) -> Result<OwnedObjectPath, SdError> {
        self.transition("StartUnit", &name, Some(("active", "running")))
    }

    fn stop_unit(&self, name: String, _mode: String) -> Result<OwnedObjectPath, SdError> {
        self.transition("StopUnit", &name, Some(("inactive", "dead")))
    }

    fn restart_unit(&self, name: String, _mode: String) -> Result<OwnedObjectPath, SdError> {
        self.transition("RestartUnit", &name, Some(("active", "running")))
    }

    fn try_restart_unit(&self, name: String, _mode: String) -> Result<OwnedObjectPath, SdError> {
        let running = lock(&self.state)
            .units
            .get(&name)
            .is_some_and(|u| u.active_state == "active");
        let change = running.then_some(("active", "running"));
        self.transition("TryRestartUnit", &name, change)
    }

    fn reload(&self) {
        lock(&self.state).calls.push("Reload".to_owned());
    }

    fn get_unit(&self, name: String) -> Result<OwnedObjectPath, SdError> {
        self.unit_path("GetUnit", &name)
    }

    fn load_unit(&self, name: String) -> Result<OwnedObjectPath, SdError> {
        self.unit_path("LoadUnit", &name)
    }
}

struct UnitObject {
    name: String,
    state: State,
}

impl UnitObject {
    fn get(&self) -> FakeUnit {
        lock(&self.state)
            .units
            .get(&self.name)
            .cloned()
            .unwrap_or(FakeUnit {
                active_state: "inactive".into(),
                sub_state: "dead".into(),
                main_pid: 0,
            })
    }
}

#[zbus::interface(name = "org.freedesktop.systemd1.Unit")]
impl UnitObject {
    #[zbus(property)]
    fn id(&self) -> String {
        self.name.clone()
    }
    #[zbus(property)]
    fn description(&self) -> String {
        format!("Test unit {}", self.name)
    }
    #[zbus(property)]
    fn load_state(&self) -> String {
        "loaded".into()
    }
    #[zbus(property)]
    fn active_state(&self) -> String {
        self.get().active_state
    }
    #[zbus(property)]
    fn sub_state(&self) -> String {
        self.get().sub_state
    }
    #[zbus(property)]
    fn fragment_path(&self) -> String {
        format!("/etc/systemd/system/{}", self.name)
    }
    #[zbus(property)]
    fn unit_file_state(&self) -> String {
        "enabled".into()
    }
    #[zbus(property)]
    fn unit_file_preset(&self) -> String {
        "enabled".into()
    }
    #[zbus(property)]
    fn need_daemon_reload(&self) -> bool {
        false
    }
}

struct ServiceObject {
    unit: UnitObject,
}

#[zbus::interface(name = "org.freedesktop.systemd1.Service")]
impl ServiceObject {
    #[zbus(property, name = "MainPID")]
    fn main_pid(&self) -> u32 {
        self.unit.get().main_pid
    }
    #[zbus(property)]
    fn tasks_current(&self) -> u64 {
        if self.unit.get().main_pid == 0 {
            u64::MAX
        } else {
            3
        }
    }
    #[zbus(property)]
    fn memory_current(&self) -> u64 {
        if self.unit.get().main_pid == 0 {
            u64::MAX
        } else {
            1 << 20
        }
    }
}

const CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=@SOCKET@</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"#;

impl TestBus {
    /// Starts a private `dbus-daemon` and a fake systemd knowing `units` (canonical
    /// names, all inactive). Fails if `dbus-daemon` is not installed.
    pub fn start(units: &[&str]) -> Result<Self, ProcessError> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let err = |what: &str, e: &dyn std::fmt::Display| ProcessError::DBus {
            method: what.to_owned(),
            message: e.to_string(),
        };
        let dir = std::env::temp_dir().join(format!(
            "rex-testbus-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| err("create bus dir", &e))?;
        let socket = dir.join("bus");
        let config = dir.join("bus.conf");
        std::fs::write(
            &config,
            CONFIG.replace("@SOCKET@", &socket.to_string_lossy()),
        )
        .map_err(|e| err("write bus config", &e))?;
        let mut daemon = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.to_string_lossy()))
            .arg("--print-address")
            .arg("--nofork")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                let _ = std::fs::remove_dir_all(&dir);
                ProcessError::ProgramNotFound(format!("dbus-daemon ({e})"))
            })?;
        let mut line = String::new();
        if let Some(out) = daemon.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        let address = line.trim().to_owned();
        if address.is_empty() {
            let _ = daemon.kill();
            let _ = daemon.wait();
            let _ = std::fs::remove_dir_all(&dir);
            return Err(err("dbus-daemon", &"printed no address"));
        }
        let state: State = Arc::default();
        {
            let mut s = lock(&state);
            for u in units {
                s.units.insert(
                    (*u).to_owned(),
                    FakeUnit {
                        active_state: "inactive".into(),
                        sub_state: "dead".into(),
                        main_pid: 0,
                    },
                );
            }
        }
        let service = Self::serve(&address, units, &state);
        let service = match service {
            Ok(s) => s,
            Err(e) => {
                let _ = daemon.kill();
                let _ = daemon.wait();
                let _ = std::fs::remove_dir_all(&dir);
                return Err(err("serve", &e));
            }
        };
        Ok(Self {
            daemon,
            dir,
            address,
            state,
            _service: service,
        })
    }

    fn serve(address: &str, units: &[&str], state: &State) -> Result<Connection, zbus::Error> {
        let mut builder = zbus::blocking::connection::Builder::address(address)?
            .name("org.freedesktop.systemd1")?
            .serve_at(
                "/org/freedesktop/systemd1",
                Manager {
                    state: Arc::clone(state),
                },
            )?;
        for u in units {
            let path = UnitName::parse(u)
                .map_err(|e| zbus::Error::Failure(e.to_string()))?
                .object_path();
            let unit = || UnitObject {
                name: (*u).to_owned(),
                state: Arc::clone(state),
            };
            builder = builder
                .serve_at(path.clone(), unit())?
                .serve_at(path, ServiceObject { unit: unit() })?;
        }
        builder.build()
    }

    /// The bus address (for `REX_SYSTEMD_BUS`).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The state of a fake unit.
    pub fn unit(&self, name: &str) -> Option<FakeUnit> {
        lock(&self.state).units.get(name).cloned()
    }

    /// The calls the fake systemd received, as `"<Method> <unit>"` (`"Reload"`).
    pub fn calls(&self) -> Vec<String> {
        lock(&self.state).calls.clone()
    }
}

impl Drop for TestBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
