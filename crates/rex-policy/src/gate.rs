//! The `Gate`: the one place where a `Permit` is made.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, Request,
    RestrictedExpression,
};

use crate::action::Action;
use crate::audit::{AuditLog, DecisionLine, Position};
use crate::denied::{Denied, DenyReason, PolicyRef};
use crate::error::GateError;
use crate::index::ScopeIndex;
use crate::path::CanonicalPath;
use crate::policies::Policies;
use crate::principal::effective_user_name;
use crate::resource::{AttrValue, ContextEntity, DIR_TYPE, Resource};
use crate::schema::PolicySchema;

#[cfg(feature = "test-hooks")]
#[path = "test_hooks.rs"]
mod test_hooks;

/// What the gate does with a request the policy denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Refuse it (the default).
    #[default]
    Enforce,
    /// Allow it, and record in the decision log and counters that it would have been
    /// denied. For learning a policy; never for untrusted scripts on real hosts.
    Audit,
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "enforce" => Ok(Self::Enforce),
            "audit" => Ok(Self::Audit),
            other => Err(format!(
                "unknown mode `{other}` (expected `enforce` or `audit`)"
            )),
        }
    }
}

/// Proof that the gate allowed `action` on one resource. Only [`Gate::check`] makes one
/// (its fields are private), so an SDK function that takes a `Permit` cannot run without
/// the check. It authorizes exactly the resource it names, nothing else.
#[derive(Debug)]
pub struct Permit {
    action: Action,
    resource_id: Arc<str>,
    audited: bool,
}

impl Permit {
    /// The permitted action.
    pub fn action(&self) -> Action {
        self.action
    }

    /// The id of the permitted resource (for files: the canonical path).
    pub fn resource_id(&self) -> &str {
        &self.resource_id
    }

    /// True when the policy denied the request and audit mode let it through.
    pub fn audited(&self) -> bool {
        self.audited
    }
}

/// A decision [`Gate::preview`] found allowed and nobody has acted on yet: it is not a
/// `Permit` and authorizes nothing until [`Gate::confirm`] counts and logs it.
#[derive(Debug)]
#[must_use = "a preview authorizes nothing until `Gate::confirm` turns it into a `Permit`"]
pub struct Previewed<'r> {
    action: Action,
    resource: &'r Resource,
    decided: Decided,
}

/// Counts of decisions in this run. A denial the script caught is still counted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DecisionCounts {
    /// Requests allowed by the policy.
    pub allowed: u64,
    /// Requests refused.
    pub denied: u64,
    /// Requests the policy denies that audit mode let through.
    pub audited: u64,
    /// Requests whose evaluation failed (also counted in `denied` or `audited`).
    pub errors: u64,
}

/// Builds a [`Gate`].
#[derive(Debug, Default)]
pub struct GateBuilder {
    principal: Option<String>,
    mode: Mode,
    audit_log: Option<String>,
    script: Option<String>,
    job: Option<String>,
    record: bool,
    deny_mutating: bool,
    /// Test-only: an action whose checks are skipped (see `test_hooks`).
    #[cfg(feature = "test-hooks")]
    skip_check: Option<Action>,
}

impl GateBuilder {
    /// The principal's name (`User::"<name>"`). Default: the effective user's login name.
    #[must_use]
    pub fn principal(mut self, name: impl Into<String>) -> Self {
        self.principal = Some(name.into());
        self
    }

    /// Enforce (default) or audit.
    #[must_use]
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Append every decision to this JSON Lines file.
    #[must_use]
    pub fn audit_log(mut self, path: impl Into<String>) -> Self {
        self.audit_log = Some(path.into());
        self
    }

    /// The script file named in decision records.
    #[must_use]
    pub fn script(mut self, file: impl Into<String>) -> Self {
        self.script = Some(file.into());
        self
    }

    /// A job id named in decision records.
    #[must_use]
    pub fn job(mut self, id: impl Into<String>) -> Self {
        self.job = Some(id.into());
        self
    }

    /// Keep every request (for `rex policy learn`); read them with [`Gate::recorded`].
    #[must_use]
    pub fn record(mut self, on: bool) -> Self {
        self.record = on;
        self
    }

