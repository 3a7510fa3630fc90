//! Loading policy files: parse, validate strictly against the rex schema, remember where
//! each policy came from.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use cedar_policy::{
    ActionConstraint, Effect, EntityId, EntityUid, Policy, PolicyId, PolicySet, ResourceConstraint,
    ValidationMode, Validator,
};
use serde_json::Value;

use crate::error::{PolicyError, SourceDiagnostic};
use crate::schema::{Choice, Pending, PolicySchema, Task};
use crate::statements::{self, Shape};

/// Where a policy was written, for explanations and the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyOrigin {
    /// The policy id (`@id("...")` when given, otherwise `policy<N>` in load order).
    pub id: String,
    /// The file it came from.
    pub file: String,
    /// 1-based line of its first character.
    pub line: usize,
    /// 1-based column of its first character.
    pub column: usize,
    /// `permit` or `forbid`.
    pub effect: Effect,
}

/// A validated policy set. Every policy in it type-checks against the rex schema in
/// Cedar's strict mode, so a typo in an action or entity type can never silently deny.
///
/// Loading is lazy where that is provably equivalent: the text is split into statements
/// and grouped by shape ([`crate::statements`]); one policy of each shape is parsed and
/// validated at load, which decides parsing and validation for every policy of that shape,
/// and the others are parsed by Cedar when a request first needs them. A file with an
/// error of any kind is parsed and validated whole, policy by policy, so every problem is
/// reported with its location.
///
/// Holding `Policies` authorizes nothing; a [`crate::Gate`] decides with them. Clones
/// share one loaded set.
#[derive(Debug, Clone)]
pub struct Policies {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: Vec<Entry>,
    templates: Vec<Template>,
    /// Built when first asked for (explanations, denials): locating 10,000 policies in
    /// their text is work a run that is never denied does not need.
    origins: OnceLock<HashMap<String, PolicyOrigin>>,
    warnings: Vec<SourceDiagnostic>,
    sources: Vec<(String, String)>,
    /// Every policy id, one after the other (an entry's `id` is a range of it).
    ids: String,
    /// The slots of every policy (an entry's `slots` is a range of it).
    slots: Vec<Range<usize>>,
    /// The prefix of the slot markers in the templates' entity ids (`{marker}{k}`).
    marker: String,
    set: OnceLock<PolicySet>,
    /// The schema the set was validated against (unset: no policies, the whole schema).
    schema: OnceLock<PolicySchema>,
}

/// One policy of the set.
#[derive(Debug)]
struct Entry {
    /// Its id: a range of `Inner::ids`.
    id: Range<usize>,
    /// Index into `sources`, and the statement's byte range there.
    source: usize,
    span: Range<usize>,
    template: usize,
    /// Byte ranges in the source of the contents of this policy's slots: a range of
    /// `Inner::slots`.
    slots: Range<usize>,
    /// Boxed: most policies are never parsed, and 10,000 entries stay small.
    policy: OnceLock<Box<Result<Policy, String>>>,
}

impl Inner {
    /// The id of `entry`.
    fn id(&self, entry: &Entry) -> &str {
        self.ids.get(entry.id.clone()).unwrap_or_default()
    }

    /// The byte ranges of `entry`'s slots.
    fn slots(&self, entry: &Entry) -> &[Range<usize>] {
        self.slots.get(entry.slots.clone()).unwrap_or_default()
    }
}

/// The parsed policy of one shape: entity ids are markers standing for each policy's
/// slots (or, for a shape of one policy, that policy itself).
#[derive(Debug)]
struct Template {
    policy: Policy,
    marked: bool,
    json: OnceLock<Option<Value>>,
    /// The entity type of the one resource the policies of this shape can match, and
    /// where its id is (see [`Policies::index_key`]).
    key: Option<(String, KeyId)>,
}

/// Where the id of a policy's [`Template::key`] is.
#[derive(Debug)]
enum KeyId {
    /// In the policy's slot `k`.
    Slot(usize),
    /// The same for every policy of the shape.
    Literal(String),
}

impl Policies {
    /// No policies: every request is denied.
    pub fn empty() -> Self {
        Self {
            inner: Arc::new(Inner::default()),
        }
    }

    /// Reads and validates one policy file.
    pub fn load_file(path: &str) -> Result<Self, PolicyError> {
        Self::load_files(&[path])
    }

    /// Reads and validates several policy files as one set.
    pub fn load_files<S: AsRef<str>>(paths: &[S]) -> Result<Self, PolicyError> {
        Self::from_owned_sources(read_sources(paths)?)
    }

    /// Validates policy text; `name` is used in diagnostics in place of a file name.
    pub fn from_text(name: &str, text: &str) -> Result<Self, PolicyError> {
        Self::from_owned_sources(vec![(name.to_owned(), text.to_owned())])
    }

