//! The test scheduler: a fake runner (no process), a real store in a temp
//! folder and tokio's paused clock driving the wall clock.

pub(super) use super::super::*;
pub(super) use crate::model::{JobKind, Run, RunStatus};
use crate::reconcile::clock::{Clock, TokioClock};
use crate::runner::{Outcome, RunSpec};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

/// Ends each attempt after `takes` with `status` (a `flip` command
/// alternates success and failure), or when `hold`, only when asked to
/// stop; records the jobs it ran.
struct FakeRunner {
    status: RunStatus,
    hold: bool,
    takes: Duration,
    clock: TokioClock,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Runner for FakeRunner {
    fn execute(
        &self,
        spec: RunSpec,
        _chunks: mpsc::UnboundedSender<Vec<u8>>,
        mut stop: watch::Receiver<bool>,
    ) -> Pin<Box<dyn Future<Output = Outcome> + Send>> {
        let mut calls = self.calls.lock().unwrap();
        calls.push(spec.job.name.clone());
        // `command: [flip]` succeeds on its 1st, 3rd, … call and fails between.
        let flip = matches!(&spec.job.kind, JobKind::Command { argv } if argv[0] == "flip");
        let nth = calls.iter().filter(|c| **c == spec.job.name).count();
        drop(calls);
        let status = match flip {
            true if nth % 2 == 0 => RunStatus::Failed,
            true => RunStatus::Succeeded,
            false => self.status,
        };
        let (hold, started) = (self.hold, self.clock.now());
        let takes = self.takes;
        Box::pin(async move {
            let status = if hold {
                let _ = stop.wait_for(|s| *s).await;
                RunStatus::Interrupted
            } else {
                tokio::time::sleep(takes).await;
                status
            };
            Outcome {
                status,
                exit_code: Some(i32::from(status != RunStatus::Succeeded)),
                recap: Vec::new(),
                reason: None,
                log_tail: Vec::new(),
                started_at: Some(started),
            }
        })
    }
}

/// A scheduler over `jobs_yaml` (the body of `jobs/t.yaml`) running on a
/// paused clock that reads `wall`, with its store, manual channel and stop.
pub(super) struct Harness {
    pub store: Store,
    manual: mpsc::Sender<Manual>,
    stop: watch::Sender<bool>,
    pub calls: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

/// `hh:mm:ss` yesterday (UTC): recent enough for the store's retention.
pub(super) fn wall(time: &str) -> DateTime<Utc> {
    let day = (Utc::now() - chrono::Duration::days(1)).date_naive();
    format!("{day}T{time}Z").parse().unwrap()
}

pub(super) fn desired(dir: &std::path::Path, jobs_yaml: &str, now: DateTime<Utc>) -> Arc<Applied> {
    let repo = dir.join("repo");
    std::fs::create_dir_all(repo.join("jobs")).unwrap();
    std::fs::write(repo.join("tend.toml"), "[defaults]\ntimezone = \"UTC\"\n").unwrap();
    std::fs::write(repo.join("jobs/t.yaml"), jobs_yaml).unwrap();
    let desired = crate::config::load(&repo, now).expect("test jobs are valid");
    Arc::new(Applied {
        commit: "c0ffee0".into(),
        dir: repo,
        desired: Arc::new(desired),
    })
}

/// Records that `job` last fired at `at`, as a run of a previous tend did.
fn fired_before(store: &Store, job: &Job, at: DateTime<Utc>) {
    let run = run::new_run(
        job,
        Trigger::Cron,
        Some(at),
        "old",
        RunStatus::Running,
        None,
        at,
    );
    let run = store.start_run(run, Some(at)).unwrap().unwrap();
    let mut done = run.clone();
    done.status = RunStatus::Succeeded;
    done.finished_at = Some(at);
    store
        .finish_run(&done, Default::default(), b"", &[])
        .unwrap();
}

pub(super) fn start(
    jobs_yaml: &str,
    now: &str,
    runner: (RunStatus, bool),
    before: &[(&str, &str)],
) -> Harness {
    start_with(jobs_yaml, wall(now), runner, before, Duration::ZERO)
}

/// [`start`] at the instant `now`, with a runner whose attempts take `takes`.
pub(super) fn start_with(
    jobs_yaml: &str,
    now: DateTime<Utc>,
    runner: (RunStatus, bool),
    before: &[(&str, &str)],
    takes: Duration,
) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let clock = TokioClock::starting_at(now);
    let applied = desired(dir.path(), jobs_yaml, now);
    let store = Store::open(&dir.path().join("t.redb")).unwrap();
    for (job, at) in before {
        let job = applied
            .desired
            .jobs
            .iter()
            .find(|j| j.name == *job)
            .unwrap();
        fired_before(&store, job, wall(at));
    }
    let calls = Arc::new(Mutex::new(Vec::new()));
    let env = RunEnv {
        work_root: dir.path().join("work"),
        ansible_playbook: "ansible-playbook".into(),
        grace: Duration::from_secs(5),
        stacks: None,
        observers: Default::default(),
        mail: None,
        runner: Arc::new(FakeRunner {
            status: runner.0,
            hold: runner.1,
            takes,
            clock,
            calls: calls.clone(),
        }),
        clock: Arc::new(clock),
    };
    let (_tx, rx) = watch::channel(Some(applied));
    let (manual, manual_rx) = mpsc::channel(8);
    let (stop, stop_rx) = watch::channel(false);
    let scheduler = Scheduler::new(store.clone(), env, rx);
    std::mem::forget(_tx);
    let task = tokio::spawn(scheduler.run(manual_rx, stop_rx));
    Harness {
        store,
        manual,
        stop,
        calls,
        task,
        _dir: dir,
    }
}

impl Harness {
    /// Runs of `job`, oldest first.
    pub fn runs(&self, job: &str) -> Vec<Run> {
        let mut runs = self
            .store
            .reader()
            .runs(Some(job), None, 100, None)
            .unwrap();
        runs.reverse();
        runs
    }

    /// Lets the scheduler work for `secs` of (paused) time.
    pub async fn wait(&self, secs: u64) {
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }

    pub async fn manual(&self, job: &str) -> Result<u64, FireError> {
        let (reply, answer) = oneshot::channel();
        let asked = Manual {
            job: job.into(),
            reply,
        };
        self.manual.send(asked).await.unwrap();
        answer.await.unwrap()
    }

    pub async fn stop(self) {
        self.stop.send(true).unwrap();
        self.task.await.unwrap();
    }
}
