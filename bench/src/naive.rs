//! The naive reference: the script the seed describes, written the way its Python would be —
//! page ExecuteBillQuery by offset (`StartRow`/`Limit` 5000, signed requests), transform each
//! row, and `INSERT` it alone with autocommit, one request and one row at a time.

use std::time::{Duration, Instant};

use k3sync_common::kingdee::{BillQuery, KingdeeClient};
use k3sync_common::settings::Settings;
use k3sync_producer::derive_field_keys;
use sqlx::{ConnectOptions, Connection};

use crate::raw::bind;
use crate::rows::mapping_for;

/// The seed's page size.
const LIMIT: usize = 5000;

/// Copies the first `sample` rows of the job into `table`; returns (elapsed, rows written).
pub async fn run(
    settings: &Settings,
    table: &str,
    sample: usize,
) -> anyhow::Result<(Duration, usize)> {
    let job = &settings.jobs[0];
    let mapping = mapping_for(settings, table)?;
    let field_keys = derive_field_keys(job, &mapping);
    let columns: Vec<String> = mapping.columns().iter().map(|c| format!("`{c}`")).collect();
    let insert = format!(
        "INSERT INTO `{table}` ({}) VALUES ({})",
        columns.join(", "),
        vec!["?"; columns.len()].join(", ")
    );
    let mut conn = settings.mysql.connect_options()?.connect().await?;
    let client = KingdeeClient::new(&settings.kingdee)?;
    let started = Instant::now();
    let mut written = 0;
    while written < sample {
        let limit = LIMIT.min(sample - written);
        let query = BillQuery {
            form_id: job.form_id.clone(),
            field_keys: field_keys.clone(),
            filter_string: job.matching(),
            order_string: String::new(),
            start_row: written as u64,
            limit: limit as u32,
            top_row_count: 0,
        };
        let records = client.execute_bill_query(&query).await?;
        let short = records.len() < limit;
        let positions = records.positions(&mapping.source_fields());
        for values in &records.rows {
            let row = mapping.apply_row(&positions, values)?;
            let mut statement = sqlx::query(sqlx::AssertSqlSafe(insert.clone()));
            for value in &row {
                statement = bind(statement, value);
            }
            statement.execute(&mut conn).await?;
            written += 1;
        }
        if short {
            break;
        }
    }
    let elapsed = started.elapsed();
    conn.close().await?;
    Ok((elapsed, written))
}