    /// Validates `(name, text)` pairs as one set. Every parse error of every file is
    /// reported, then every validation error.
    pub fn from_sources(sources: &[(String, String)]) -> Result<Self, PolicyError> {
        Self::from_owned_sources(sources.to_vec())
    }

    fn from_owned_sources(sources: Vec<(String, String)>) -> Result<Self, PolicyError> {
        Self::load_meanwhile(sources, |_| (), false).map(|(policies, ())| policies)
    }

    /// Like [`Policies::load_files`], and calls `meanwhile` once with the parsed set
    /// while the schema its validation needs builds on another thread (named
    /// [`crate::schema::PREWARM_THREAD`], joined before this returns): work that needs the
    /// policies but not their validation, such as applying the kernel backstop they
    /// imply, then overlaps the schema build.
    ///
    /// `meanwhile` may see a set that turns out not to validate; its result is returned
    /// only with a set that does. On an error it may or may not have run. Files with an
    /// error take the slow path (see [`Policies`]), where `meanwhile` runs after
    /// validation.
    pub fn load_files_meanwhile<S: AsRef<str>, T>(
        paths: &[S],
        meanwhile: impl FnOnce(&Policies) -> T,
    ) -> Result<(Self, T), PolicyError> {
        Self::load_meanwhile(read_sources(paths)?, meanwhile, true)
    }

    /// The load; with `helper`, the schema builds on a helper thread while `meanwhile`
    /// runs, else on this thread after it.
    fn load_meanwhile<T, F: FnOnce(&Policies) -> T>(
        sources: Vec<(String, String)>,
        meanwhile: F,
        helper: bool,
    ) -> Result<(Self, T), PolicyError> {
        let Some(shaped) = parse_by_shape(&sources)? else {
            return whole_meanwhile(sources, meanwhile);
        };
        let choice =
            Choice::for_policies(shaped.inner.templates.iter().map(|t| (&t.policy, t.json())));
        let policies = Self {
            inner: Arc::new(Inner {
                sources,
                ..shaped.inner
            }),
        };
        // Ran, or still to run (a set with a duplicate id is never handed out).
        let early = |meanwhile: F| -> Result<T, F> {
            match shaped.duplicate {
                None => Ok(meanwhile(&policies)),
                Some(_) => Err(meanwhile),
            }
        };
        // The schema is built, and the shapes validated against it, meanwhile.
        let task = Task::new(choice, shaped.shapes);
        let (early, checked) = if helper {
            let pending = Pending::start(task);
            let early = early(meanwhile);
            (early, pending.wait())
        } else {
            (early(meanwhile), task.run())
        };
        let built = checked.schema.map_err(PolicyError::Schema)?;
        if checked.clean {
            let _ = policies.inner.schema.set(built);
            return match (shaped.duplicate, early) {
                (Some(id), _) => Err(PolicyError::DuplicateId(id)),
                (None, Ok(value)) => Ok((policies, value)),
                (None, Err(meanwhile)) => {
                    let value = meanwhile(&policies);
                    Ok((policies, value))
                }
            };
        }
        // Errors or warnings: the whole text against the whole schema, every problem
        // reported.
        let sources = match Arc::try_unwrap(policies.inner) {
            Ok(inner) => inner.sources,
            Err(shared) => shared.sources.clone(),
        };
        let (whole, value) = match early {
            Ok(value) => (load_whole(sources)?, value),
            Err(meanwhile) => return whole_meanwhile(sources, meanwhile),
        };
        Ok((
            Self {
                inner: Arc::new(whole),
            },
            value,
        ))
    }

    /// The schema the set was validated against, which its gate decides with: a cut of
    /// the rex schema to the actions the set names, or the whole schema.
    pub(crate) fn schema(&self) -> Result<PolicySchema, String> {
        match self.inner.schema.get() {
            Some(schema) => Ok(schema.clone()),
            None => Choice::Full.build(),
        }
    }

    /// The actions of the schema this set was validated against when that was the rex
    /// schema cut to the actions the set names (`namespace::Action::"id"`, sorted), or
    /// `None` when it was the whole schema. A request for an action of the rex schema that
    /// is not in the cut is denied without evaluating any policy: none can match it.
    pub fn cut_actions(&self) -> Option<Vec<String>> {
        match self.inner.schema.get()? {
            PolicySchema::Full(_) => None,
            PolicySchema::Cut(cut) => Some(cut.action_names()),
        }
    }

    /// The Cedar policy set, every policy parsed (on first call). For tools that look at
    /// every policy; the gate parses only the policies a request can match.
    pub fn set(&self) -> &PolicySet {
        self.inner.set.get_or_init(|| {
            let parsed = (0..self.inner.entries.len()).filter_map(|i| self.policy(i).ok().cloned());
            PolicySet::from_policies(parsed).unwrap_or_else(|_| PolicySet::new())
        })
    }

