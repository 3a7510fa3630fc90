//! The embedded rex Cedar schema.
//!
//! The source is the Cedar-syntax text ([`SCHEMA_TEXT`], `schema/rex.cedarschema`). The
//! runner builds the schema from the same schema in Cedar's JSON form
//! (`schema/rex.cedarschema.json`), checked in next to it: Cedar parses its schema syntax
//! with a LALRPOP grammar whose lexer builds a regex DFA per identifier (29 million
//! instructions for this 3.5 KB text, three quarters of a trivial run's start-up), while
//! the JSON form is read with serde. In the JSON form every action group an action is a
//! member of names its type (`"type": "Action"`): Cedar fills a missing type in by parsing
//! the name `Action` with that same grammar, once per reference (1.7 million of a trivial
//! run's 25 million instructions). The test `json_form_equals_the_cedar_text` proves the
//! two forms are the same schema, and rewrites the JSON form with `REX_BLESS_SCHEMA=1`
//! after an edit of the text.
//!
//! A policy set is validated, and its gate decides, against the schema cut to the actions
//! the set names (and the entity types of the namespaces they need) when every policy
//! names its actions explicitly (most policies do: a trivial run's policy names two of the
//! 40 actions). Cedar builds a schema and validates
//! a policy in time that grows with the schema's actions; the cut took a trivial run's
//! start-up from 5.5 to 4.5 ms here. Which actions are kept, and why a set then validates
//! exactly as against the whole schema, is in `subset.rs`; a set with an unconstrained
//! `action` uses the whole schema ([`schema`]), built once per process.

use std::collections::BTreeSet;
use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Sender, TryRecvError, channel};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;

use cedar_policy::{Schema, Validator};

mod subset;

use subset::{ActionName, Named};

/// The schema text, compatible with the original REX schema (additions only).
pub const SCHEMA_TEXT: &str = include_str!("schema/rex.cedarschema");

/// [`SCHEMA_TEXT`] in Cedar's JSON schema form, what [`schema`] is built from.
pub const SCHEMA_JSON: &str = include_str!("schema/rex.cedarschema.json");

/// The name of the threads that build schemas while the main thread goes on ([`prewarm`]
/// and [`crate::Policies::load_files_meanwhile`]; what `/proc/self/task/*/comm` shows).
pub const PREWARM_THREAD: &str = "rex-schema";

/// The whole schema, with its validator (which owns it).
static FULL: OnceLock<Result<Validator, String>> = OnceLock::new();

