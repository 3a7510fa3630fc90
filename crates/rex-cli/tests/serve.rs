//! `rex serve` end to end: the real binary on 127.0.0.1 with an ephemeral port, a temp
//! data dir, real `rex run` children, HTTP over loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

const ALICE: &str = "alice-token-0123456789";
const BOB: &str = "bob-token-9876543210";

fn sha256_hex(token: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rex"))
        .args(["serve", "hash-token", token])
        .output()
        .unwrap();
    assert!(out.status.success());
    let line = String::from_utf8(out.stdout).unwrap();
    line.trim()
        .strip_prefix("sha256 = \"")
        .and_then(|s| s.strip_suffix('"'))
        .unwrap()
        .to_owned()
}

/// A temp directory with policies, a data file and a `rex-server.toml`.
struct Setup {
    dir: tempfile::TempDir,
    root: PathBuf,
}

impl Setup {
    fn new(limits: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(root.join("data.txt"), "forty-two").unwrap();
        std::fs::write(root.join("secret.txt"), "nope").unwrap();
        let read = |who: &str| {
            format!(
                "permit (principal == User::\"{who}\", action == file_system::Action::\"open\", resource == file_system::Dir::\"{0}\");\n\
                 permit (principal == User::\"{who}\", action in [file_system::Action::\"open\", file_system::Action::\"read\"], resource == file_system::File::\"{0}/data.txt\");\n",
                root.display()
            )
        };
        std::fs::write(root.join("alice.cedar"), read("alice")).unwrap();
        std::fs::write(root.join("bob.cedar"), read("bob")).unwrap();
        let config = format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"data\"\naudit_log = \"audit.jsonl\"\nsandbox = \"auto\"\n\
             [limits]\n{limits}\n\
             [[token]]\nsha256 = \"{}\"\nprincipal = \"alice\"\npolicy = \"alice.cedar\"\n\
             [[token]]\nsha256 = \"{}\"\nprincipal = \"bob\"\npolicy = \"bob.cedar\"\n",
            sha256_hex(ALICE),
            sha256_hex(BOB)
        );
        std::fs::write(root.join("rex-server.toml"), config).unwrap();
        Self { dir, root }
    }

    fn start(&self) -> Serve {
        Serve::start(&self.root.join("rex-server.toml"))
    }
}

/// A running `rex serve`, killed on drop.
struct Serve {
    child: Child,
    base: String,
}

