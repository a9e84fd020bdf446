//! tend keeps a homelab in the state a git repository describes: it
//! validates each commit, applies stacks, runs scheduled jobs, records runs,
//! shows a status page and sends alerts.
//!
//! # Layout
//!
//! - [`model`]: domain types — [`model::Desired`], jobs, stacks, hosts. Pure.
//! - [`config`]: a config repository on disk → validated `Desired`, or every
//!   problem at `file:line:col`; also the JSON Schemas. Pure but for reading
//!   the repository's files.
//! - [`schedule`]: cron expressions in a time zone; `now` is an argument. Pure.
//!
//! Dependency rule: the pure core (`model`, `config`, `schedule`, and `plan`
//! when it lands) imports no tokio, git2, bollard, redb or axum. Edge modules
//! (source, docker, runner, store, alert, web) depend on the core and not on
//! each other; only `reconcile` and `main` see several edges.

pub mod config;
pub mod model;
pub mod schedule;
