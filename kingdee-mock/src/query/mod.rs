//! ExecuteBillQuery and BillQuery: reads the request's `data`, checks it in the order the real
//! server reports problems (FormId, FieldKeys, fields, Limit, FilterString, OrderString), then
//! selects and renders one page of the form's store. Every form ([`Form`]) goes the same way.
//!
//! A `Limit` above the configured maximum (10000, the current documentation's cap) is an
//! error, MsgCode 4 `Limit不能超过10000`, not a silent clamp: a client that asks for more than
//! the server gives would otherwise take a short page for the last one and stop early. The
//! silent clamp of other servers is a setting (`clamp_limit`, applied by the service).

pub mod order;
pub mod plan;
pub mod render;

use serde_json::{Map, Value};

use crate::body::{get_ci, int};
use crate::data::Store;
use crate::data::fields::Col;
use crate::data::form::Form;
use crate::filter::{self, FilterError, Pred};
use crate::reply::KdError;
use order::OrderKey;
pub use plan::Window;
pub use render::Shape;

/// The form the mock served first (and `/_mock/rows` lists by default).
pub const FORM_ID: &str = "BD_MATERIAL";

/// The error of a FormId the mock does not serve, as K3Cloud words it.
pub fn unknown_form(form: &str) -> KdError {
    KdError::new(
        4,
        format!("标识为“{}”的业务对象不存在，或者被删除。", form.trim()),
    )
}

/// A checked query, ready to run against the store.
#[derive(Debug)]
pub struct Query {
    pub form: Form,
    pub keys: Vec<String>,
    pub cols: Vec<Col>,
    pub pred: Pred,
    pub order: Vec<OrderKey>,
    pub window: Window,
    pub filter: String,
    pub order_text: String,
}

impl From<FilterError> for KdError {
    fn from(e: FilterError) -> Self {
        let code = match e {
            FilterError::UnknownField(_) => 9,
            FilterError::Syntax(_) => 4,
        };
        KdError::new(code, e.to_string())
    }
}

fn text_param(data: &Map<String, Value>, key: &str) -> Result<String, KdError> {
    match get_ci(data, key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(_) => Err(KdError::new(
            4,
            format!("{key}目前只支持字符串格式（mock不支持数组形式的过滤条件）"),
        )),
    }
}

fn count_param(data: &Map<String, Value>, key: &str) -> Result<usize, KdError> {
    let v = int(get_ci(data, key))
        .ok_or_else(|| KdError::new(8, format!("data数据包中的参数{key}的值不是有效的整数。")))?;
    Ok(v.max(0) as usize)
}

/// The FieldKeys entries, trimmed, as the client wrote them.
pub fn field_keys(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Query {
    /// Checks a query's `data` object.
    pub fn prepare(data: &Map<String, Value>, max_limit: usize) -> Result<Self, KdError> {
        let form = text_param(data, "FormId")?;
        if form.trim().is_empty() {
            return Err(KdError::new(8, "data数据包中的参数FormId的值不能为空。"));
        }
        let form = Form::parse(&form).ok_or_else(|| unknown_form(&form))?;
        let keys = field_keys(&text_param(data, "FieldKeys")?);
        if keys.is_empty() {
            return Err(KdError::new(8, "data数据包中的参数FieldKeys的值不能为空。"));
        }
        let cols = keys
            .iter()
            .map(|k| {
                form.resolve(k)
                    .ok_or_else(|| FilterError::UnknownField(k.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let window = Window {
            top: count_param(data, "TopRowCount")?,
            start: count_param(data, "StartRow")?,
            limit: count_param(data, "Limit")?,
        };
        if window.limit > max_limit {
            return Err(KdError::new(4, format!("Limit不能超过{max_limit}")));
        }
        let filter = text_param(data, "FilterString")?;
        let order_text = text_param(data, "OrderString")?;
        let pred = filter::compile_for(form, &filter)?;
        let order = order::parse_for(form, &order_text)?;
        Ok(Self {
            form,
            keys,
            cols,
            pred,
            order,
            window,
            filter,
            order_text,
        })
    }

    /// Selects and renders the page from the store of [`Query::form`]; returns the JSON text
    /// and the number of rows.
    pub fn run(&self, store: &Store, shape: Shape) -> (Vec<u8>, usize) {
        let positions = plan::select(store, &self.pred, &self.order, self.window);
        let body = render::render(store, &positions, &self.keys, &self.cols, shape);
        (body, positions.len())
    }
}

#[cfg(test)]
mod form_tests;
#[cfg(test)]
pub(crate) mod tests;
