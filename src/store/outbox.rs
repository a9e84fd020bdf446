//! The alert outbox. Alerts are queued in the same transaction as the run
//! or event that causes them ([`post`]), after each rule's throttle (kept
//! in `streaks`, per rule and subject) has let them out; so an alert is
//! never lost to a restart and never sent twice for one cause.
//!
//! Tables: `outbox` (id → [`Notification`]), `outbox_pending` (ids still to
//! deliver) and `streaks` (rule|subject → [`Streak`]). The delivery worker
//! reads the pending ones, and writes each attempt back with
//! [`Store::outbox_update`]; the newest [`KEEP_DONE`] delivered or failed
//! ones are kept for the page.

use super::{Store, StoreError, StoreReader, db, decode, encode};
use crate::model::throttle::{self, Streak, Verdict};
use crate::model::{Delivery, Letter, Notification};
use chrono::{DateTime, Utc};
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

pub(super) const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");
pub(super) const PENDING: TableDefinition<u64, ()> = TableDefinition::new("outbox_pending");
pub(super) const STREAKS: TableDefinition<&str, &[u8]> = TableDefinition::new("streaks");

/// Delivered or failed notifications kept.
pub const KEEP_DONE: u64 = 1000;

/// Runs each letter through its rule's throttle and queues those let out,
/// inside the caller's transaction. Returns how many were queued.
pub(super) fn post(
    tx: &redb::WriteTransaction,
    letters: &[Letter],
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    if letters.is_empty() {
        return Ok(0);
    }
    let mut streaks = tx.open_table(STREAKS).map_err(db)?;
    let mut outbox = tx.open_table(OUTBOX).map_err(db)?;
    let mut pending = tx.open_table(PENDING).map_err(db)?;
    let mut next_id = outbox.last().map_err(db)?.map_or(1, |(k, _)| k.value() + 1);
    let mut queued = 0;
    for letter in letters {
        let before: Streak = match streaks.get(letter.key.as_str()).map_err(db)? {
            Some(v) => decode("streak", v.value())?,
            None => Streak::default(),
        };
        let mut streak = before.clone();
        let verdict = throttle::decide(&mut streak, letter.alert.event, now, letter.repeat);
        if streak != before {
            if streak == Streak::default() {
                streaks.remove(letter.key.as_str()).map_err(db)?;
            } else {
                let bytes = encode("streak", &streak)?;
                streaks
                    .insert(letter.key.as_str(), bytes.as_slice())
                    .map_err(db)?;
            }
        }
        let Verdict::Send { held } = verdict else {
            continue;
        };
        let mut alert = letter.alert.clone();
        if held > 0 {
            alert.summary = format!("{} ({held} more since the last alert)", alert.summary);
        }
        let n = Notification {
            id: next_id,
            channel: channel(&letter.url),
            url: letter.url.clone(),
            alert,
            state: Delivery::Pending,
            attempts: 0,
            created_at: now,
            next_at: now,
            done_at: None,
            last_status: None,
            last_error: None,
        };
        outbox
            .insert(n.id, encode("notification", &n)?.as_slice())
            .map_err(db)?;
        pending.insert(n.id, ()).map_err(db)?;
        next_id += 1;
        queued += 1;
    }
    Ok(queued)
}

/// The service a URL names: its scheme.
fn channel(url: &str) -> String {
    url.split_once("://")
        .map_or("unknown", |(s, _)| s)
        .to_ascii_lowercase()
}

