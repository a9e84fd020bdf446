//! tend keeps a homelab in the state a git repository describes: it
//! validates each commit, applies stacks, runs scheduled jobs, records runs,
//! shows a status page and sends alerts.
//!
//! # Layout
//!
//! - [`model`]: domain types — [`model::Desired`], jobs, stacks, hosts;
//!   rendered targets, observed hosts, changes and plans. Pure.
//! - [`config`]: a config repository on disk → validated `Desired`, or every
//!   problem at `file:line:col`; also the JSON Schemas. Pure but for reading
//!   the repository's files and the host's age identities.
//! - [`schedule`]: cron expressions in a time zone; `now` is an argument. Pure.
//! - [`sops`]: SOPS-encrypted files — recognised, the data key unwrapped
//!   with age identities, values decrypted, the MAC verified. Pure but for
//!   reading the host's identities and a file to open.
//! - [`plan`]: desired stacks (rendered, hashed) + observed hosts → the
//!   changes to make, each with its reason. Pure.
//! - [`source`]: the config source — a git remote (git2, bare clone,
//!   read-only snapshots per commit) or a plain folder in dev mode. Edge.
//! - [`store`]: redb — audit events and meta values; a read-only handle for
//!   the web layer. Edge.
//! - [`docker`]: the Docker Engine API (bollard) — observe managed
//!   containers, apply a stack's plan, container actions, events. Edge.
//! - [`live`]: the broadcast hub behind the SSE stream.
//! - [`metrics`]: Prometheus counters, histograms and gauges; text
//!   exposition. Pure (no I/O).
//! - [`runner`]: job processes — clean env, secrets resolved and redacted,
//!   process groups, timeouts, captured and capped logs, Ansible recaps. Edge.
//! - [`web`]: axum — pages, JSON API, SSE, metrics, health checks, the
//!   signed git webhook. Edge.
//! - [`alert`]: notifications — Apprise URLs to each service's request,
//!   sent with reqwest (rustls). Edge.
//! - [`workdir`]: each stack's persistent working directory — tracked
//!   files placed from git with a manifest, drift restored, what
//!   containers write never touched; the upgrade from `DATA/binds`. Edge.
//! - [`reconcile`]: the four controllers, each in its own room and each
//!   taking its effects through small traits: `commits` (source → config →
//!   the commit in force), `stacks` (commit → Docker hosts), `jobs` (commit
//!   → runs), `notify` (runs and events → letters → outbox → services);
//!   with the shared queue, triggers, clock and backoff. Sees several edges.
//! - [`daemon`]: `daemon::run(options, listener, shutdown)` — wires the
//!   real source, store, engines, runner and post into the controllers and
//!   the web server, and stops them in order. `tend run` only parses
//!   arguments and turns signals into `shutdown`.
//!
//! Dependency rule: the pure core (`model`, `config`, `schedule`, `sops`, `plan`)
//! imports no tokio, git2, bollard, redb or axum; `model` holds the domain
//! types every other module shares, "Actual" (observed hosts) included.
//! Edge modules (source, docker, runner, store, alert, web, workdir) depend
//! on the core and not on each other, nor on `plan`; only `reconcile`,
//! `daemon` and `main` see several edges. (`scripts/code_metrics.py`
//! checks the file cycles and edge imports.)

#![warn(missing_docs)]

pub mod alert;
pub mod config;
pub mod daemon;
pub mod docker;
pub mod live;
pub mod metrics;
pub mod model;
pub mod plan;
pub mod reconcile;
pub mod runner;
pub mod schedule;
pub mod sops;
pub mod source;
pub mod store;
pub mod web;
pub mod workdir;