    /// Refuse every mutating action whatever the policy says (read-only learning: nothing
    /// on the host changes). The refusals are recorded as needed.
    #[must_use]
    pub fn deny_mutating(mut self, on: bool) -> Self {
        self.deny_mutating = on;
        self
    }

    /// Builds the gate over `policies`.
    pub fn build(self, policies: Policies) -> Result<Gate, GateError> {
        let schema = policies.schema().map_err(GateError::Schema)?;
        let principal_name = self.principal.unwrap_or_else(effective_user_name);
        if principal_name.is_empty() {
            return Err(GateError::EmptyPrincipal);
        }
        let user_type = type_name("User").map_err(GateError::Schema)?;
        let principal = EntityUid::from_type_name_and_id(user_type, EntityId::new(&principal_name));
        let principal_entity = Entity::new_no_attrs(principal.clone(), HashSet::new());
        let compiled = Compiled::new(&schema).map_err(GateError::Schema)?;
        let audit = match self.audit_log {
            Some(path) => Some(AuditLog::open(&path)?),
            None => None,
        };
        Ok(Gate {
            principal_name,
            principal,
            principal_entity,
            policies,
            schema,
            mode: self.mode,
            audit,
            script: self.script,
            job: self.job,
            position: AtomicU64::new(0),
            counts: Counters::default(),
            authorizer: Authorizer::new(),
            recorder: self.record.then(|| Mutex::new(Vec::new())),
            deny_mutating: self.deny_mutating,
            #[cfg(feature = "test-hooks")]
            skip_check: self.skip_check,
            compiled,
            memo: Mutex::new(Memo::default()),
            memo_hasher: foldhash::fast::RandomState::default(),
            id: NEXT_GATE_ID.fetch_add(1, Ordering::Relaxed),
        })
    }
}

/// The [`Gate::id`] of the next gate built in this process.
static NEXT_GATE_ID: AtomicU64 = AtomicU64::new(1);

#[derive(Debug, Default)]
struct Counters {
    allowed: AtomicU64,
    denied: AtomicU64,
    audited: AtomicU64,
    errors: AtomicU64,
}

/// Decides every request of one run against one validated policy set, for one principal
/// fixed at construction. The gate is the only maker of [`Permit`]s.
#[derive(Debug)]
pub struct Gate {
    principal_name: String,
    principal: EntityUid,
    principal_entity: Entity,
    policies: Policies,
    /// The schema the policies were validated against (maybe cut to their actions).
    schema: PolicySchema,
    mode: Mode,
    audit: Option<AuditLog>,
    script: Option<String>,
    job: Option<String>,
    position: AtomicU64,
    counts: Counters,
    authorizer: Authorizer,
    recorder: Option<Mutex<Vec<RecordedRequest>>>,
    deny_mutating: bool,
    #[cfg(feature = "test-hooks")]
    skip_check: Option<Action>,
    compiled: Compiled,
    memo: Mutex<Memo>,
    /// foldhash, seeded per gate: the memo is on the path of every request.
    memo_hasher: foldhash::fast::RandomState,
    /// Unique in this process (see [`Gate::id`]).
    id: u64,
}

/// What is invariant for the run, computed once at build.
#[derive(Debug)]
struct Compiled {
    action_uids: HashMap<Action, EntityUid>,
    action_entities: Vec<Entity>,
    types: HashMap<&'static str, EntityTypeName>,
    /// Built at the first request that is evaluated: a run that asks nothing (or only
    /// what the memo answers) never needs it, and a 10,000-policy index costs 1-2 ms.
    index: OnceLock<ScopeIndex>,
    /// The actions of the rex schema that the policies' schema left out (see
    /// [`PolicySchema::left_out`]).
    left_out: HashSet<Action>,
}

