//! Diagnostics: one problem of a config repository at `file:line:col`, and
//! how `tend check` prints them (rustc-style with the source line, or JSON).

use super::node::Pos;
pub use crate::model::Diagnostic;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Every diagnostic of one validation, with the file texts to quote from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// The diagnostics, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// Text of each file read, by repository-relative path.
    pub sources: BTreeMap<String, String>,
    /// Warnings: what was accepted but not fully checked.
    pub notes: Vec<Diagnostic>,
}

impl Report {
    /// Records a problem in `file` at `pos`.
    pub fn error(&mut self, file: &str, pos: Pos, message: impl Into<String>) {
        self.diagnostics.push(Diagnostic {
            file: file.to_owned(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
        });
    }

    /// Records a warning in `file` at `pos`.
    pub fn note(&mut self, file: &str, pos: Pos, message: impl Into<String>) {
        self.notes.push(Diagnostic {
            file: file.to_owned(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
        });
    }

    /// The warnings as `file:line:col: warning: …` lines.
    pub fn render_notes(notes: &[Diagnostic]) -> String {
        notes
            .iter()
            .map(|d| {
                format!(
                    "{}:{}:{}: warning: {}\n",
                    d.file, d.line, d.column, d.message
                )
            })
            .collect()
    }

    /// True when no problem was recorded.
    pub fn is_ok(&self) -> bool {
        self.diagnostics.is_empty()
    }

    /// Sorts diagnostics by file and position and drops exact repeats.
    pub fn finish(&mut self) {
        self.diagnostics.sort();
        self.diagnostics.dedup();
        self.notes.sort();
        self.notes.dedup();
    }

    /// rustc-style text: each diagnostic with its source line and a caret.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for d in &self.diagnostics {
            let _ = writeln!(
                out,
                "{}:{}:{}: error: {}",
                d.file, d.line, d.column, d.message
            );
            let line = self
                .sources
                .get(&d.file)
                .and_then(|text| text.lines().nth(d.line.saturating_sub(1) as usize));
            if let Some(line) = line {
                let number = d.line.to_string();
                let pad = " ".repeat(number.len());
                let shown: String = line.chars().take(160).collect();
                let caret = " ".repeat(d.column.saturating_sub(1).min(160) as usize);
                let _ = writeln!(out, "{pad} |\n{number} | {shown}\n{pad} | {caret}^");
            }
        }
        let files = self
            .diagnostics
            .iter()
            .map(|d| &d.file)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let _ = writeln!(
            out,
            "error: {} {} in {} {}; this commit would not be applied",
            self.diagnostics.len(),
            plural(self.diagnostics.len(), "error", "errors"),
            files,
            plural(files, "file", "files"),
        );
        out.push_str(&Report::render_notes(&self.notes));
        out
    }

    /// `[{"file","line","column","message"}]`.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.diagnostics).unwrap_or_else(|_| "[]".into())
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}
