//! `ctl status --watch`: the report again every interval until Ctrl-C, on one broker connection
//! and one pool (reconnecting when the broker went away). On a terminal each report replaces the
//! last (screen cleared, a footer line); otherwise nothing but reports reach stdout: with
//! `--json` one compact JSON document per line (JSON Lines, for `jq` and log shippers), without
//! it text reports one after the other. A closed stdout (`| head -3`) ends the watch cleanly.

use std::io::{IsTerminal, Write};
use std::pin::pin;
use std::time::Duration;

use k3sync_common::settings::Settings;

use super::{StatusOptions, StatusReport, StatusSource, render};

/// Clear the screen and move the cursor home.
const CLEAR: &str = "\x1b[2J\x1b[H";

pub async fn watch(
    settings: &Settings,
    options: &StatusOptions,
    json: bool,
    every: Duration,
) -> anyhow::Result<()> {
    let terminal = std::io::stdout().is_terminal();
    let mut source = StatusSource::new(settings)?;
    let mut stop = pin!(tokio::signal::ctrl_c());
    loop {
        let report = tokio::select! {
            _ = &mut stop => break,
            report = source.snapshot(options) => report?,
        };
        let frame = frame(&report, json, terminal, every);
        let mut stdout = std::io::stdout().lock();
        match stdout
            .write_all(frame.as_bytes())
            .and_then(|()| stdout.flush())
        {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => break,
            Err(e) => return Err(e.into()),
        }
        drop(stdout);
        tokio::select! {
            _ = &mut stop => break,
            () = tokio::time::sleep(every) => {}
        }
    }
    source.close().await;
    Ok(())
}

/// What one redraw writes to stdout.
fn frame(report: &StatusReport, json: bool, terminal: bool, every: Duration) -> String {
    let body = if json {
        format!("{}\n", serde_json::to_string(report).unwrap_or_default())
    } else {
        render(report, false)
    };
    let secs = every.as_secs();
    if terminal {
        format!("{CLEAR}{body}\nevery {secs}s; Ctrl-C to stop\n")
    } else if json {
        body
    } else {
        format!("{body}\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> StatusReport {
        StatusReport {
            schema: super::super::SCHEMA,
            generated_at: chrono::Utc::now(),
            broker_error: Some("down\nreally".into()),
            database_error: None,
            jobs: Vec::new(),
        }
    }

    #[test]
    fn json_frames_off_a_terminal_are_one_document_per_line_and_nothing_else() {
        let frame = frame(&report(), true, false, Duration::from_secs(2));
        assert!(frame.ends_with('\n'));
        assert_eq!(frame.lines().count(), 1, "{frame:?}");
        let doc: serde_json::Value = serde_json::from_str(frame.trim_end()).unwrap();
        assert_eq!(doc["broker_error"], "down\nreally");
        assert!(!frame.contains('\x1b'));
    }

    #[test]
    fn only_a_terminal_gets_the_screen_cleared_and_the_footer() {
        let on_terminal = frame(&report(), false, true, Duration::from_secs(2));
        assert!(on_terminal.starts_with(CLEAR));
        assert!(on_terminal.ends_with("every 2s; Ctrl-C to stop\n"));
        let piped = frame(&report(), false, false, Duration::from_secs(2));
        assert!(
            !piped.contains('\x1b') && !piped.contains("Ctrl-C"),
            "{piped}"
        );
        assert!(piped.starts_with("k3sync status at "));
    }
}