    /// Policy `i` (in load order), parsed on first use. An error means the text did not
    /// parse although a policy of the same shape did; a caller deciding with it must fail
    /// closed.
    pub(crate) fn policy(&self, i: usize) -> Result<&Policy, String> {
        let entry = self
            .inner
            .entries
            .get(i)
            .ok_or_else(|| format!("no policy number {i}"))?;
        entry
            .policy
            .get_or_init(|| {
                let text = self.text(entry, &entry.span).unwrap_or_default();
                let id = self.inner.id(entry);
                Box::new(
                    Policy::parse(Some(PolicyId::new(id)), text)
                        .map_err(|e| format!("policy `{id}` does not parse: {e}")),
                )
            })
            .as_ref()
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The resource (entity type, id) policy `i` can only match: the entity of its scope
    /// (`resource == E`, `resource in E`, `resource is T in E`) or of its only condition
    /// `when { resource == E }`. `None`: it may match any resource.
    pub(crate) fn index_key(&self, i: usize) -> Option<(&str, &str)> {
        let entry = self.inner.entries.get(i)?;
        let (ty, id) = self.inner.templates.get(entry.template)?.key.as_ref()?;
        let id = match id {
            KeyId::Literal(id) => id.as_str(),
            KeyId::Slot(k) => self.text(entry, self.inner.slots(entry).get(*k)?)?,
        };
        Some((ty.as_str(), id))
    }

    /// Every policy, in load order, without parsing it (see [`PolicyView`]).
    pub fn views(&self) -> impl Iterator<Item = PolicyView<'_>> {
        (0..self.inner.entries.len()).map(|i| PolicyView {
            policies: self,
            index: i,
        })
    }

    /// The id of policy `i` (in load order, as [`Policies::views`] gives them).
    pub fn id_of(&self, i: usize) -> Option<&str> {
        self.inner.entries.get(i).map(|e| self.inner.id(e))
    }

    /// Where policy `id` was written.
    pub fn origin(&self, id: &str) -> Option<&PolicyOrigin> {
        self.inner
            .origins
            .get_or_init(|| {
                let lines: Vec<LineIndex> = self
                    .inner
                    .sources
                    .iter()
                    .map(|(_, text)| LineIndex::new(text))
                    .collect();
                let mut origins = HashMap::with_capacity(self.inner.entries.len());
                for entry in &self.inner.entries {
                    let (Some((file, text)), Some(index)) = (
                        self.inner.sources.get(entry.source),
                        lines.get(entry.source),
                    ) else {
                        continue;
                    };
                    let (line, column) = index.line_col(text, entry.span.start);
                    let effect = self
                        .inner
                        .templates
                        .get(entry.template)
                        .map_or(Effect::Forbid, |t| t.policy.effect());
                    let id = self.inner.id(entry);
                    origins.insert(
                        id.to_owned(),
                        PolicyOrigin {
                            id: id.to_owned(),
                            file: file.clone(),
                            line,
                            column,
                            effect,
                        },
                    );
                }
                origins
            })
            .get(id)
    }

    /// Validator warnings (the set still loaded).
    pub fn warnings(&self) -> &[SourceDiagnostic] {
        &self.inner.warnings
    }

    /// A diagnostic pointing at the start of the policy at `origin`.
    pub fn diagnostic_at(
        &self,
        origin: &PolicyOrigin,
        message: String,
        help: Option<String>,
    ) -> SourceDiagnostic {
        let source_line = self
            .inner
            .sources
            .iter()
            .find(|(f, _)| *f == origin.file)
            .and_then(|(_, t)| t.lines().nth(origin.line.saturating_sub(1)))
            .unwrap_or_default()
            .to_owned();
        let width = source_line
            .chars()
            .count()
            .saturating_sub(origin.column.saturating_sub(1))
            .max(1);
        SourceDiagnostic {
            file: origin.file.clone(),
            line: origin.line,
            column: origin.column,
            message,
            help,
            source_line,
            width,
        }
    }

    /// Number of policies.
    pub fn len(&self) -> usize {
        self.inner.entries.len()
    }

    /// Whether there are no policies (everything is denied).
    pub fn is_empty(&self) -> bool {
        self.inner.entries.is_empty()
    }

    /// A slot marker of this set's templates resolved for policy `i`: the policy's own
    /// text in that slot; any other string unchanged.
    fn resolve<'a>(&'a self, i: usize, s: &'a str) -> &'a str {
        let Some(entry) = self.inner.entries.get(i) else {
            return s;
        };
        let marked = self
            .inner
            .templates
            .get(entry.template)
            .is_some_and(|t| t.marked);
        if !marked {
            return s;
        }
        slot_number(s, &self.inner.marker)
            .and_then(|k| self.inner.slots(entry).get(k))
            .and_then(|range| self.text(entry, range))
            .unwrap_or(s)
    }

    /// The text at `range` of `entry`'s source file.
    fn text(&self, entry: &Entry, range: &Range<usize>) -> Option<&str> {
        self.inner.sources.get(entry.source)?.1.get(range.clone())
    }