impl Compiled {
    fn new(policy_schema: &PolicySchema) -> Result<Self, String> {
        let schema = policy_schema.schema();
        let mut action_uids = HashMap::new();
        // One parse of `<namespace>::Action` per namespace (Cedar's parser is costly).
        let mut action_types: HashMap<&str, EntityTypeName> = HashMap::new();
        for a in crate::action::ALL {
            let ty = match action_types.get(a.namespace()) {
                Some(ty) => ty.clone(),
                None => {
                    let ty = type_name(&format!("{}::Action", a.namespace()))?;
                    action_types.insert(a.namespace(), ty.clone());
                    ty
                }
            };
            action_uids.insert(
                *a,
                EntityUid::from_type_name_and_id(ty, EntityId::new(a.name())),
            );
        }
        let action_entities = schema
            .action_entities()
            .map_err(|e| e.to_string())?
            .into_iter()
            .collect();
        let mut types = HashMap::new();
        for t in crate::resource::TYPES {
            types.insert(*t, type_name(t)?);
        }
        Ok(Self {
            action_uids,
            action_entities,
            types,
            index: OnceLock::new(),
            left_out: crate::action::ALL
                .iter()
                .filter(|a| policy_schema.left_out(a.namespace(), a.name()))
                .copied()
                .collect(),
        })
    }

    fn type_name(&self, name: &'static str) -> Result<EntityTypeName, String> {
        match self.types.get(name) {
            Some(t) => Ok(t.clone()),
            None => type_name(name),
        }
    }
}

/// A decision is a pure function of principal (fixed), policies (fixed), action, resource
/// (its attributes and, for files and directories, its ancestors, all carried by
/// `Resource`) and context, so it can be remembered for the run.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MemoKey {
    action: Action,
    resource: Resource,
    context: String,
}

/// An evaluated decision, shared between the memo and the callers.
type Decided = Arc<Result<Outcome, Vec<String>>>;

/// The remembered decisions, bucketed by a hash of the borrowed key: a lookup compares
/// the request's own action, resource and context with each entry of its bucket, so a
/// repeated request neither clones its resource nor the remembered outcome.
#[derive(Debug, Default)]
struct Memo {
    buckets: HashMap<u64, Vec<(MemoKey, Decided)>, foldhash::fast::RandomState>,
    len: usize,
}

impl Memo {
    fn get(
        &self,
        hash: u64,
        action: Action,
        resource: &Resource,
        context: &str,
    ) -> Option<Decided> {
        self.buckets.get(&hash)?.iter().find_map(|(k, d)| {
            (k.action == action && same_context(&k.context, context) && k.resource == *resource)
                .then(|| Arc::clone(d))
        })
    }

    fn insert(&mut self, hash: u64, key: MemoKey, decided: Decided) {
        if self.len >= MAX_MEMO {
            self.buckets.clear();
            self.len = 0;
        }
        self.buckets.entry(hash).or_default().push((key, decided));
        self.len += 1;
    }
}

/// Equality of two context keys; two empty ones (the usual case) without `memcmp`. An
/// empty `String`'s pointer is dangling, and glibc's `memcmp` reads even zero bytes with
/// a masked load there, which the CPU resolves with a slow assist: it was 6% of a `cat`
/// loop.
fn same_context(a: &str, b: &str) -> bool {
    a.len() == b.len() && (a.is_empty() || a == b)
}

/// Most remembered decisions; the memo is cleared when full.
const MAX_MEMO: usize = 65_536;

/// A request the gate saw, kept when recording (for learning policies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The action.
    pub action: Action,
    /// The resource uid as Cedar text.
    pub resource: String,
    /// Script line, when known.
    pub line: Option<u32>,
    /// Whether the policy allowed it.
    pub allowed: bool,
    /// Whether it was refused because read-only learning denies mutating actions.
    pub refused_read_only: bool,
}

/// The outcome of [`Gate::explain`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed by these permits.
    Allowed(Vec<PolicyRef>),
    /// Denied, with the reason and suggestion.
    Denied(Denied),
}

impl Gate {
    /// Starts building a gate.
    pub fn builder() -> GateBuilder {
        GateBuilder::default()
    }

