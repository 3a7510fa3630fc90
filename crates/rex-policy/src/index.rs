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
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use cedar_policy::PolicySet;

use crate::policies::Policies;

/// Most cached slices kept; the cache is cleared when full.
const MAX_SLICES: usize = 4096;

/// A policy in no bucket (the general one).
const GENERAL: u32 = u32::MAX;

/// Buckets are found by a 64-bit hash of (entity type, id), seeded per index, so that
/// neither building the index nor looking a resource up copies an id. Two entities with
/// one hash would share a bucket: a slice would then also hold policies that cannot
/// match its request, which changes nothing (see above).
#[derive(Debug)]
pub(crate) struct ScopeIndex {
    general: Vec<usize>,
    hasher: foldhash::quality::RandomState,
    /// Hash of (entity type, id) -> bucket id.
    buckets: HashMap<u64, u32, foldhash::fast::RandomState>,
    /// The members of bucket `b` are `members[starts[b]..starts[b + 1]]`, in load order.
    starts: Vec<usize>,
    members: Vec<usize>,
    slices: Mutex<HashMap<Vec<u32>, Arc<PolicySet>>>,
}

impl ScopeIndex {
    pub(crate) fn new(policies: &Policies) -> Self {
        let hasher = foldhash::quality::RandomState::default();
        let mut general = Vec::new();
        let mut buckets: HashMap<u64, u32, foldhash::fast::RandomState> =
            HashMap::with_capacity_and_hasher(policies.len(), Default::default());
        let mut sizes: Vec<usize> = Vec::new();
        let mut bucket_of: Vec<u32> = Vec::with_capacity(policies.len());
        for i in 0..policies.len() {
            let b = match policies.index_key(i) {
                Some(key) => *buckets.entry(hasher.hash_one(key)).or_insert_with(|| {
                    sizes.push(0);
                    u32::try_from(sizes.len() - 1).unwrap_or(GENERAL)
                }),
                None => GENERAL,
            };
            match sizes.get_mut(b as usize) {
                Some(n) => *n += 1,
                None => general.push(i),
            }
            bucket_of.push(b);
        }
        // Each bucket's members in one array, in load order.
        let mut starts = Vec::with_capacity(sizes.len() + 1);
        let mut at = 0;
        for n in &sizes {
            starts.push(at);
            at += n;
        }
        starts.push(at);
        let mut next = starts.clone();
        let mut members = vec![0; at];
        for (i, b) in bucket_of.into_iter().enumerate() {
            if let Some(slot) = next.get_mut(b as usize)
                && let Some(m) = members.get_mut(*slot)
            {
                *m = i;
                *slot += 1;
            }
        }
        Self {
            general,
            hasher,
            buckets,
            starts,
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
            .filter_map(|key| self.buckets.get(&self.hasher.hash_one(key)).copied())
            .collect();
        key.sort_unstable();
        key.dedup();
        if let Ok(slices) = self.slices.lock()
            && let Some(set) = slices.get(&key)
        {
            return Ok(Arc::clone(set));
        }
        let mut members: Vec<usize> = self.general.clone();
        for b in &key {
            let b = *b as usize;
            if let (Some(&from), Some(&to)) = (self.starts.get(b), self.starts.get(b + 1))
                && let Some(list) = self.members.get(from..to)
            {
                members.extend_from_slice(list);
            }
        }
        members.sort_unstable();
        members.dedup();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_hold_their_members_in_load_order() {
        let text = r#"
permit(principal, action == file_system::Action::"read", resource == file_system::File::"/a");
permit(principal, action == file_system::Action::"read", resource in file_system::Dir::"/d");
permit(principal, action == file_system::Action::"read", resource);
permit(principal, action == file_system::Action::"open", resource == file_system::File::"/a");
permit(principal, action == file_system::Action::"read", resource) when { resource == file_system::File::"/b" };
permit(principal, action == file_system::Action::"read", resource == file_system::Dir::"/a");
"#;
        let p = Policies::from_text("t.cedar", text).unwrap();
        let index = ScopeIndex::new(&p);
        assert_eq!(index.general, [2]);
        let ids = |resource, ancestors: &[(&str, &str)]| -> Vec<String> {
            let mut v: Vec<String> = index
                .slice(&p, resource, ancestors)
                .unwrap()
                .policies()
                .map(|x| x.id().to_string())
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            ids(("file_system::File", "/a"), &[]),
            ["policy0", "policy2", "policy3"]
        );
        assert_eq!(
            ids(("file_system::File", "/d/x"), &[("file_system::Dir", "/d")]),
            ["policy1", "policy2"]
        );
        assert_eq!(
            ids(("file_system::File", "/b"), &[]),
            ["policy2", "policy4"]
        );
        // The type is part of the key.
        assert_eq!(ids(("file_system::Dir", "/a"), &[]), ["policy2", "policy5"]);
        assert_eq!(ids(("file_system::File", "/c"), &[]), ["policy2"]);
    }
}