    fn template(&self, i: usize) -> Option<&Template> {
        let entry = self.inner.entries.get(i)?;
        self.inner.templates.get(entry.template)
    }
}

/// One policy as the sandbox planner and other readers of scopes see it, read from the
/// parsed policy of its shape with its own entity ids put back, so nothing is parsed per
/// policy. It authorizes nothing.
#[derive(Debug, Clone, Copy)]
pub struct PolicyView<'a> {
    policies: &'a Policies,
    index: usize,
}

impl<'a> PolicyView<'a> {
    /// The policy id.
    pub fn id(&self) -> &'a str {
        self.policies
            .inner
            .entries
            .get(self.index)
            .map_or("", |e| self.policies.inner.id(e))
    }

    /// The policy's position in load order (its number in [`Policies::views`]).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The policy's shape: policies with the same shape have the same effect, action
    /// constraint and constraint kinds (only entity ids differ), so a reader can work
    /// those out once per shape.
    pub fn shape(&self) -> usize {
        self.policies
            .inner
            .entries
            .get(self.index)
            .map_or(usize::MAX, |e| e.template)
    }

    /// `permit` or `forbid`.
    pub fn effect(&self) -> Effect {
        self.policies
            .template(self.index)
            .map_or(Effect::Forbid, |t| t.policy.effect())
    }

    /// The action constraint (action ids are never slots, so it is the shape's).
    pub fn action_constraint(&self) -> ActionConstraint {
        self.policies
            .template(self.index)
            .map_or(ActionConstraint::Any, |t| t.policy.action_constraint())
    }

    /// The resource constraint, with this policy's own entity id.
    pub fn resource_constraint(&self) -> ResourceConstraint {
        let Some(t) = self.policies.template(self.index) else {
            return ResourceConstraint::Any;
        };
        let own = |uid: &EntityUid| {
            EntityUid::from_type_name_and_id(
                uid.type_name().clone(),
                EntityId::new(self.policies.resolve(self.index, uid.id().unescaped())),
            )
        };
        match t.policy.resource_constraint() {
            ResourceConstraint::Eq(uid) => ResourceConstraint::Eq(own(&uid)),
            ResourceConstraint::In(uid) => ResourceConstraint::In(own(&uid)),
            ResourceConstraint::IsIn(ty, uid) => ResourceConstraint::IsIn(ty, own(&uid)),
            other => other,
        }
    }

    /// The entity (type, id) this policy can only match, when its scope or its only
    /// `when` condition pins the resource (see the gate's index).
    pub fn resource_entity(&self) -> Option<(&'a str, &'a str)> {
        self.policies.index_key(self.index)
    }

    /// The `conditions` of Cedar's JSON form of the policy, with this policy's own
    /// entity ids. Borrowed when they hold none of its slots.
    pub fn conditions_json(&self) -> Cow<'a, Value> {
        static NONE: Value = Value::Null;
        let Some(t) = self.policies.template(self.index) else {
            return Cow::Borrowed(&NONE);
        };
        let Some(conditions) = t.json().and_then(|j| j.get("conditions")) else {
            return Cow::Borrowed(&NONE);
        };
        if !t.marked || !mentions_marker(conditions, &self.policies.inner.marker) {
            return Cow::Borrowed(conditions);
        }
        let mut own = conditions.clone();
        substitute(&mut own, &|s| {
            let resolved = self.policies.resolve(self.index, s);
            (resolved != s).then(|| resolved.to_owned())
        });
        Cow::Owned(own)
    }
}

/// `k` when `s` is the marker of slot `k` (`{marker}{k}`).
fn slot_number(s: &str, marker: &str) -> Option<usize> {
    s.strip_prefix(marker)?.parse().ok()
}

fn mentions_marker(v: &Value, marker: &str) -> bool {
    match v {
        Value::String(s) => s.starts_with(marker),
        Value::Array(items) => items.iter().any(|x| mentions_marker(x, marker)),
        Value::Object(map) => map.values().any(|x| mentions_marker(x, marker)),
        _ => false,
    }
}

fn substitute(v: &mut Value, resolve: &dyn Fn(&str) -> Option<String>) {
    match v {
        Value::String(s) => {
            if let Some(own) = resolve(s) {
                *s = own;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|x| substitute(x, resolve)),
        Value::Object(map) => map.values_mut().for_each(|x| substitute(x, resolve)),
        _ => {}
    }
}

/// Every file's `(path, text)`, in order.
fn read_sources<S: AsRef<str>>(paths: &[S]) -> Result<Vec<(String, String)>, PolicyError> {
    let mut sources = Vec::with_capacity(paths.len());
    for path in paths {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.to_owned(),
            source,
        })?;
        sources.push((path.to_owned(), text));
    }
    Ok(sources)
}

