//! The stacks controller's decisions over fake hosts (no Docker), a real
//! store in a temp folder and tokio's paused clock driving the wall clock:
//! repeated and lost triggers, the self-heal brake tripping and releasing,
//! the unreachable host's backoff growing and resetting, sleep windows
//! opening and closing, a commit arriving mid-pass, a stack job's hold.

use super::fake::Fake;
use super::*;
use crate::model::{Action, AuditKind, RunState};
use crate::plan;
use crate::reconcile::clock::TokioClock;
use chrono::DateTime;

/// One service, `nginx:1`.
const COMPOSE: &str = "services:\n  app:\n    image: nginx:1\n";

/// A running controller over fake hosts, with its store and channels.
struct Harness {
    fake: Fake,
    store: Store,
    applied: watch::Sender<Option<Arc<Applied>>>,
    requests: mpsc::Sender<StackRequest>,
    view: watch::Receiver<Vec<StackStatus>>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    dir: tempfile::TempDir,
    wall: DateTime<Utc>,
}

/// `hh:mm:ss` yesterday (UTC): recent enough for the store's retention.
fn wall(time: &str) -> DateTime<Utc> {
    let day = (Utc::now() - chrono::Duration::days(1)).date_naive();
    format!("{day}T{time}Z").parse().unwrap()
}

/// The commit `commit` of a repository with one stack `web` (`compose`;
/// a `# self_heal off` comment in it turns self-heal off).
fn commit(dir: &std::path::Path, commit: &str, compose: &str, at: DateTime<Utc>) -> Arc<Applied> {
    let repo = dir.join(format!("repo-{commit}"));
    std::fs::create_dir_all(repo.join("stacks/web")).unwrap();
    let toml = if compose.contains("# self_heal off") {
        "[defaults]\ntimezone = \"UTC\"\n[reconcile]\nself_heal = false\n"
    } else {
        "[defaults]\ntimezone = \"UTC\"\n"
    };
    std::fs::write(repo.join("tend.toml"), toml).unwrap();
    std::fs::write(repo.join("stacks/web/compose.yaml"), compose).unwrap();
    let desired = crate::config::load(&repo, at).expect("the test stack is valid");
    Arc::new(Applied {
        commit: commit.into(),
        dir: repo,
        desired: Arc::new(desired),
    })
}

/// Starts a controller over `fake` at wall time `now` (paused clock) with
/// the commit `c1` of `compose` in force.
fn start(fake: Fake, compose: &str, now: &str) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let wall = wall(now);
    let store = Store::open(&dir.path().join("t.redb")).unwrap();
    let (applied, rx) = watch::channel(Some(commit(dir.path(), "c1", compose, wall)));
    let clock = Arc::new(TokioClock::starting_at(wall));
    let stacks = Stacks::with_hosts(store.clone(), rx, dir.path(), fake.clone()).with_clock(clock);
    let view = stacks.view();
    let (requests, requests_rx) = mpsc::channel(4);
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(stacks.run(requests_rx, stop_rx));
    Harness {
        fake,
        store,
        applied,
        requests,
        view,
        stop,
        task,
        dir,
        wall,
    }
}

