//! The decision log: one JSON object per line for every authorization decision.
//!
//! Format version 1. Each line is an object with:
//! `v` (1), `time` (RFC 3339 UTC), `principal` (name), `action` and `resource` (Cedar uids),
//! `decision` (`allow` | `deny`), `enforced` (false when audit mode let a deny through),
//! `reason` (`permit` | `no_permit` | `forbid` | `error` | `read_only`), `policies` (determining policy
//! ids), `errors` (evaluation errors), and when known `script` (`{file, line, column}`)
//! and `job` (an id given by the caller). Fields are only ever added, never renamed.
//!
//! The gate's decision lines are formatted straight into the log's buffer (no
//! intermediate `String`s, the date part of `time` formatted once a second), byte for byte
//! what `serde_json` writes for the equivalent [`DecisionRecord`] (unit tests hold the two
//! equal, including escapes); [`AuditLog::write`] still takes a `DecisionRecord`.
//!
//! Besides decisions, a run may write one [`RunRecord`] (`"event": "run"`) before its
//! first operation: who runs, which script, and what the kernel backstop enforces. Decision
//! lines have no `event` field; readers skip records whose `event` they do not know.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::SystemTime;

use serde::Serialize;

use crate::action::Action;
use crate::error::GateError;
use crate::resource::Resource;

/// Where the script was when it made a request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ScriptPosition {
    /// The script file, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// One decision, as written to the log.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionRecord<'a> {
    /// Format version.
    pub v: u32,
    /// RFC 3339 time.
    pub time: String,
    /// Principal name.
    pub principal: &'a str,
    /// Action uid.
    pub action: String,
    /// Resource uid.
    pub resource: String,
    /// `allow` or `deny`.
    pub decision: &'static str,
    /// False when audit mode allowed a request the policy denies.
    pub enforced: bool,
    /// `permit`, `no_permit`, `forbid` or `error`.
    pub reason: &'static str,
    /// Determining policy ids.
    pub policies: Vec<String>,
    /// Evaluation errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Where the script was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script: Option<ScriptPosition>,
    /// The job id, when running under a server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<&'a str>,
}

/// The kernel backstop chosen for a run, as the `sandbox` of its [`RunRecord`]. It only
/// describes restrictions; it authorizes nothing.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SandboxSummary {
    /// `off`, `auto` or `required`, as asked.
    pub mode: String,
    /// The kernel's Landlock ABI, when Landlock is available and the mode is not `off`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landlock_abi: Option<i32>,
    /// What the kernel enforces, one short line each (e.g. `seccomp`, `no_new_privs`).
    pub enforced: Vec<String>,
    /// What was left out and why (the sandbox report's notes).
    pub left_out: Vec<String>,
}

/// The record written once per run, before the script's first operation.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord<'a> {
    /// Format version (1).
    pub v: u32,
    /// Always `run`.
    pub event: &'static str,
    /// RFC 3339 time.
    pub time: String,
    /// Principal name.
    pub principal: &'a str,
    /// The gate's mode: `enforce` or `audit`.
    pub mode: &'static str,
    /// The script file, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script: Option<&'a str>,
    /// The kernel backstop.
    pub sandbox: &'a SandboxSummary,
    /// The job id, when running under a server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<&'a str>,
}

/// Most bytes of allowed decisions held before they are written. Each `write` to a
/// journaling file system has a cost of its own (the file's times, the journal): a `cat`
/// loop logging to ext4 spent 1.6 us more CPU per `cat` with the log on in writes of
/// 32 KiB, 1.0 us in writes of 256 KiB, and no less in writes of 1 MiB.
const FLUSH_BYTES: usize = 256 * 1024;

/// Longest time a line of an allowed decision is held before it is written.
pub const FLUSH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(20);

/// An append-only JSON Lines file on an `O_APPEND` file descriptor.
///
/// Lines are written whole, several at a time with one `write`, so concurrent runs sharing
/// a log do not interleave within a line. A denial (and the run record) is written at
/// once, together with every line before it; lines of allowed decisions are held for at
/// most about [`FLUSH_INTERVAL`] (a background thread writes them) or 256 KiB, and whatever
/// is held is written when the log is dropped or [`AuditLog::flush`]ed. The gate's allowed
/// decisions are not even formatted on the deciding thread: they are queued (time,
/// action, resource, policies and script position, by reference count) and the background
/// thread (woken early at 4,096 queued), or the next line written at once, formats them
/// in order; at 32,768 queued the deciding thread formats and writes them itself. A failed write is returned
/// by the call that made it and by every later call, so the caller fails closed from then
/// on; a failure of the background write is returned by the next call.
#[derive(Debug)]
pub struct AuditLog {
    path: String,
    pending: Arc<Mutex<Pending>>,
    /// Allowed decisions of the gate, queued by [`AuditLog::write_allowed`] and formatted
    /// by the background writer (or by the next line written at once).
    queue: Arc<QueueShared>,
    /// Set once a write failed (the error itself is in `Pending`).
    failed: Arc<AtomicBool>,
    /// Whether the background writer started. It starts with the first held line, not at
    /// open: the kernel sandbox (rex-sandbox), applied between opening the log and the
    /// script's first request, needs a single-threaded process, and a thread started after
    /// it inherits its restrictions.
    flusher: std::sync::OnceLock<bool>,
}