impl Store {
    /// Writes back notifications after their attempts, in one transaction;
    /// those delivered or failed leave the pending set and old finished
    /// ones are pruned.
    pub fn outbox_update(&self, list: &[Notification]) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(db)?;
        {
            let mut outbox = tx.open_table(OUTBOX).map_err(db)?;
            let mut pending = tx.open_table(PENDING).map_err(db)?;
            for n in list {
                outbox
                    .insert(n.id, encode("notification", n)?.as_slice())
                    .map_err(db)?;
                if n.state != Delivery::Pending {
                    pending.remove(n.id).map_err(db)?;
                }
            }
            let done = outbox.len().map_err(db)? - pending.len().map_err(db)?;
            let mut extra = done.saturating_sub(KEEP_DONE);
            let mut old = Vec::new();
            for item in outbox.iter().map_err(db)? {
                if extra == 0 {
                    break;
                }
                let id = item.map_err(db)?.0.value();
                if pending.get(id).map_err(db)?.is_none() {
                    old.push(id);
                    extra -= 1;
                }
            }
            for id in old {
                outbox.remove(id).map_err(db)?;
            }
        }
        tx.commit().map_err(db).map(drop)
    }

    /// Wakes whoever waits in [`Store::posted`]: something was queued.
    pub(super) fn wake_outbox(&self, queued: usize) {
        if queued > 0 {
            self.posted.notify_one();
        }
    }

    /// Resolves when an alert was queued since the last call.
    pub async fn posted(&self) {
        self.posted.notified().await;
    }
}

impl StoreReader {
    /// Pending notifications with an id above `after`, oldest first.
    pub fn outbox_pending(&self, after: u64) -> Result<Vec<Notification>, StoreError> {
        let tx = self.db.begin_read().map_err(db)?;
        let pending = tx.open_table(PENDING).map_err(db)?;
        let outbox = tx.open_table(OUTBOX).map_err(db)?;
        let mut out = Vec::new();
        for item in pending.range(after.saturating_add(1)..).map_err(db)? {
            let id = item.map_err(db)?.0.value();
            if let Some(v) = outbox.get(id).map_err(db)? {
                out.push(decode("notification", v.value())?);
            }
        }
        Ok(out)
    }

    /// The newest `limit` notifications, newest first, optionally in one state.
    pub fn outbox(
        &self,
        limit: usize,
        state: Option<Delivery>,
    ) -> Result<Vec<Notification>, StoreError> {
        let tx = self.db.begin_read().map_err(db)?;
        let outbox = tx.open_table(OUTBOX).map_err(db)?;
        let mut out = Vec::new();
        for item in outbox.iter().map_err(db)?.rev() {
            if out.len() >= limit {
                break;
            }
            let n: Notification = decode("notification", item.map_err(db)?.1.value())?;
            if state.is_none_or(|s| s == n.state) {
                out.push(n);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EventKind;
    use crate::model::alert::sample;

    fn letter(event: EventKind) -> Letter {
        Letter {
            key: "json://x/|job:backup".into(),
            repeat: throttle::DEFAULT_REPEAT,
            url: "json://127.0.0.1:9/hook".into(),
            alert: sample::alert(event),
        }
    }

    #[test]
    fn throttled_in_the_transaction_and_kept_until_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.redb")).unwrap();
        let mut queued = 0;
        for _ in 0..6 {
            let tx = store.db.begin_write().unwrap();
            queued += post(&tx, &[letter(EventKind::Failure)], Utc::now()).unwrap();
            tx.commit().unwrap();
        }
        let tx = store.db.begin_write().unwrap();
        queued += post(&tx, &[letter(EventKind::Recovery)], Utc::now()).unwrap();
        tx.commit().unwrap();
        assert_eq!(queued, 2, "first failure and the recovery");
        let mut pending = store.reader().outbox_pending(0).unwrap();
        assert_eq!(pending.len(), 2);
        assert_eq!(
            pending[1].alert.summary,
            "run failed (5 more since the last alert)"
        );
        assert_eq!(pending[0].channel, "json");
        pending[0].state = Delivery::Sent;
        store.outbox_update(&pending[..1]).unwrap();
        assert_eq!(store.reader().outbox_pending(0).unwrap().len(), 1);
        assert_eq!(
            store.reader().outbox_pending(pending[1].id).unwrap().len(),
            0
        );
        let sent = store.reader().outbox(10, Some(Delivery::Sent)).unwrap();
        assert_eq!(sent.len(), 1);
        // A recovery without a problem before it is no news.
        let tx = store.db.begin_write().unwrap();
        let mut other = letter(EventKind::Recovery);
        other.key = "other|job:backup".into();
        assert_eq!(post(&tx, &[other], Utc::now()).unwrap(), 0);
    }
}
