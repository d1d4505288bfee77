//! `ctl migrate`: applies the migrations embedded in this build and reports which ones it
//! applied; also reads what a database has applied, for `ctl check`.

use std::collections::BTreeMap;
use std::fmt::Write;

use k3sync_common::db::MIGRATOR;
use sqlx::MySqlPool;

/// One migration of this build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub version: i64,
    pub description: String,
}

/// A migration as `_sqlx_migrations` records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub success: bool,
    pub checksum: Vec<u8>,
}

/// Applies what is pending; returns what was applied now (empty when the schema was current).
pub async fn run(pool: &MySqlPool) -> anyhow::Result<Vec<Applied>> {
    let before = recorded(pool).await?;
    k3sync_common::db::migrate(pool).await?;
    Ok(MIGRATOR
        .iter()
        .filter(|m| !before.get(&m.version).is_some_and(|r| r.success))
        .map(|m| Applied {
            version: m.version,
            description: m.description.to_string(),
        })
        .collect())
}

/// The migrations the database has recorded, by version (empty when it has none yet).
pub async fn recorded(pool: &MySqlPool) -> Result<BTreeMap<i64, Recorded>, sqlx::Error> {
    let rows: Vec<(i64, bool, Vec<u8>)> =
        match sqlx::query_as("SELECT version, success, checksum FROM _sqlx_migrations")
            .fetch_all(pool)
            .await
        {
            Ok(rows) => rows,
            // 1146: the table does not exist, so nothing has been applied yet.
            Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("42S02") => Vec::new(),
            Err(error) => return Err(error),
        };
    Ok(rows
        .into_iter()
        .map(|(version, success, checksum)| (version, Recorded { success, checksum }))
        .collect())
}

/// `applied 20261126000001 state` lines, or that there was nothing to do.
pub fn render(applied: &[Applied]) -> String {
    let mut out = String::new();
    if applied.is_empty() {
        let latest = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        let _ = writeln!(
            out,
            "schema is current (latest migration {latest}); nothing applied"
        );
    }
    for m in applied {
        let _ = writeln!(out, "applied {} {}", m.version, m.description);
    }
    out
}