#[derive(Debug)]
struct Pending {
    file: File,
    /// Lines held, not yet written.
    buf: Vec<u8>,
    /// The first write error; every later write fails with it.
    failed: Option<String>,
    /// The `time` text of the last decision line up to its whole second, and that second:
    /// the date is formatted once a second, not once a line.
    clock: Option<(i64, String)>,
    /// Scratch text for the rare resource uid that needs Rust escaping.
    scratch: String,
    /// The last principal and its JSON text (the same on every line of a run).
    principal: (String, Vec<u8>),
    /// The end of the last decision line.
    tail: Tail,
    /// An empty queue vector with capacity, swapped in when the queue is drained.
    spare: Vec<Queued>,
    /// Middles of recent queued lines.
    middles: Middles,
}

impl Pending {
    /// Nothing held yet, writing to `file`, with room for `capacity` bytes.
    fn new(file: File, capacity: usize) -> Self {
        Self {
            file,
            buf: Vec::with_capacity(capacity),
            failed: None,
            clock: None,
            scratch: String::new(),
            principal: (String::new(), b"\"\"".to_vec()),
            tail: Tail::default(),
            spare: Vec::new(),
            middles: Middles::default(),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if let Some(e) = &self.failed {
            return Err(std::io::Error::other(e.clone()));
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&self.buf);
        self.buf.clear();
        if let Err(e) = &result {
            self.failed = Some(e.to_string());
        }
        result
    }

    fn push(&mut self, record: &impl Serialize, now: bool) -> std::io::Result<()> {
        if let Some(e) = &self.failed {
            return Err(std::io::Error::other(e.clone()));
        }
        let mark = self.buf.len();
        if let Err(e) = serde_json::to_writer(&mut self.buf, record) {
            self.buf.truncate(mark);
            return Err(std::io::Error::other(e));
        }
        self.buf.push(b'\n');
        self.held(now)
    }

    /// A line was added: writes now (or when 256 KiB are held), else keeps it for the
    /// background writer.
    fn held(&mut self, now: bool) -> std::io::Result<()> {
        if now || self.buf.len() >= FLUSH_BYTES {
            self.flush()
        } else {
            Ok(())
        }
    }

    /// Formats every decision queued so far into the buffer, in order, before anything
    /// else is appended (the caller holds this `Pending`, so nothing can be written
    /// between them). Writes out each time 256 KiB are held.
    fn drain(&mut self, queue: &QueueShared) -> std::io::Result<()> {
        let Ok(mut q) = queue.items.lock() else {
            return Err(std::io::Error::other("audit log queue lock poisoned"));
        };
        // Items are queued only after their context is set.
        let Some(ctx) = q.context.clone().filter(|_| !q.items.is_empty()) else {
            return Ok(());
        };
        let mut items = std::mem::replace(&mut q.items, std::mem::take(&mut self.spare));
        let subjects = std::mem::take(&mut q.subjects);
        drop(q);
        self.settle(&ctx);
        let mut found = Found::default();
        let mut result = Ok(());
        for item in items.drain(..) {
            if result.is_ok()
                && let Some(subject) = subjects.get(item.subject)
            {
                result = self.push_queued(&item, subject, &ctx, &mut found);
            }
        }
        self.spare = items;
        result
    }

    /// Settles what every line of a drain for `ctx` shares, once: the principal of the
    /// kept middles, the script file and job of the line ends.
    fn settle(&mut self, ctx: &QueueContext) {
        if self.middles.principal != ctx.principal {
            self.middles.principal.clone_from(&ctx.principal);
            self.middles.lines.clear();
        }
        self.tail
            .retarget(ctx.script.as_deref(), ctx.job.as_deref());
    }

    /// Appends one decision line, formatted straight into the buffer: the same bytes
    /// `serde_json` writes for the equivalent [`DecisionRecord`] (a unit test holds the
    /// two equal), without the `String`s of the record (time, action and resource uids,
    /// policy list) or serde's machinery.
    fn push_decision(&mut self, d: &DecisionLine<'_>, now: bool) -> std::io::Result<()> {
        if let Some(e) = &self.failed {
            return Err(std::io::Error::other(e.clone()));
        }
        push_time_field(&mut self.buf, &mut self.clock, d.time);
        let b = &mut self.buf;
        push_middle(b, &mut self.principal, &mut self.scratch, d);
        self.tail.push(b, d.script, d.job);
        self.held(now)
    }

    /// [`Pending::push_decision`] of a queued allowed decision, in a [`Pending::drain`]
    /// that has settled the principal and the line ends for `ctx`: the middle of the line
    /// (principal to policies) is copied from a recent line made from the same action,
    /// resource and policies (a loop asks the same few questions), else made and kept;
    /// `found` remembers which, by queued subject and action, for the drain's next lines.
    fn push_queued(
        &mut self,
        item: &Queued,
        subject: &Subject,
        ctx: &QueueContext,
        found: &mut Found,
    ) -> std::io::Result<()> {
        if let Some(e) = &self.failed {
            return Err(std::io::Error::other(e.clone()));
        }
        push_time_field(&mut self.buf, &mut self.clock, item.time);
        let index = match found.get(item.subject, item.action) {
            Some(i) => i,
            None => {
                let i = self.middle_for(item.action, subject, ctx);
                found.insert(item.subject, item.action, i);
                i
            }
        };
        if let Some(m) = self.middles.lines.get(index) {
            self.buf.extend_from_slice(&m.json);
        }
        let at = (item.at.0 > 0).then_some(item.at);
        self.tail.push_at(&mut self.buf, at);
        self.held(false)
    }

    /// The index in `middles` of the middle for `action` on `subject`, made (and kept,
    /// in place of the oldest once [`MAX_MIDDLES`] are kept) when none matches.
    fn middle_for(&mut self, action: Action, subject: &Subject, ctx: &QueueContext) -> usize {
        let middles = &mut self.middles;
        if let Some(i) = middles.lines.iter().position(|m| {
            m.action == action
                && (Arc::ptr_eq(&m.policies, &subject.policies) || m.policies == subject.policies)
                && m.resource == subject.resource
        }) {
            return i;
        }
        // Only the middle is made from this line: its time and position are not read.
        let line = DecisionLine::permit(
            SystemTime::UNIX_EPOCH,
            &AllowedLine {
                context: ctx.id,
                principal: &ctx.principal,
                action,
                resource: &subject.resource,
                policies: &subject.policies,
                at: (0, 0),
                script: ctx.script.as_deref(),
                job: ctx.job.as_deref(),
            },
        );
        let mut json = Vec::with_capacity(256);
        push_middle(&mut json, &mut self.principal, &mut self.scratch, &line);
        let made = Middle {
            action,
            resource: subject.resource.clone(),
            policies: Arc::clone(&subject.policies),
            json,
        };
        if middles.lines.len() < MAX_MIDDLES {
            middles.lines.push(made);
            return middles.lines.len() - 1;
        }
        let i = middles.next % MAX_MIDDLES;
        middles.next = middles.next.wrapping_add(1);
        if let Some(slot) = middles.lines.get_mut(i) {
            *slot = made;
        }
        i
    }
}

/// Most pairs a [`Found`] remembers (a walk over many files asks about a new subject
/// on every line; the search stays short).
const FOUND: usize = 8;

/// Which kept middle the lines of one drain use, by queued subject and action: a loop's
/// lines alternate between a few, so each is matched (by resource and policies) once
/// per drain instead of once per line. A middle made in place of another forgets what
/// pointed at that slot (see [`Found::insert`]).
#[derive(Debug, Default)]
struct Found {
    /// At most [`FOUND`], the newest last.
    entries: Vec<(usize, Action, usize)>,
}

impl Found {
    fn get(&self, subject: usize, action: Action) -> Option<usize> {
        self.entries
            .iter()
            .find(|(s, a, _)| *s == subject && *a == action)
            .map(|(_, _, i)| *i)
    }