/// [`load_whole`], then `meanwhile` on the loaded set.
fn whole_meanwhile<T>(
    sources: Vec<(String, String)>,
    meanwhile: impl FnOnce(&Policies) -> T,
) -> Result<(Policies, T), PolicyError> {
    let policies = Policies {
        inner: Arc::new(load_whole(sources)?),
    };
    let value = meanwhile(&policies);
    Ok((policies, value))
}

/// Whether the shapes of a set validate strictly with neither errors nor warnings. A
/// validated shape decides validation for every policy of that shape.
pub(crate) fn validates_cleanly(validator: &Validator, shapes: &PolicySet) -> bool {
    let checked = validator.validate(shapes, ValidationMode::Strict);
    checked.validation_errors().next().is_none() && checked.validation_warnings().next().is_none()
}

/// What [`parse_by_shape`] parsed: the set without its sources, the representative policy
/// of each shape (to validate), and the first duplicate id, if any.
struct Shaped {
    inner: Inner,
    shapes: PolicySet,
    duplicate: Option<String>,
}

/// The fast load (see [`Policies`]), without validation. `None` when a file cannot be
/// split or a shape does not parse: the caller then loads the whole text, which reports
/// every problem exactly. The returned `Inner` has no `sources` yet (the caller moves
/// them in).
fn parse_by_shape(sources: &[(String, String)]) -> Result<Option<Shaped>, PolicyError> {
    let mut split = Vec::with_capacity(sources.len());
    for (_, text) in sources {
        match statements::split(text) {
            Some(s) => split.push(s),
            None => return Ok(None),
        }
    }
    let marker = {
        let mut n = 0u32;
        loop {
            let m = format!("rex-slot-{n}-");
            if sources.iter().all(|(_, t)| !t.contains(&m)) {
                break m;
            }
            n += 1;
        }
    };
    // Group by shape; the first statement of a group is its representative.
    let total: usize = split.iter().map(|s| s.statements.len()).sum();
    let mut groups: foldhash::HashMap<&str, usize> = foldhash::HashMap::default();
    let mut reps: Vec<(usize, usize)> = Vec::new();
    let mut sizes: Vec<usize> = Vec::new();
    let mut group_of = Vec::with_capacity(total);
    for (f, file) in split.iter().enumerate() {
        let first = group_of.len();
        for (s, st) in file.statements.iter().enumerate() {
            let mut new_group = || {
                reps.push((f, s));
                sizes.push(0);
                reps.len() - 1
            };
            let g = match &st.shape {
                Shape::Text(shape) => *groups.entry(shape.as_str()).or_insert_with(new_group),
                // An earlier statement of this file, already grouped.
                Shape::Like(k) => match group_of.get(first + k) {
                    Some(g) => *g,
                    None => return Ok(None),
                },
                Shape::None => new_group(),
            };
            if let Some(n) = sizes.get_mut(g) {
                *n += 1;
            }
            group_of.push(g);
        }
    }
    let mut templates = Vec::with_capacity(reps.len());
    for (g, &(f, s)) in reps.iter().enumerate() {
        let (Some((_, text)), Some(file)) = (sources.get(f), split.get(f)) else {
            return Ok(None);
        };
        let Some(st) = file.statements.get(s) else {
            return Ok(None);
        };
        let marked = sizes.get(g).is_some_and(|n| *n > 1) && !st.slots.is_empty();
        let src = if marked {
            match statements::marked(text, st, file.slots(st), &marker) {
                Some(m) => m,
                None => return Ok(None),
            }
        } else {
            text.get(st.span.clone()).unwrap_or_default().to_owned()
        };
        let Ok(policy) = Policy::parse(Some(PolicyId::new(format!("{marker}shape{g}"))), src)
        else {
            return Ok(None);
        };
        templates.push(Template::new(policy, marked, &marker));
    }
    let shapes = PolicySet::from_policies(templates.iter().map(|t| t.policy.clone()));
    let Ok(shapes) = shapes else {
        return Ok(None);
    };

    // Ids: `@id("...")`, otherwise `policy<N>` in load order; all distinct. One string
    // for all of them.
    let mut ids = String::new();
    let mut id_ranges = Vec::with_capacity(total);
    let mut counter = 0usize;
    for (f, file) in split.iter().enumerate() {
        let text = sources.get(f).map_or("", |(_, t)| t.as_str());
        for st in &file.statements {
            let start = ids.len();
            match st.id_slot.and_then(|k| file.slots(st).get(k)) {
                Some(range) => ids.push_str(text.get(range.clone()).unwrap_or_default()),
                None => {
                    ids.push_str("policy");
                    push_decimal(&mut ids, counter);
                }
            }
            id_ranges.push(start..ids.len());
            counter += 1;
        }
    }
    let mut seen: foldhash::HashSet<&str> = foldhash::HashSet::default();
    seen.reserve(id_ranges.len());
    let duplicate = id_ranges
        .iter()
        .map(|range| ids.get(range.clone()).unwrap_or_default())
        .find(|id| !seen.insert(id))
        .map(str::to_owned);
    drop(seen);

    let mut entries = Vec::with_capacity(total);
    let mut slots = Vec::new();
    let mut id_ranges = id_ranges.into_iter();
    let statements = split.iter().enumerate().flat_map(|(f, file)| {
        file.statements
            .iter()
            .map(move |st| (f, st, file.slots(st)))
    });
    for ((f, st, own), template) in statements.zip(group_of) {
        let (Some(id), Some(t)) = (id_ranges.next(), templates.get(template)) else {
            return Ok(None);
        };
        let policy = OnceLock::new();
        if !t.marked {
            // The shape's policy is this policy: keep it, under its own id.
            let id = ids.get(id.clone()).unwrap_or_default();
            let _ = policy.set(Box::new(Ok(t.policy.new_id(PolicyId::new(id)))));
        }
        let first = slots.len();
        if t.marked {
            slots.extend_from_slice(own);
        }
        entries.push(Entry {
            id,
            source: f,
            span: st.span.clone(),
            template,
            slots: first..slots.len(),
            policy,
        });
    }
    Ok(Some(Shaped {
        inner: Inner {
            entries,
            templates,
            marker,
            ids,
            slots,
            ..Inner::default()
        },
        shapes,
        duplicate,
    }))
}

