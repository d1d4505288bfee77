//! The running totals of a pass (pages, records) that every stream of it adds to, partitions
//! reading at once included: counted, exported and written to `sync_runs` in one place, under
//! one lock, so the row never shows a total smaller than one written before it.

use k3sync_common::state::{self, RunStatus};
use k3sync_common::telemetry::series;
use sqlx::MySqlPool;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::pass::PassReport;
use crate::progress::Progress;

pub struct Tally {
    run_id: Uuid,
    /// (pages, records) so far.
    counts: Mutex<(u64, u64)>,
}

impl Tally {
    pub fn new(report: &PassReport) -> Self {
        Self {
            run_id: report.run_id,
            counts: Mutex::new((report.pages, report.records)),
        }
    }

    pub fn run_id(&self) -> Uuid {
        self.run_id
    }

    /// Counts one page whose cursor is stored, with its `records` published: the metrics, the
    /// progress bar and, when it carried records, the pass's `sync_runs` row.
    pub async fn page(
        &self,
        pool: &MySqlPool,
        job: &str,
        records: u64,
        progress: &Progress,
    ) -> Result<(), sqlx::Error> {
        let mut counts = self.counts.lock().await;
        // Every page fetched counts, the empty one that ends the stream too.
        counts.0 += 1;
        metrics::counter!(series::PAGES_FETCHED, series::JOB => job.to_owned()).increment(1);
        if records == 0 {
            return Ok(());
        }
        counts.1 += records;
        metrics::counter!(series::RECORDS_PUBLISHED, series::JOB => job.to_owned())
            .increment(records);
        progress.advance(records);
        let (pages, total) = *counts;
        state::update_run(pool, self.run_id, RunStatus::Running, pages, total, None).await
    }

    /// Copies the totals into the pass's report.
    pub async fn report_into(&self, report: &mut PassReport) {
        let counts = self.counts.lock().await;
        (report.pages, report.records) = *counts;
    }
}