    /// Remembers `index` for `subject` and `action`, forgetting any other pair that
    /// pointed at `index` (its middle was just replaced).
    fn insert(&mut self, subject: usize, action: Action, index: usize) {
        self.entries.retain(|(_, _, i)| *i != index);
        if self.entries.len() == FOUND {
            self.entries.remove(0);
        }
        self.entries.push((subject, action, index));
    }
}

/// `{"v":1,"time":"<time>",` — the start of a decision line.
fn push_time_field(b: &mut Vec<u8>, clock: &mut Option<(i64, String)>, time: SystemTime) {
    b.extend_from_slice(b"{\"v\":1,\"time\":\"");
    match time.duration_since(std::time::UNIX_EPOCH) {
        Ok(since) => push_time(
            b,
            clock,
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
            since.subsec_nanos(),
        ),
        // Before 1970 (never on a real host clock): jiff's own text.
        Err(_) => b.extend_from_slice(jiff::Timestamp::now().to_string().as_bytes()),
    }
    b.extend_from_slice(b"\",");
}

/// The middle of a decision line, from `"principal"` to the policies (and errors).
/// `principal` caches the principal's JSON text; `scratch` is for rare resource ids.
fn push_middle(
    b: &mut Vec<u8>,
    principal: &mut (String, Vec<u8>),
    scratch: &mut String,
    d: &DecisionLine<'_>,
) {
    b.extend_from_slice(b"\"principal\":");
    if principal.0 != d.principal {
        principal.0.clear();
        principal.0.push_str(d.principal);
        principal.1.clear();
        push_json_str(&mut principal.1, d.principal);
    }
    b.extend_from_slice(&principal.1);
    b.extend_from_slice(b",\"action\":\"");
    push_json_escaped(b, d.action.namespace());
    b.extend_from_slice(b"::Action::\\\"");
    push_json_escaped(b, d.action.name());
    b.extend_from_slice(b"\\\"\",\"resource\":");
    push_resource(b, scratch, d.resource);
    b.extend_from_slice(if d.allow {
        b",\"decision\":\"allow\""
    } else {
        b",\"decision\":\"deny\""
    });
    b.extend_from_slice(if d.enforced {
        b",\"enforced\":true,\"reason\":"
    } else {
        b",\"enforced\":false,\"reason\":"
    });
    push_json_str(b, d.reason);
    b.extend_from_slice(b",\"policies\":");
    push_json_list(b, d.policies);
    if !d.errors.is_empty() {
        b.extend_from_slice(b",\"errors\":");
        push_json_list(b, d.errors);
    }
}

/// Most line middles kept for queued decisions.
const MAX_MIDDLES: usize = 16;

/// The middles of recent queued lines, for one principal.
#[derive(Debug, Default)]
struct Middles {
    principal: String,
    lines: Vec<Middle>,
    /// The slot the next new middle replaces once `lines` is full.
    next: usize,
}

/// One line middle and what it was made from (the clones keep the `Arc`s alive, so a
/// pointer match cannot be a reused address).
#[derive(Debug)]
struct Middle {
    action: Action,
    resource: Resource,
    policies: Arc<[String]>,
    json: Vec<u8>,
}

/// The end of a decision line from `,"script"` on (`script`, `job`, the closing brace and
/// newline), kept with what it was made from: the decisions of one SDK call share it.
#[derive(Debug, Default)]
struct Tail {
    /// Whether `json` was made (the key below is meaningful).
    made: bool,
    /// `line` and `column` of the script position, when there was one.
    at: Option<(u32, u32)>,
    file: Option<String>,
    job: Option<String>,
    json: Vec<u8>,
}

impl Tail {
    /// Appends the end of the line for `script` and `job`, made again only when they
    /// differ from the last line's.
    fn push(&mut self, b: &mut Vec<u8>, script: Option<Position<'_>>, job: Option<&str>) {
        let file = script.and_then(|p| p.file);
        self.retarget(file, job);
        self.push_at(b, script.map(|p| (p.line, p.column)));
    }