/// Appends `n` in decimal, as `write!(out, "{n}")` does without the formatting machinery
/// (10,000 default ids are written at load).
fn push_decimal(out: &mut String, n: usize) {
    let mut unit = 1;
    while n / unit >= 10 {
        unit *= 10;
    }
    while unit > 0 {
        let digit = u8::try_from(n / unit % 10).unwrap_or(0);
        out.push(char::from(b'0' + digit));
        unit /= 10;
    }
}

/// Loads every policy of every file, parsed whole by Cedar: the path for files with
/// errors (every one is reported) or validator warnings.
fn load_whole(sources: Vec<(String, String)>) -> Result<Inner, PolicyError> {
    let whole = Choice::Full.build().map_err(PolicyError::Schema)?;
    let mut ids = HashSet::new();
    let mut entries = Vec::new();
    let mut templates = Vec::new();
    let mut parse_errors = Vec::new();
    let mut invalid = Vec::new();
    let mut warnings = Vec::new();
    let mut counter = 0usize;
    let mut all_ids = String::new();

    for (f, (file, text)) in sources.iter().enumerate() {
        let parsed = match PolicySet::from_str(text) {
            Ok(set) => set,
            Err(errors) => {
                parse_errors.extend(errors.iter().map(|e| locate(file, text, e)));
                continue;
            }
        };
        if parsed.templates().next().is_some() {
            parse_errors.push(SourceDiagnostic {
                file: file.clone(),
                line: 1,
                column: 1,
                message: "policy templates (`?principal`, `?resource`) are not supported"
                    .to_owned(),
                help: Some("write the principal or resource literally".to_owned()),
                source_line: text.lines().next().unwrap_or_default().to_owned(),
                width: 1,
            });
            continue;
        }
        let mut file_set = PolicySet::new();
        let mut cursor = 0usize;
        for policy in parsed.policies() {
            // `annotations()` rather than `annotation("id")`, which parses its key
            // with Cedar's grammar on every call.
            let annotated = policy
                .annotations()
                .find_map(|(k, v)| (k == "id").then_some(v));
            let id = match annotated {
                Some(id) => id.to_owned(),
                None => format!("policy{counter}"),
            };
            counter += 1;
            let src = policy.to_cedar();
            let offset = src
                .and_then(|src| {
                    text.get(cursor..)
                        .and_then(|rest| rest.find(&src))
                        .map(|i| (i + cursor, src.len()))
                })
                .map(|(start, len)| {
                    cursor = start + len;
                    start
                })
                .unwrap_or(0);
            if !ids.insert(id.clone()) {
                return Err(PolicyError::DuplicateId(id));
            }
            let renamed: Policy = policy.new_id(PolicyId::new(&id));
            file_set
                .add(renamed.clone())
                .map_err(|_| PolicyError::DuplicateId(id.clone()))?;
            let cell = OnceLock::new();
            let _ = cell.set(Box::new(Ok(renamed.clone())));
            let start = all_ids.len();
            all_ids.push_str(&id);
            entries.push(Entry {
                id: start..all_ids.len(),
                source: f,
                span: offset..offset,
                template: templates.len(),
                slots: 0..0,
                policy: cell,
            });
            templates.push(Template::new(renamed, false, ""));
        }
        let result = whole
            .validator()
            .validate(&file_set, ValidationMode::Strict);
        invalid.extend(result.validation_errors().map(|e| locate(file, text, e)));
        warnings.extend(result.validation_warnings().map(|w| locate(file, text, w)));
    }
    if !parse_errors.is_empty() {
        return Err(PolicyError::Parse(parse_errors));
    }
    if !invalid.is_empty() {
        return Err(PolicyError::Invalid(invalid));
    }
    Ok(Inner {
        entries,
        templates,
        warnings,
        sources,
        ids: all_ids,
        schema: OnceLock::from(whole),
        ..Inner::default()
    })
}

