//! A run's log as it is captured: stdout and stderr lines interleaved, each
//! with a timestamp, secrets replaced by `***`, capped (the head is kept and
//! streamed out in chunks as it grows; past the cap only the tail is kept,
//! and a marker says how much was cut).

use chrono::Utc;
use std::collections::VecDeque;

/// Bytes of a log kept from its start.
pub const HEAD_BYTES: usize = 512 * 1024;
/// Bytes of a log kept from its end once the head is full.
pub const TAIL_BYTES: usize = 512 * 1024;

/// Where a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Out,
    /// Standard error.
    Err,
}

/// The log of one run being captured.
pub struct LogSink {
    secrets: Vec<String>,
    head_len: usize,
    pending: Vec<u8>,
    tail: VecDeque<u8>,
    cut: usize,
    /// The first line that explains a failure better than its exit code.
    pub hint: Option<&'static str>,
    watch: Option<fn(&str) -> Option<&'static str>>,
}

impl LogSink {
    /// A sink that redacts each of `secrets` (empty strings are ignored).
    pub fn new(secrets: Vec<String>) -> Self {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| s.len() >= 3).collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        LogSink {
            secrets,
            head_len: 0,
            pending: Vec::new(),
            tail: VecDeque::new(),
            cut: 0,
            hint: None,
            watch: None,
        }
    }

    /// Reads each line with `watch`; the first hint it gives is kept.
    pub fn watch(&mut self, watch: fn(&str) -> Option<&'static str>) {
        self.watch = Some(watch);
    }

    /// Replaces every secret value in `text` with `***`.
    pub fn redact(&self, text: &str) -> String {
        crate::model::secret::redact(text, &self.secrets)
    }

    /// Adds one line (without its newline).
    pub fn line(&mut self, stream: Stream, text: &str) {
        if self.hint.is_none() {
            self.hint = self.watch.and_then(|w| w(text));
        }
        let mark = if stream == Stream::Err { "!" } else { " " };
        let line = format!(
            "{}{mark} {}\n",
            Utc::now().format("%H:%M:%S%.3f"),
            self.redact(text)
        );
        self.push(line.as_bytes());
    }

    /// Adds a note from tend itself (start, exit, timeout, …).
    pub fn note(&mut self, text: &str) {
        let line = format!(
            "{} # {}\n",
            Utc::now().format("%H:%M:%S%.3f"),
            self.redact(text)
        );
        self.push(line.as_bytes());
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.head_len + bytes.len() <= HEAD_BYTES && self.tail.is_empty() {
            self.head_len += bytes.len();
            self.pending.extend_from_slice(bytes);
            return;
        }
        self.tail.extend(bytes);
        while self.tail.len() > TAIL_BYTES {
            let drop = self.tail.len() - TAIL_BYTES;
            self.tail.drain(..drop);
            self.cut += drop;
        }
    }

    /// Head bytes not yet handed out; the caller stores them as a chunk.
    pub fn take_pending(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.pending)
    }

    /// Everything not yet handed out, ending the log: remaining head, the
    /// cut marker, the tail.
    pub fn finish(mut self) -> Vec<u8> {
        let mut out = self.take_pending();
        if self.cut > 0 {
            out.extend_from_slice(format!("[… {} bytes cut by tend: logs keep the first {HEAD_BYTES} and the last {TAIL_BYTES} bytes …]\n", self.cut).as_bytes());
        }
        out.extend(self.tail);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_big_logs_cut() {
        let mut sink = LogSink::new(vec!["hunter2-secret".into(), "".into()]);
        sink.line(Stream::Out, "password is hunter2-secret!");
        let head = String::from_utf8(sink.take_pending()).unwrap();
        assert!(head.ends_with("  password is ***!\n"), "{head}");
        let line = "x".repeat(1000);
        for _ in 0..2000 {
            sink.line(Stream::Err, &line);
        }
        let rest = sink.finish();
        let text = String::from_utf8_lossy(&rest);
        assert!(text.contains("bytes cut by tend"), "marker");
        assert!(rest.len() < HEAD_BYTES + TAIL_BYTES + 200);
    }
}
