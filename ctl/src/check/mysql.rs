//! MySQL checks: the server answers, every migration of this build is applied (and none was
//! edited after), and each job's mapping fits its live target table.

use std::time::Duration;

use k3sync_common::db::MIGRATOR;
use k3sync_common::mapping::CompiledMapping;
use k3sync_common::settings::{JobSettings, Settings};
use k3sync_common::sink::{Convergence, MySqlSink};
use sqlx::mysql::MySqlConnectOptions;
use sqlx::{Connection, MySqlConnection, MySqlPool};

use super::{Report, error_chain};
use crate::migrate;

/// How long the first connection may take before the check gives up on the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn check(
    settings: &Settings,
    mappings: &[(&JobSettings, Option<CompiledMapping>)],
    report: &mut Report,
) {
    let options = match settings.mysql.connect_options() {
        Ok(options) => options,
        Err(error) => return report.fail("mysql", format!("mysql.url: {}", error_chain(&error))),
    };
    let place = format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("")
    );
    // One plain connection first: a pool's acquire retries until its timeout and then reports
    // only "pool timed out", hiding "connection refused" or "access denied for user …".
    match first_connection(&options).await {
        Ok(version) => report.ok("mysql", format!("{version} at {place}")),
        Err(error) => return report.fail("mysql", format!("{place}: {error}")),
    }
    let pool = match settings.mysql.pool() {
        Ok(pool) => pool,
        Err(error) => return report.fail("mysql", error_chain(&error)),
    };
    migrations(&pool, report).await;
    for (job, mapping) in mappings {
        if let Some(mapping) = mapping {
            table(&pool, job, mapping, report).await;
        }
    }
    pool.close().await;
}

/// Connects once, asks the server's version and hangs up; the error is the server's or the
/// socket's own (connection refused, access denied, unknown database), or a timeout.
async fn first_connection(options: &MySqlConnectOptions) -> Result<String, String> {
    let attempt = async {
        let mut connection = MySqlConnection::connect_with(options).await?;
        let version = sqlx::query_scalar::<_, String>("SELECT VERSION()")
            .fetch_one(&mut connection)
            .await?;
        let _ = connection.close().await;
        Ok::<_, sqlx::Error>(version)
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(Ok(version)) => Ok(version),
        Ok(Err(error)) => Err(error_chain(&error)),
        Err(_) => Err(format!("no answer within {CONNECT_TIMEOUT:?}")),
    }
}

async fn migrations(pool: &MySqlPool, report: &mut Report) {
    let recorded = match migrate::recorded(pool).await {
        Ok(recorded) => recorded,
        Err(error) => return report.fail("migrations", error_chain(&error)),
    };
    let mut problems = Vec::new();
    for m in MIGRATOR.iter() {
        match recorded.get(&m.version) {
            None => problems.push(format!("{} {} is pending", m.version, m.description)),
            Some(r) if !r.success => problems.push(format!(
                "{} {} failed half-way; fix the schema by hand, then delete its _sqlx_migrations row",
                m.version, m.description
            )),
            Some(r) if r.checksum != *m.checksum => problems.push(format!(
                "{} {} was edited after it was applied (checksum differs)",
                m.version, m.description
            )),
            Some(_) => {}
        }
    }
    if !problems.is_empty() {
        return report.fail(
            "migrations",
            format!("{}; run `ctl migrate`", problems.join("; ")),
        );
    }
    let unknown: Vec<String> = recorded
        .keys()
        .filter(|v| !MIGRATOR.version_exists(**v))
        .map(ToString::to_string)
        .collect();
    let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    if unknown.is_empty() {
        report.ok(
            "migrations",
            format!("all {} applied (latest {latest})", MIGRATOR.iter().count()),
        );
    } else {
        report.warn(
            "migrations",
            format!(
                "the database has migrations this build does not know ({}): is ctl older than the schema?",
                unknown.join(", ")
            ),
        );
    }
}

async fn table(
    pool: &MySqlPool,
    job: &JobSettings,
    mapping: &CompiledMapping,
    report: &mut Report,
) {
    let what = format!("mapping {}", job.name);
    let columns = match MySqlSink::table_columns(pool, mapping.table()).await {
        Ok(columns) => columns,
        Err(error) => return report.fail(what, error_chain(&error)),
    };
    if columns.is_empty() {
        return report.fail(
            what,
            format!("table `{}` does not exist in the database", mapping.table()),
        );
    }
    if let Some(leave) = &job.leave
        && let Err(error) = Convergence::new(&job.name, leave, mapping)
            .and_then(|c| c.check_columns(mapping.table(), &columns))
    {
        let setting = error.setting();
        return report.fail(
            what,
            format!("jobs.leave.{setting} of job `{}`: {error}", job.name),
        );
    }
    match mapping.check_columns(&columns) {
        Ok(()) => report.ok(
            what,
            format!(
                "{} columns map onto `{}` (key {}, version {})",
                mapping.columns().len(),
                mapping.table(),
                mapping.key_column(),
                mapping.version_column()
            ),
        ),
        Err(error) => report.fail(what, error_chain(&error)),
    }
}
