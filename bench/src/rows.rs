//! The "already-mapped rows" of the raw references: the job's rows read from the mock exactly as
//! the producer reads them (same FieldKeys, filter and keyset order) and mapped with the job's
//! compiled mapping, held in memory before any timing starts.

use anyhow::Context;
use k3sync_common::kingdee::{Keyset, KingdeeClient};
use k3sync_common::mapping::{CompiledMapping, MappingSpec};
use k3sync_common::record::Cursor;
use k3sync_common::settings::Settings;
use k3sync_common::sink::MappedRow;
use k3sync_producer::derive_field_keys;

/// The job's mapping, writing into `table` instead of the job's target.
pub fn mapping_for(settings: &Settings, table: &str) -> anyhow::Result<CompiledMapping> {
    let job = &settings.jobs[0];
    let mut spec = MappingSpec::from_target(&job.target)?;
    spec.table = table.to_owned();
    Ok(CompiledMapping::compile(&spec)?)
}

/// Every row of the job, mapped, in key order.
pub async fn fetch_mapped(settings: &Settings) -> anyhow::Result<Vec<MappedRow>> {
    let job = &settings.jobs[0];
    let mapping = mapping_for(settings, &job.target.table)?;
    let field_keys = derive_field_keys(job, &mapping);
    let client = KingdeeClient::new(&settings.kingdee)?;
    let keyset = Keyset::by_key(&job.key_field);
    let mut cursor = Cursor::Start;
    let mut rows = Vec::new();
    loop {
        let query = keyset.page(
            &job.form_id,
            &field_keys,
            &job.matching(),
            &cursor,
            job.page_size,
        );
        let records = client
            .execute_bill_query(&query)
            .await
            .context("reading the reference rows from the mock")?;
        let Some(last) = records.len().checked_sub(1) else {
            break;
        };
        cursor = keyset.advance(&records, last)?;
        let full = records.len() == job.page_size as usize;
        let positions = records.positions(&mapping.source_fields());
        for values in &records.rows {
            rows.push(mapping.apply_row(&positions, values)?);
        }
        if !full {
            break;
        }
    }
    Ok(rows)
}