impl Serve {
    fn start(config: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rex"))
            .arg("serve")
            .arg("--config")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("rex serve: listening on ") {
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("rex serve did not report its address");
        Self { child, base }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build()
}

/// (status, body as JSON or `Value::Null`)
fn call(req: ureq::Request, body: Option<Value>) -> (u16, Value) {
    let result = match body {
        Some(b) => req.send_json(b),
        None => req.call(),
    };
    let resp = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn submit(s: &Serve, token: &str, body: Value) -> (u16, Value) {
    call(
        agent()
            .post(&s.url("/v1/jobs"))
            .set("Authorization", &format!("Bearer {token}")),
        Some(body),
    )
}

fn get_job(s: &Serve, token: &str, id: &str, wait: u32) -> (u16, Value) {
    call(
        agent()
            .get(&s.url(&format!("/v1/jobs/{id}?wait={wait}")))
            .set("Authorization", &format!("Bearer {token}")),
        None,
    )
}

/// Submits and waits for the result document.
fn run_job(s: &Serve, token: &str, body: Value) -> Value {
    let (status, accepted) = submit(s, token, body);
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["id"].as_str().unwrap();
    let (status, job) = get_job(s, token, id, 30);
    assert_eq!(status, 200, "{job}");
    job
}

fn read_script(root: &Path) -> Value {
    json!({
        "script": "let t = cat(path); info(`read ${t.len()} bytes`); t",
        "arguments": {"path": {"stringValue": format!("{}/data.txt", root.display())}},
    })
}

#[test]
fn a_job_runs_and_returns_the_rex_document_with_audited_decisions() {
    let setup = Setup::new("max_concurrent = 2");
    let s = setup.start();
    let job = run_job(&s, ALICE, read_script(&setup.root));
    assert_eq!(job["status"]["state"], "succeeded", "{job}");
    assert_eq!(job["principal"], "alice");
    assert_eq!(job["document"]["status"], "SUCCESS");
    assert_eq!(job["document"]["output"], "forty-two");
    let id = job["id"].as_str().unwrap();

    // A denied request: ACCESS_DENIED document, status `denied`.
    let denied = run_job(
        &s,
        ALICE,
        json!({"script": format!("cat(\"{}/secret.txt\")", setup.root.display())}),
    );
    assert_eq!(denied["status"]["state"], "denied", "{denied}");
    assert_eq!(
        denied["document"]["error"]["error_type"],
        "ACCESS_DENIED_EXCEPTION"
    );
    let denied_id = denied["id"].as_str().unwrap();

    // Every decision is in the audit log with the job id and the token's principal.
    let audit = std::fs::read_to_string(setup.root.join("audit.jsonl")).unwrap();
    let records: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &Value| r.get("decision").is_some())
        .collect();
    let of = |id: &str| -> Vec<&Value> { records.iter().filter(|r| r["job"] == id).collect() };
    assert!(
        of(id)
            .iter()
            .any(|r| r["decision"] == "allow" && r["action"].as_str().unwrap().contains("read")),
        "{audit}"
    );
    assert!(
        of(denied_id).iter().any(|r| r["decision"] == "deny"),
        "{audit}"
    );
    for r in of(id).into_iter().chain(of(denied_id)) {
        assert_eq!(r["principal"], "alice", "{r}");
    }

    // The listing has both, newest first; the logs stream ends with the state.
    let (status, list) = call(
        agent()
            .get(&s.url("/v1/jobs"))
            .set("Authorization", &format!("Bearer {ALICE}")),
        None,
    );
    assert_eq!(status, 200);
    let ids: Vec<&str> = list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{list}");
    assert!(ids.contains(&id) && ids.contains(&denied_id));
    let logs = agent()
        .get(&s.url(&format!("/v1/jobs/{id}/logs")))
        .set("Authorization", &format!("Bearer {ALICE}"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(logs.contains("[INFO] read 9 bytes"), "{logs}");
    assert!(logs.ends_with("-- job succeeded\n"), "{logs}");

    // Metrics count them.
    let metrics = agent()
        .get(&s.url("/metrics"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        metrics.contains("rex_jobs_finished_total{status=\"succeeded\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rex_jobs_finished_total{status=\"denied\"} 1"),
        "{metrics}"
    );
    drop(setup.dir);
}

#[test]
fn wrong_or_missing_token_gets_401_and_creates_no_job() {
    let setup = Setup::new("");
    let s = setup.start();
    let body = read_script(&setup.root);
    for auth in [
        None,
        Some("Bearer wrong"),
        Some(&format!("Basic {ALICE}")[..]),
    ] {
        let mut req = agent().post(&s.url("/v1/jobs"));
        if let Some(a) = auth {
            req = req.set("Authorization", a);
        }
        let (status, err) = call(req, Some(body.clone()));
        assert_eq!(status, 401, "{auth:?}: {err}");
        assert_eq!(err["error"]["code"], "unauthorized");
        let (status, _) = call(
            agent()
                .get(&s.url("/v1/jobs"))
                .set("Authorization", "Bearer x"),
            None,
        );
        assert_eq!(status, 401);
    }
    // No job exists for anyone, and nothing ran.
    for token in [ALICE, BOB] {
        let (_, list) = call(
            agent()
                .get(&s.url("/v1/jobs"))
                .set("Authorization", &format!("Bearer {token}")),
            None,
        );
        assert_eq!(list["jobs"], json!([]));
    }
    let metrics = agent()
        .get(&s.url("/metrics"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(metrics.contains("rex_jobs_submitted_total 0"), "{metrics}");
    assert!(!setup.root.join("audit.jsonl").exists());
}

#[test]
fn a_token_never_reaches_another_principals_jobs() {
    let setup = Setup::new("");
    let s = setup.start();
    let job = run_job(&s, ALICE, read_script(&setup.root));
    let id = job["id"].as_str().unwrap();
    let bob = |method: &str, path: &str| {
        call(
            agent()
                .request(method, &s.url(path))
                .set("Authorization", &format!("Bearer {BOB}")),
            None,
        )
    };
    for (method, path) in [
        ("GET", format!("/v1/jobs/{id}")),
        ("GET", format!("/v1/jobs/{id}/logs")),
        ("DELETE", format!("/v1/jobs/{id}")),
    ] {
        let (status, body) = bob(method, &path);
        assert_eq!(status, 404, "{method} {path}: {body}");
        assert!(!body.to_string().contains("forty-two"));
    }
    let (_, list) = bob("GET", "/v1/jobs");
    assert_eq!(list["jobs"], json!([]));
    // Bob's own job runs as bob, under bob's policy, whatever the request says.
    let (status, err) = submit(&s, BOB, json!({"script": "1", "principal": "alice"}));
    assert_eq!(status, 400, "{err}");
    let own = run_job(&s, BOB, read_script(&setup.root));
    assert_eq!(own["principal"], "bob");
    // Alice still has hers.
    let (status, again) = get_job(&s, ALICE, id, 0);
    assert_eq!(status, 200);
    assert_eq!(again["document"]["output"], "forty-two");
}

#[test]
fn a_looping_script_is_stopped_at_its_cap_and_reported_as_an_error() {
    let setup = Setup::new("max_timeout_secs = 2\ndefault_timeout_secs = 1");
    let s = setup.start();
    let (status, err) = submit(&s, ALICE, json!({"script": "1", "timeout_secs": 5}));
    assert_eq!(status, 400, "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("`5`"));
    let started = std::time::Instant::now();
    let job = run_job(&s, ALICE, json!({"script": "loop { }", "timeout_secs": 1}));
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(job["document"]["status"], "ERROR", "{job}");
    assert_eq!(job["document"]["error"]["error_type"], "SCRIPT_EXCEPTION");
    let state = job["status"]["state"].as_str().unwrap();
    assert!(state == "script_error" || state == "killed", "{job}");
}

#[test]
fn concurrent_submissions_all_complete_once() {
    const N: usize = 200;
    let setup = Setup::new("max_concurrent = 4\nmax_queue = 200");
    let s = setup.start();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let url = s.url("/v1/jobs");
            std::thread::spawn(move || {
                let agent = agent();
                (0..N / 8)
                    .map(|i| {
                        let n = t * 1000 + i;
                        let (status, body) = call(
                            agent
                                .post(&url)
                                .set("Authorization", &format!("Bearer {ALICE}")),
                            Some(json!({"script": format!("{n}")})),
                        );
                        assert_eq!(status, 202, "{body}");
                        (n, body["id"].as_str().unwrap().to_owned())
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let submitted: Vec<(usize, String)> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(submitted.len(), N);
    let ids: std::collections::HashSet<&str> =
        submitted.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(ids.len(), N, "duplicate job ids");
    for (n, id) in &submitted {
        let (status, job) = get_job(&s, ALICE, id, 60);
        assert_eq!(status, 200);
        assert_eq!(job["status"]["state"], "succeeded", "{job}");
        // Each result is its own job's, not another's.
        assert_eq!(job["document"]["output"], n.to_string(), "{job}");
    }
    let (_, list) = call(
        agent()
            .get(&s.url("/v1/jobs?limit=1000"))
            .set("Authorization", &format!("Bearer {ALICE}")),
        None,
    );
    assert_eq!(
        list["jobs"].as_array().unwrap().len(),
        100,
        "listing is capped at max_list"
    );
}

#[test]
fn submissions_beyond_the_queue_get_429() {
    let setup = Setup::new("max_concurrent = 1\nmax_queue = 1");
    let s = setup.start();
    let slow = json!({"script": "loop { }", "timeout_secs": 3});
    let (a, _) = submit(&s, ALICE, slow.clone());
    let (b, _) = submit(&s, ALICE, slow.clone());
    let (c, err) = submit(&s, ALICE, slow);
    assert_eq!((a, b, c), (202, 202, 429), "{err}");
    assert_eq!(err["error"]["code"], "queue_full");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_queue 1")
    );
    let (_, list) = call(
        agent()
            .get(&s.url("/v1/jobs"))
            .set("Authorization", &format!("Bearer {ALICE}")),
        None,
    );
    assert_eq!(
        list["jobs"].as_array().unwrap().len(),
        2,
        "the refused job was not stored"
    );
}

#[test]
fn finished_results_survive_a_restart() {
    let setup = Setup::new("");
    let s = setup.start();
    let job = run_job(&s, ALICE, read_script(&setup.root));
    let id = job["id"].as_str().unwrap().to_owned();
    s.stop();
    let s = setup.start();
    let (status, again) = get_job(&s, ALICE, &id, 0);
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["document"], job["document"]);
    assert_eq!(again["status"]["state"], "succeeded");
    let (status, _) = get_job(&s, BOB, &id, 0);
    assert_eq!(status, 404);
}

#[test]
fn the_served_openapi_is_the_checked_in_file_and_lists_every_route() {
    let setup = Setup::new("");
    let s = setup.start();
    let mut served = String::new();
    agent()
        .get(&s.url("/openapi.json"))
        .call()
        .unwrap()
        .into_reader()
        .read_to_string(&mut served)
        .unwrap();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    assert_eq!(served, std::fs::read_to_string(file).unwrap());
    let doc: Value = serde_json::from_str(&served).unwrap();
    for (path, methods) in [
        ("/v1/jobs", &["post", "get"][..]),
        ("/v1/jobs/{id}", &["get", "delete"]),
        ("/v1/jobs/{id}/logs", &["get"]),
        ("/healthz", &["get"]),
        ("/metrics", &["get"]),
        ("/openapi.json", &["get"]),
    ] {
        for m in methods {
            assert!(doc["paths"][path][m].is_object(), "{m} {path} missing");
        }
    }
    // And the routes it lists answer (not the fallback's 404 "no such route").
    let (status, health) = call(agent().get(&s.url("/healthz")), None);
    assert_eq!((status, &health["status"]), (200, &json!("ok")));
    let (status, body) = call(agent().get(&s.url("/v1/nope")), None);
    assert_eq!((status, &body["error"]["code"]), (404, &json!("not_found")));
}

#[test]
fn deploy_files_parse_and_use_only_real_flags() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let help = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_rex"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let known = format!(
        "{}{}{}",
        help(&["run", "--help"]),
        help(&["serve", "--help"]),
        help(&["policy", "check", "--help"])
    );
    let flags = |text: &str| -> Vec<String> {
        text.split(|c: char| c.is_whitespace() || c == '"')
            .filter(|w| w.starts_with("--") && w.len() > 2)
            .map(|w| w.trim_end_matches([',', ';']).to_owned())
            .collect()
    };
    let ssm_text =
        std::fs::read_to_string(format!("{root}/deploy/ssm/rex-run-script.json")).unwrap();
    let ssm: Value = serde_json::from_str(&ssm_text).unwrap();
    assert_eq!(ssm["schemaVersion"], "2.2");
    let commands = ssm["mainSteps"][0]["inputs"]["runCommand"]
        .as_array()
        .unwrap();
    let run = commands
        .iter()
        .filter_map(Value::as_str)
        .find(|c| c.contains("/usr/local/bin/rex run"))
        .unwrap();
    let ansible = std::fs::read_to_string(format!("{root}/deploy/ansible/rex.yml")).unwrap();
    let unit = std::fs::read_to_string(format!("{root}/deploy/systemd/rex-serve.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/rex serve --config "));
    assert!(!ansible.contains('\t'), "YAML must not contain tabs");
    let ansible_run = ansible
        .split("/usr/local/bin/rex run")
        .nth(1)
        .and_then(|rest| rest.split("register:").next())
        .unwrap();
    let all: Vec<String> = flags(run)
        .into_iter()
        .chain(flags(ansible_run))
        .chain(flags(&unit))
        .collect();
    assert!(all.len() >= 6, "{all:?}");
    for flag in all {
        assert!(
            known.contains(&flag),
            "`{flag}` is not a flag of rex run/serve/policy check"
        );
    }
}

#[test]
fn the_mcp_endpoint_is_behind_the_same_tokens() {
    let setup = Setup::new("");
    let s = setup.start();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-03-26", "capabilities": {},
        "clientInfo": {"name": "serve-test", "version": "1"}}});
    let post = |token: Option<&str>| {
        let mut req = agent()
            .post(&s.url("/mcp"))
            .set("Accept", "application/json, text/event-stream");
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        match req.send_json(init.clone()) {
            Ok(r) => (r.status(), r.into_string().unwrap()),
            Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap()),
            Err(e) => panic!("{e}"),
        }
    };
    let (status, body) = post(None);
    assert_eq!(status, 401, "{body}");
    let (status, body) = post(Some("nope"));
    assert_eq!(status, 401, "{body}");
    let (status, body) = post(Some(ALICE));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"protocolVersion\""), "{body}");
}
