//! The embedded database (redb): one file in the data dir, schema-versioned,
//! opened in one place. Synchronous API — async callers go through
//! `spawn_blocking`. Tables: `meta` (named JSON values such as the applied
//! commit), `events` (the audit log, by sequence number), and the run
//! tables of [`runs`] (runs, logs, job state) and of [`outbox`] (alerts to
//! deliver, throttle streaks).
//!
//! The daemon holds the [`Store`]; the web layer gets a [`StoreReader`],
//! which has no way to write.

mod key;
mod outbox;
mod overview;
mod runs;
mod runs_read;
pub use key::Key;
pub use outbox::KEEP_DONE;
pub use overview::Line;
pub use runs::Retention;

use crate::model::{AuditKind, Event, Letter};
use chrono::Utc;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Version of the table layout this build reads and writes.
pub const SCHEMA_VERSION: u64 = 1;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
const SCHEMA_KEY: &str = "schema_version";

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or created.
    #[error("cannot open database {path}: {cause}")]
    Open {
        /// The file.
        path: PathBuf,
        /// What redb said (e.g. another tend holds it).
        cause: redb::DatabaseError,
    },
    /// The file was written by a newer tend.
    #[error(
        "database schema version {found} is newer than this tend supports ({SCHEMA_VERSION}); upgrade tend"
    )]
    NewerSchema {
        /// Version found in the file.
        found: u64,
    },
    /// A read or write failed.
    #[error("database error: {0}")]
    Redb(#[from] redb::Error),
    /// A stored value could not be encoded or decoded.
    #[error("database value for `{key}` is not valid: {source}")]
    Codec {
        /// Which value.
        key: String,
        /// What serde_json said.
        source: serde_json::Error,
    },
}

fn db<E: Into<redb::Error>>(e: E) -> StoreError {
    StoreError::Redb(e.into())
}

/// The writable store, held by the daemon.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    cache: Arc<overview::Cache>,
    posted: Arc<tokio::sync::Notify>,
}

/// A read-only view of the store, for the web layer.
#[derive(Clone)]
pub struct StoreReader {
    db: Arc<Database>,
    cache: Arc<overview::Cache>,
}

impl Store {
    /// Opens (or creates) the database at `path` and checks its schema version.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let database = Database::create(path).map_err(|cause| StoreError::Open {
            path: path.to_owned(),
            cause,
        })?;
        let store = Store {
            db: Arc::new(database),
            cache: Arc::default(),
            posted: Arc::default(),
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let found: Option<u64> = self.reader().meta(SCHEMA_KEY)?;
        if let Some(v) = found.filter(|v| *v > SCHEMA_VERSION) {
            return Err(StoreError::NewerSchema { found: v });
        }
        // Creating a table that exists is a no-op: every open makes sure
        // all tables of this version are there.
        let tx = self.db.begin_write().map_err(db)?;
        tx.open_table(EVENTS).map_err(db)?;
        tx.open_table(runs::RUNS).map_err(db)?;
        tx.open_table(runs::JOB_RUNS).map_err(db)?;
        tx.open_table(runs::ACTIVE).map_err(db)?;
        tx.open_table(runs::LOGS).map_err(db)?;
        tx.open_table(runs::JOB_STATE).map_err(db)?;
        tx.open_table(outbox::OUTBOX).map_err(db)?;
        tx.open_table(outbox::PENDING).map_err(db)?;
        tx.open_table(outbox::STREAKS).map_err(db)?;
        put(
            &mut tx.open_table(META).map_err(db)?,
            SCHEMA_KEY,
            &SCHEMA_VERSION,
        )?;
        tx.commit().map_err(db)
    }

    /// A read-only handle on the same database.
    pub fn reader(&self) -> StoreReader {
        StoreReader {
            db: self.db.clone(),
            cache: self.cache.clone(),
        }
    }

    /// Appends an audit event, sets `meta` values and queues the alerts it
    /// causes, in one transaction.
    pub fn record(
        &self,
        kind: AuditKind,
        commit: Option<&str>,
        reason: impl Into<String>,
        details: serde_json::Value,
        meta: &[(&str, serde_json::Value)],
        letters: &[Letter],
    ) -> Result<Event, StoreError> {
        let tx = self.db.begin_write().map_err(db)?;
        let event = {
            let mut events = tx.open_table(EVENTS).map_err(db)?;
            let seq = events.last().map_err(db)?.map_or(1, |(k, _)| k.value() + 1);
            let event = Event {
                seq,
                at: Utc::now(),
                kind,
                commit: commit.map(str::to_owned),
                reason: reason.into(),
                details,
            };
            let bytes = encode("event", &event)?;
            events.insert(seq, bytes.as_slice()).map_err(db)?;
            event
        };
        {
            let mut table = tx.open_table(META).map_err(db)?;
            for (key, value) in meta {
                put(&mut table, key, value)?;
            }
        }
        let queued = outbox::post(&tx, letters, event.at)?;
        tx.commit().map_err(db)?;
        self.wake_outbox(queued);
        Ok(event)
    }

    /// Reads a `meta` value.
    pub fn meta<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        self.reader().meta(key)
    }

    /// Sets `meta` values in one transaction, without an event.
    pub fn set_meta(&self, meta: &[(&str, serde_json::Value)]) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(db)?;
        {
            let mut table = tx.open_table(META).map_err(db)?;
            for (key, value) in meta {
                put(&mut table, key, value)?;
            }
        }
        tx.commit().map_err(db)
    }
}

