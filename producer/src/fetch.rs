//! The fetch side of a stream: pages Kingdee with a keyset cursor, one page ahead of the
//! publisher (a channel of one page), so the next request overlaps the current publish. Each
//! page is stamped just before its request. A stream ends on an empty page, not a short one:
//! a server may clamp `Limit` silently.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use k3sync_common::kingdee::{Keyset, KingdeeClient, KingdeeError};
use k3sync_common::record::{Cursor, Rows};
use tokio::sync::mpsc;

use crate::stamp::Stamps;
use crate::stream::position;

/// One page of records (rows as Kingdee sends them) and the cursor that follows its last record.
pub struct Page {
    /// 0-based page number within the pass.
    pub index: u64,
    pub records: Rows,
    pub cursor_after: Cursor,
    /// When it was read ([`Stamps`]).
    pub seen: i64,
    /// An empty page ends the stream.
    pub last: bool,
}

/// What the fetcher needs to build its queries.
pub struct FetchPlan {
    pub form_id: String,
    pub field_keys: Vec<String>,
    pub filter: String,
    pub keyset: Keyset,
    pub page_size: u32,
    /// A partition's upper key bound (inclusive), read before every request: a split lowers it
    /// while the stream pages. `None` (or `i64::MAX`) for a stream without one.
    pub until: Option<Arc<AtomicI64>>,
}

/// A page that could not be fetched; `index` names the page, the cursor has not moved past it.
#[derive(Debug, thiserror::Error)]
#[error("page {index} (after cursor {cursor:?}) failed")]
pub struct FetchError {
    pub index: u64,
    pub cursor: Cursor,
    #[source]
    pub source: KingdeeError,
}

impl FetchError {
    /// A query outside a stream's paging failed (the newest row, the key range, rows read again
    /// by key): page 0, from the start.
    pub fn outside(source: KingdeeError) -> Self {
        Self {
            index: 0,
            cursor: Cursor::Start,
            source,
        }
    }
}

/// Starts paging from `cursor` in a task of its own: the pages as they come, and the guard
/// that aborts the task when the stream is done with it.
pub fn spawn_fetcher(
    client: KingdeeClient,
    plan: FetchPlan,
    cursor: Cursor,
    stamps: Arc<Stamps>,
) -> (mpsc::Receiver<Result<Page, FetchError>>, AbortOnDrop) {
    let (tx, rx) = mpsc::channel(1);
    let task = tokio::spawn(fetch_pages(client, plan, cursor, stamps, tx));
    (rx, AbortOnDrop(task))
}

/// Pages until an empty page; sends each page (or the first error) down `pages`.
async fn fetch_pages(
    client: KingdeeClient,
    plan: FetchPlan,
    mut cursor: Cursor,
    stamps: Arc<Stamps>,
    pages: mpsc::Sender<Result<Page, FetchError>>,
) {
    let mut index = 0;
    loop {
        let until = plan
            .until
            .as_ref()
            .map(|until| until.load(Ordering::Acquire))
            .filter(|&until| until != i64::MAX);
        let filter = match until {
            Some(until) => plan.keyset.up_to(&plan.filter, until),
            None => plan.filter.clone(),
        };
        let query = plan.keyset.page(
            &plan.form_id,
            &plan.field_keys,
            &filter,
            &cursor,
            plan.page_size,
        );
        let seen = stamps.next();
        // A partition whose cursor reached its bound has nothing left: it ends without asking.
        let records = if until.is_some_and(|until| reached(&cursor, until)) {
            let fields = query.field_keys.clone();
            Ok(Rows {
                fields,
                rows: Vec::new(),
            })
        } else {
            client.execute_bill_query(&query).await
        };
        let result = records.and_then(|records| next_page(&plan, index, records, &cursor, seen));
        let page = match result {
            Ok(page) => page,
            Err(source) => {
                let _ = pages
                    .send(Err(FetchError {
                        index,
                        cursor,
                        source,
                    }))
                    .await;
                return;
            }
        };
        let last = page.last;
        cursor = page.cursor_after.clone();
        if pages.send(Ok(page)).await.is_err() || last {
            return;
        }
        index += 1;
    }
}

/// Whether a key cursor stands at or past `until`.
fn reached(cursor: &Cursor, until: i64) -> bool {
    matches!(cursor, Cursor::Key { key } if *key >= until)
}

fn next_page(
    plan: &FetchPlan,
    index: u64,
    records: Rows,
    cursor: &Cursor,
    seen: i64,
) -> Result<Page, KingdeeError> {
    let cursor_after = match records.len().checked_sub(1) {
        Some(last) => plan.keyset.advance(&records, last)?,
        None => cursor.clone(),
    };
    // A server that ignored the cursor would answer the same rows forever: a page must end
    // after the cursor it was asked from.
    if !records.is_empty() && position(&cursor_after) <= position(cursor) {
        return Err(KingdeeError::Cursor {
            field: plan.keyset.fields().join(", "),
            problem: "did not move past the cursor asked from (the server ignored the filter)",
        });
    }
    Ok(Page {
        index,
        last: records.is_empty(),
        records,
        cursor_after,
        seen,
    })
}

/// Aborts the fetcher when the stream is dropped (shutdown, error): its retry sleeps end too.
pub struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_page_that_does_not_move_past_its_cursor_is_refused_and_an_empty_one_ends_the_stream() {
        let plan = FetchPlan {
            form_id: "BD_MATERIAL".into(),
            field_keys: vec!["FMaterialId".into()],
            filter: String::new(),
            keyset: Keyset::by_key("FMaterialId"),
            page_size: 2,
            until: None,
        };
        let rows = |keys: &[i64]| Rows {
            fields: vec!["FMaterialId".into()],
            rows: keys.iter().map(|k| vec![json!(k)]).collect(),
        };
        let from = Cursor::Key { key: 5 };
        // A clamped (short) page is not the end.
        let page = next_page(&plan, 0, rows(&[6]), &from, 1).unwrap();
        assert_eq!(
            (page.cursor_after, page.last),
            (Cursor::Key { key: 6 }, false)
        );
        let empty = next_page(&plan, 1, rows(&[]), &from, 2).unwrap();
        assert!(empty.last);
        let error = next_page(&plan, 2, rows(&[4, 5]), &from, 3).err().unwrap();
        assert!(
            error.to_string().contains("did not move past the cursor"),
            "{error}"
        );
    }

    #[test]
    fn a_partition_ends_once_its_cursor_reaches_its_bound() {
        assert!(reached(&Cursor::Key { key: 10 }, 10));
        assert!(reached(&Cursor::Key { key: 11 }, 10));
        assert!(!reached(&Cursor::Key { key: 9 }, 10));
        assert!(!reached(&Cursor::Start, 10));
    }
}
