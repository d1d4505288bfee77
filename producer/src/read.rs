//! One stream of a pass: page Kingdee one page ahead, publish each page under confirms, and
//! only then store the stream's cursor after it. A crash resumes from the last confirmed page:
//! nothing is lost and at most one page is sent twice. A partition of a full pass
//! ([`crate::partition`]) is read the same way, within its key bound and into its own row.

use std::sync::Arc;

use k3sync_common::amqp::{Kind, Topology};
use k3sync_common::kingdee::BillQuery;
use k3sync_common::record::{Cursor, Rows, distinct_fields, parse_key, version_text};
use k3sync_common::settings::JobSettings;
use k3sync_common::state::{self, RunStatus};
use tokio_util::sync::CancellationToken;

use crate::backpressure::wait_for_room;
use crate::batch::Batcher;
use crate::fetch::{FetchError, FetchPlan, spawn_fetcher};
use crate::leaving;
use crate::partition::Lane;
use crate::pass::{PassError, Producer};
use crate::progress::Progress;
use crate::stamp::Stamps;
use crate::stream::{Stream, later};
use crate::tally::Tally;
use crate::window::Window;

/// What every stream of a pass reads with.
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    pub job: &'a JobSettings,
    pub stream: &'a Stream,
    pub stamps: &'a Arc<Stamps>,
    pub progress: &'a Progress,
    pub tally: &'a Tally,
    pub cancel: &'a CancellationToken,
}

/// Where a stream stores its cursor after each confirmed page.
pub(crate) enum Checkpoint<'a> {
    /// Its own row (`Stream::cursor`); `stored` is the cursor it started from.
    Stream { stored: Cursor },
    /// A partition's row of a partitioned full pass.
    Partition(&'a Lane),
}

impl Producer {
    /// Reads `reader.stream` to its end (an empty page), or until `reader.cancel`.
    pub(crate) async fn read_stream(&self, reader: &Reader<'_>) -> Result<RunStatus, PassError> {
        let (job, stream) = (reader.job, reader.stream);
        let saved = state::load_cursor(&self.pool, &job.name, &stream.cursor).await?;
        if saved.is_none() && !stream.reads_the_past {
            return self.start_at_newest(reader).await;
        }
        // A finished pass of a stream that restarts starts over.
        let stored = match saved {
            Some((stored, open)) if open || !stream.restarts => stored,
            _ => Cursor::Start,
        };
        let start = stream.start(stored.clone());
        self.read_from(reader, start, Checkpoint::Stream { stored })
            .await
    }

    /// Reads from `start` until the end of the stream or of the partition in `checkpoint`.
    pub(crate) async fn read_from(
        &self,
        reader: &Reader<'_>,
        start: Cursor,
        checkpoint: Checkpoint<'_>,
    ) -> Result<RunStatus, PassError> {
        let (job, stream, tally, cancel) = (reader.job, reader.stream, reader.tally, reader.cancel);
        let (name, until, bound) = match &checkpoint {
            Checkpoint::Stream { .. } => (stream.cursor.as_str(), None, None),
            Checkpoint::Partition(lane) => (lane.name(), Some(lane.until()), lane.bound()),
        };
        tracing::info!(job = %job.name, stream = name, cursor = ?start, until = ?bound, "Stream starting");
        let field_keys = match stream.kind {
            Kind::Upsert => self.field_keys(&job.name).to_vec(),
            Kind::Leave => self.leave_field_keys(job),
        };
        let plan = FetchPlan {
            form_id: job.form_id.clone(),
            field_keys,
            filter: stream.filter.clone(),
            keyset: stream.keyset.clone(),
            page_size: job.page_size,
            until,
        };
        let (mut rx, _abort_fetcher) =
            spawn_fetcher(self.client.clone(), plan, start, Arc::clone(reader.stamps));
        let run_id = tally.run_id();
        let batcher = self.batcher(job, run_id);
        let queue = Topology::new(&job.name, &self.settings.amqp).work_queue();
        loop {
            // Waiting for the next page can mean waiting out Kingdee retries (minutes in an
            // outage): a shutdown ends the wait, and dropping the fetcher cancels its retry sleep.
            let page = tokio::select! {
                page = rx.recv() => page,
                () = cancel.cancelled() => None,
            };
            let Some(page) = page.transpose()? else { break };
            let records = self.only_news(job, stream, page.records);
            // A partition keeps only its own keys: a split may have lowered its bound after
            // this page was asked for.
            let (records, beyond) = match &checkpoint {
                Checkpoint::Stream { .. } => (records, false),
                Checkpoint::Partition(lane) => lane.claim(&job.key_field, records).await,
            };
            let last = page.last || beyond;
            let count = records.len() as u64;
            if count > 0 {
                let max_depth = self.settings.producer.max_queue_depth;
                wait_for_room(&self.monitor, &queue, max_depth, cancel).await?;
                self.publish_page(job, stream.kind, &batcher, page.index, records, page.seen)
                    .await?;
            }
            match &checkpoint {
                Checkpoint::Stream { stored } => {
                    let reached = if stream.restarts {
                        page.cursor_after
                    } else {
                        later(stored.clone(), page.cursor_after)
                    };
                    let open = stream.restarts && !last;
                    state::store_cursor(&self.pool, &job.name, name, &reached, open, run_id)
                        .await?;
                }
                Checkpoint::Partition(lane) => {
                    lane.store(&self.pool, &job.name, &page.cursor_after, last, run_id)
                        .await?;
                }
            }
            tally
                .page(&self.pool, &job.name, count, reader.progress)
                .await?;
            if last {
                return Ok(RunStatus::Succeeded);
            }
            if cancel.is_cancelled() {
                tracing::info!(job = %job.name, "Shutdown requested, stopping after a confirmed page");
                return Ok(RunStatus::Cancelled);
            }
        }
        // No last page: shutdown while waiting for a page, or the fetcher was aborted.
        tracing::info!(job = %job.name, "Shutdown requested while waiting for Kingdee, stopping");
        Ok(RunStatus::Cancelled)
    }

