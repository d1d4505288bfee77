//! The reconciliation (`--mode reconcile`, or every `reconcile_secs`): what incremental passes
//! cannot see — deletions, un-audits that move no date, anything missed — made right.
//!
//! 1. List every key under the job's scope and filter, by key, into `sync_reconcile` (target
//!    key and source key) as the pages arrive: the producer holds one page at a time.
//! 2. Only after the listing completed (a failed or cancelled listing changes nothing): target
//!    rows not listed leave (leave messages stamped after the listing, so they win over every
//!    state read before it), and listed rows missing from the target (or marked as left) are
//!    read again and sent as upserts. MySQL does both comparisons; both are read in key order,
//!    a chunk at a time.

use std::sync::Arc;

use k3sync_common::amqp::{Kind, Topology};
use k3sync_common::kingdee::Keyset;
use k3sync_common::record::{Cursor, Rows, parse_key};
use k3sync_common::settings::{JobSettings, filter_and as and};
use k3sync_common::state::RunStatus;
use sqlx::{MySqlPool, QueryBuilder};
use tokio_util::sync::CancellationToken;

use crate::fetch::{FetchPlan, spawn_fetcher};
use crate::leaving;
use crate::pass::{PassError, PassReport, Producer};
use crate::stamp::Stamps;

/// Rows per `sync_reconcile` insert, and target keys compared per query.
const CHUNK: usize = 5_000;
/// Missing rows read again per ExecuteBillQuery (`FMaterialId IN (…)`).
const RESEND_PER_QUERY: usize = 500;

impl Producer {
    pub(crate) async fn reconcile(
        &self,
        job: &JobSettings,
        stamps: &Arc<Stamps>,
        report: &mut PassReport,
        cancel: &CancellationToken,
    ) -> Result<RunStatus, PassError> {
        let started = std::time::Instant::now();
        let listed = self.list_keys(job, stamps, report, cancel).await?;
        let listing_secs = started.elapsed().as_secs_f64();
        let Some(listed) = listed else {
            tracing::info!(job = %job.name, "Shutdown requested during the listing: nothing changed");
            return Ok(RunStatus::Cancelled);
        };
        let target = TargetTable::of(self, job);
        let seen = stamps.next();
        let route = Topology::new(&job.name, &self.settings.amqp).work_route();
        let (mut left, mut after) = (0u64, i64::MIN);
        loop {
            let keys = target.not_listed(&self.pool, &job.name, after).await?;
            let Some(&last) = keys.last() else { break };
            let messages = leaving::messages(job, &route, report.run_id, seen, &keys);
            self.publisher
                .publish_confirmed(&messages)
                .await
                .map_err(|source| PassError::Publish { page: 0, source })?;
            left += keys.len() as u64;
            after = last;
        }
        let resent = self.resend_missing(job, &target, stamps, report).await?;
        // The listing stays in `sync_reconcile` until the next one, for an operator to query.
        tracing::info!(job = %job.name, listed, left, resent,
            listing_secs = listing_secs, total_secs = started.elapsed().as_secs_f64(),
            "Reconciliation finished");
        Ok(RunStatus::Succeeded)
    }

    /// Lists the keys into `sync_reconcile`; `None` when cancelled first.
    async fn list_keys(
        &self,
        job: &JobSettings,
        stamps: &Arc<Stamps>,
        report: &mut PassReport,
        cancel: &CancellationToken,
    ) -> Result<Option<u64>, PassError> {
        sqlx::query("DELETE FROM sync_reconcile WHERE job = ?")
            .bind(&job.name)
            .execute(&self.pool)
            .await?;
        let plan = FetchPlan {
            form_id: job.form_id.clone(),
            field_keys: self.leave_field_keys(job),
            filter: job.matching(),
            keyset: Keyset::by_key(&job.key_field),
            page_size: job.page_size,
            until: None,
        };
        let (mut rx, _abort_fetcher) =
            spawn_fetcher(self.client.clone(), plan, Cursor::Start, Arc::clone(stamps));
        let mut listed = 0;
        loop {
            let page = tokio::select! {
                page = rx.recv() => page,
                () = cancel.cancelled() => return Ok(None),
            };
            let Some(page) = page else { return Ok(None) };
            let page = page?;
            let pairs = self.key_pairs(job, &page.records);
            insert_listed(&self.pool, &job.name, &pairs).await?;
            listed += pairs.len() as u64;
            if !page.records.is_empty() {
                report.pages += 1;
                report.records += page.records.len() as u64;
            }
            if page.last {
                return Ok(Some(listed));
            }
        }
    }

