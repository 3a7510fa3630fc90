//! Policy slicing: only the policies whose scope can match a request are evaluated.
//!
//! Each policy goes into one bucket by its resource constraint: `resource == U` and
//! `resource in U` into the bucket of `U`; no constraint or `resource is T` into the
//! general bucket. A request about resource `R` can only be matched by policies in the
//! general bucket or in the bucket of `R` or of one of its ancestors (its `in` chain): a
//! policy in any other bucket fails its scope, so it can neither apply nor raise an
//! evaluation error (Cedar evaluates conditions only after the scope matched). Evaluating
//! the slice therefore gives the same decision, determining policies and errors as
//! evaluating the whole set; the differential test in `tests/differential.rs` checks it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cedar_policy::{EntityUid, Policy, PolicySet, ResourceConstraint};

/// Most cached slices kept; the cache is cleared when full.
const MAX_SLICES: usize = 4096;

#[derive(Debug)]
pub(crate) struct ScopeIndex {
    policies: Vec<Policy>,
    general: Vec<usize>,
    /// Resource uid text -> bucket id (index into `members`).
    buckets: HashMap<String, u32>,
    members: Vec<Vec<usize>>,
    slices: Mutex<HashMap<Vec<u32>, Arc<PolicySet>>>,
    whole: Arc<PolicySet>,
}

impl ScopeIndex {
    pub(crate) fn new(set: &PolicySet) -> Self {
        let mut policies = Vec::new();
        let mut general = Vec::new();
        let mut buckets: HashMap<String, u32> = HashMap::new();
        let mut members: Vec<Vec<usize>> = Vec::new();
        for (i, policy) in set.policies().enumerate() {
            policies.push(policy.clone());
            match policy.resource_constraint() {
                ResourceConstraint::Eq(uid) | ResourceConstraint::In(uid) => {
                    let id = *buckets.entry(uid.to_string()).or_insert_with(|| {
                        members.push(Vec::new());
                        u32::try_from(members.len() - 1).unwrap_or(u32::MAX)
                    });
                    if let Some(list) = members.get_mut(id as usize) {
                        list.push(i);
                    }
                }
                _ => general.push(i),
            }
        }
        Self {
            policies,
            general,
            buckets,
            members,
            slices: Mutex::new(HashMap::new()),
            whole: Arc::new(set.clone()),
        }
    }

    /// The policies that can match a request about `resource` whose ancestors are `ancestors`.
    pub(crate) fn slice(&self, resource: &EntityUid, ancestors: &[EntityUid]) -> Arc<PolicySet> {
        let mut key: Vec<u32> = std::iter::once(resource)
            .chain(ancestors)
            .filter_map(|uid| self.buckets.get(&uid.to_string()).copied())
            .collect();
        key.sort_unstable();
        key.dedup();
        let Ok(mut slices) = self.slices.lock() else {
            return Arc::clone(&self.whole);
        };
        if let Some(set) = slices.get(&key) {
            return Arc::clone(set);
        }
        let mut members: Vec<usize> = self.general.clone();
        for id in &key {
            if let Some(list) = self.members.get(*id as usize) {
                members.extend_from_slice(list);
            }
        }
        members.sort_unstable();
        let set = match PolicySet::from_policies(
            members
                .iter()
                .filter_map(|i| self.policies.get(*i).cloned()),
        ) {
            Ok(s) => Arc::new(s),
            Err(_) => Arc::clone(&self.whole),
        };
        if slices.len() >= MAX_SLICES {
            slices.clear();
        }
        slices.insert(key, Arc::clone(&set));
        set
    }
}
