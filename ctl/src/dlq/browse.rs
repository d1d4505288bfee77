//! `ctl dlq list` and `ctl dlq show`: read dead letters without taking them off the queue. The
//! walk acks nothing, so closing it puts every letter back in its place.

use k3sync_common::amqp::Topology;
use k3sync_common::settings::Settings;
use lapin::Connection;

use super::connect;
use super::letter::Letter;
use super::select::Selection;
use super::walk::Walk;
use k3sync_common::dlq::error_log::{self, Failure};

/// The selected letters, in queue order, job by job.
pub async fn list(settings: &Settings, selection: &Selection) -> anyhow::Result<Vec<Letter>> {
    let connection = connect(settings).await?;
    let mut letters = Vec::new();
    let result = read(&connection, settings, selection, |letter| {
        if selection.matches(&letter) {
            letters.push(letter);
        }
        selection.full(letters.len())
    })
    .await;
    let _ = connection.close(200, "ctl done".into()).await;
    result?;
    Ok(letters)
}

/// One letter in full and its recorded failures.
#[derive(Debug)]
pub struct Shown {
    /// The letter, when it is in a dead queue.
    pub letter: Option<Letter>,
    /// Its rows in `error_log`, oldest first.
    pub history: Vec<Failure>,
    /// Why the history could not be read (MySQL down); the letter is still shown.
    pub history_error: Option<String>,
}

/// Finds the letter with message id `id` in the job's (or every job's) dead queue.
pub async fn show(settings: &Settings, job: Option<&str>, id: &str) -> anyhow::Result<Shown> {
    let selection = Selection::of_job(settings, job)?;
    let connection = connect(settings).await?;
    let mut found = None;
    let result = read(&connection, settings, &selection, |letter| {
        if letter.id.as_deref() == Some(id) {
            found = Some(letter);
        }
        found.is_some()
    })
    .await;
    let _ = connection.close(200, "ctl done".into()).await;
    result?;
    let history = match settings.mysql.pool() {
        Ok(pool) => {
            let history = error_log::history(&pool, id).await;
            pool.close().await;
            history.map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    };
    Ok(Shown {
        letter: found,
        history_error: history.as_ref().err().cloned(),
        history: history.unwrap_or_default(),
    })
}

/// Walks the selected jobs' dead queues, handing each letter to `visit` until it says stop.
async fn read(
    connection: &Connection,
    settings: &Settings,
    selection: &Selection,
    mut visit: impl FnMut(Letter) -> bool,
) -> anyhow::Result<()> {
    for job in &selection.jobs {
        let queue = Topology::new(job, &settings.amqp).dead_queue();
        let Some(mut walk) = Walk::begin(connection, &queue).await? else {
            continue;
        };
        let mut stop = false;
        while !stop && let Some((position, delivery)) = walk.next().await? {
            stop = visit(Letter::from_delivery(job, position, &delivery));
        }
        walk.end().await?;
        if stop {
            break;
        }
    }
    Ok(())
}
