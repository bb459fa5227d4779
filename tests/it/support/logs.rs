//! One global capturing `tracing` subscriber for the whole test binary.
//!
//! A scoped (`set_default`) subscriber races with other test threads over tracing's per-callsite
//! interest cache and can miss events, and a process has only one global default: every test that
//! reads logs shares this one. Lines are JSON (`tracing_subscriber::fmt().json()`), at `DEBUG`.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// Everything logged so far, as written.
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// The whole capture as text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("lock").clone()).expect("utf-8")
    }

    /// Every captured line, parsed.
    pub(crate) fn lines(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON log line"))
            .collect()
    }

    /// The lines logged inside a span called `span` (tests name their span uniquely).
    pub(crate) fn in_span(&self, span: &str) -> Vec<serde_json::Value> {
        self.lines()
            .into_iter()
            .filter(|l| l["span"]["name"] == span)
            .collect()
    }
}

/// The capture, installing the subscriber on first use. Call it before the code under test logs.
pub(crate) fn captured() -> &'static Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
        captured
    })
}