    /// A number no other gate built in this process has (gates are counted from 1). It
    /// identifies the run for state an SDK keeps beside the gate (`rex-fs` keeps files a
    /// run's thread opened for reading, usable only by the same gate); it authorizes
    /// nothing.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The principal's name.
    pub fn principal(&self) -> &str {
        &self.principal_name
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The policies.
    pub fn policies(&self) -> &Policies {
        &self.policies
    }

    /// Writes the run's `run` record to the decision log (nothing without a log): the
    /// principal, mode, script, job and the kernel backstop in `sandbox`. Call it once,
    /// before the script's first operation. It authorizes nothing; a failed write is an
    /// error, so the caller can refuse to run (fail closed).
    pub fn log_run(&self, sandbox: &crate::audit::SandboxSummary) -> Result<(), GateError> {
        let Some(log) = &self.audit else {
            return Ok(());
        };
        let record = crate::audit::RunRecord {
            v: 1,
            event: "run",
            time: jiff::Timestamp::now().to_string(),
            principal: &self.principal_name,
            mode: match self.mode {
                Mode::Enforce => "enforce",
                Mode::Audit => "audit",
            },
            script: self.script.as_deref(),
            sandbox,
            job: self.job.as_deref(),
        };
        log.write_run(&record)
            .map_err(|source| GateError::AuditLog {
                path: log.path().to_owned(),
                source,
            })
    }

    /// Writes the decision-log lines still held (allowed decisions are held for at most
    /// [`crate::audit::FLUSH_INTERVAL`]; denials are written at once, and everything held
    /// is written when the gate is dropped). Nothing without a log. Authorizes nothing.
    pub fn flush_audit_log(&self) -> Result<(), GateError> {
        match &self.audit {
            Some(log) => log.flush().map_err(|source| GateError::AuditLog {
                path: log.path().to_owned(),
                source,
            }),
            None => Ok(()),
        }
    }

    /// Records where the script is, for the decision log. Called by the engine before
    /// each SDK call; 0 means unknown.
    pub fn set_position(&self, line: u32, column: u32) {
        self.position.store(
            (u64::from(line) << 32) | u64::from(column),
            Ordering::Relaxed,
        );
    }

    /// Decision counts so far.
    pub fn counts(&self) -> DecisionCounts {
        DecisionCounts {
            allowed: self.counts.allowed.load(Ordering::Relaxed),
            denied: self.counts.denied.load(Ordering::Relaxed),
            audited: self.counts.audited.load(Ordering::Relaxed),
            errors: self.counts.errors.load(Ordering::Relaxed),
        }
    }

    /// The requests seen so far, when built with [`GateBuilder::record`].
    pub fn recorded(&self) -> Vec<RecordedRequest> {
        self.recorder
            .as_ref()
            .and_then(|r| r.lock().ok().map(|v| v.clone()))
            .unwrap_or_default()
    }

    /// Decides a request without counting, logging or recording it, and says why: the
    /// permits that allowed it, or the denial with its reason and suggested permit. For
    /// `rex policy explain`, and for an SDK deciding whether to ask a further question
    /// (e.g. rex-net asking about each resolved address). It makes no `Permit`: whatever
    /// takes effect must still go through [`Gate::check`].
    pub fn explain(
        &self,
        action: Action,
        resource: &Resource,
        context: serde_json::Value,
    ) -> Verdict {
        match self.evaluate(action, resource, context, &[]).as_ref() {
            Ok(Outcome::Allow(ids)) => {
                Verdict::Allowed(ids.iter().map(|id| self.policy_ref(id)).collect())
            }
            Ok(Outcome::Deny(forbids)) if forbids.is_empty() => {
                Verdict::Denied(self.denied(action, resource, DenyReason::NoPermit))
            }
            Ok(Outcome::Deny(forbids)) => Verdict::Denied(self.denied(
                action,
                resource,
                DenyReason::Forbidden(forbids.iter().map(|id| self.policy_ref(id)).collect()),
            )),
            Err(errors) => Verdict::Denied(self.denied(
                action,
                resource,
                DenyReason::EvaluationError(errors.clone()),
            )),
        }
    }

    fn record(&self, action: Action, resource: &Resource, allowed: bool, refused_read_only: bool) {
        if let Some(recorder) = &self.recorder
            && let Ok(mut list) = recorder.lock()
        {
            let line = (self.position.load(Ordering::Relaxed) >> 32) as u32;
            list.push(RecordedRequest {
                action,
                resource: resource.to_string(),
                line: (line > 0).then_some(line),
                allowed,
                refused_read_only,
            });
        }
    }

    /// Asks whether the principal may perform `action` on `resource` with an empty context.
    pub fn check(&self, action: Action, resource: &Resource) -> Result<Permit, Denied> {
        self.check_with_context(
            action,
            resource,
            serde_json::Value::Object(Default::default()),
        )
    }

    /// Asks whether the principal may perform `action` on `resource` with `context` (a
    /// JSON object shaped as the schema declares for `action`). A context that does not fit
    /// the schema, like any other evaluation error, is a denial (fail closed).
    pub fn check_with_context(
        &self,
        action: Action,
        resource: &Resource,
        context: serde_json::Value,
    ) -> Result<Permit, Denied> {
        self.check_with_entities(action, resource, context, &[])
    }

    /// As [`Gate::check_with_context`], with entities the context refers to (the
    /// `arguments` and `environment` of `execute`).
    pub fn check_with_entities(
        &self,
        action: Action,
        resource: &Resource,
        context: serde_json::Value,
        context_entities: &[ContextEntity],
    ) -> Result<Permit, Denied> {
        #[cfg(feature = "test-hooks")]
        if let Some(permit) = self.skipped_check(action, resource) {
            return Ok(permit);
        }
        if self.deny_mutating && action.is_mutating() {
            self.record(action, resource, false, true);
            self.counts.denied.fetch_add(1, Ordering::Relaxed);
            let _ = self.log(action, resource, false, true, "read_only", &[], &[]);
            return Err(self.denied(action, resource, DenyReason::ReadOnlyLearning));
        }
        let decided = self.evaluate(action, resource, context, context_entities);
        self.record(
            action,
            resource,
            matches!(decided.as_ref(), Ok(Outcome::Allow(_))),
            false,
        );
        let (reason, determining) = match decided.as_ref() {
            Ok(Outcome::Allow(policies)) => return self.allow(action, resource, policies),
            Ok(Outcome::Deny(forbids)) if forbids.is_empty() => {
                (DenyReason::NoPermit, forbids.as_slice())
            }
            Ok(Outcome::Deny(forbids)) => {
                let refs = forbids.iter().map(|id| self.policy_ref(id)).collect();
                (DenyReason::Forbidden(refs), forbids.as_slice())
            }
            Err(errors) => {
                self.counts.errors.fetch_add(1, Ordering::Relaxed);
                (DenyReason::EvaluationError(errors.clone()), &[][..])
            }
        };
        let kind = match reason {
            DenyReason::NoPermit => "no_permit",
            DenyReason::Forbidden(_) => "forbid",
            DenyReason::EvaluationError(_) => "error",
            DenyReason::ReadOnlyLearning => "read_only",
        };
        let errors = match &reason {
            DenyReason::EvaluationError(e) => e.clone(),
            _ => Vec::new(),
        };
        let enforced = self.mode == Mode::Enforce;
        let logged = if self.audit.is_some() {
            self.log(
                action,
                resource,
                false,
                enforced,
                kind,
                determining,
                &errors,
            )
        } else {
            Ok(())
        };
        if enforced || logged.is_err() {
            self.counts.denied.fetch_add(1, Ordering::Relaxed);
            return Err(self.denied(action, resource, reason));
        }
        self.counts.audited.fetch_add(1, Ordering::Relaxed);
        Ok(Permit {
            action,
            resource_id: resource.shared_id(),
            audited: true,
        })
    }

    /// Decides `action` on `resource` (empty context) the way [`Gate::check`] would, but
    /// counts, records and logs nothing and makes no `Permit`. `Some` only when the policy
    /// allows it outright; `None` for a denial, an evaluation error, a request read-only
    /// learning refuses, and every request in audit mode that the policy denies, so a
    /// caller that gets `None` simply asks through [`Gate::check`].
    ///
    /// For an SDK function that must know a whole operation is allowed before its first
    /// side effect (`cat` opens the file for reading only then). Each preview that is
    /// acted on goes through [`Gate::confirm`], in the order `check` would have asked.
    pub fn preview<'r>(&self, action: Action, resource: &'r Resource) -> Option<Previewed<'r>> {
        #[cfg(feature = "test-hooks")]
        if self.skipped_check(action, resource).is_some() {
            return None;
        }
        if self.deny_mutating && action.is_mutating() {
            return None;
        }
        let decided = self.evaluate_plain(action, resource);
        matches!(decided.as_ref(), Ok(Outcome::Allow(_))).then_some(Previewed {
            action,
            resource,
            decided,
        })
    }

    /// Whether [`Gate::check`] of `action` on `resource` (empty context) would return a
    /// denial: the policy does not allow it (or evaluating it fails) and the gate enforces.
    /// Counts, records and logs nothing. For an SDK function that can answer a refused
    /// request without looking at the object first; the denial itself must still come
    /// from [`Gate::check`], which logs it.
    pub fn refuses(&self, action: Action, resource: &Resource) -> bool {
        #[cfg(feature = "test-hooks")]
        if self.skipped_check(action, resource).is_some() {
            return false;
        }
        if self.mode != Mode::Enforce {
            return false;
        }
        if self.deny_mutating && action.is_mutating() {
            return true;
        }
        !matches!(
            self.evaluate_plain(action, resource).as_ref(),
            Ok(Outcome::Allow(_))
        )
    }

    /// The (remembered) decision on `action` and `resource` with an empty context.
    fn evaluate_plain(&self, action: Action, resource: &Resource) -> Decided {
        self.evaluate(
            action,
            resource,
            serde_json::Value::Object(Default::default()),
            &[],
        )
    }

    /// Turns an allowed [`Gate::preview`] into its `Permit`, counting, recording and logging
    /// it exactly as [`Gate::check`] would have (the decision is not evaluated again). Fails
    /// only when the decision log cannot be written (fail closed, as `check`).
    pub fn confirm(&self, previewed: Previewed<'_>) -> Result<Permit, Denied> {
        let Previewed {
            action,
            resource,
            decided,
        } = previewed;
        self.record(action, resource, true, false);
        match decided.as_ref() {
            Ok(Outcome::Allow(policies)) => self.allow(action, resource, policies),
            // `preview` only makes a `Previewed` of an allowed decision.
            _ => Err(self.denied(action, resource, DenyReason::NoPermit)),
        }
    }

    /// Counts and logs an allowed request and makes its `Permit`.
    fn allow(
        &self,
        action: Action,
        resource: &Resource,
        policies: &Arc<[String]>,
    ) -> Result<Permit, Denied> {
        self.counts.allowed.fetch_add(1, Ordering::Relaxed);
        if let Some(log) = &self.audit {
            let packed = self.position.load(Ordering::Relaxed);
            let line = crate::audit::AllowedLine {
                context: self.id,
                principal: &self.principal_name,
                action,
                resource,
                policies,
                at: ((packed >> 32) as u32, (packed & 0xffff_ffff) as u32),
                script: self.script.as_deref(),
                job: self.job.as_deref(),
            };
            log.write_allowed(&line).map_err(|e| {
                let e = format!("cannot write audit log `{}`: {e}", log.path());
                self.denied(action, resource, DenyReason::EvaluationError(vec![e]))
            })?;
        }
        Ok(Permit {
            action,
            resource_id: resource.shared_id(),
            audited: false,
        })
    }

    fn denied(&self, action: Action, resource: &Resource, reason: DenyReason) -> Denied {
        Denied::new(
            self.principal_name.clone(),
            action,
            resource.clone(),
            reason,
        )
    }

    fn policy_ref(&self, id: &str) -> PolicyRef {
        match self.policies.origin(id) {
            Some(o) => PolicyRef {
                id: o.id.clone(),
                file: o.file.clone(),
                line: o.line,
                column: o.column,
            },
            None => PolicyRef {
                id: id.to_owned(),
                file: String::new(),
                line: 0,
                column: 0,
            },
        }
    }

    fn evaluate(
        &self,
        action: Action,
        resource: &Resource,
        context: serde_json::Value,
        context_entities: &[ContextEntity],
    ) -> Decided {
        let context_key = match &context {
            serde_json::Value::Object(m) if m.is_empty() && context_entities.is_empty() => {
                String::new()
            }
            other => format!("{other}{context_entities:?}"),
        };
        // The bucket hash covers the resource id, the action's name and the context, in
        // three writes; everything else (namespace, type, attributes, parent) is compared
        // in the bucket, which decides equality. Hashing the whole `Resource` and `Action`
        // (the path three times, 11 writes) was 1,200 instructions of SipHash per request,
        // a third of a remembered check.
        let hash = {
            let mut h = self.memo_hasher.build_hasher();
            h.write(resource.id().as_bytes());
            h.write(action.name().as_bytes());
            h.write(context_key.as_bytes());
            h.finish()
        };
        if let Ok(memo) = self.memo.lock()
            && let Some(decided) = memo.get(hash, action, resource, &context_key)
        {
            return decided;
        }
        let decided = Arc::new(self.evaluate_uncached(action, resource, context, context_entities));
        if let Ok(mut memo) = self.memo.lock() {
            let key = MemoKey {
                action,
                resource: resource.clone(),
                context: context_key,
            };
            memo.insert(hash, key, Arc::clone(&decided));
        }
        decided
    }

    fn evaluate_uncached(
        &self,
        action: Action,
        resource: &Resource,
        context: serde_json::Value,
        context_entities: &[ContextEntity],
    ) -> Result<Outcome, Vec<String>> {
        // The policies were validated against a schema cut to the actions they name, and
        // this is not one of them: no policy's scope matches it, so Cedar would deny with
        // no policy applying (and cannot be asked: the cut schema does not declare it).
        if self.compiled.left_out.contains(&action) {
            return Ok(Outcome::Deny(Vec::new()));
        }
        let action_uid = match self.compiled.action_uids.get(&action) {
            Some(uid) => uid.clone(),
            None => EntityUid::from_type_name_and_id(
                type_name(&format!("{}::Action", action.namespace())).map_err(|e| vec![e])?,
                EntityId::new(action.name()),
            ),
        };
        let (resource_uid, ancestors, entities) = self
            .entities(resource, context_entities)
            .map_err(|e| vec![e])?;
        let schema = self.schema.schema();
        let context = Context::from_json_value(context, Some((schema, &action_uid)))
            .map_err(|e| vec![format!("invalid context for {action}: {e}")])?;
        let request = Request::new(
            self.principal.clone(),
            action_uid,
            resource_uid.clone(),
            context,
            Some(schema),
        )
        .map_err(|e| vec![format!("invalid request: {e}")])?;
        let ancestors: Vec<(&str, &str)> =
            ancestors.iter().map(|d| (DIR_TYPE, d.as_str())).collect();
        let slice = self
            .compiled
            .index
            .get_or_init(|| ScopeIndex::new(&self.policies))
            .slice(
                &self.policies,
                (resource.type_name(), resource.id()),
                &ancestors,
            )
            .map_err(|e| vec![e])?;
        let response = self.authorizer.is_authorized(&request, &slice, &entities);
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(ToString::to_string)
            .collect();
        let determining: Vec<String> = response
            .diagnostics()
            .reason()
            .map(ToString::to_string)
            .collect();
        match response.decision() {
            Decision::Allow => Ok(Outcome::Allow(determining.into())),
            Decision::Deny if !errors.is_empty() && determining.is_empty() => Err(errors),
            Decision::Deny => Ok(Outcome::Deny(determining)),
        }
    }

    /// The resource's entity, its ancestor directories up to `/`, the principal and the
    /// schema's action entities (for `action in` groups). Attributes are built by rex from
    /// typed values, so the entities are not re-validated against the schema per request.
    fn entities(
        &self,
        resource: &Resource,
        context_entities: &[ContextEntity],
    ) -> Result<(EntityUid, Vec<CanonicalPath>, Entities), String> {
        let uid = EntityUid::from_type_name_and_id(
            self.compiled.type_name(resource.type_name())?,
            EntityId::new(resource.id()),
        );
        let mut all = Vec::with_capacity(self.compiled.action_entities.len() + 8);
        all.extend(self.compiled.action_entities.iter().cloned());
        let mut ancestors = Vec::new();
        let mut parents = HashSet::new();
        let dir_type = self.compiled.type_name(DIR_TYPE)?;
        if let Some(parent) = resource.parent_dir() {
            parents.insert(dir_uid(&dir_type, &parent));
            let mut dir = Some(parent);
            while let Some(d) = dir {
                let up = d.parent();
                let mut dp = HashSet::new();
                if let Some(u) = &up {
                    dp.insert(dir_uid(&dir_type, u));
                }
                let attrs = HashMap::from([(
                    "path".to_owned(),
                    RestrictedExpression::new_string(d.as_str().to_owned()),
                )]);
                let d_uid = dir_uid(&dir_type, &d);
                ancestors.push(d.clone());
                all.push(Entity::new(d_uid, attrs, dp).map_err(|e| e.to_string())?);
                dir = up;
            }
        }
        let attrs = resource
            .path_attr()
            .map(|p| {
                (
                    "path".to_owned(),
                    RestrictedExpression::new_string(p.to_owned()),
                )
            })
            .into_iter()
            .chain(
                resource
                    .attrs()
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), restricted(v))),
            )
            .collect::<HashMap<_, _>>();
        all.push(Entity::new(uid.clone(), attrs, parents).map_err(|e| e.to_string())?);
        all.push(self.principal_entity.clone());
        for ce in context_entities {
            let ce_uid = EntityUid::from_type_name_and_id(
                self.compiled.type_name(ce.type_name)?,
                EntityId::new(&ce.id),
            );
            let attrs = ce
                .attrs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), restricted(v)))
                .collect::<HashMap<_, _>>();
            let tags = ce
                .tags
                .iter()
                .map(|(k, v)| (k.clone(), RestrictedExpression::new_string(v.clone())))
                .collect::<HashMap<_, _>>();
            all.push(
                Entity::new_with_tags(ce_uid, attrs, HashSet::new(), tags)
                    .map_err(|e| e.to_string())?,
            );
        }
        let entities = Entities::from_entities(all, None).map_err(|e| e.to_string())?;
        Ok((uid, ancestors, entities))
    }

    /// Appends the decision to the log (nothing without one), borrowing every part: the
    /// line is formatted straight into the log's buffer.
    #[allow(clippy::too_many_arguments)]
    fn log(
        &self,
        action: Action,
        resource: &Resource,
        allow: bool,
        enforced: bool,
        reason: &'static str,
        policies: &[String],
        errors: &[String],
    ) -> Result<(), String> {
        let Some(log) = &self.audit else {
            return Ok(());
        };
        let packed = self.position.load(Ordering::Relaxed);
        let (line, column) = ((packed >> 32) as u32, (packed & 0xffff_ffff) as u32);
        let script = (line > 0).then_some(Position {
            file: self.script.as_deref(),
            line,
            column,
        });
        let decision = DecisionLine {
            time: std::time::SystemTime::now(),
            principal: &self.principal_name,
            action,
            resource,
            allow,
            enforced,
            reason,
            policies,
            errors,
            script,
            job: self.job.as_deref(),
        };
        log.write_decision(&decision)
            .map_err(|e| format!("cannot write audit log `{}`: {e}", log.path()))
    }
}

#[derive(Debug, Clone)]
enum Outcome {
    Allow(Arc<[String]>),
    Deny(Vec<String>),
}

fn type_name(name: &str) -> Result<EntityTypeName, String> {
    EntityTypeName::from_str(name).map_err(|e| format!("bad entity type `{name}`: {e}"))
}

fn dir_uid(dir_type: &EntityTypeName, path: &CanonicalPath) -> EntityUid {
    EntityUid::from_type_name_and_id(dir_type.clone(), EntityId::new(path.as_str()))
}

fn restricted(v: &AttrValue) -> RestrictedExpression {
    match v {
        AttrValue::String(s) => RestrictedExpression::new_string(s.clone()),
        AttrValue::Long(n) => RestrictedExpression::new_long(*n),
        AttrValue::Bool(b) => RestrictedExpression::new_bool(*b),
        AttrValue::StringSet(items) => RestrictedExpression::new_set(
            items
                .iter()
                .map(|s| RestrictedExpression::new_string(s.clone())),
        ),
    }
}
