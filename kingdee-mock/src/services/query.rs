//! ExecuteBillQuery and BillQuery over HTTP: finds the `data` in the body, records what page
//! was asked for, cuts it to the clamp in force (`clamp_limit`), and runs the query on a
//! blocking thread under the store's read lock.

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
    let app = Arc::clone(app);
    let ran = tokio::task::spawn_blocking(move || {
        let store = app.read_store();
        query.run(&store, shape)
    })
    .await;
    match ran {
        Ok((body, rows)) => {
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