impl Template {
    fn new(policy: Policy, marked: bool, marker: &str) -> Self {
        let json = OnceLock::new();
        let key_id = |id: &str| -> KeyId {
            match slot_number(id, marker).filter(|_| marked) {
                Some(k) => KeyId::Slot(k),
                None => KeyId::Literal(id.to_owned()),
            }
        };
        let key = match policy.resource_constraint() {
            ResourceConstraint::Eq(uid)
            | ResourceConstraint::In(uid)
            | ResourceConstraint::IsIn(_, uid) => {
                Some((uid.type_name().to_string(), key_id(uid.id().unescaped())))
            }
            ResourceConstraint::Any | ResourceConstraint::Is(_) => json
                .get_or_init(|| policy.to_json().ok())
                .as_ref()
                .and_then(when_resource_eq)
                .map(|(ty, id)| (ty.to_owned(), key_id(id))),
        };
        Self {
            policy,
            marked,
            json,
            key,
        }
    }

    fn json(&self) -> Option<&Value> {
        self.json
            .get_or_init(|| self.policy.to_json().ok())
            .as_ref()
    }
}

/// `(type, id)` when the policy's conditions are exactly one `when { resource == E }` (in
/// either order) with `E` an entity literal: the policy can then match `E` only.
fn when_resource_eq(json: &Value) -> Option<(&str, &str)> {
    let [condition] = json.get("conditions")?.as_array()?.as_slice() else {
        return None;
    };
    if condition.get("kind")?.as_str()? != "when" {
        return None;
    }
    let eq = condition.get("body")?.get("==")?;
    let (left, right) = (eq.get("left")?, eq.get("right")?);
    let is_resource = |v: &Value| v.get("Var").and_then(Value::as_str) == Some("resource");
    let literal = if is_resource(left) {
        right
    } else if is_resource(right) {
        left
    } else {
        return None;
    };
    let entity = literal.get("Value")?.get("__entity")?;
    Some((entity.get("type")?.as_str()?, entity.get("id")?.as_str()?))
}

/// Byte offsets of the line starts of one text, so that locating each of N policies costs
/// a binary search instead of a scan from the start (which made loading quadratic).
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self { starts }
    }

    /// 1-based line and column (in characters) of byte `offset` in `text`, as [`line_col`].
    fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|s| *s <= offset);
        let start = self
            .starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(0);
        let column = text.get(start..offset).map_or(0, |s| s.chars().count()) + 1;
        (line.max(1), column)
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// Turns a Cedar diagnostic into a located one, using its first labelled span.
fn locate(file: &str, text: &str, diag: &dyn miette::Diagnostic) -> SourceDiagnostic {
    let (offset, len) = diag
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|l| (l.offset(), l.len()))
        .unwrap_or((0, 1));
    let (line, column) = line_col(text, offset);
    let source_line = text.lines().nth(line - 1).unwrap_or_default().to_owned();
    let on_line = source_line.chars().count().saturating_sub(column - 1);
    let width = text
        .get(offset..offset.saturating_add(len).min(text.len()))
        .map_or(1, |s| s.chars().count())
        .clamp(1, on_line.max(1));
    let mut message = diag.to_string();
    if let Some(source) = diag.source() {
        let extra = source.to_string();
        if !message.contains(&extra) {
            message = format!("{message}: {extra}");
        }
    }
    SourceDiagnostic {
        file: file.to_owned(),
        line,
        column,
        message,
        help: diag.help().map(|h| h.to_string()),
        source_line,
        width,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncé d", 7), (2, 4));
        assert_eq!(line_col("x", 0), (1, 1));
    }

    #[test]
    fn a_typo_in_a_later_policy_of_a_shape_is_still_reported() {
        let mut text = String::new();
        for i in 0..5 {
            text.push_str(&format!(
                "permit(principal, action == file_system::Action::\"read\", resource == file_system::File::\"/f{i}\");\n"
            ));
        }
        let valid = text.clone();
        text.push_str(
            "permit(principal, action == file_system::Action::\"read\", resource == file_system::Flie::\"/x\");\n",
        );
        text.push_str(
            "permit(principal, action == file_system::Action::\"raed\", resource == file_system::File::\"/y\");\n",
        );
        let Err(PolicyError::Invalid(errors)) = Policies::from_text("p.cedar", &text) else {
            panic!("the typos were not found");
        };
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert!(lines.contains(&6) && lines.contains(&7), "{errors:?}");
        assert!(lines.iter().all(|l| *l >= 6), "{errors:?}");
        assert_eq!(Policies::from_text("p.cedar", &valid).unwrap().len(), 5);
    }

    #[test]
    fn push_decimal_writes_what_format_does() {
        for n in [0, 7, 10, 99, 100, 10_000, 123_456_789, usize::MAX] {
            let mut out = "policy".to_owned();
            push_decimal(&mut out, n);
            assert_eq!(out, format!("policy{n}"));
        }
    }

    #[test]
    fn line_index_agrees_with_line_col() {
        let text = "ab\ncé d\n\nxyz\n";
        let index = LineIndex::new(text);
        for offset in 0..=text.len() {
            if text.is_char_boundary(offset) {
                assert_eq!(
                    index.line_col(text, offset),
                    line_col(text, offset),
                    "{offset}"
                );
            }
        }
    }
}