    /// Publishes one page under confirms: upserts of its records, or leaves of their target keys.
    pub(crate) async fn publish_page(
        &self,
        job: &JobSettings,
        kind: Kind,
        batcher: &Batcher,
        page: u64,
        records: Rows,
        seen: i64,
    ) -> Result<(), PassError> {
        let (messages, oversized) = match kind {
            Kind::Upsert => {
                let batch = batcher
                    .messages(records, seen)
                    .map_err(|source| PassError::BadRecord { page, source })?;
                (batch.messages, batch.oversized)
            }
            Kind::Leave => {
                let keys: Vec<i64> = self
                    .target_keys(&job.name)
                    .of(&records)
                    .into_iter()
                    .flatten()
                    .collect();
                let messages = leaving::messages(job, &batcher.route, batcher.run_id, seen, &keys);
                (messages, Vec::new())
            }
        };
        self.publisher
            .publish_confirmed(&messages)
            .await
            .map_err(|source| PassError::Publish { page, source })?;
        self.record_oversized(&job.name, &oversized).await
    }

    /// A stream that need not read the past starts at the newest row of its filter.
    async fn start_at_newest(&self, reader: &Reader<'_>) -> Result<RunStatus, PassError> {
        let (job, stream, run_id) = (reader.job, reader.stream, reader.tally.run_id());
        let rows = self
            .query_once(&stream.keyset.latest(&job.form_id, &stream.filter))
            .await?;
        // No row has the field yet: every row that gets it from now on is new, so the stream
        // starts at the beginning — stored, so the next pass reads instead of asking again.
        let newest = match rows.len().checked_sub(1) {
            None => Cursor::Start,
            Some(last) => stream
                .keyset
                .advance(&rows, last)
                .map_err(FetchError::outside)?,
        };
        tracing::info!(job = %job.name, stream = %stream.cursor, cursor = ?newest, "Stream starts at the newest row");
        state::store_cursor(
            &self.pool,
            &job.name,
            &stream.cursor,
            &newest,
            false,
            run_id,
        )
        .await?;
        Ok(RunStatus::Succeeded)
    }

    /// The rows of a page the stream has not published with the same date already: re-reads of
    /// the overlap window are old news ([`Window`]).
    fn only_news(&self, job: &JobSettings, stream: &Stream, mut records: Rows) -> Rows {
        let Some(overlap) = stream.overlap.filter(|o| !o.is_zero()) else {
            return records;
        };
        let date_field = stream.keyset.fields()[0].to_owned();
        let (Some(at), Some(key_at)) = (
            records.position(&date_field),
            records.position(&job.key_field),
        ) else {
            return records;
        };
        let newest = records
            .rows
            .last()
            .and_then(|row| row.get(at))
            .and_then(version_text)
            .map(str::to_owned);
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let window = windows
            .entry((job.name.clone(), stream.cursor.clone(), stream.kind))
            .or_insert_with(|| Window::new(overlap));
        records.rows.retain(|row| {
            let key = row.get(key_at).and_then(parse_key);
            match (key, row.get(at).and_then(version_text)) {
                (Some(key), Some(date)) => window.is_new(key, date),
                _ => true,
            }
        });
        if let Some(newest) = newest {
            window.forget_before(&newest);
        }
        // What is published here changed sides: the other kind's streams must not take their
        // next re-read of these rows for old news.
        let keys: Vec<i64> = records
            .rows
            .iter()
            .filter_map(|row| row.get(key_at).and_then(parse_key))
            .collect();
        for ((name, _, kind), other) in windows.iter_mut() {
            if *name == job.name && *kind != stream.kind {
                keys.iter().for_each(|&key| other.forget(key));
            }
        }
        records
    }

    /// One query outside a stream's paging (the newest row, rows read again by key).
    pub(crate) async fn query_once(&self, query: &BillQuery) -> Result<Rows, PassError> {
        self.client
            .execute_bill_query(query)
            .await
            .map_err(|source| PassError::Fetch(FetchError::outside(source)))
    }

    /// How the pages of `run_id` become messages to the job's work queue.
    pub(crate) fn batcher(&self, job: &JobSettings, run_id: uuid::Uuid) -> Batcher {
        Batcher {
            job: job.name.clone(),
            form_id: job.form_id.clone(),
            run_id,
            route: Topology::new(&job.name, &self.settings.amqp).work_route(),
            key_field: job.key_field.clone(),
            modified_field: job.modified_field.clone(),
            records_per_message: self.settings.amqp.records_per_message,
            max_message_bytes: self.settings.amqp.max_message_bytes,
        }
    }

    /// What a leave stream asks for: the key, and the fields of the target's key column.
    pub(crate) fn leave_field_keys(&self, job: &JobSettings) -> Vec<String> {
        let fields = self.target_keys(&job.name).fields().iter().cloned();
        distinct_fields(std::iter::once(job.key_field.clone()).chain(fields))
    }
}
