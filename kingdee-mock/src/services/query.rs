//! ExecuteBillQuery and BillQuery over HTTP: finds the `data` in the body, records what page
//! was asked for, cuts it to the clamp in force (`clamp_limit`), and runs the query on a
//! blocking thread under its form's store's read lock, inside a slot of the slow-server model
//! ([`crate::throttle`]).

use std::sync::Arc;

use serde_json::Value;

use super::Executed;
use crate::body::{self, get_ci};
use crate::query::{Query, Shape};
use crate::reply::KdError;
use crate::server::App;
use crate::stats::{Outcome, RequestRecord};

fn failed(err: &KdError, shape: Shape) -> Executed {
    Executed {
        body: err.body(shape == Shape::Arrays),
        outcome: Outcome::Error,
        session: None,
    }
}

pub async fn run(
    app: &Arc<App>,
    parsed: &Value,
    shape: Shape,
    record: &mut RequestRecord,
) -> Executed {
    let data = match body::service_data(parsed) {
        Ok(d) => d,
        Err(e) => {
            return failed(
                &KdError::new(4, format!("请求数据包格式不正确：{e}")),
                shape,
            );
        }
    };
    let text = |k: &str| get_ci(&data, k).and_then(Value::as_str).map(str::to_owned);
    let count = |k: &str| body::int(get_ci(&data, k)).map(|v| v.max(0) as usize);
    record.filter = text("FilterString");
    record.order = text("OrderString");
    record.start_row = count("StartRow");
    record.limit = count("Limit");
    record.top_row_count = count("TopRowCount");
    let mut query = match Query::prepare(&data, app.config.max_limit) {
        Ok(q) => q,
        Err(e) => return failed(&e, shape),
    };
    // A clamping server checks Limit against its cap first, then cuts the page silently.
    query.window = query.window.clamped(app.living().clamp_limit);
    // The slow-server model: wait for a worker slot, run, and keep the slot for the latency.
    let _slot = app.throttle.admit().await;
    let shared = Arc::clone(app);
    let ran = tokio::task::spawn_blocking(move || {
        let store = shared.read_form(query.form);
        query.run(&store, shape)
    })
    .await;
    match ran {
        Ok((body, rows)) => {
            let cost = app.throttle.cost(rows);
            if !cost.is_zero() {
                app.sleep(cost).await;
            }
            record.rows = Some(rows);
            Executed {
                body,
                outcome: Outcome::Ok,
                session: None,
            }
        }
        Err(_) => failed(&KdError::new(4, "查询执行失败"), shape),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use serde_json::json;

    use super::*;
    use crate::config::{Latency, MockConfig};

    async fn app(latency: Latency) -> Arc<App> {
        let config = MockConfig {
            rows: 200,
            customers: 300,
            suppliers: 10,
            latency,
            ..MockConfig::default()
        };
        App::build(config).await.expect("app")
    }

    /// Runs one BD_Customer query of `limit` rows; answers its rows and how long it took.
    async fn query(app: &Arc<App>, limit: usize) -> (usize, Duration) {
        let started = Instant::now();
        let parsed = json!({"data": {"FormId": "BD_Customer", "FieldKeys": "FCUSTID,FName",
            "Limit": limit}});
        let mut record = RequestRecord::new(0, "ExecuteBillQuery");
        let done = run(app, &parsed, Shape::Arrays, &mut record).await;
        assert_eq!(done.outcome, Outcome::Ok);
        (record.rows.expect("rows"), started.elapsed())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn four_queries_over_a_cap_of_two_wait_for_a_slot_and_two_run_at_once() {
        let app = app(Latency {
            query_latency_ms: 100,
            row_latency_us: 0,
            max_concurrent_queries: 2,
        })
        .await;
        let done = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (app, done) = (Arc::clone(&app), Arc::clone(&done));
            tokio::spawn(async move {
                let mut most = 0;
                while !done.load(Ordering::SeqCst) {
                    most = most.max(app.throttle.busy());
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                most
            })
        };
        let started = Instant::now();
        let queries: Vec<_> = (0..4)
            .map(|_| {
                let app = Arc::clone(&app);
                tokio::spawn(async move { query(&app, 10).await })
            })
            .collect();
        for q in queries {
            let (rows, took) = q.await.expect("query");
            assert_eq!(rows, 10);
            assert!(took >= Duration::from_millis(100), "{took:?}");
        }
        assert!(started.elapsed() >= Duration::from_millis(200));
        done.store(true, Ordering::SeqCst);
        assert_eq!(watcher.await.expect("watcher"), 2);
        assert_eq!(app.throttle.busy(), 0);
    }

    #[tokio::test]
    async fn the_per_row_part_scales_with_the_rows_returned() {
        let app = app(Latency {
            query_latency_ms: 0,
            row_latency_us: 2_000,
            max_concurrent_queries: 0,
        })
        .await;
        let (rows, big) = query(&app, 150).await;
        assert_eq!(rows, 150);
        assert!(big >= Duration::from_millis(300), "{big:?}");
        let (rows, small) = query(&app, 1).await;
        assert_eq!(rows, 1);
        assert!(
            small + Duration::from_millis(200) < big,
            "{small:?} vs {big:?}"
        );
    }

    #[tokio::test]
    async fn without_a_latency_model_queries_take_no_slot_and_no_time() {
        let app = app(Latency::default()).await;
        assert_eq!(app.throttle.cost(10_000), Duration::ZERO);
        let (rows, _) = query(&app, 0).await;
        assert_eq!(rows, 300);
        assert_eq!(app.throttle.busy(), 0);
    }
}
