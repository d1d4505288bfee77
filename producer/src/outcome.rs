//! What a finished pass leaves behind besides its `sync_runs` row: the class of its failure
//! (`sync_runs.error_class`), the pass counter, and the job's gauges of the last success and of
//! the failures in a row, read back from `sync_runs` so that every producer replica (and a
//! restarted one) exports the same history that `/readyz` and `ctl status` judge.

use k3sync_common::monitoring;
use k3sync_common::settings::SyncMode;
use k3sync_common::state::{self, RunStatus};
use k3sync_common::telemetry::series;
use sqlx::MySqlPool;
use uuid::Uuid;

use crate::PassError;

/// The class of a failed pass, as stored and labelled: Kingdee's classes
/// (`authentication`, `configuration`, `transient`, `malformed`), then ours.
pub fn error_class(error: &PassError) -> &'static str {
    match error {
        PassError::Fetch(fetch) => fetch.source.class().as_str(),
        PassError::BadRecord { .. } => "bad_record",
        PassError::Publish { .. } | PassError::Broker(_) => "broker",
        PassError::Database(_) => "database",
    }
}

/// Records a finished pass. Never fails the pass: a database hiccup here only costs the class
/// of one failure and a stale gauge until the next pass (logged).
pub async fn record(
    pool: &MySqlPool,
    job: &str,
    mode: SyncMode,
    run_id: Uuid,
    status: RunStatus,
    error: Option<&PassError>,
) {
    metrics::counter!(series::PASSES, series::JOB => job.to_owned(), "mode" => mode.as_str(),
        "result" => status.as_str())
    .increment(1);
    if let Some(error) = error
        && let Err(e) = state::set_error_class(pool, run_id, error_class(error)).await
    {
        tracing::warn!(job, %run_id, error = %e, "Cannot record the class of a failed pass");
    }
    refresh_gauges(pool, job).await;
}

/// Sets the job's pass gauges from `sync_runs` (also at start, before the first pass).
pub async fn refresh_gauges(pool: &MySqlPool, job: &str) {
    match monitoring::history(pool, job).await {
        Ok(history) => {
            if let Some(at) = history.last_success_at {
                metrics::gauge!(series::LAST_SUCCESS, series::JOB => job.to_owned())
                    .set(at.timestamp_millis() as f64 / 1000.0);
            }
            metrics::gauge!(series::FAILED_IN_A_ROW, series::JOB => job.to_owned())
                .set(history.failures.len() as f64);
        }
        Err(e) => {
            tracing::warn!(job, error = %e, "Cannot read the pass history for the pass gauges");
        }
    }
}

#[cfg(test)]
mod tests {
    use k3sync_common::kingdee::KingdeeError;
    use k3sync_common::record::Cursor;

    use super::*;
    use crate::fetch::FetchError;

    fn fetch(source: KingdeeError) -> PassError {
        PassError::Fetch(FetchError {
            index: 0,
            cursor: Cursor::Start,
            source,
        })
    }

    #[test]
    fn a_failed_pass_is_classed_by_what_failed() {
        let refused = fetch(KingdeeError::Authentication {
            message: "会话信息已丢失，请重新登录".into(),
        });
        assert_eq!(error_class(&refused), "authentication");
        let paused = fetch(KingdeeError::AuthPaused {
            left_secs: 60,
            refusals: 2,
        });
        assert_eq!(error_class(&paused), "authentication");
        let field = fetch(KingdeeError::Refused {
            form_id: "BD_MATERIAL".into(),
            msg_code: 9,
            message: "字段FNope不存在".into(),
        });
        assert_eq!(error_class(&field), "configuration");
        let throttled = fetch(KingdeeError::Throttled {
            message: "调用限制".into(),
        });
        assert_eq!(error_class(&throttled), "transient");
        let db = PassError::Database(sqlx::Error::PoolTimedOut);
        assert_eq!(error_class(&db), "database");
    }
}
