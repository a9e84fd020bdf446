//! The human form of a plan, as `tend plan` prints it.

use super::{Action, Plan};
use std::fmt;

impl Action {
    /// Sign and verb for the human diff.
    pub fn describe(self) -> (&'static str, &'static str) {
        match self {
            Action::CreateNetwork => ("+", "create network"),
            Action::CreateVolume => ("+", "create volume"),
            Action::Create => ("+", "create"),
            Action::CreateStopped => ("+", "create (stopped)"),
            Action::Recreate => ("~", "recreate"),
            Action::RecreateStopped => ("~", "recreate (stopped)"),
            Action::Start => (">", "start"),
            Action::Stop => ("■", "stop"),
            Action::Pause => ("‖", "pause"),
            Action::Unpause => (">", "unpause"),
            Action::Rename => ("~", "rename"),
            Action::Remove => ("-", "remove"),
            Action::RemoveNetwork => ("-", "remove network"),
            Action::PlaceFile => ("+", "place file"),
            Action::RestoreFile => ("~", "restore file"),
            Action::RemoveFile => ("-", "remove file"),
            Action::CreateFolder => ("+", "create folder"),
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.stacks {
            let sync = crate::model::word(&s.sync());
            writeln!(
                f,
                "stack {} on {} ({}, {sync})",
                s.stack, s.host, s.desired_state
            )?;
            if let Some(e) = &s.error {
                writeln!(f, "  ! {e}")?;
            }
            for c in &s.changes {
                let (sign, verb) = c.action.describe();
                let n = if c.replica > 1 {
                    format!(" #{}", c.replica)
                } else {
                    String::new()
                };
                writeln!(f, "  {sign} {verb} {}{n}: {}", c.target, c.reason)?;
            }
            if !s.failing.is_empty() {
                writeln!(f, "  ! failing: {}", s.failing.join(", "))?;
            }
        }
        let n = self.len();
        match n {
            0 => writeln!(f, "no changes"),
            1 => writeln!(f, "1 change"),
            n => writeln!(f, "{n} changes"),
        }
    }
}