    /// (target key, source key) of each row that has both.
    fn key_pairs(&self, job: &JobSettings, rows: &Rows) -> Vec<(i64, i64)> {
        let at = rows.position(&job.key_field);
        let targets = self.target_keys(&job.name).of(rows);
        rows.rows
            .iter()
            .zip(targets)
            .filter_map(|(values, target)| {
                let source = at.and_then(|i| values.get(i)).and_then(parse_key)?;
                Some((target?, source))
            })
            .collect()
    }

    /// Reads the listed rows missing from the target again and publishes them as upserts.
    async fn resend_missing(
        &self,
        job: &JobSettings,
        target: &TargetTable,
        stamps: &Arc<Stamps>,
        report: &PassReport,
    ) -> Result<u64, PassError> {
        let batcher = self.batcher(job, report.run_id);
        let (mut resent, mut after) = (0u64, i64::MIN);
        loop {
            let missing = target.missing(&self.pool, &job.name, after).await?;
            let Some(&(last, _)) = missing.last() else {
                break;
            };
            after = last;
            for chunk in missing.chunks(RESEND_PER_QUERY) {
                let list = chunk
                    .iter()
                    .map(|(_, source)| source.to_string())
                    .collect::<Vec<_>>()
                    .join(",");
                let filter = and(&job.matching(), &format!("{} IN ({list})", job.key_field));
                let keyset = Keyset::by_key(&job.key_field);
                let query = keyset.page(
                    &job.form_id,
                    self.field_keys(&job.name),
                    &filter,
                    &Cursor::Start,
                    RESEND_PER_QUERY as u32,
                );
                let seen = stamps.next();
                let rows = self.query_once(&query).await?;
                resent += rows.len() as u64;
                self.publish_page(job, Kind::Upsert, &batcher, 0, rows, seen)
                    .await?;
            }
        }
        Ok(resent)
    }
}

/// Inserts listed (target key, source key) pairs; a target key listed twice keeps the first.
async fn insert_listed(
    pool: &MySqlPool,
    job: &str,
    pairs: &[(i64, i64)],
) -> Result<(), sqlx::Error> {
    for chunk in pairs.chunks(CHUNK) {
        let mut insert =
            QueryBuilder::new("INSERT IGNORE INTO sync_reconcile (job, target_key, source_key) ");
        insert.push_values(chunk, |mut row, (target, source)| {
            row.push_bind(job).push_bind(*target).push_bind(*source);
        });
        insert.build().execute(pool).await?;
    }
    Ok(())
}

/// The job's target table, as the comparisons need it (names from the compiled mapping and
/// the validated settings: whitelisted identifiers).
struct TargetTable {
    table: String,
    key: String,
    /// Mark mode: the mark column (a marked row counts as absent).
    mark: Option<String>,
}

impl TargetTable {
    fn of(producer: &Producer, job: &JobSettings) -> Self {
        Self {
            table: producer.target_keys(&job.name).table().to_owned(),
            key: producer.target_keys(&job.name).key_column().to_owned(),
            mark: job.leave.as_ref().and_then(|l| l.mark()).map(str::to_owned),
        }
    }

    /// Target keys after `after` (present, not marked) that the listing lacks.
    async fn not_listed(
        &self,
        pool: &MySqlPool,
        job: &str,
        after: i64,
    ) -> Result<Vec<i64>, sqlx::Error> {
        let present = match &self.mark {
            Some(mark) => format!(" AND t.`{mark}` IS NULL"),
            None => String::new(),
        };
        let sql = format!(
            "SELECT t.`{key}` FROM `{table}` t LEFT JOIN sync_reconcile r \
             ON r.job = ? AND r.target_key = t.`{key}` \
             WHERE r.target_key IS NULL AND t.`{key}` > ?{present} ORDER BY t.`{key}` LIMIT {CHUNK}",
            key = self.key,
            table = self.table,
        );
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(job)
            .bind(after)
            .fetch_all(pool)
            .await
    }

    /// Listed (target key, source key) pairs after `after` whose row is absent (or marked).
    async fn missing(
        &self,
        pool: &MySqlPool,
        job: &str,
        after: i64,
    ) -> Result<Vec<(i64, i64)>, sqlx::Error> {
        let marked = match &self.mark {
            Some(mark) => format!(" OR t.`{mark}` IS NOT NULL"),
            None => String::new(),
        };
        let sql = format!(
            "SELECT r.target_key, r.source_key FROM sync_reconcile r LEFT JOIN `{table}` t \
             ON t.`{key}` = r.target_key \
             WHERE r.job = ? AND r.target_key > ? AND (t.`{key}` IS NULL{marked}) \
             ORDER BY r.target_key LIMIT {CHUNK}",
            key = self.key,
            table = self.table,
        );
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(job)
            .bind(after)
            .fetch_all(pool)
            .await
    }
}