impl StoreReader {
    /// Reads a `meta` value.
    pub fn meta<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let tx = self.db.begin_read().map_err(db)?;
        let table = match tx.open_table(META) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(db(e)),
        };
        match table.get(key).map_err(db)? {
            Some(v) => decode(key, v.value()).map(Some),
            None => Ok(None),
        }
    }

    /// The newest `limit` events with `seq < before` (all when `None`), newest first.
    pub fn events(&self, limit: usize, before: Option<u64>) -> Result<Vec<Event>, StoreError> {
        let tx = self.db.begin_read().map_err(db)?;
        let table = tx.open_table(EVENTS).map_err(db)?;
        let range = table.range(..before.unwrap_or(u64::MAX)).map_err(db)?;
        let mut out = Vec::with_capacity(limit.min(1024));
        for item in range.rev().take(limit) {
            let (k, v) = item.map_err(db)?;
            out.push(decode(&format!("event {}", k.value()), v.value())?);
        }
        Ok(out)
    }
}

fn encode<T: Serialize>(key: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|source| StoreError::Codec {
        key: key.to_owned(),
        source,
    })
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Codec {
        key: key.to_owned(),
        source,
    })
}

fn put<T: Serialize>(
    table: &mut redb::Table<&str, &[u8]>,
    key: &str,
    value: &T,
) -> Result<(), StoreError> {
    let bytes = encode(key, value)?;
    table.insert(key, bytes.as_slice()).map_err(db)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_and_meta_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tend.redb");
        {
            let store = Store::open(&path).unwrap();
            store
                .record(
                    AuditKind::Started,
                    None,
                    "start",
                    serde_json::Value::Null,
                    &[],
                    &[],
                )
                .unwrap();
            let meta = [("applied_commit", serde_json::json!("abc"))];
            let e = store
                .record(
                    AuditKind::CommitApplied,
                    Some("abc"),
                    "new commit",
                    serde_json::Value::Null,
                    &meta,
                    &[],
                )
                .unwrap();
            assert_eq!(e.seq, 2);
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store.meta::<String>("applied_commit").unwrap().as_deref(),
            Some("abc")
        );
        let events = store.reader().events(10, None).unwrap();
        assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 1]);
        assert_eq!(store.reader().events(10, Some(2)).unwrap().len(), 1);
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tend.redb");
        {
            let store = Store::open(&path).unwrap();
            let tx = store.db.begin_write().unwrap();
            put(
                &mut tx.open_table(META).unwrap(),
                SCHEMA_KEY,
                &(SCHEMA_VERSION + 1),
            )
            .unwrap();
            tx.commit().unwrap();
        }
        assert!(matches!(
            Store::open(&path),
            Err(StoreError::NewerSchema { .. })
        ));
    }
}
