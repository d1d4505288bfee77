//! `ctl dlq purge --yes`: selected dead letters are deleted for good (acked off the dead queue)
//! and their `error_log` rows marked purged. Unselected letters stay, in order.

use anyhow::Context;
use k3sync_common::settings::Settings;
use sqlx::MySqlPool;

use super::act::{Action, Pace, act};
use super::connect;
use super::letter::Letter;
use super::select::Selection;
use super::summary::Summary;
use k3sync_common::dlq::error_log::{self, Resolution};

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
        error_log::mark(
            &self.pool,
            job,
            letters.iter().filter_map(|l| l.id.as_deref()),
            Resolution::Purged,
        )
        .await
        .context("cannot mark error_log rows purged")?;
        Ok(())
    }
}