    /// Makes the next line's end again unless it is for this script file and job (the
    /// two strings compared here, once for all the lines of a drain).
    fn retarget(&mut self, file: Option<&str>, job: Option<&str>) {
        if self.file.as_deref() != file || self.job.as_deref() != job {
            set(&mut self.file, file);
            set(&mut self.job, job);
            self.made = false;
        }
    }

    /// Appends the end of the line for the script position `at` (`None`: no script
    /// position), in the script file and job last given to [`Tail::retarget`].
    fn push_at(&mut self, b: &mut Vec<u8>, at: Option<(u32, u32)>) {
        if !(self.made && self.at == at) {
            let j = &mut self.json;
            j.clear();
            if let Some((line, column)) = at {
                j.extend_from_slice(b",\"script\":{");
                if let Some(file) = &self.file {
                    j.extend_from_slice(b"\"file\":");
                    push_json_str(j, file);
                    j.push(b',');
                }
                j.extend_from_slice(b"\"line\":");
                push_u32(j, line);
                j.extend_from_slice(b",\"column\":");
                push_u32(j, column);
                j.push(b'}');
            }
            if let Some(job) = &self.job {
                j.extend_from_slice(b",\"job\":");
                push_json_str(j, job);
            }
            j.extend_from_slice(b"}\n");
            self.made = true;
            self.at = at;
        }
        b.extend_from_slice(&self.json);
    }
}

/// `slot = value`, reusing the slot's allocation.
fn set(slot: &mut Option<String>, value: Option<&str>) {
    match (slot.as_mut(), value) {
        (Some(s), Some(v)) => {
            s.clear();
            s.push_str(v);
        }
        (_, v) => *slot = v.map(str::to_owned),
    }
}

/// One decision as [`AuditLog::write_decision`] takes it: the parts of a
/// [`DecisionRecord`], borrowed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DecisionLine<'a> {
    pub(crate) time: SystemTime,
    pub(crate) principal: &'a str,
    pub(crate) action: Action,
    pub(crate) resource: &'a Resource,
    pub(crate) allow: bool,
    pub(crate) enforced: bool,
    pub(crate) reason: &'static str,
    pub(crate) policies: &'a [String],
    pub(crate) errors: &'a [String],
    pub(crate) script: Option<Position<'a>>,
    pub(crate) job: Option<&'a str>,
}

impl<'a> DecisionLine<'a> {
    /// The line of an allowed, enforced decision (reason `permit`, no errors) taken at
    /// `time`; a script line of 0 means the position is unknown.
    fn permit(time: SystemTime, line: &AllowedLine<'a>) -> Self {
        Self {
            time,
            principal: line.principal,
            action: line.action,
            resource: line.resource,
            allow: true,
            enforced: true,
            reason: "permit",
            policies: line.policies,
            errors: &[],
            script: (line.at.0 > 0).then_some(Position {
                file: line.script,
                line: line.at.0,
                column: line.at.1,
            }),
            job: line.job,
        }
    }
}

/// A [`ScriptPosition`], borrowed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Position<'a> {
    pub(crate) file: Option<&'a str>,
    pub(crate) line: u32,
    pub(crate) column: u32,
}

/// An allowed, enforced decision as the gate hands it to [`AuditLog::write_allowed`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct AllowedLine<'a> {
    /// The same for every line with this principal, script and job, and for no other
    /// (the id of the gate that asked, whose three never change): lines are matched to
    /// the queue's context by it, without comparing the strings.
    pub(crate) context: u64,
    pub(crate) principal: &'a str,
    pub(crate) action: Action,
    pub(crate) resource: &'a Resource,
    pub(crate) policies: &'a Arc<[String]>,
    /// Script line and column; line 0 when unknown.
    pub(crate) at: (u32, u32),
    pub(crate) script: Option<&'a str>,
    pub(crate) job: Option<&'a str>,
}

/// An allowed decision waiting for the background writer: what its line is made from,
/// held by reference counts and copies. Formatted when the queue is drained.
#[derive(Debug)]
struct Queued {
    time: SystemTime,
    action: Action,
    /// Index of what it is about in the queue's `subjects`.
    subject: usize,
    at: (u32, u32),
}

/// What queued decisions are about: a resource and the policies that allowed it. A loop
/// asks about the same few, so a queued decision names one of the queue's subjects
/// instead of holding its own reference counts (which the writer thread would drop on the
/// other core while the deciding thread raises them: shared cache lines on every line).
#[derive(Debug)]
struct Subject {
    resource: Resource,
    policies: Arc<[String]>,
}

/// How many of the newest subjects a queued decision is matched against.
const RECENT_SUBJECTS: usize = 8;

/// Who the queued decisions are about: the same for every line of one gate.
#[derive(Debug, Clone, PartialEq, Eq)]
struct QueueContext {
    /// [`AllowedLine::context`] of the lines queued.
    id: u64,
    principal: String,
    script: Option<String>,
    job: Option<String>,
}

