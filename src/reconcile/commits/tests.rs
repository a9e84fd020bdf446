//! The commits controller's decisions, with a fake repository (commits as
//! folders, no git), a real store in a temp folder and tokio's paused
//! clock: repeated or lost triggers change nothing, a commit that arrives
//! mid-pass is picked up by a requeued pass, an invalid commit never
//! replaces the good one, fetch failures are told once and their recovery.

use super::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Something to do once, from inside a fetch.
type Hook = Box<dyn FnOnce() + Send>;

/// A branch as a list of (commit, folder); the last is the tip.
#[derive(Clone, Default)]
struct FakeRepo {
    branch: Arc<Mutex<Vec<(String, PathBuf)>>>,
    down: Arc<AtomicBool>,
    fetches: Arc<AtomicU32>,
    /// Run inside the first fetch, after the tip is read (a push arriving
    /// while the pass runs).
    during_first: Arc<Mutex<Option<Hook>>>,
}

impl Repo for FakeRepo {
    fn fetch(&mut self) -> Result<Fetched, SourceError> {
        if self.down.load(Ordering::Relaxed) {
            return Err(SourceError::Remote("connection refused".into()));
        }
        let tip = self.branch.lock().unwrap().last().cloned();
        if self.fetches.fetch_add(1, Ordering::Relaxed) == 0
            && let Some(hook) = self.during_first.lock().unwrap().take()
        {
            hook();
        }
        let (commit, _) = tip.ok_or_else(|| SourceError::Remote("empty".into()))?;
        Ok(Fetched {
            summary: format!("commit {commit}"),
            tree: commit.clone(),
            commit,
            rewritten_from: None,
            recloned: None,
        })
    }
    fn snapshot(&self, commit: &str) -> Result<PathBuf, SourceError> {
        let branch = self.branch.lock().unwrap();
        let found = branch.iter().find(|(c, _)| c == commit);
        found
            .map(|(_, d)| d.clone())
            .ok_or_else(|| SourceError::Remote(format!("no commit {commit}")))
    }
    fn prune(&self, _keep: &[&str]) {}
    fn branch(&self) -> Option<&str> {
        None
    }
}

impl FakeRepo {
    /// Adds a commit whose tend.toml is `toml`.
    fn push(&self, root: &std::path::Path, commit: &str, toml: &str) {
        let dir = root.join(commit);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("tend.toml"), toml).unwrap();
        self.branch.lock().unwrap().push((commit.into(), dir));
    }
}

const GOOD: &str = "[reconcile]\ninterval = \"5m\"\n";

struct Harness {
    repo: FakeRepo,
    store: Store,
    queue: Arc<Queue>,
    applied: watch::Receiver<Option<Arc<Applied>>>,
    status: watch::Receiver<Status>,
    failures: Arc<AtomicU32>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    dir: tempfile::TempDir,
}

fn start(repo: FakeRepo, dir: tempfile::TempDir) -> Harness {
    let store = Store::open(&dir.path().join("t.redb")).unwrap();
    let queue = Arc::new(Queue::default());
    let (status_tx, status) = watch::channel(crate::daemon::initial_status(
        None,
        "fake".into(),
        crate::model::SourceMode::Git,
    ));
    let clock = Arc::new(super::super::clock::TokioClock::starting_at(
        chrono::Utc::now(),
    ));
    let commits =
        Commits::new(repo.clone(), store.clone(), status_tx, queue.clone()).with_clock(clock);
    let (applied, failures) = (commits.applied(), commits.failures.clone());
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(commits.run(rx));
    Harness {
        repo,
        store,
        queue,
        applied,
        status,
        failures,
        stop,
        task,
        dir,
    }
}

impl Harness {
    fn in_force(&self) -> Option<String> {
        self.applied.borrow().as_ref().map(|a| a.commit.clone())
    }

    fn kinds(&self) -> Vec<AuditKind> {
        let mut events = self.store.reader().events(100, None).unwrap();
        events.reverse();
        events.into_iter().map(|e| e.kind).collect()
    }