impl Harness {
    /// Waits (paused time, at most 60 s of it) until `done` holds.
    async fn until(&self, what: &str, done: impl Fn(&Harness) -> bool) {
        for _ in 0..6000 {
            if done(self) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting until {what}");
    }

    /// Waits until the view shows stack `web` as `sync`.
    async fn until_sync(&self, sync: plan::Sync) {
        let what = format!("the stack shows {sync:?}");
        self.until(&what, |h| {
            h.view.borrow().first().is_some_and(|s| s.sync == sync)
        })
        .await;
    }

    /// How many applies the fake hosts saw.
    fn applies(&self) -> usize {
        self.fake.world().applied.len()
    }

    /// The actions of the last apply.
    fn last_actions(&self) -> Vec<Action> {
        let w = self.fake.world();
        w.applied.last().map(|a| a.1.clone()).unwrap_or_default()
    }

    /// Removes stack `web`'s containers by hand (drift), and tells the
    /// controller as Docker's events would.
    fn remove_by_hand(&self) {
        let mut w = self.fake.world();
        w.hosts
            .entry("local".into())
            .or_default()
            .containers
            .clear();
        let queue = w
            .followed
            .get("local")
            .expect("the host is followed")
            .clone();
        drop(w);
        queue.request(Reason::DockerEvent);
    }

    /// The kinds of the events stored, oldest first.
    fn kinds(&self) -> Vec<AuditKind> {
        let mut events = self.store.reader().events(500, None).unwrap();
        events.reverse();
        events.into_iter().map(|e| e.kind).collect()
    }

    /// The state of `web`'s `app` container on the fake host.
    fn app_state(&self) -> Option<RunState> {
        let w = self.fake.world();
        let host = w.hosts.get("local")?;
        host.containers
            .iter()
            .find(|c| c.service == "app")
            .map(|c| c.state)
    }

    /// Stops the controller and waits for it.
    async fn stop(self) {
        self.stop.send_replace(true);
        self.task.await.unwrap();
        drop(self.dir);
    }
}

#[tokio::test(start_paused = true)]
async fn a_stack_is_created_once_and_repeated_triggers_change_nothing() {
    let h = start(Fake::default(), COMPOSE, "12:00:00");
    h.until("the stack is created", |h| h.applies() == 1).await;
    assert!(
        h.last_actions().contains(&Action::Create),
        "{:?}",
        h.last_actions()
    );
    h.until_sync(plan::Sync::Synced).await;
    let looks = h.fake.world().observed.len();
    let queue = h.fake.world().followed.get("local").cloned().unwrap();
    for _ in 0..20 {
        queue.request(Reason::DockerEvent);
    }
    h.until("a pass looked again", |h| {
        h.fake.world().observed.len() > looks
    })
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(h.applies(), 1, "an in-sync stack is never touched again");
    let passes = h.fake.world().observed.len() - looks;
    assert!(passes <= 2, "20 requests coalesced into {passes} passes");
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_commit_arriving_mid_pass_is_applied_by_the_next_pass() {
    let fake = Fake::default();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    fake.world().gate = Some(gate.clone());
    let h = start(fake, COMPOSE, "12:00:00");
    h.until("the first apply has begun", |h| h.applies() == 1)
        .await;
    let newer = COMPOSE.replace("nginx:1", "nginx:2");
    h.applied
        .send_replace(Some(commit(h.dir.path(), "c2", &newer, h.wall)));
    gate.add_permits(2);
    h.until("the new commit is applied", |h| h.applies() == 2)
        .await;
    assert_eq!(h.last_actions(), [Action::Recreate]);
    let image = h.fake.world().hosts["local"].containers[0].image.clone();
    assert_eq!(image, "nginx:2");
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_lost_event_is_made_up_for_by_the_interval() {
    let h = start(Fake::default(), COMPOSE, "12:00:00");
    h.until("the stack is created", |h| h.applies() == 1).await;
    // Removed by hand, and the event is lost.
    h.fake
        .world()
        .hosts
        .get_mut("local")
        .unwrap()
        .containers
        .clear();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(h.applies(), 1, "no trigger, no pass");
    tokio::time::sleep(triggers::DEFAULT_INTERVAL).await;
    assert_eq!(h.applies(), 2, "the interval's pass healed the drift");
    assert_eq!(h.app_state(), Some(RunState::Running));
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_brake_trips_after_the_heal_limit_and_the_next_commit_releases_it() {
    let h = start(Fake::default(), COMPOSE, "12:00:00");
    h.until("the stack is created", |h| h.applies() == 1).await;
    for heal in 1..=brake::HEAL_LIMIT {
        h.remove_by_hand();
        h.until("the drift is healed", |h| h.applies() == 1 + heal)
            .await;
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    assert!(!h.kinds().contains(&AuditKind::Degraded));
    h.remove_by_hand();
    h.until_sync(plan::Sync::Degraded).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(h.applies(), 1 + brake::HEAL_LIMIT, "held by the brake");
    assert_eq!(h.app_state(), None);
    assert!(h.kinds().contains(&AuditKind::Degraded), "{:?}", h.kinds());
    // A new commit releases the brake: the stack is healed again.
    h.applied
        .send_replace(Some(commit(h.dir.path(), "c2", COMPOSE, h.wall)));
    h.until("the new commit heals", |h| {
        h.applies() == 2 + brake::HEAL_LIMIT
    })
    .await;
    assert_eq!(h.app_state(), Some(RunState::Running));
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_host_is_retried_with_growing_waits_reset_when_it_answers() {
    let fake = Fake::default();
    fake.world().down.insert("local".into());
    let h = start(fake, COMPOSE, "12:00:00");
    h.until("five looks", |h| h.fake.world().observed.len() >= 5)
        .await;
    let gaps = |h: &Harness| -> Vec<u64> {
        let w = h.fake.world();
        let times: Vec<_> = w.observed.iter().map(|o| o.0).collect();
        times.windows(2).map(|p| (p[1] - p[0]).as_secs()).collect()
    };
    assert_eq!(gaps(&h)[..4], [2, 4, 8, 16], "HOST_RETRY doubles from 2 s");
    assert_eq!(h.applies(), 0);
    assert_eq!(
        h.kinds()
            .iter()
            .filter(|k| **k == AuditKind::HostUnreachable)
            .count(),
        1,
        "the outage is told once"
    );
    // The host answers again: the next look deploys, the retry stops.
    h.fake.world().down.clear();
    h.until("the stack is created", |h| h.applies() == 1).await;
    assert!(
        h.kinds().contains(&AuditKind::HostRecovered),
        "{:?}",
        h.kinds()
    );
    let looks = h.fake.world().observed.len();
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(
        h.fake.world().observed.len(),
        looks,
        "no retry while it answers"
    );
    // Down again: the waits start over from 2 s.
    h.fake.world().down.insert("local".into());
    h.fake.world().followed["local"].request(Reason::DockerEvent);
    h.until("three more looks", |h| {
        h.fake.world().observed.len() >= looks + 3
    })
    .await;
    let g = gaps(&h);
    assert_eq!(g[g.len() - 2..], [2, 4], "the backoff was reset: {g:?}");
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_sleep_window_stops_the_stack_when_it_opens_and_starts_it_when_it_closes() {
    let compose =
        format!("{COMPOSE}x-tend:\n  sleep: {{ from: \"0 1 * * *\", to: \"0 7 * * *\" }}\n");
    let h = start(Fake::default(), &compose, "00:59:30");
    h.until("the stack is created", |h| h.applies() == 1).await;
    assert_eq!(h.app_state(), Some(RunState::Running));
    tokio::time::sleep(Duration::from_secs(40)).await;
    assert_eq!(
        h.app_state(),
        Some(RunState::Exited),
        "{:?}",
        h.last_actions()
    );
    assert!(h.last_actions().contains(&Action::Stop));
    // Six hours on, at 07:00, it runs again.
    tokio::time::sleep(Duration::from_secs(6 * 3600)).await;
    assert_eq!(
        h.app_state(),
        Some(RunState::Running),
        "{:?}",
        h.last_actions()
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_stack_job_stop_holds_the_service_until_a_start() {
    let h = start(Fake::default(), COMPOSE, "12:00:00");
    h.until("the stack is created", |h| h.applies() == 1).await;
    let job = |action| {
        let (reply, answer) = oneshot::channel();
        let req = StackRequest {
            job: "nightly".into(),
            stack: "web".into(),
            action,
            services: Vec::new(),
            reply,
        };
        (req, answer)
    };
    let (req, answer) = job(StackAction::Stop);
    h.requests.send(req).await.unwrap();
    let log = answer.await.unwrap().expect("the stop works");
    assert!(log.iter().any(|l| l.contains("Stop")), "{log:?}");
    assert_eq!(h.app_state(), Some(RunState::Exited));
    // The interval's pass leaves the held service stopped.
    tokio::time::sleep(triggers::DEFAULT_INTERVAL + Duration::from_secs(1)).await;
    assert_eq!(h.app_state(), Some(RunState::Exited));
    assert_eq!(h.applies(), 1, "nothing to heal while it is held");
    let (req, answer) = job(StackAction::Start);
    h.requests.send(req).await.unwrap();
    answer.await.unwrap().expect("the start works");
    assert_eq!(h.app_state(), Some(RunState::Running));
    assert_eq!(h.fake.world().acts.len(), 2);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn with_self_heal_off_drift_is_told_held_and_shown_not_applied() {
    let compose = format!("# self_heal off\n{COMPOSE}");
    let h = start(Fake::default(), &compose, "12:00:00");
    h.until("the stack is created", |h| h.applies() == 1).await;
    h.remove_by_hand();
    h.until("the drift is told", |h| {
        h.kinds().contains(&AuditKind::Drift)
    })
    .await;
    h.until_sync(plan::Sync::OutOfSync).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(h.applies(), 1, "held drift is never applied");
    assert_eq!(h.app_state(), None);
    h.stop().await;
}