/// Allowed decisions not formatted yet, oldest first.
#[derive(Debug, Default)]
struct Queue {
    items: Vec<Queued>,
    subjects: Vec<Subject>,
    context: Option<QueueContext>,
}

/// The queue and the signal that wakes the background writer before its interval ends.
#[derive(Debug, Default)]
struct QueueShared {
    items: Mutex<Queue>,
    wake: std::sync::Condvar,
}

/// Queued decisions at which the background writer is woken at once (a `cat` loop queues
/// about 750 per millisecond; the writer's interval is 20 ms).
const WAKE_AT: usize = 4096;

/// Most allowed decisions queued before the thread that queues the next one formats and
/// writes them itself (the writer cannot keep up: the queue does not grow further).
const MAX_QUEUED: usize = 32_768;

/// The time `second`.`nanos` after the Unix epoch as jiff's `Display` of a `Timestamp`
/// writes it (RFC 3339 UTC, the fraction without trailing zeros, none when whole; the
/// clock source is the same as `jiff::Timestamp::now`). The date and clock part come from
/// `clock` while the second is the same; jiff formats it once a second.
fn push_time(b: &mut Vec<u8>, clock: &mut Option<(i64, String)>, second: i64, nanos: u32) {
    let prefix = match clock {
        Some((s, text)) if *s == second => text,
        _ => {
            let whole = match jiff::Timestamp::from_second(second) {
                Ok(t) => t.to_string(),
                Err(_) => jiff::Timestamp::MAX.to_string(),
            };
            let text = whole.strip_suffix('Z').unwrap_or(&whole).to_owned();
            &mut clock.insert((second, text)).1
        }
    };
    b.extend_from_slice(prefix.as_bytes());
    if nanos > 0 {
        let mut digits = [b'0'; 9];
        let mut n = nanos;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let len = digits.iter().rposition(|&d| d != b'0').map_or(0, |i| i + 1);
        b.push(b'.');
        b.extend_from_slice(digits.get(..len).unwrap_or_default());
    }
    b.push(b'Z');
}

/// The resource uid as a JSON string: `resource.to_string()` (Rust's `escape_debug` of
/// the id) escaped as `serde_json` does. Ids of printable ASCII without `"`, `\` or `'`
/// (what `escape_debug` leaves alone) are written as they are.
fn push_resource(b: &mut Vec<u8>, scratch: &mut String, resource: &Resource) {
    let id = resource.id();
    if is_plain_id(id.as_bytes()) {
        b.push(b'"');
        push_json_escaped(b, resource.type_name());
        b.extend_from_slice(b"::\\\"");
        b.extend_from_slice(id.as_bytes());
        b.extend_from_slice(b"\\\"\"");
    } else {
        use std::fmt::Write as _;
        scratch.clear();
        let _ = write!(scratch, "{resource}");
        push_json_str(b, scratch);
    }
}

/// `["a","b"]`.
fn push_json_list(b: &mut Vec<u8>, items: &[String]) {
    b.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        push_json_str(b, item);
    }
    b.push(b']');
}

/// `s` as a JSON string, quoted.
fn push_json_str(b: &mut Vec<u8>, s: &str) {
    b.push(b'"');
    push_json_escaped(b, s);
    b.push(b'"');
}

/// `s` escaped as `serde_json` escapes string contents: `"` and `\`, `\b \t \n \f \r`,
/// other control characters below 0x20 as `\u00xx` (lowercase hex); nothing else.
fn push_json_escaped(b: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    // Almost every string needs no escape: an 8-bytes-at-a-time pass decides.
    if !needs_json_escape(bytes) {
        b.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x09 => b"\\t",
            0x0a => b"\\n",
            0x0c => b"\\f",
            0x0d => b"\\r",
            0x00..=0x1f => &[],
            _ => continue,
        };
        b.extend_from_slice(bytes.get(start..i).unwrap_or_default());
        if esc.is_empty() {
            b.extend_from_slice(b"\\u00");
            b.push(HEX.get(usize::from(c >> 4)).copied().unwrap_or(b'0'));
            b.push(HEX.get(usize::from(c & 0xf)).copied().unwrap_or(b'0'));
        } else {
            b.extend_from_slice(esc);
        }
        start = i + 1;
    }
    b.extend_from_slice(bytes.get(start..).unwrap_or_default());
}

/// `0x0101…01`: one in every byte.
const ONES: u64 = u64::from_le_bytes([1; 8]);
/// `0x8080…80`: the high bit of every byte.
const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);

/// Non-zero iff some byte of `w` is below `n` (`n` <= 128; exact as a yes/no).
fn any_below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(ONES.wrapping_mul(u64::from(n))) & !w & HIGHS
}

/// Non-zero iff some byte of `w` is `b` (exact as a yes/no).
fn any_equal(w: u64, b: u8) -> u64 {
    any_below(w ^ ONES.wrapping_mul(u64::from(b)), 1)
}

