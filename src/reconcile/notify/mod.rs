//! The notification controller: [`letters`] turns a finished run or an
//! audit event into letters for the rules of the commit in force (the
//! store throttles and queues them with their cause); [`deliver`] sends
//! the outbox, each notification on its own task; [`gate`] decides which
//! may go now.
//!
//! The promises, and where each is kept:
//!
//! - **No alert lost on restart**: a letter is stored in the transaction
//!   that records its cause (a run's end, an audit event), and the outbox
//!   is read back at start (`letters`, `deliver`).
//! - **One alert per failure streak, one recovery**: the store's throttle
//!   per rule and subject lets the first failure out, holds the repeats
//!   (or lets a reminder out after the rule's `repeat`), and lets the
//!   recovery out only to a rule that heard of the failure (`letters`).
//! - **A slow or dead receiver delays nothing else**: each attempt runs on
//!   its own task, a few per service, and a receiver that fails is probed
//!   by one notification at a time until it answers (`gate`).
//! - **Retries that end**: exponential backoff with jitter, `Retry-After`
//!   honoured, a fixed number of attempts, and answers that will not change
//!   failing at once (`deliver`).
//! - **No secret in the store or the logs**: URLs are stored as written,
//!   with their `${env:…}` references, and resolved only for an attempt.

pub mod deliver;
pub mod gate;
pub mod letters;
pub mod post;

#[cfg(test)]
mod tests;
