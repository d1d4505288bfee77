//! SIGTERM and SIGINT cancel a token that every loop watches, so each binary stops at a safe
//! point (after a confirmed page, after a committed batch) instead of mid-write. A second signal
//! means the operator will not wait for that: the process exits at once, with the shell's code
//! for death by that signal (130 for SIGINT, 143 for SIGTERM). Nothing is lost either way: the
//! cursor only moves over confirmed pages and messages are acked only after their commit.

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// Cancels `token` on the first SIGTERM or SIGINT; exits the process on the second.
pub fn cancel_on_signal(token: CancellationToken) {
    let Some(mut signals) = Signals::install() else {
        // Without handlers the default action still ends the process on the first signal.
        tracing::warn!(
            "Cannot install signal handlers; SIGTERM and SIGINT stop the process at once"
        );
        return;
    };
    tokio::spawn(async move {
        let first = signals.next().await;
        tracing::info!(
            signal = first.name(),
            "Shutdown signal received; stopping at the next safe point (send another to exit at once)"
        );
        token.cancel();
        let second = signals.next().await;
        tracing::warn!(
            signal = second.name(),
            "Second shutdown signal received; exiting at once"
        );
        // eprintln as well: a log subscriber that buffers would not get to write the line.
        eprintln!("second {} received: exiting at once", second.name());
        std::process::exit(second.exit_code());
    });
}

/// Which of the two shutdown signals arrived; the value is the signal's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Received {
    Terminate = 15,
    Interrupt = 2,
}

impl Received {
    fn name(self) -> &'static str {
        match self {
            Received::Terminate => "SIGTERM",
            Received::Interrupt => "SIGINT",
        }
    }

    /// 128 + the signal number, as a shell reports a process killed by it.
    fn exit_code(self) -> i32 {
        128 + self as i32
    }
}

/// Both handlers, installed up front so that no signal between the first and the second one
/// falls back to the default action.
struct Signals {
    term: Signal,
    int: Signal,
}

impl Signals {
    fn install() -> Option<Self> {
        Some(Self {
            term: signal(SignalKind::terminate()).ok()?,
            int: signal(SignalKind::interrupt()).ok()?,
        })
    }

    async fn next(&mut self) -> Received {
        tokio::select! {
            _ = self.term.recv() => Received::Terminate,
            _ = self.int.recv() => Received::Interrupt,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_the_shells_for_death_by_that_signal() {
        assert_eq!(Received::Interrupt.exit_code(), 130);
        assert_eq!(Received::Terminate.exit_code(), 143);
    }
}