/// Whether JSON needs any byte of `bytes` escaped (`"`, `\`, below 0x20), eight bytes
/// at a time.
fn needs_json_escape(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    for chunk in &mut words {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        if any_below(w, 0x20) | any_equal(w, b'"') | any_equal(w, b'\\') != 0 {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&c| c < 0x20 || c == b'"' || c == b'\\')
}

/// Whether `bytes` are all printable ASCII other than `"`, `\` and `'`: what Rust's
/// `escape_debug` and JSON both leave as they are. Eight bytes at a time.
fn is_plain_id(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    for chunk in &mut words {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let bad = any_below(w, 0x20)
            | (w & HIGHS)
            | any_equal(w, 0x7f)
            | any_equal(w, b'"')
            | any_equal(w, b'\\')
            | any_equal(w, b'\'');
        if bad != 0 {
            return false;
        }
    }
    words
        .remainder()
        .iter()
        .all(|&c| (0x20..0x7f).contains(&c) && c != b'"' && c != b'\\' && c != b'\'')
}

/// `n` in decimal.
fn push_u32(b: &mut Vec<u8>, n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    b.extend_from_slice(digits.get(i..).unwrap_or_default());
}

impl AuditLog {
    /// Opens (creating if needed) `path` for appending.
    pub fn open(path: &str) -> Result<Self, GateError> {
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .map_err(|source| GateError::AuditLog {
                path: path.to_owned(),
                source,
            })?;
        let pending = Arc::new(Mutex::new(Pending::new(file, FLUSH_BYTES + 1024)));
        Ok(Self {
            path: path.to_owned(),
            pending,
            queue: Arc::new(QueueShared::default()),
            failed: Arc::new(AtomicBool::new(false)),
            flusher: std::sync::OnceLock::new(),
        })
    }

    /// The log's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The log's buffer and file, with every queued decision formatted into it first, so
    /// whatever the caller appends comes after them.
    fn lock(&self) -> std::io::Result<std::sync::MutexGuard<'_, Pending>> {
        let mut pending = self
            .pending
            .lock()
            .map_err(|_| std::io::Error::other("audit log lock poisoned"))?;
        let drained = pending.drain(&self.queue);
        if pending.failed.is_some() {
            self.failed.store(true, Ordering::Relaxed);
        }
        drained?;
        Ok(pending)
    }

    /// Appends an allowed decision of the gate. While the background writer runs, the
    /// decision is only queued (its time, action, position and a recent subject's index;
    /// the line is formatted and written
    /// by that thread within [`FLUSH_INTERVAL`], or before the next line written at once,
    /// so lines stay in order); a failed write is returned by the first call after it.
    pub(crate) fn write_allowed(&self, line: &AllowedLine<'_>) -> std::io::Result<()> {
        let direct =
            |log: &Self| log.write_decision(&DecisionLine::permit(SystemTime::now(), line));
        if self.failed.load(Ordering::Relaxed) || !self.flusher_running() {
            return direct(self);
        }
        let mut q = self
            .queue
            .items
            .lock()
            .map_err(|_| std::io::Error::other("audit log queue lock poisoned"))?;
        match &q.context {
            Some(ctx) if ctx.id == line.context => {}
            _ if q.items.is_empty() => {
                q.context = Some(QueueContext {
                    id: line.context,
                    principal: line.principal.to_owned(),
                    script: line.script.map(str::to_owned),
                    job: line.job.map(str::to_owned),
                });
            }
            // Another gate shares this log: its lines are written at once, after the queue.
            _ => {
                drop(q);
                return direct(self);
            }
        }
        let recent = q.subjects.len().saturating_sub(RECENT_SUBJECTS);
        let found = q.subjects.get(recent..).and_then(|newest| {
            newest.iter().rposition(|s| {
                Arc::ptr_eq(&s.policies, line.policies) && s.resource == *line.resource
            })
        });
        let subject = match found {
            Some(i) => recent + i,
            None => {
                q.subjects.push(Subject {
                    resource: line.resource.clone(),
                    policies: Arc::clone(line.policies),
                });
                q.subjects.len() - 1
            }
        };
        q.items.push(Queued {
            time: SystemTime::now(),
            action: line.action,
            subject,
            at: line.at,
        });
        let queued = q.items.len();
        drop(q);
        if queued == WAKE_AT {
            self.queue.wake.notify_one();
        } else if queued >= MAX_QUEUED {
            drop(self.lock()?);
        }
        Ok(())
    }

    /// Appends one record: a denial at once, an allowed decision within [`FLUSH_INTERVAL`].
    /// A failed write is returned so the caller can fail closed.
    pub fn write(&self, record: &DecisionRecord<'_>) -> std::io::Result<()> {
        let now = record.decision != "allow" || !self.flusher_running();
        self.lock()?.push(record, now)
    }

    /// [`AuditLog::write`] of a borrowed decision, without building a [`DecisionRecord`]
    /// (the gate's path: same bytes, a fraction of the cost).
    pub(crate) fn write_decision(&self, decision: &DecisionLine<'_>) -> std::io::Result<()> {
        let now = !decision.allow || !self.flusher_running();
        self.lock()?.push_decision(decision, now)
    }

    /// Starts the background writer once; false if it could not start (lines are then
    /// written at once).
    fn flusher_running(&self) -> bool {
        *self.flusher.get_or_init(|| {
            let pending = Arc::downgrade(&self.pending);
            let queue = Arc::downgrade(&self.queue);
            let failed = Arc::downgrade(&self.failed);
            std::thread::Builder::new()
                .name("rex-audit-flush".to_owned())
                .spawn(move || flush_held_lines(&pending, &queue, &failed))
                .is_ok()
        })
    }

    /// Appends the run record, at once. A failed write is returned so the caller can
    /// refuse to run.
    pub fn write_run(&self, record: &RunRecord<'_>) -> std::io::Result<()> {
        self.lock()?.push(record, true)
    }

    /// Writes every held line now.
    pub fn flush(&self) -> std::io::Result<()> {
        self.lock()?.flush()
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        if let Ok(mut pending) = self.lock() {
            let _ = pending.flush();
        }
    }
}

