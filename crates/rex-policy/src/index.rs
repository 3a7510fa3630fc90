//! Policy slicing: only the policies that can match a request are evaluated, and only
//! those are ever parsed (see [`crate::Policies`]).
//!
//! Each policy goes into one bucket by the one resource it can match
//! ([`Policies::index_key`]): `resource == U`, `resource in U` and `resource is T in U`
//! into the bucket of `U`, and so does a policy whose only condition is
//! `when { resource == U }`; every other policy into the general bucket. A request about
//! resource `R` can only be matched by policies in the general bucket or in the bucket of
//! `R` or of one of its ancestors (its `in` chain): a policy in any other bucket fails its
//! scope, or its one condition is false, so it can neither apply nor raise an evaluation
//! error (Cedar evaluates conditions only after the scope matched, and `resource == U`
//! cannot fail). Evaluating the slice therefore gives the same decision, determining
//! policies and errors as evaluating the whole set; the differential test in
//! `tests/differential.rs` checks it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cedar_policy::PolicySet;

use crate::policies::Policies;

/// Most cached slices kept; the cache is cleared when full.
const MAX_SLICES: usize = 4096;

#[derive(Debug)]
pub(crate) struct ScopeIndex {
    general: Vec<usize>,
    /// (entity type, id) -> bucket id (index into `members`).
    buckets: HashMap<(String, String), u32, foldhash::fast::RandomState>,
    members: Vec<Vec<usize>>,
    slices: Mutex<HashMap<Vec<u32>, Arc<PolicySet>>>,
}

impl ScopeIndex {
    pub(crate) fn new(policies: &Policies) -> Self {
        let mut general = Vec::new();
        let mut buckets: HashMap<(String, String), u32, foldhash::fast::RandomState> =
            HashMap::with_capacity_and_hasher(policies.len(), Default::default());
        let mut members: Vec<Vec<usize>> = Vec::new();
        for i in 0..policies.len() {
            match policies.index_key(i) {
                Some((ty, id)) => {
                    let b = *buckets
                        .entry((ty.to_owned(), id.to_owned()))
                        .or_insert_with(|| {
                            members.push(Vec::new());
                            u32::try_from(members.len() - 1).unwrap_or(u32::MAX)
                        });
                    if let Some(list) = members.get_mut(b as usize) {
                        list.push(i);
                    }
                }
                None => general.push(i),
            }
        }
        Self {
            general,
            buckets,
            members,
            slices: Mutex::new(HashMap::new()),
        }
    }

    /// The policies that can match a request about the entity `resource` (type, id)
    /// whose ancestor directories are `ancestors` (type, id). An error when one of them
    /// does not parse: the caller must deny.
    pub(crate) fn slice(
        &self,
        policies: &Policies,
        resource: (&str, &str),
        ancestors: &[(&str, &str)],
    ) -> Result<Arc<PolicySet>, String> {
        let mut key: Vec<u32> = std::iter::once(&resource)
            .chain(ancestors)
            .filter_map(|(t, id)| {
                self.buckets
                    .get(&((*t).to_owned(), (*id).to_owned()))
                    .copied()
            })
            .collect();
        key.sort_unstable();
        key.dedup();
        if let Ok(slices) = self.slices.lock()
            && let Some(set) = slices.get(&key)
        {
            return Ok(Arc::clone(set));
        }
        let mut members: Vec<usize> = self.general.clone();
        for id in &key {
            if let Some(list) = self.members.get(*id as usize) {
                members.extend_from_slice(list);
            }
        }
        members.sort_unstable();
        let mut parsed = Vec::with_capacity(members.len());
        for i in members {
            parsed.push(policies.policy(i)?.clone());
        }
        let set = Arc::new(PolicySet::from_policies(parsed).map_err(|e| e.to_string())?);
        if let Ok(mut slices) = self.slices.lock() {
            if slices.len() >= MAX_SLICES {
                slices.clear();
            }
            slices.insert(key, Arc::clone(&set));
        }
        Ok(set)
    }
}
