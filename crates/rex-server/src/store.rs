//! The job store: one redb file (`<data_dir>/jobs.redb`) of job records, committed
//! durably (fsync) at each state change, so an accepted job and its result survive a
//! restart or a crash of the server. Records are dropped when their result expires
//! (`result_ttl_secs` after the job finished) or when the caller deletes them.
//!
//! It authorizes nothing: callers of this module check the principal first.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::child::JobStatus;

const JOBS: TableDefinition<&str, &[u8]> = TableDefinition::new("jobs");

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory could not be created.
    #[error("cannot create data directory `{path}`: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// redb failed (open, transaction, table, commit).
    #[error("job store `{path}`: {message}")]
    Db {
        /// The store file.
        path: PathBuf,
        /// redb's message.
        message: String,
    },
    /// A record did not (de)serialize.
    #[error("job record `{id}`: {source}")]
    Record {
        /// The job id.
        id: String,
        /// Why.
        source: serde_json::Error,
    },
}

/// Everything known about one job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRecord {
    /// Job id.
    pub id: String,
    /// The principal it runs as (its owner).
    pub principal: String,
    /// The policy it runs under.
    pub policy: PathBuf,
    /// Where it is.
    pub status: JobStatus,
    /// Submission time, RFC 3339.
    pub submitted_at: String,
    /// Submission time, Unix milliseconds (for ordering).
    pub submitted_ms: u64,
    /// When its child started.
    pub started_at: Option<String>,
    /// When it finished.
    pub finished_at: Option<String>,
    /// When it finished, Unix milliseconds (for expiry).
    pub finished_ms: Option<u64>,
    /// Its wall-clock limit.
    pub timeout_secs: f64,
    /// The script, kept until the job finishes (a queued job is re-run after a restart).
    pub script: Option<String>,
    /// Its arguments, kept with the script.
    pub arguments: Option<serde_json::Value>,
    /// The REX output document, once finished.
    pub document: Option<serde_json::Value>,
    /// The child's stderr.
    pub logs: String,
}

/// The store.
#[derive(Debug)]
pub struct Store {
    db: Database,
    path: PathBuf,
}

impl Store {
    /// Opens (creating) `<data_dir>/jobs.redb`; the directory is created with mode 0700.
    /// Only one process can hold the store at a time.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data_dir)
            .map_err(|source| StoreError::Dir {
                path: data_dir.to_owned(),
                source,
            })?;
        let path = data_dir.join("jobs.redb");
        let db = Database::create(&path).map_err(|e| StoreError::Db {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let store = Self { db, path };
        // Make sure the table exists so readers never see "table does not exist".
        store.write(|_| Ok(()))?;
        Ok(store)
    }

    fn err(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Db {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    fn write(
        &self,
        f: impl FnOnce(&mut redb::Table<&str, &[u8]>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut table = txn.open_table(JOBS).map_err(|e| self.err(e))?;
            f(&mut table)?;
        }
        txn.commit().map_err(|e| self.err(e))
    }

    /// Inserts or replaces `record`, durably.
    pub fn put(&self, record: &JobRecord) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(record).map_err(|source| StoreError::Record {
            id: record.id.clone(),
            source,
        })?;
        self.write(|t| {
            t.insert(record.id.as_str(), bytes.as_slice())
                .map(drop)
                .map_err(|e| self.err(e))
        })
    }

    /// The record of job `id`.
    pub fn get(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let table = txn.open_table(JOBS).map_err(|e| self.err(e))?;
        let Some(value) = table.get(id).map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        decode(id, value.value()).map(Some)
    }

    /// Deletes job `id`; true when it existed.
    pub fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let mut existed = false;
        self.write(|t| {
            existed = t.remove(id).map_err(|e| self.err(e))?.is_some();
            Ok(())
        })?;
        Ok(existed)
    }

    /// Every record (newest first) that `keep` accepts.
    pub fn scan(&self, keep: impl Fn(&JobRecord) -> bool) -> Result<Vec<JobRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(|e| self.err(e))?;
        let table = txn.open_table(JOBS).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(|e| self.err(e))? {
            let (k, v) = entry.map_err(|e| self.err(e))?;
            let record = decode(k.value(), v.value())?;
            if keep(&record) {
                out.push(record);
            }
        }
        out.sort_by(|a, b| {
            b.submitted_ms
                .cmp(&a.submitted_ms)
                .then_with(|| b.id.cmp(&a.id))
        });
        Ok(out)
    }

    /// The `limit` most recent jobs of `principal`.
    pub fn list(&self, principal: &str, limit: usize) -> Result<Vec<JobRecord>, StoreError> {
        let mut jobs = self.scan(|r| r.principal == principal)?;
        jobs.truncate(limit);
        Ok(jobs)
    }

    /// Deletes finished jobs that finished before `cutoff_ms`; returns how many.
    pub fn expire(&self, cutoff_ms: u64) -> Result<usize, StoreError> {
        let old: Vec<String> = self
            .scan(|r| r.finished_ms.is_some_and(|f| f < cutoff_ms))?
            .into_iter()
            .map(|r| r.id)
            .collect();
        if old.is_empty() {
            return Ok(0);
        }
        self.write(|t| {
            for id in &old {
                t.remove(id.as_str()).map_err(|e| self.err(e))?;
            }
            Ok(())
        })?;
        Ok(old.len())
    }
}

fn decode(id: &str, bytes: &[u8]) -> Result<JobRecord, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Record {
        id: id.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, principal: &str, ms: u64) -> JobRecord {
        JobRecord {
            id: id.into(),
            principal: principal.into(),
            policy: "/p.cedar".into(),
            status: JobStatus::Queued,
            submitted_at: String::new(),
            submitted_ms: ms,
            started_at: None,
            finished_at: None,
            finished_ms: None,
            timeout_secs: 1.0,
            script: Some("1".into()),
            arguments: None,
            document: None,
            logs: String::new(),
        }
    }

    #[test]
    fn records_survive_reopening_and_expire() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Store::open(dir.path()).unwrap();
            s.put(&record("a", "alice", 1)).unwrap();
            s.put(&record("b", "bob", 2)).unwrap();
            let mut c = record("c", "alice", 3);
            c.status = JobStatus::Succeeded;
            c.finished_ms = Some(10);
            c.document = Some(serde_json::json!({"status": "SUCCESS"}));
            s.put(&c).unwrap();
        }
        let s = Store::open(dir.path()).unwrap();
        let alice: Vec<String> = s
            .list("alice", 10)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(alice, ["c", "a"]);
        assert_eq!(s.list("alice", 1).unwrap().len(), 1);
        assert_eq!(s.get("c").unwrap().unwrap().status, JobStatus::Succeeded);
        assert_eq!(s.expire(10).unwrap(), 0);
        assert_eq!(s.expire(11).unwrap(), 1);
        assert!(s.get("c").unwrap().is_none());
        assert!(s.delete("a").unwrap());
        assert!(!s.delete("a").unwrap());
        assert!(s.get("b").unwrap().is_some());
    }
}