#[cfg(test)]
mod lazy_tests {
    use super::*;

    const TEXT: &str = r#"
permit(principal, action in [file_system::Action::"open", file_system::Action::"read"], resource == file_system::File::"/a/x");
permit(principal, action in [file_system::Action::"open", file_system::Action::"read"], resource == file_system::File::"/a/y");
permit(principal, action in [file_system::Action::"open", file_system::Action::"read"], resource) when { resource == file_system::File::"/b/x" };
permit(principal, action in [file_system::Action::"open", file_system::Action::"read"], resource) when { file_system::File::"/b/y" == resource };
forbid(principal, action == file_system::Action::"read", resource in file_system::Dir::"/c");
permit(principal, action == file_system::Action::"read", resource) when { resource.path like "/d/*" };
@id("last") permit(principal, action in [file_system::Action::"open", file_system::Action::"read"], resource == file_system::File::"/a/z");
@id("other") permit(principal, action in [file_system::Action::"open", file_system::Action::"read"], resource == file_system::File::"/a/w");
"#;

    #[test]
    fn shapes_are_parsed_once_and_members_on_demand() {
        let p = Policies::from_text("t.cedar", TEXT).unwrap();
        assert_eq!(p.len(), 8);
        // Shapes of two members are templates; their policies wait for a request.
        assert!(p.inner.entries[0].policy.get().is_none());
        assert!(p.inner.entries[1].policy.get().is_none());
        assert!(p.inner.entries[4].policy.get().is_some());
        let keys: Vec<Option<(&str, &str)>> = (0..8).map(|i| p.index_key(i)).collect();
        assert_eq!(
            keys,
            [
                Some(("file_system::File", "/a/x")),
                Some(("file_system::File", "/a/y")),
                Some(("file_system::File", "/b/x")),
                Some(("file_system::File", "/b/y")),
                Some(("file_system::Dir", "/c")),
                None,
                Some(("file_system::File", "/a/z")),
                Some(("file_system::File", "/a/w")),
            ]
        );
        let ids: Vec<&str> = p.views().map(|v| v.id()).collect();
        assert_eq!(
            ids,
            [
                "policy0", "policy1", "policy2", "policy3", "policy4", "policy5", "last", "other"
            ]
        );
        assert_eq!(p.origin("policy1").unwrap().line, 3);
        assert_eq!(p.origin("other").unwrap().line, 9);
        assert_eq!(p.origin("other").unwrap().column, 1);
        assert!(p.inner.entries[7].policy.get().is_none());
        assert_eq!(p.policy(7).unwrap().id().to_string(), "other");
        // A member parsed on demand is the policy of its own text.
        let second = p.policy(1).unwrap();
        assert_eq!(second.id().to_string(), "policy1");
        assert!(second.to_cedar().unwrap().contains("/a/y"));
        // Views put each policy's own ids back.
        let views: Vec<PolicyView<'_>> = p.views().collect();
        assert_eq!(
            views[1].resource_constraint(),
            ResourceConstraint::Eq(r#"file_system::File::"/a/y""#.parse().unwrap())
        );
        assert!(views[2].conditions_json().to_string().contains("/b/x"));
        assert!(!views[2].conditions_json().to_string().contains("rex-slot"));
        assert_eq!(views[4].effect(), Effect::Forbid);
        // The whole set equals Cedar's own parse of the text.
        let cedar = PolicySet::from_str(TEXT).unwrap();
        let mut ours: Vec<String> = p.set().policies().map(|x| x.to_cedar().unwrap()).collect();
        let mut theirs: Vec<String> = cedar.policies().map(|x| x.to_cedar().unwrap()).collect();
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn a_marker_never_collides_with_the_text() {
        let text = "permit(principal, action, resource == file_system::File::\"rex-slot-0-0\");\npermit(principal, action, resource == file_system::File::\"/b\");\n";
        let p = Policies::from_text("t.cedar", text).unwrap();
        assert_eq!(p.index_key(0), Some(("file_system::File", "rex-slot-0-0")));
        assert_eq!(p.index_key(1), Some(("file_system::File", "/b")));
    }
}
