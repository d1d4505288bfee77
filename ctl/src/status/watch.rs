//! `ctl status --watch`: redraws the report in place every interval until Ctrl-C, on one broker
//! connection and one pool (reconnecting when the broker went away).

use std::io::Write;
use std::pin::pin;
use std::time::Duration;

use k3sync_common::settings::Settings;

use super::{StatusOptions, StatusSource, render};

/// Clear the screen and move the cursor home.
const CLEAR: &str = "\x1b[2J\x1b[H";

pub async fn watch(
    settings: &Settings,
    options: &StatusOptions,
    json: bool,
    every: Duration,
) -> anyhow::Result<()> {
    let mut source = StatusSource::new(settings)?;
    let mut stop = pin!(tokio::signal::ctrl_c());
    loop {
        let report = tokio::select! {
            _ = &mut stop => break,
            report = source.snapshot(options) => report?,
        };
        let mut stdout = std::io::stdout().lock();
        write!(
            stdout,
            "{CLEAR}{}\nevery {}s; Ctrl-C to stop\n",
            render(&report, json),
            every.as_secs()
        )?;
        stdout.flush()?;
        drop(stdout);
        tokio::select! {
            _ = &mut stop => break,
            () = tokio::time::sleep(every) => {}
        }
    }
    source.close().await;
    Ok(())
}