    async fn settle(&self) {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    async fn stop(self) {
        self.stop.send(true).unwrap();
        self.task.await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn repeated_and_lost_triggers_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let repo = FakeRepo::default();
    repo.push(dir.path(), "aaaaaaaa", GOOD);
    let h = start(repo, dir);
    h.settle().await;
    assert_eq!(h.in_force().as_deref(), Some("aaaaaaaa"));
    for reason in [
        Reason::Poll,
        Reason::Webhook,
        Reason::Poll,
        Reason::Interval,
    ] {
        h.queue.request(reason);
    }
    h.settle().await;
    assert_eq!(
        h.kinds(),
        [AuditKind::Started, AuditKind::CommitApplied],
        "repeats write nothing"
    );
    // A push whose webhook was lost: nothing happens until any trigger.
    h.repo.push(h.dir.path(), "bbbbbbbb", GOOD);
    h.settle().await;
    assert_eq!(h.in_force().as_deref(), Some("aaaaaaaa"));
    h.queue.request(Reason::Poll);
    h.settle().await;
    assert_eq!(h.in_force().as_deref(), Some("bbbbbbbb"));
    assert_eq!(h.kinds().len(), 3);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_commit_arriving_mid_pass_is_picked_up_by_a_requeued_pass() {
    let dir = tempfile::tempdir().unwrap();
    let repo = FakeRepo::default();
    repo.push(dir.path(), "aaaaaaaa", GOOD);
    let queue_slot: Arc<Mutex<Option<Arc<Queue>>>> = Arc::default();
    let (late, slot, root) = (repo.clone(), queue_slot.clone(), dir.path().to_owned());
    *repo.during_first.lock().unwrap() = Some(Box::new(move || {
        late.push(&root, "bbbbbbbb", GOOD);
        if let Some(q) = slot.lock().unwrap().as_ref() {
            q.request(Reason::Webhook);
        }
    }));
    let h = start(repo, dir);
    *queue_slot.lock().unwrap() = Some(h.queue.clone());
    h.settle().await;
    assert_eq!(h.in_force().as_deref(), Some("bbbbbbbb"));
    let applied = h
        .kinds()
        .iter()
        .filter(|k| **k == AuditKind::CommitApplied)
        .count();
    assert_eq!(
        applied, 2,
        "the first pass applied the old tip, the requeued one the new"
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_invalid_commit_is_rejected_once_and_the_good_one_stays() {
    let dir = tempfile::tempdir().unwrap();
    let repo = FakeRepo::default();
    repo.push(dir.path(), "aaaaaaaa", GOOD);
    let h = start(repo, dir);
    h.settle().await;
    h.repo
        .push(h.dir.path(), "bbbbbbbb", "[reconcile]\ninterval = 5\n");
    h.queue.request(Reason::Webhook);
    h.settle().await;
    h.queue.request(Reason::Poll);
    h.settle().await;
    assert_eq!(h.in_force().as_deref(), Some("aaaaaaaa"));
    let errors = h.status.borrow().config_errors.clone();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((errors[0].file.as_str(), errors[0].line), ("tend.toml", 2));
    assert_eq!(
        h.kinds(),
        [
            AuditKind::Started,
            AuditKind::CommitApplied,
            AuditKind::ConfigError
        ],
        "rejected once, not on every pass"
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn fetch_failures_are_told_once_grow_the_backoff_and_recover() {
    let dir = tempfile::tempdir().unwrap();
    let repo = FakeRepo::default();
    repo.push(dir.path(), "aaaaaaaa", GOOD);
    repo.down.store(true, Ordering::Relaxed);
    let h = start(repo, dir);
    h.settle().await;
    for _ in 0..3 {
        h.queue.request(Reason::Poll);
        h.settle().await;
    }
    assert_eq!(
        h.failures.load(Ordering::Relaxed),
        4,
        "startup and three polls"
    );
    let interval = Duration::from_secs(60);
    let waits: Vec<u64> = (0..4)
        .map(|f| super::super::triggers::poll_delay(interval, f, 0).as_secs())
        .collect();
    assert_eq!(
        waits,
        [54, 108, 216, 432],
        "the poll backs off with the failures"
    );
    assert!(h.status.borrow().source.last_fetch_error.is_some());
    h.repo.down.store(false, Ordering::Relaxed);
    h.queue.request(Reason::Poll);
    h.settle().await;
    assert_eq!(h.failures.load(Ordering::Relaxed), 0, "reset by a success");
    assert_eq!(
        h.kinds(),
        [
            AuditKind::Started,
            AuditKind::FetchFailed,
            AuditKind::FetchRecovered,
            AuditKind::CommitApplied
        ]
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_restart_keeps_a_commit_whose_one_off_time_has_passed_since() {
    let dir = tempfile::tempdir().unwrap();
    let repo = FakeRepo::default();
    repo.push(dir.path(), "aaaaaaaa", GOOD);
    let at = (chrono::Utc::now() + chrono::Duration::minutes(30)).to_rfc3339();
    let job = format!("jobs:\n  - {{ name: once, at: '{at}', missed: skip, command: ['true'] }}\n");
    std::fs::create_dir_all(dir.path().join("aaaaaaaa/jobs")).unwrap();
    std::fs::write(dir.path().join("aaaaaaaa/jobs/j.yaml"), job).unwrap();
    let db = dir.path().join("t.redb");
    let open = |store: Store, later: chrono::Duration| {
        let (status_tx, _) = watch::channel(crate::daemon::initial_status(
            None,
            "fake".into(),
            crate::model::SourceMode::Git,
        ));
        let clock = super::super::clock::TokioClock::starting_at(chrono::Utc::now() + later);
        Commits::new(repo.clone(), store, status_tx, Arc::new(Queue::default()))
            .with_clock(Arc::new(clock))
    };
    let commits = open(Store::open(&db).unwrap(), chrono::Duration::zero());
    let applied = commits.applied();
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(commits.run(rx));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(applied.borrow().is_some(), "valid while `at` is ahead");
    stop.send(true).unwrap();
    task.await.unwrap();
    drop(applied);
    // Two hours later `at` has passed: the same commit, validated as of
    // its acceptance, is still the one in force.
    let mut later = open(Store::open(&db).unwrap(), chrono::Duration::hours(2));
    later.restore().await.unwrap();
    let restored = later.applied().borrow().as_ref().map(|a| a.commit.clone());
    assert_eq!(restored.as_deref(), Some("aaaaaaaa"));
}
