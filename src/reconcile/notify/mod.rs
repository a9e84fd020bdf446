//! The notification controller: [`letters`] turns a finished run or an
//! audit event into letters for the rules of the commit in force (the
//! store throttles and queues them with their cause); [`deliver`] sends
//! the outbox, each notification on its own task; [`gate`] decides which
//! may go now.

pub mod deliver;
pub mod gate;
pub mod letters;
pub mod post;

#[cfg(test)]
mod tests;
