//! Error reporting shared by every binary: an error and its chain of causes on one line, for
//! logs, `sync_runs.error` and operator output.

use std::fmt::Write;

/// `outer: cause: root cause`.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}
