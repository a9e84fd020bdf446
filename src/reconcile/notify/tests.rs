//! The courier's decisions, with a fake post (no network), a real store in
//! a temp folder and tokio's paused clock: a receiver that fails is probed
//! with one notification at a time on a growing backoff, one success opens
//! it for all, and a slow receiver delays no other.

use super::deliver::Courier;
use super::post::{Post, Posting};
use crate::alert::Delivered;
use crate::model::{Alert, AuditKind, Delivery, Letter};
use crate::reconcile::clock::TokioClock;
use crate::store::Store;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Answers per URL (200 once the list is used up), each after the URL's
/// delay; logs when each attempt began.
#[derive(Default)]
struct FakePost {
    answers: Mutex<HashMap<String, VecDeque<u16>>>,
    delay: HashMap<String, Duration>,
    log: Arc<Mutex<Vec<(Instant, String, String)>>>,
}

impl Post for FakePost {
    fn post(&self, url: String, alert: Alert) -> Posting {
        self.log
            .lock()
            .unwrap()
            .push((Instant::now(), url.clone(), alert.subject.clone()));
        let status = self
            .answers
            .lock()
            .unwrap()
            .get_mut(&url)
            .and_then(VecDeque::pop_front)
            .unwrap_or(200);
        let delay = self.delay.get(&url).copied().unwrap_or_default();
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            Ok(Delivered {
                status,
                body: String::new(),
                retry_after: None,
            })
        })
    }
}

fn letter(url: &str, subject: &str) -> Letter {
    let mut alert = crate::model::alert::sample::alert(crate::model::EventKind::Failure);
    alert.subject = subject.into();
    Letter {
        key: format!("{url}|{subject}"),
        repeat: chrono::Duration::hours(1),
        url: url.into(),
        alert,
    }
}

/// Queues `letters` in `store`, as an event's alerts are.
fn queue(store: &Store, letters: &[Letter]) {
    let details = serde_json::Value::Null;
    store
        .record(AuditKind::Started, None, "t", details, &[], letters)
        .unwrap();
}

/// Starts a courier with `post` on `store` (5 s first backoff).
fn courier(store: &Store, post: FakePost) -> watch::Sender<bool> {
    let courier = Courier {
        store: store.clone(),
        metrics: Default::default(),
        backoff: Duration::from_secs(5),
        post: Arc::new(post),
        clock: Arc::new(TokioClock::starting_at(chrono::Utc::now())),
    };
    let (stop, rx) = watch::channel(false);
    tokio::spawn(courier.run(rx));
    stop
}

fn states(store: &Store) -> Vec<(String, Delivery, u32)> {
    let all = store.reader().outbox(100, None).unwrap();
    let mut out: Vec<_> = all
        .into_iter()
        .map(|n| (n.alert.subject, n.state, n.attempts))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test(start_paused = true)]
async fn a_failing_receiver_is_probed_on_a_growing_backoff_then_opens_for_all() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.redb")).unwrap();
    let down = "json://127.0.0.1:9/down";
    let post = FakePost::default();
    post.answers
        .lock()
        .unwrap()
        .insert(down.into(), VecDeque::from([500, 500, 500, 500]));
    let log = post.log.clone();
    queue(
        &store,
        &[letter(down, "a"), letter(down, "b"), letter(down, "c")],
    );
    let start = Instant::now();
    let stop = courier(&store, post);
    tokio::time::sleep(Duration::from_secs(600)).await;
    let log = log.lock().unwrap().clone();
    // The first attempts of all three fail; then one probe at a time until
    // one gets through (the fourth failure is the last), then the rest.
    let probes: Vec<f64> = log
        .iter()
        .skip(3)
        .take(2)
        .map(|(t, ..)| (*t - start).as_secs_f64())
        .collect();
    assert_eq!(log.len(), 3 + 2 + 2, "{log:?}");
    assert!(
        (4.0..=6.0).contains(&probes[0]),
        "first probe after ~5 s: {probes:?}"
    );
    let second_wait = probes[1] - probes[0];
    assert!(
        (12.0..=18.0).contains(&second_wait),
        "then ~15 s: {probes:?}"
    );
    let after: Vec<f64> = log[5..]
        .iter()
        .map(|(t, ..)| (*t - start).as_secs_f64())
        .collect();
    assert!(
        after.iter().all(|t| (t - probes[1]).abs() < 0.5),
        "the others go as soon as the probe got through: {after:?} vs {probes:?}"
    );
    let sent: Vec<_> = states(&store).into_iter().map(|(_, s, _)| s).collect();
    assert_eq!(sent, [Delivery::Sent; 3]);
    stop.send(true).unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_slow_receiver_delays_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.redb")).unwrap();
    let (slow, fast) = ("json://127.0.0.1:9/slow", "json://127.0.0.1:9/fast");
    let mut post = FakePost::default();
    post.delay.insert(slow.into(), Duration::from_secs(300));
    let log = post.log.clone();
    let stop = courier(&store, post);
    queue(&store, &[letter(slow, "s1"), letter(slow, "s2")]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    queue(&store, &[letter(fast, "f")]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = states(&store);
    assert!(
        got.contains(&("f".into(), Delivery::Sent, 1)),
        "sent while the slow receiver still holds its attempts: {got:?}"
    );
    assert!(
        got.contains(&("s1".into(), Delivery::Pending, 0)),
        "{got:?}"
    );
    tokio::time::sleep(Duration::from_secs(400)).await;
    let got = states(&store);
    assert!(got.iter().all(|(_, s, _)| *s == Delivery::Sent), "{got:?}");
    assert_eq!(log.lock().unwrap().len(), 3);
    stop.send(true).unwrap();
}
