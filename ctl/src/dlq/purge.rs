//! `ctl dlq purge --yes`: selected dead letters are deleted for good (acked off the dead queue)
//! and their `error_log` rows marked purged. Unselected letters stay, in order.

use k3sync_common::settings::Settings;
use sqlx::MySqlPool;

use super::act::{Action, Pace, act};
use super::letter::Letter;
use super::select::Selection;
use super::summary::Summary;
use super::{Resolution, connect};

/// Acks in chunks of this many letters, each chunk after its `error_log` rows are marked.
const CHUNK: usize = 100;

pub async fn purge(settings: &Settings, selection: &Selection) -> anyhow::Result<Summary> {
    let connection = connect(settings).await?;
    let pool = super::database(settings).await?;
    let mut action = Purge { pool };
    let pace = Pace {
        batch: CHUNK,
        rate: None,
    };
    let outcome = act(&connection, settings, selection, pace, &mut action).await;
    action.pool.close().await;
    let _ = connection.close(200, "ctl done".into()).await;
    Ok(outcome?.into())
}

struct Purge {
    pool: MySqlPool,
}

impl Action for Purge {
    fn verb(&self) -> &'static str {
        "purged"
    }

    async fn apply(&mut self, job: &str, letters: &[Letter]) -> anyhow::Result<()> {
        super::mark(&self.pool, job, letters, Resolution::Purged, self.verb()).await
    }
}
