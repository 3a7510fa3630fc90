#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! systemd over a real private `dbus-daemon` with a fake `org.freedesktop.systemd1`:
//! every operation authorized on the canonical unit name, denials never reach the bus.
//! If `dbus-daemon` is missing these tests fail (they do not skip).

use rex_policy::{Gate, Policies};
use rex_proc::testbus::TestBus;
use rex_proc::{ProcessErrorKind, SystemctlManager, UnitName};

fn gate(policy: &str) -> Gate {
    Gate::builder()
        .principal("tester")
        .build(Policies::from_text("t.cedar", policy).unwrap())
        .unwrap()
}

fn bus() -> TestBus {
    TestBus::start(&["nginx.service", "getty@tty1.service", "ghost.service"])
        .expect("dbus-daemon must be installed (see .ci/install-deps)")
}

const NGINX_ALL: &str = r#"
permit(principal, action in systemd::Action::"SystemdAction", resource == systemd::Service::"nginx.service");
"#;

#[test]
fn start_stop_restart_status_on_the_canonical_unit() {
    let bus = bus();
    let g = gate(NGINX_ALL);
    let mut sm = SystemctlManager::with_address(bus.address());

    // `nginx` and `nginx.service` are one Cedar id.
    sm.start(&g, "nginx").unwrap();
    assert_eq!(bus.unit("nginx.service").unwrap().active_state, "active");
    let st = sm.status(&g, "nginx.service").unwrap();
    assert_eq!(st.name, "nginx.service");
    assert_eq!(st.active_state, "active");
    assert_eq!(st.sub_state, "running");
    assert_eq!(st.load_state, "loaded");
    assert_eq!(st.main_pid, 4242);
    assert_eq!(st.tasks, Some(3));
    assert!(st.to_string().contains("\"active_state\": \"active\""));

    sm.stop(&g, "nginx").unwrap();
    let st = sm.status(&g, "nginx").unwrap();
    assert_eq!(st.active_state, "inactive");
    assert_eq!(st.main_pid, 0);
    assert_eq!(st.memory, None);

    // try_restart leaves a stopped unit stopped; restart starts it.
    sm.try_restart(&g, "nginx").unwrap();
    assert_eq!(bus.unit("nginx.service").unwrap().active_state, "inactive");
    sm.restart(&g, "nginx").unwrap();
    assert_eq!(bus.unit("nginx.service").unwrap().active_state, "active");

    assert_eq!(
        bus.calls(),
        [
            "StartUnit nginx.service",
            "LoadUnit nginx.service",
            "StopUnit nginx.service",
            "LoadUnit nginx.service",
            "TryRestartUnit nginx.service",
            "RestartUnit nginx.service",
        ]
    );
}

#[test]
fn denials_and_bad_names_never_reach_the_bus() {
    let bus = bus();
    let g = gate(NGINX_ALL);
    let mut sm = SystemctlManager::with_address(bus.address());
    for unit in ["getty@tty1", "getty@tty1.service"] {
        let err = sm.start(&g, unit).unwrap_err();
        assert_eq!(err.kind(), ProcessErrorKind::PermissionDenied);
        assert!(
            err.to_string()
                .contains("systemd::Service::\"getty@tty1.service\""),
            "{err}"
        );
    }
    assert_eq!(
        sm.daemon_reload(&g).unwrap_err().kind(),
        ProcessErrorKind::PermissionDenied
    );
    for bad in ["../nginx", "nginx/x", "nginx..service", "a b", ""] {
        let err = sm.start(&g, bad).unwrap_err();
        assert_eq!(err.kind(), ProcessErrorKind::ValidationError, "{bad:?}");
    }
    assert!(bus.calls().is_empty(), "{:?}", bus.calls());
    assert_eq!(
        bus.unit("getty@tty1.service").unwrap().active_state,
        "inactive"
    );
}

#[test]
fn templates_daemon_reload_and_unknown_units() {
    let bus = bus();
    let g = gate(
        r#"
permit(principal, action == systemd::Action::"start", resource == systemd::Service::"getty@tty1.service");
permit(principal, action in [systemd::Action::"status", systemd::Action::"start"], resource == systemd::Service::"missing.service");
permit(principal, action == systemd::Action::"daemon_reload", resource == systemd::Systemd::"localhost");
"#,
    );
    let mut sm = SystemctlManager::with_address(bus.address());
    sm.start(&g, "getty@tty1").unwrap();
    assert_eq!(
        bus.unit("getty@tty1.service").unwrap().active_state,
        "active"
    );
    sm.daemon_reload(&g).unwrap();
    assert!(bus.calls().contains(&"Reload".to_owned()));
    assert_eq!(
        sm.status(&g, "missing").unwrap_err().kind(),
        ProcessErrorKind::ServiceNotFound
    );
    assert_eq!(
        sm.start(&g, "missing").unwrap_err().kind(),
        ProcessErrorKind::ServiceNotFound
    );
    assert_eq!(
        UnitName::parse("getty@tty1").unwrap().object_path(),
        "/org/freedesktop/systemd1/unit/getty_40tty1_2eservice"
    );
}

#[test]
fn an_unreachable_bus_is_a_dbus_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut sm = SystemctlManager::with_address(format!(
        "unix:path={}/nobody-listens",
        dir.path().display()
    ));
    let err = sm.start(&gate(NGINX_ALL), "nginx").unwrap_err();
    assert_eq!(err.kind(), ProcessErrorKind::DBusError, "{err}");
}
