//! Dead letters: `ctl dlq list|show|replay|purge`. Every command walks a job's dead queue with
//! `basic.get` and acks only the letters it is done with, so nothing is lost and the letters it
//! leaves keep their order.

mod act;
mod browse;
mod letter;
mod purge;
mod render;
mod replay;
mod select;
mod summary;
mod walk;

pub use act::Pace;
pub use browse::{Shown, list, show};
pub use k3sync_common::dlq::error_log::{Failure, Resolution};
pub use letter::{DELIVERY_LIMIT, Letter};
pub use purge::purge;
pub use render::{render_letters, render_list, render_show};
pub use replay::{ReplayOptions, replay, replay_message};
pub use select::{Selection, SelectionError, parse_since};
pub use summary::Summary;

use anyhow::Context;
use k3sync_common::amqp;
use k3sync_common::settings::Settings;

/// A broker connection named after ctl (visible in the broker's connection list).
async fn connect(settings: &Settings) -> anyhow::Result<lapin::Connection> {
    amqp::connect(&settings.amqp, "k3sync-ctl")
        .await
        .context("cannot connect to RabbitMQ (amqp.url)")
}

/// Marks the `error_log` rows of `letters` (by message id) `resolution`; `verb` names it in the
/// error ("replayed").
async fn mark(
    pool: &sqlx::MySqlPool,
    job: &str,
    letters: &[Letter],
    resolution: Resolution,
    verb: &str,
) -> anyhow::Result<()> {
    let ids = letters.iter().filter_map(|l| l.id.as_deref());
    k3sync_common::dlq::error_log::mark(pool, job, ids, resolution)
        .await
        .with_context(|| format!("cannot mark error_log rows {verb}"))?;
    Ok(())
}

/// The pool `error_log` is marked through, checked before anything is touched: a replay that
/// cannot record what it did should not start.
async fn database(settings: &Settings) -> anyhow::Result<sqlx::MySqlPool> {
    let pool = settings.mysql.pool().context("mysql.url")?;
    sqlx::query("SELECT 1")
        .execute(&pool)
        .await
        .context("cannot reach MySQL (mysql.url); no dead letter was touched")?;
    Ok(pool)
}