fn full() -> Result<&'static Validator, String> {
    FULL.get_or_init(|| {
        Schema::from_json_str(SCHEMA_JSON)
            .map(Validator::new)
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// The parsed schema, built once per process (a caller that arrives while another thread
/// builds it waits for that build).
pub fn schema() -> Result<&'static Schema, String> {
    full().map(Validator::schema)
}

/// Whether the whole schema is built in this process (one still building is not). A
/// policy set that names its actions is validated against a cut of it instead (see
/// [`crate::Policies`]), which does not count.
pub fn is_built() -> bool {
    FULL.get().is_some()
}

/// Starts warming Cedar up on a new thread: its lexer, its table of extension functions
/// and the code of a schema build, which every schema build and policy parse needs first.
/// The thread then waits for one schema to build: the first policy load of the process
/// hands it the schema it needs (see [`crate::Policies::load_files_meanwhile`]), and
/// builds it itself if the thread has not started it by the time it needs it. `None`
/// when this process is warm already, when a warm thread waits already (whoever started
/// it joins it), or when no thread can be started (a load then builds its schema on a
/// thread of its own, or itself).
///
/// The thread authorizes nothing, touches nothing outside the process, and runs no script
/// code: the runner applies the sandbox while it runs (Landlock restricts only the calling
/// thread and the threads it starts later; this one ends, and is joined with
/// [`Prewarm::join`] before the script starts).
pub fn prewarm() -> Option<Prewarm> {
    let waiting = WAITING.lock().is_ok_and(|w| w.is_some());
    if waiting || WARM.load(Ordering::Acquire) {
        return None;
    }
    let (jobs, inbox) = channel::<Arc<Job>>();
    let thread = spawn_helper(move || {
        // The embedded schema taken apart (which the main thread needs first, as soon as
        // the policy is parsed); a schema of one entity type and one action (Cedar builds
        // its extension table, compiles its lexer and its name regexes, and the build's
        // code is mapped); a policy validated against it (the validator's code and
        // tables). Each step is skipped once the job is there, or taken, or none will
        // come: the job's own build then pays for what the step would have prepared,
        // sooner. What the steps built is dropped after the job.
        let mut warm_schema = None;
        let mut validator = None;
        let mut step = 0;
        let job = loop {
            match inbox.try_recv() {
                Ok(job) => break job,
                Err(TryRecvError::Disconnected) => return,
                Err(TryRecvError::Empty) => {}
            }
            match step {
                0 => {
                    let _ = subset::warm_up();
                }
                1 => warm_schema = Schema::from_json_str(WARM_UP).ok(),
                2 => validator = warm_schema.take().and_then(warm_up_validation),
                _ => {
                    WARM.store(true, Ordering::Release);
                    match inbox.recv() {
                        Ok(job) => break job,
                        Err(_) => return,
                    }
                }
            }
            step += 1;
        };
        job.build_if_unclaimed();
        WARM.store(true, Ordering::Release);
        drop((warm_schema, validator));
    })
    .ok()?;
    if let Ok(mut waiting) = WAITING.lock() {
        *waiting = Some(jobs);
    }
    Some(Prewarm {
        thread: Some(thread),
    })
}

/// [`PREWARM_THREAD`] for `prctl(PR_SET_NAME)`.
const PREWARM_THREAD_C: &CStr = c"rex-schema";

/// Starts `work` on a new thread named [`PREWARM_THREAD`] from its first instant: the
/// calling thread takes that name while it starts the thread (a new thread has its
/// creator's name until it first runs and names itself, which on a busy machine can take
/// milliseconds) and gets its own back right after. A kernel backstop that tells helper
/// threads from others by their name (`rex_sandbox::SandboxConfig::helper_threads`) thus
/// never takes an unscheduled helper for a thread outside the sandbox. An error, and no
/// thread, when the calling thread's name cannot be read or set: the caller then does
/// the work itself.
fn spawn_helper<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<JoinHandle<T>> {
    let own = rustix::thread::name()?;
    rustix::thread::set_name(PREWARM_THREAD_C)?;
    let spawned = std::thread::Builder::new()
        .name(PREWARM_THREAD.into())
        .spawn(work);
    if rustix::thread::set_name(&own).is_err() {
        // Cannot happen (a name of at most 15 bytes is always taken); were it to, this
        // thread would pass for a helper, so the process must not go on.
        std::process::abort();
    }
    // The caller goes on working: the helper runs at once where it was.
    if spawned.is_ok() {
        crate::cpu::leave_this_cpu();
    }
    spawned
}

/// A schema small enough to build in microseconds that goes through the steps of a real
/// build (a record attribute, an entity type reference, an action applying to it).
const WARM_UP: &str = r#"{"rex":{"entityTypes":{"E":{"shape":{"type":"Record","attributes":{"a":{"type":"String"}}}}},"actions":{"a":{"appliesTo":{"principalTypes":["E"],"resourceTypes":["E"],"context":{"type":"Record","attributes":{}}}}}}}"#;

/// A policy that validates against [`WARM_UP`] by the steps a rex policy takes (an
/// action scope, a resource type test, an attribute in a condition).
const WARM_UP_POLICY: &str = r#"permit(principal, action == rex::Action::"a", resource is rex::E) when { resource.a == "x" };"#;

/// Validates [`WARM_UP_POLICY`] against the [`WARM_UP`] schema: the first validation of
/// a process runs code and sets up tables that the next ones find ready. The validator,
/// to be dropped when nothing waits for this thread.
fn warm_up_validation(schema: Schema) -> Option<Validator> {
    let policies = WARM_UP_POLICY.parse::<cedar_policy::PolicySet>().ok()?;
    let validator = Validator::new(schema);
    let _ = validator.validate(&policies, cedar_policy::ValidationMode::Strict);
    Some(validator)
}

/// Whether a [`prewarm`] thread has warmed this process up.
static WARM: AtomicBool = AtomicBool::new(false);

/// A schema to build and policies to validate against it.
#[derive(Clone)]
pub(crate) struct Task {
    choice: Choice,
    shapes: cedar_policy::PolicySet,
}

/// A [`Task`] done: the schema, and whether the policies validate against it strictly
/// with neither errors nor warnings (`false` when it did not build).
pub(crate) struct Checked {
    pub(crate) schema: Result<PolicySchema, String>,
    pub(crate) clean: bool,
}

impl Task {
    /// The task of building `choice` and validating `shapes` against it.
    pub(crate) fn new(choice: Choice, shapes: cedar_policy::PolicySet) -> Self {
        Self { choice, shapes }
    }

    /// Builds the schema and validates the policies against it.
    pub(crate) fn run(self) -> Checked {
        let schema = self.choice.build();
        let clean = schema
            .as_ref()
            .is_ok_and(|built| crate::policies::validates_cleanly(built.validator(), &self.shapes));
        Checked { schema, clean }
    }
}

/// A [`Task`] handed to the warm thread, which either thread does: the warm thread if it
/// gets to it first, else the load itself when it needs the result. A helper thread that
/// no processor has run yet (a virtual CPU the host has not given back) then does not
/// hold the load up, and in that case no other thread has to wake it.
pub(crate) struct Job {
    state: Mutex<JobState>,
    changed: Condvar,
}

enum JobState {
    /// Nobody has started it.
    Queued(Box<Task>),
    /// The warm thread does it.
    Building,
    /// The warm thread did it.
    Built(Checked),
    /// The warm thread stopped without a result (it panicked), or the result is taken.
    Gone,
}

impl Job {
    fn new(task: Task) -> Self {
        Self {
            state: Mutex::new(JobState::Queued(Box::new(task))),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, JobState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// On the warm thread: does the task unless the load has taken the job; whether it
    /// did.
    fn build_if_unclaimed(&self) -> bool {
        let task = {
            let mut state = self.lock();
            match std::mem::replace(&mut *state, JobState::Building) {
                JobState::Queued(task) => task,
                other => {
                    *state = other;
                    return false;
                }
            }
        };
        /// Leaves the job `Gone` if the build unwinds, so that the load builds it.
        struct Unwinding<'a>(&'a Job);
        impl Drop for Unwinding<'_> {
            fn drop(&mut self) {
                let mut state = self.0.lock();
                if matches!(*state, JobState::Building) {
                    *state = JobState::Gone;
                    self.0.changed.notify_all();
                }
            }
        }
        let unwinding = Unwinding(self);
        let checked = task.run();
        *self.lock() = JobState::Built(checked);
        self.changed.notify_all();
        drop(unwinding);
        true
    }

    /// On the loading thread: the result and whether the task was done here (when the
    /// warm thread had not started it); `None` when the warm thread stopped without one.
    fn take(&self) -> Option<(Checked, bool)> {
        let mut state = self.lock();
        loop {
            match std::mem::replace(&mut *state, JobState::Gone) {
                JobState::Queued(task) => {
                    drop(state);
                    return Some((task.run(), true));
                }
                JobState::Built(checked) => return Some((checked, false)),
                JobState::Gone => return None,
                JobState::Building => {
                    *state = JobState::Building;
                    state = self
                        .changed
                        .wait(state)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
            }
        }
    }
}

/// The warm thread's inbox, while it waits for its one job.
static WAITING: Mutex<Option<Sender<Arc<Job>>>> = Mutex::new(None);

/// The thread [`prewarm`] started. Dropped without [`Prewarm::join`], the thread is told
/// that no schema will come, and ends on its own.
#[derive(Debug)]
pub struct Prewarm {
    thread: Option<JoinHandle<()>>,
}

impl Prewarm {
    /// Waits for the thread to end; if no load gave it a schema to build, tells it none
    /// will come.
    pub fn join(mut self) {
        release_warm_thread();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Prewarm {
    fn drop(&mut self) {
        release_warm_thread();
    }
}

/// Drops the warm thread's inbox: a thread still waiting for a job ends.
fn release_warm_thread() {
    if let Ok(mut waiting) = WAITING.lock() {
        waiting.take();
    }
}

/// A [`Task`] being done for a policy load while the load goes on.
pub(crate) enum Pending {
    /// Handed to the warm thread (or done by [`Pending::wait`] if it has not started).
    Warm(Arc<Job>, Task),
    /// On a thread of its own.
    Thread(JoinHandle<Checked>, Task),
    /// Not started (no thread could be): done by [`Pending::wait`].
    Here(Task),
}

impl Pending {
    /// Starts `task`: on the warm thread when one waits, else on a new thread named
    /// [`PREWARM_THREAD`].
    pub(crate) fn start(task: Task) -> Self {
        let warm = WAITING.lock().ok().and_then(|mut w| w.take());
        if let Some(jobs) = warm {
            let job = Arc::new(Job::new(task.clone()));
            if jobs.send(Arc::clone(&job)).is_ok() {
                return Self::Warm(job, task);
            }
        }
        let spawned = spawn_helper({
            let task = task.clone();
            move || task.run()
        });
        match spawned {
            Ok(thread) => Self::Thread(thread, task),
            Err(_) => Self::Here(task),
        }
    }

    /// The result (the task done here if its thread is gone without one).
    pub(crate) fn wait(self) -> Checked {
        match self {
            Self::Warm(job, task) => job
                .take()
                .map_or_else(|| task.run(), |(checked, _)| checked),
            Self::Thread(thread, task) => thread.join().unwrap_or_else(|_| task.run()),
            Self::Here(task) => task.run(),
        }
    }
}

/// Which schema a policy set is validated and decided against.
#[derive(Debug, Clone)]
pub(crate) enum Choice {
    /// The whole schema.
    Full,
    /// A cut of it: its JSON text and the actions it keeps.
    Cut(String, BTreeSet<ActionName>),
}

impl Choice {
    /// The choice for a set whose policies are `policies`, each with its JSON form when
    /// it has one: the cut to the actions they name when every one names its actions
    /// explicitly (see `subset`), else the whole schema.
    pub(crate) fn for_policies<'a>(
        policies: impl IntoIterator<Item = (&'a cedar_policy::Policy, Option<&'a serde_json::Value>)>,
    ) -> Self {
        let mut named = Named::default();
        for (policy, est) in policies {
            if matches!(
                policy.action_constraint(),
                cedar_policy::ActionConstraint::Any
            ) {
                return Self::Full;
            }
            match est {
                Some(est) if subset::scan(est, &mut named) => {}
                _ => return Self::Full,
            }
        }
        match subset::cut(&named) {
            Some((json, keep)) => Self::Cut(json, keep),
            None => Self::Full,
        }
    }

    /// Builds the chosen schema and its validator (the whole one once per process).
    pub(crate) fn build(self) -> Result<PolicySchema, String> {
        match self {
            Self::Full => full().map(PolicySchema::Full),
            Self::Cut(json, actions) => {
                let schema = Schema::from_json_str(&json).map_err(|e| e.to_string())?;
                Ok(PolicySchema::Cut(Arc::new(Cut {
                    validator: Validator::new(schema),
                    actions,
                })))
            }
        }
    }
}

/// The schema a loaded policy set was validated against, which its gate decides with.
#[derive(Debug, Clone)]
pub(crate) enum PolicySchema {
    /// The whole schema.
    Full(&'static Validator),
    /// The whole schema cut down to the actions the set names.
    Cut(Arc<Cut>),
}

/// A schema with only some of the actions (see `subset`).
#[derive(Debug)]
pub(crate) struct Cut {
    validator: Validator,
    actions: BTreeSet<ActionName>,
}

impl Cut {
    /// The kept actions as `namespace::Action::"id"`, sorted.
    pub(crate) fn action_names(&self) -> Vec<String> {
        self.actions
            .iter()
            .map(|(ns, id)| match ns.as_str() {
                "" => format!("Action::{}", serde_json::Value::String(id.clone())),
                ns => format!("{ns}::Action::{}", serde_json::Value::String(id.clone())),
            })
            .collect()
    }
}

impl PolicySchema {
    /// The validator over this schema.
    pub(crate) fn validator(&self) -> &Validator {
        match self {
            Self::Full(v) => v,
            Self::Cut(cut) => &cut.validator,
        }
    }

    /// The schema.
    pub(crate) fn schema(&self) -> &Schema {
        self.validator().schema()
    }

    /// Whether `namespace::Action::"name"` is an action of the whole schema that this
    /// schema left out: no policy of the set can match it (see `subset`), so a request
    /// for it is denied without asking Cedar.
    pub(crate) fn left_out(&self, namespace: &str, name: &str) -> bool {
        match self {
            Self::Full(_) => false,
            Self::Cut(cut) => {
                subset::declares(namespace, name)
                    && !cut
                        .actions
                        .contains(&(namespace.to_owned(), name.to_owned()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use cedar_policy::{Schema, SchemaFragment};

    /// The names of this process's threads, from `/proc/self/task/*/comm`.
    fn thread_names() -> Vec<String> {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .map(|n| n.trim_end().to_owned())
            .collect()
    }

    /// A helper shows the helper's name from its first instant, before any processor ran
    /// it, and its creator keeps its own name: on one processor the creator runs on after
    /// each spawn, so the helpers have not run when the names are read.
    #[test]
    fn helper_threads_have_their_name_before_they_first_run() {
        std::thread::spawn(|| {
            let mut one = rustix::thread::CpuSet::new();
            one.set(rustix::thread::sched_getcpu());
            rustix::thread::sched_setaffinity(None, &one).unwrap();
            rustix::thread::set_name(c"creator-probe").unwrap();
            let (go, wait) = std::sync::mpsc::channel::<()>();
            let wait = Arc::new(Mutex::new(wait));
            let helpers: Vec<_> = (0..20)
                .map(|_| {
                    let wait = Arc::clone(&wait);
                    super::spawn_helper(move || {
                        let _ = wait.lock().unwrap().recv();
                    })
                    .unwrap()
                })
                .collect();
            let names = thread_names();
            assert_eq!(
                rustix::thread::name().unwrap().to_str().unwrap(),
                "creator-probe"
            );
            assert_eq!(
                names.iter().filter(|n| *n == "creator-probe").count(),
                1,
                "{names:?}"
            );
            assert!(
                names.iter().filter(|n| *n == "rex-schema").count() >= 20,
                "{names:?}"
            );
            for _ in &helpers {
                go.send(()).unwrap();
            }
            for h in helpers {
                h.join().unwrap();
            }
        })
        .join()
        .unwrap();
    }

    /// A helper runs its work under its name, and running helpers show it in `/proc`
    /// (which the sandbox reads).
    #[test]
    fn helper_threads_run_their_work_under_their_name() {
        let own = std::thread::spawn(|| {
            super::spawn_helper(|| std::fs::read_to_string("/proc/thread-self/comm").unwrap())
                .unwrap()
                .join()
                .unwrap()
        });
        assert_eq!(own.join().unwrap(), "rex-schema\n");

        // Still running when the names are read.
        let helpers: Vec<_> = (0..4)
            .map(|_| {
                super::spawn_helper(|| std::thread::sleep(std::time::Duration::from_millis(300)))
                    .unwrap()
            })
            .collect();
        let names = thread_names();
        assert!(
            names.iter().filter(|n| *n == "rex-schema").count() >= 4,
            "{names:?}"
        );
        for h in helpers {
            h.join().unwrap();
        }
    }

    /// A set whose every policy names its actions gets the cut schema; an unconstrained
    /// `action`, an undeclared action or another mention of `Action` gets the whole one.
    #[test]
    fn the_choice_follows_the_actions_named() {
        use cedar_policy::Policy;
        let choice = |texts: &[&str]| {
            let policies: Vec<(Policy, serde_json::Value)> = texts
                .iter()
                .map(|t| {
                    let p = Policy::parse(None, *t).unwrap();
                    let est = p.to_json().unwrap();
                    (p, est)
                })
                .collect();
            super::Choice::for_policies(policies.iter().map(|(p, e)| (p, Some(e))))
        };
        let read = r#"permit(principal, action == file_system::Action::"read", resource);"#;
        let get = r#"permit(principal, action in [network::Action::"GET"], resource) when { context.method == "GET" };"#;
        match choice(&[read, get]) {
            super::Choice::Cut(_, keep) => {
                let mut kept: Vec<String> =
                    keep.iter().map(|(ns, id)| format!("{ns}::{id}")).collect();
                kept.sort();
                assert_eq!(
                    kept,
                    [
                        "file_system::SafeIO",
                        "file_system::read",
                        "network::GET",
                        "network::NetworkAction"
                    ]
                );
            }
            super::Choice::Full => panic!("expected a cut"),
        }
        for whole in [
            &[
                read,
                r#"forbid(principal, action, resource) when { context has x };"#,
            ][..],
            &[r#"permit(principal, action == file_system::Action::"raed", resource);"#][..],
            &[
                r#"permit(principal, action == file_system::Action::"read", resource) when { action is network::Action };"#,
            ][..],
        ] {
            assert!(
                matches!(choice(whole), super::Choice::Full),
                "{whole:?} should need the whole schema"
            );
        }
        // No JSON form (Cedar could not convert the policy): the whole schema.
        let p = Policy::parse(None, read).unwrap();
        assert!(matches!(
            super::Choice::for_policies([(&p, None)]),
            super::Choice::Full
        ));
    }

    /// A job the warm thread has not started is built by the load; one it has built is
    /// taken from it; one it is building is waited for. Either way the load gets one
    /// schema, built once.
    #[test]
    fn a_schema_job_is_built_by_whichever_thread_gets_to_it_first() {
        use super::{Choice, Job, Task};
        let full = || Task::new(Choice::Full, cedar_policy::PolicySet::new());
        // Not started: the warm thread (held back until the load has its schema) finds
        // it taken.
        let job = Arc::new(Job::new(full()));
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let warm = std::thread::spawn({
            let job = Arc::clone(&job);
            move || {
                wait.recv().unwrap();
                job.build_if_unclaimed()
            }
        });
        let (checked, here) = job.take().unwrap();
        assert!(here);
        assert!(checked.clean);
        assert!(std::ptr::eq(
            checked.schema.unwrap().schema(),
            super::schema().unwrap()
        ));
        go.send(()).unwrap();
        assert!(!warm.join().unwrap(), "the warm thread built it too");

        // Built by the warm thread first: taken from it.
        let job = Arc::new(Job::new(full()));
        let warm = std::thread::spawn({
            let job = Arc::clone(&job);
            move || job.build_if_unclaimed()
        });
        assert!(warm.join().unwrap());
        let (checked, here) = job.take().unwrap();
        assert!(!here);
        assert!(checked.schema.is_ok() && checked.clean);

        // Racing: exactly one of the two builds it, and the load gets that one.
        for _ in 0..50 {
            let job = Arc::new(Job::new(full()));
            let warm = std::thread::spawn({
                let job = Arc::clone(&job);
                move || job.build_if_unclaimed()
            });
            let (checked, here) = job.take().unwrap();
            assert!(checked.schema.is_ok());
            assert_ne!(here, warm.join().unwrap(), "built once, by one of them");
        }
    }

    /// The warm-up policy validates cleanly against the warm-up schema, so warming up
    /// goes through a whole validation.
    #[test]
    fn the_warm_up_policy_validates_against_the_warm_up_schema() {
        let schema = cedar_policy::Schema::from_json_str(super::WARM_UP).unwrap();
        let policies: cedar_policy::PolicySet = super::WARM_UP_POLICY.parse().unwrap();
        let checked = cedar_policy::Validator::new(schema)
            .validate(&policies, cedar_policy::ValidationMode::Strict);
        assert!(checked.validation_passed_without_warnings(), "{checked:?}");
    }

    /// A task says whether its policies validate against the schema it built.
    #[test]
    fn a_task_says_whether_its_policies_validate() {
        use super::{Choice, Task};
        let run = |text: &str| {
            let set: cedar_policy::PolicySet = text.parse().unwrap();
            Task::new(Choice::Full, set).run()
        };
        let ok = run(r#"permit(principal, action == file_system::Action::"read", resource);"#);
        assert!(ok.schema.is_ok() && ok.clean);
        let unknown = run(r#"permit(principal, action == file_system::Action::"fly", resource);"#);
        assert!(unknown.schema.is_ok() && !unknown.clean);
    }

    /// The first schema a load asks for goes to the warm thread (which builds it unless
    /// the load gets to it first); once the process is warm there is no second warm
    /// thread, and a load builds on a thread of its own. (A warm thread given no schema
    /// ends when joined: every runner test without a policy file.)
    #[test]
    fn the_first_schema_asked_for_goes_to_the_warm_thread() {
        use super::{Choice, Pending, Task, prewarm};
        let full = || Task::new(Choice::Full, cedar_policy::PolicySet::new());
        let warm = prewarm().unwrap();
        let pending = Pending::start(full());
        assert!(matches!(pending, Pending::Warm(..)));
        let built = pending.wait().schema.unwrap();
        assert!(std::ptr::eq(built.schema(), super::schema().unwrap()));
        warm.join();

        // Warm now: no second thread; a load builds on a thread of its own.
        assert!(prewarm().is_none());
        let pending = Pending::start(full());
        assert!(matches!(pending, Pending::Thread(..)));
        assert!(pending.wait().schema.is_ok());
    }

    /// The whole schema is built once per process.
    #[test]
    fn the_whole_schema_is_built_once() {
        let first = super::schema().unwrap();
        assert!(super::is_built());
        assert!(std::ptr::eq(first, super::schema().unwrap()));
    }

    /// The JSON form is exactly the translation of the text (compared as JSON values, so
    /// key order and layout do not matter), and both build schemas with the same entity
    /// types and actions.
    #[test]
    fn json_form_equals_the_cedar_text() {
        let (fragment, _warnings) = SchemaFragment::from_cedarschema_str(super::SCHEMA_TEXT)
            .expect("the schema text parses");
        let mut from_text = fragment.to_json_value().expect("the schema text converts");
        type_member_of(&mut from_text);
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/schema/rex.cedarschema.json"
        );
        if std::env::var_os("REX_BLESS_SCHEMA").is_some() {
            let mut text = serde_json::to_string_pretty(&from_text).unwrap();
            text.push('\n');
            std::fs::write(path, text).unwrap();
            return;
        }
        let checked_in: serde_json::Value = serde_json::from_str(super::SCHEMA_JSON).unwrap();
        assert!(
            checked_in == from_text,
            "{path} is not the JSON form of rex.cedarschema: regenerate it with \
             `REX_BLESS_SCHEMA=1 cargo test -p rex-policy --lib json_form_equals_the_cedar_text`"
        );
        let (text_schema, _) = Schema::from_cedarschema_str(super::SCHEMA_TEXT).unwrap();
        let json_schema = super::schema().unwrap();
        let names = |s: &Schema| {
            let mut types: Vec<String> = s.entity_types().map(ToString::to_string).collect();
            let mut actions: Vec<String> = s.actions().map(ToString::to_string).collect();
            types.sort();
            actions.sort();
            (types, actions)
        };
        assert_eq!(names(&text_schema), names(json_schema));
        // The same action groups: every action entity with the same parents.
        let groups = |s: &Schema| {
            let json = s.action_entities().unwrap().to_json_value().unwrap();
            let mut entities: Vec<String> = json
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    let mut parents: Vec<String> = e["parents"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(ToString::to_string)
                        .collect();
                    parents.sort();
                    format!("{} in {parents:?}", e["uid"])
                })
                .collect();
            entities.sort();
            entities
        };
        let text_groups = groups(&text_schema);
        assert!(
            text_groups
                .iter()
                .any(|e| e.contains(r#""id":"read""#) && e.contains("SafeIO"))
        );
        assert_eq!(text_groups, groups(json_schema));
    }

    /// Writes the implicit `"type": "Action"` into every `memberOf` entry without a type.
    fn type_member_of(schema: &mut serde_json::Value) {
        let namespaces = schema
            .as_object_mut()
            .into_iter()
            .flat_map(|o| o.values_mut());
        for ns in namespaces {
            let actions = ns.get_mut("actions").and_then(|a| a.as_object_mut());
            for action in actions.into_iter().flat_map(|a| a.values_mut()) {
                let groups = action.get_mut("memberOf").and_then(|m| m.as_array_mut());
                for group in groups.into_iter().flatten() {
                    if let Some(g) = group.as_object_mut() {
                        g.entry("type").or_insert_with(|| "Action".into());
                    }
                }
            }
        }
    }

    #[test]
    fn embedded_schema_parses_with_every_original_action() {
        let schema = super::schema().unwrap();
        let actions: Vec<String> = schema.actions().map(|a| a.to_string()).collect();
        for a in [
            r#"file_system::Action::"SafeIO""#,
            r#"file_system::Action::"read""#,
            r#"file_system::Action::"execute""#,
            r#"file_system::Action::"unmount""#,
            r#"network::Action::"GET""#,
            r#"network::Action::"connect""#,
            r#"sysinfo::Action::"resolve_hostname""#,
            r#"process_system::Action::"trace""#,
            r#"systemd::Action::"daemon_reload""#,
            r#"sysctl::Action::"load""#,
        ] {
            assert!(
                actions.iter().any(|x| x == a),
                "{a} missing from {actions:?}"
            );
        }
    }
}
