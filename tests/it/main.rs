//! The one integration-test binary (ripgrep's layout): each module tests one
//! face of tend through the built `tend` binary or the library, against real
//! files and real git repositories in temp folders.

mod alerts;
mod ansible;
mod badges;
mod browser;
mod check;
mod compose;
mod compose_build;
mod compose_corpus;
mod compose_hooks;
mod compose_project;
mod daemon;
mod hostile;
mod image;
mod jobs;
mod notify;
mod runs;
mod schedule;
mod schema;
mod secrets;
mod secrets_daemon;
mod sources;
mod stack_data;
mod stack_remote;
mod stack_upgrade;
mod stacks;
mod stacks_daemon;
mod support;
mod vault;
mod web;
