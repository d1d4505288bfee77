//! Kingdee check: one signed ExecuteBillQuery per job with `Limit 1` and the job's own
//! FieldKeys and filter, so wrong credentials, an unknown form or an unknown field answer with
//! Kingdee's own message (MsgCode 1, 4, 9) here rather than in the first run.

use k3sync_common::kingdee::{BillQuery, KingdeeClient};
use k3sync_common::mapping::CompiledMapping;
use k3sync_common::settings::{JobSettings, Settings};

use super::{Report, error_chain};

/// A check should answer within seconds, not sit out the producer's retry budget.
const ATTEMPTS: usize = 2;
const MAX_ELAPSED_SECS: u64 = 20;
const TIMEOUT_SECS: u64 = 30;

pub async fn check(
    settings: &Settings,
    mappings: &[(&JobSettings, Option<CompiledMapping>)],
    report: &mut Report,
) {
    let mut kingdee = settings.kingdee.clone();
    kingdee.retry_attempts = kingdee.retry_attempts.min(ATTEMPTS);
    kingdee.retry_max_elapsed_secs = kingdee.retry_max_elapsed_secs.min(MAX_ELAPSED_SECS);
    kingdee.request_timeout_secs = kingdee.request_timeout_secs.min(TIMEOUT_SECS);
    let client = match KingdeeClient::new(&kingdee) {
        Ok(client) => client,
        Err(error) => return report.fail("kingdee", error_chain(&error)),
    };
    for (job, mapping) in mappings {
        let what = format!("kingdee {}", job.name);
        let Some(mapping) = mapping else {
            report.warn(what, "skipped: the mapping does not compile");
            continue;
        };
        let query = BillQuery {
            form_id: job.form_id.clone(),
            field_keys: k3sync_producer::derive_field_keys(job, mapping),
            filter_string: job.matching(),
            order_string: String::new(),
            start_row: 0,
            limit: 1,
            top_row_count: 0,
        };
        match client.execute_bill_query(&query).await {
            Ok(rows) => report.ok(
                what,
                format!(
                    "{} at {} answered {} row(s) for {} FieldKeys as {}",
                    job.form_id,
                    settings.kingdee.server_url,
                    rows.len(),
                    query.field_keys.len(),
                    settings.kingdee.user_name
                ),
            ),
            Err(error) => report.fail(what, error_chain(&error)),
        }
    }
}
