//! Error reporting shared by every binary: an error and its chain of causes on one line, for
//! logs, `sync_runs.error` and operator output.

use std::fmt::Write;

/// `outer: cause: root cause`. A cause whose text the message already ends with is left out:
/// some errors (sqlx's database error, for one) print their source in their own message too.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            let _ = write!(text, ": {cause_text}");
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("error returned from database: {0}")]
    struct Repeats(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("1045 (28000): Access denied for user 'k3sync'@'localhost'")]
    struct Inner;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot connect")]
    struct Outer(#[source] Repeats);

    #[test]
    fn a_cause_already_in_the_message_is_printed_once() {
        assert_eq!(
            error_chain(&Outer(Repeats(Inner))),
            "cannot connect: error returned from database: 1045 (28000): Access denied for user \
             'k3sync'@'localhost'"
        );
    }
}