/// The background writer: every [`FLUSH_INTERVAL`], or as soon as [`WAKE_AT`] decisions
/// are queued, formats the queued decisions and writes them with the lines held; ends
/// when the log is dropped.
fn flush_held_lines(
    pending: &Weak<Mutex<Pending>>,
    queue: &Weak<QueueShared>,
    failed: &Weak<AtomicBool>,
) {
    loop {
        let Some(q) = queue.upgrade() else {
            return;
        };
        // Wait on the queue's lock, then let it go: the drain below takes the log's lock
        // first and the queue's second, as every other writer does.
        match q.items.lock() {
            Ok(items) if items.items.len() < WAKE_AT => {
                drop(q.wake.wait_timeout(items, FLUSH_INTERVAL));
            }
            Ok(_) => {}
            Err(_) => return,
        }
        let (Some(pending), Some(failed)) = (pending.upgrade(), failed.upgrade()) else {
            return;
        };
        let Ok(mut p) = pending.lock() else {
            return;
        };
        if p.drain(&q).is_ok() {
            let _ = p.flush();
        }
        if p.failed.is_some() {
            failed.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::CanonicalPath;
    use crate::action::fs;

    /// What `Gate::log` wrote before the direct formatter: the record through serde_json.
    fn through_serde(d: &DecisionLine<'_>, time: &str) -> String {
        let record = DecisionRecord {
            v: 1,
            time: time.to_owned(),
            principal: d.principal,
            action: d.action.to_string(),
            resource: d.resource.to_string(),
            decision: if d.allow { "allow" } else { "deny" },
            enforced: d.enforced,
            reason: d.reason,
            policies: d.policies.to_vec(),
            errors: d.errors.to_vec(),
            script: d.script.map(|p| ScriptPosition {
                file: p.file.map(str::to_owned),
                line: p.line,
                column: p.column,
            }),
            job: d.job,
        };
        let mut line = serde_json::to_string(&record).unwrap();
        line.push('\n');
        line
    }

    fn pending() -> Pending {
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("log")).unwrap();
        Pending::new(file, 0)
    }

    /// The `time` field of a line.
    fn time_of(line: &str) -> String {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        v["time"].as_str().unwrap().to_owned()
    }

    #[test]
    fn direct_lines_are_the_bytes_serde_json_wrote() {
        let strings = [
            "plain",
            "",
            "quote\"back\\slash'apostrophe",
            "tab\tnl\ncr\rbs\u{8}ff\u{c}nul\0esc\u{1b}us\u{1f}del\u{7f}",
            "é ü 日本 \u{301}combining \u{200b}zero-width 😀",
            "/tmp/a b/c",
        ];
        let policies: Vec<String> = strings.iter().map(|s| (*s).to_owned()).collect();
        let mut p = pending();
        let mut lines = 0;
        for s in strings {
            let path = CanonicalPath::new(&format!("/tmp/{}", s.replace('/', "_")))
                .unwrap_or_else(|_| CanonicalPath::new("/tmp/x").unwrap());
            let resources = [
                Resource::file(&path),
                Resource::dir(&path),
                Resource::new("network::url", format!("https://h/{s}")),
            ];
            for resource in &resources {
                for (allow, enforced, script, job, errors) in [
                    (true, true, None, None, &[][..]),
                    (
                        false,
                        true,
                        Some(Position {
                            file: Some(s),
                            line: 7,
                            column: 4_294_967_295,
                        }),
                        Some(s),
                        &policies[..],
                    ),
                    (
                        false,
                        false,
                        Some(Position {
                            file: None,
                            line: 1,
                            column: 0,
                        }),
                        None,
                        &[][..],
                    ),
                ] {
                    let d = DecisionLine {
                        time: SystemTime::now(),
                        principal: s,
                        action: fs::READ,
                        resource,
                        allow,
                        enforced,
                        reason: "no_permit",
                        policies: &policies[..lines % policies.len()],
                        errors,
                        script,
                        job,
                    };
                    // Twice: the second line reuses what the first one cached.
                    for _ in 0..2 {
                        p.buf.clear();
                        p.push_decision(&d, false).unwrap();
                        let got = String::from_utf8(p.buf.clone()).unwrap();
                        assert_eq!(got, through_serde(&d, &time_of(&got)));
                    }
                    lines += 1;
                }
            }
        }
    }

    /// A queued decision's line is byte for byte the line `push_decision` makes of it,
    /// whether its middle is made, copied from a recent line, or made again after being
    /// pushed out (more distinct requests than kept middles), and when the principal,
    /// script or position change.
    #[test]
    fn queued_lines_are_the_bytes_of_direct_lines() {
        let policies: Vec<Arc<[String]>> = vec![
            Arc::from(vec!["policy0".to_owned()]),
            Arc::from(vec!["a".to_owned(), "b\"q".to_owned()]),
        ];
        let (mut queued, mut direct) = (pending(), pending());
        // Each round is one drain: its subjects, numbered as the queue numbers them.
        for round in 0..3 {
            let ctx = QueueContext {
                id: round,
                principal: if round == 2 { "bob" } else { "alice" }.to_owned(),
                script: (round > 0).then(|| "s.rhai".to_owned()),
                job: None,
            };
            let mut both = Both::drain_for(&ctx, queued, direct);
            let mut subjects: Vec<((usize, usize), Subject)> = Vec::new();
            for i in 0..(3 * MAX_MIDDLES) {
                let key = (i % (MAX_MIDDLES + 3), i % 2);
                let index = match subjects.iter().position(|(k, _)| *k == key) {
                    Some(index) => index,
                    None => {
                        let path = CanonicalPath::new(&format!("/d/f{}", key.0)).unwrap();
                        let subject = Subject {
                            resource: Resource::file(&path),
                            policies: Arc::clone(&policies[key.1]),
                        };
                        subjects.push((key, subject));
                        subjects.len() - 1
                    }
                };
                let subject = &subjects[index].1;
                let item = Queued {
                    time: SystemTime::now(),
                    action: if i % 3 == 0 { fs::OPEN } else { fs::READ },
                    subject: index,
                    at: (u32::try_from(i % 7).unwrap(), 4),
                };
                both.check(&item, subject, &ctx, &format!("round {round}, line {i}"));
            }
            (queued, direct) = (both.queued, both.direct);
        }
    }

    /// One queued and one direct log of the same decisions, for tests that hold the two
    /// alike: `found` is the queued side's drain memory.
    struct Both {
        queued: Pending,
        direct: Pending,
        found: Found,
    }

    impl Both {
        /// A new drain for `ctx` on the queued side.
        fn drain_for(ctx: &QueueContext, queued: Pending, direct: Pending) -> Self {
            let mut both = Self {
                queued,
                direct,
                found: Found::default(),
            };
            both.queued.settle(ctx);
            both
        }

        /// Formats `item` queued and the same decision direct, and checks that the two
        /// lines are the same bytes.
        fn check(&mut self, item: &Queued, subject: &Subject, ctx: &QueueContext, what: &str) {
            let line = DecisionLine {
                time: item.time,
                principal: &ctx.principal,
                action: item.action,
                resource: &subject.resource,
                allow: true,
                enforced: true,
                reason: "permit",
                policies: &subject.policies,
                errors: &[],
                script: (item.at.0 > 0).then_some(Position {
                    file: ctx.script.as_deref(),
                    line: item.at.0,
                    column: item.at.1,
                }),
                job: None,
            };
            self.queued.buf.clear();
            self.direct.buf.clear();
            let found = &mut self.found;
            self.queued.push_queued(item, subject, ctx, found).unwrap();
            self.direct.push_decision(&line, false).unwrap();
            assert_eq!(
                String::from_utf8(self.queued.buf.clone()).unwrap(),
                String::from_utf8(self.direct.buf.clone()).unwrap(),
                "{what}"
            );
        }
    }

    /// A line asked again right after its kept middle was replaced by a new one (the
    /// kept middles full) gets its own middle, not the new one in its old slot.
    #[test]
    fn a_replaced_middle_is_not_reused() {
        let policies: Arc<[String]> = Arc::from(vec!["p".to_owned()]);
        let ctx = QueueContext {
            id: 1,
            principal: "alice".to_owned(),
            script: Some("s.rhai".to_owned()),
            job: None,
        };
        let subjects: Vec<Subject> = (0..=MAX_MIDDLES)
            .map(|k| Subject {
                resource: Resource::file(&CanonicalPath::new(&format!("/d/f{k}")).unwrap()),
                policies: Arc::clone(&policies),
            })
            .collect();
        // Every kept middle made, the first asked again, then one more (which takes the
        // first one's slot), then the first again.
        let mut order: Vec<usize> = (0..MAX_MIDDLES).collect();
        order.extend([0, MAX_MIDDLES, 0, MAX_MIDDLES]);
        let mut both = Both::drain_for(&ctx, pending(), pending());
        for (n, &k) in order.iter().enumerate() {
            let subject = &subjects[k];
            let item = Queued {
                time: SystemTime::now(),
                action: fs::OPEN,
                subject: k,
                at: (u32::try_from(n + 1).unwrap(), 1),
            };
            both.check(&item, subject, &ctx, &format!("line {n} (subject {k})"));
        }
    }

    #[test]
    fn time_is_what_jiff_displays() {
        let mut clock = None;
        let base = jiff::Timestamp::now().as_second();
        for (s, n) in [
            (base, 0),
            (base, 1),
            (base, 10),
            (base, 100_000_000),
            (base, 120_000_000),
            (base, 999_999_999),
            (base, 123_456_789),
            (base, 500_000),
            (base + 1, 7),
            (base + 1, 0),
            (0, 0),
            (0, 5),
            (4_102_444_800, 999_999_999),
        ] {
            let t = jiff::Timestamp::new(s, i32::try_from(n).unwrap()).unwrap();
            let mut b = Vec::new();
            push_time(&mut b, &mut clock, s, n);
            assert_eq!(String::from_utf8(b).unwrap(), t.to_string(), "{s}.{n}");
        }
    }

    #[test]
    fn word_checks_agree_with_byte_checks() {
        let escape = |c: u8| c < 0x20 || c == b'"' || c == b'\\';
        let plain = |c: u8| (0x20..0x7f).contains(&c) && c != b'"' && c != b'\\' && c != b'\'';
        for len in [0usize, 1, 7, 8, 9, 15, 16, 17, 24] {
            for pos in 0..len.max(1) {
                for c in 0..=255u8 {
                    for fill in [b'a', b'~', b' ', 0x80, 0x1f, 0x21, 0xff] {
                        let mut v = vec![fill; len];
                        if let Some(x) = v.get_mut(pos) {
                            *x = c;
                        }
                        assert_eq!(needs_json_escape(&v), v.iter().any(|&b| escape(b)), "{v:?}");
                        assert_eq!(is_plain_id(&v), v.iter().all(|&b| plain(b)), "{v:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn decimal_u32() {
        for n in [0, 1, 9, 10, 99, 100, 12_345, u32::MAX] {
            let mut b = Vec::new();
            push_u32(&mut b, n);
            assert_eq!(String::from_utf8(b).unwrap(), n.to_string());
        }
    }
}
